// `rlhf reward`: a reward model from preferences, ratings or labels.
import { trainerCommand } from './trainer-command.js';
import { rewardConfig, REWARD_HELP_GROUPS } from '../trainers/reward/config.js';
import { trainRewardModel } from '../trainers/reward/train.js';

export const reward = trainerCommand({
  name: 'reward',
  summary: 'train a reward model from preference pairs, ratings or labels',
  intro: `
Usage:
  rlhf reward --model DIR --data FILE --out DIR [options]

The reward model is --model's body (usually the SFT model) plus a scalar head read at the last
token: transformers' *ForSequenceClassification layout (score.weight (1, C)). The feedback decides
the loss: preference pairs (prompt/chosen/rejected, ShareGPT, candidate_0/1/choice) → Bradley–Terry;
ratings (score, or several numeric dimensions) → regression, folded into one weighted head; labels
(text/label) → binary cross-entropy, so σ(reward) = P(positive). It scores exactly the tokens of
prompt + response — no EOS or other token is appended, in training or when scoring.`,
  outro: `
Examples
  rlhf reward --model out/sft --data prefs.jsonl --out out/rm
  rlhf reward --model out/sft --data sst2-train.tsv --columns text=sentence --positive-label 1 --out out/rm
  rlhf reward --model out/sft --data ratings.csv --dimensions coherence,fluency --dimension-weights coherence=2,fluency=1 --out out/rm`,
  schema: rewardConfig,
  groups: REWARD_HELP_GROUPS,
  async run(config) {
    const r = await trainRewardModel(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const ev = Object.entries(r.eval).filter(([k]) => !k.includes('/n')).map(([k, v]) => `${k.replace('eval/', '')} ${v.toFixed(3)}`).join(', ');
    process.stdout.write(`reward: done (${r.kind})${ev ? ` — held out: ${ev}` : ''}; model in ${config.out}\n`);
    r.model.dispose();
    return 0;
  },
});
