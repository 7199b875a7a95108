// `rlhf kto`: Kahneman–Tversky optimisation on unpaired desirable / undesirable examples (or on preference pairs, each split in two).
import { trainerCommand } from './trainer-command.js';
import { ktoConfig, KTO_HELP_GROUPS } from '../trainers/kto/config.js';
import { kto as trainKTO } from '../trainers/kto/train.js';

export const kto = trainerCommand({
  name: 'kto',
  summary: 'KTO on unpaired desirable/undesirable examples (or on preference pairs, split in two)',
  intro: `
Usage:
  rlhf kto --model DIR --data FILE --out DIR [--ref-model DIR] [options]

Kahneman–Tversky optimisation (Ethayarajh et al. 2024): raises the policy's log-ratio to the frozen
reference on desirable completions and lowers it on undesirable ones, each judged against z0, the
batch's estimate of KL(policy ‖ reference) from completions paired with other prompts (detached,
clamped at 0, as TRL). Needs no pairs: rows are prompt, completion, label (true = desirable).
Preference data (prompt/chosen/rejected, ShareGPT, studio pairs) is accepted too: each pair becomes
a desirable example (its chosen response) and an undesirable one (its rejected response); pairs are
held out whole, and the held-out report then includes DPO's pairwise reward accuracy.
Reference log-probs are computed once before training, so training holds one model.`,
  outro: `
Examples
  rlhf kto --model out/sft --data feedback.jsonl --out out/kto --beta 0.1 --lr 5e-6
  rlhf kto --model out/sft --data dpo-en-demo.json --out out/kto --desirable-weight 1.33`,
  schema: ktoConfig,
  groups: KTO_HELP_GROUPS,
  async run(config) {
    const r = await trainKTO(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const e = r.eval;
    const acc = e['eval/rewards/sign_accuracy'];
    const pair = e['eval/rewards/accuracies'];
    process.stdout.write(`kto: done${acc !== undefined ? ` — held-out sign accuracy ${acc.toFixed(3)}${pair !== undefined ? `, pairwise accuracy ${pair.toFixed(3)}` : ''}, margin ${(e['eval/rewards/margins'] ?? Number.NaN).toFixed(3)}` : ''}; policy in ${config.out}\n`);
    r.model.dispose();
    return 0;
  },
});
