// `rlhf rloo`: REINFORCE Leave-One-Out against reward functions and/or a reward model.
import { trainerCommand } from './trainer-command.js';
import { rlooConfig, RLOO_HELP_GROUPS } from '../trainers/rloo/config.js';
import { rloo as trainRLOO } from '../trainers/rloo/train.js';

export const rloo = trainerCommand({
  name: 'rloo',
  summary: 'optimise a policy with RLOO: k samples per prompt, each one\'s baseline the mean reward of the others',
  intro: `
Usage:
  rlhf rloo --model SFT_DIR (--reward-fn FILE.ts … | --reward-model DIR) --prompts FILE --out DIR [options]

Each iteration samples --num-generations (k) responses to each of --batch-size prompts, scores
them, subtracts β times each response's KL to the starting model (summed over its tokens) from
its reward, and uses the mean reward of the other k − 1 responses to the same prompt as its
baseline (Ahmadian et al. 2024). The step is REINFORCE, with PPO's clip on the sequence ratio when
a rollout is reused (--num-iterations). Names and defaults are TRL's RLOOConfig's. OUT receives the
policy, metrics.jsonl, TensorBoard events and checkpoints.`,
  outro: `
Examples
  rlhf rloo --model out/sft --reward-model out/rm --prompts prompts.txt --out out/rloo --num-generations 4
  rlhf rloo --model out/sft --reward-fn reward.ts --prompts prompts.jsonl --out out/rloo --beta 0.02`,
  schema: rlooConfig,
  groups: RLOO_HELP_GROUPS,
  async run(config) {
    const r = await trainRLOO(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const last = r.history[r.history.length - 1];
    if (last) process.stdout.write(`rloo: done — reward ${last.reward?.toFixed(3)}${last.kl !== undefined ? `, KL ${last.kl.toFixed(3)} nats` : ''}; policy in ${config.out}\n`);
    r.dispose();
    return 0;
  },
});
