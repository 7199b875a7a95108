// `rlhf dpo`: direct preference optimisation (and IPO, conservative DPO) on preference pairs.
import { trainerCommand } from './trainer-command.js';
import { dpoConfig, DPO_HELP_GROUPS } from '../trainers/dpo/config.js';
import { dpo as trainDPO } from '../trainers/dpo/train.js';

export const dpo = trainerCommand({
  name: 'dpo',
  summary: 'direct preference optimisation (DPO, IPO, conservative DPO) on preference pairs',
  intro: `
Usage:
  rlhf dpo --model DIR --data FILE --out DIR [--ref-model DIR] [options]

Raises the policy's log-ratio to the reference on chosen responses over rejected ones
(Rafailov et al. 2023). Reference log-probs are computed once before training, so training holds
one model. Logs TRL's rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins.`,
  outro: `
Examples
  rlhf dpo --model out/sft --data prefs.jsonl --out out/dpo --beta 0.1 --lr 5e-6
  rlhf dpo --model out/sft --data dpo-en-demo.json --out out/ipo --loss-type ipo`,
  schema: dpoConfig,
  groups: DPO_HELP_GROUPS,
  async run(config) {
    const r = await trainDPO(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const acc = r.eval['eval/rewards/accuracies'];
    process.stdout.write(`dpo: done${acc !== undefined ? ` — held-out reward accuracy ${acc.toFixed(3)}, margin ${(r.eval['eval/rewards/margins'] ?? Number.NaN).toFixed(3)}` : ''}; policy in ${config.out}\n`);
    r.model.dispose();
    return 0;
  },
});
