// `rlhf reinforce-pp`: REINFORCE++ against reward functions and/or a reward model, no critic.
import { trainerCommand } from './trainer-command.js';
import { reinforcePPConfig, REINFORCE_PP_HELP_GROUPS } from '../trainers/reinforce-pp/config.js';
import { reinforcePP as trainReinforcePP } from '../trainers/reinforce-pp/train.js';

export const reinforcePP = trainerCommand({
  name: 'reinforce-pp',
  summary: 'optimise a policy with REINFORCE++: token-level KL in the reward, batch-normalised returns, PPO clip (no critic)',
  intro: `
Usage:
  rlhf reinforce-pp --model SFT_DIR (--reward-fn FILE.ts … | --reward-model DIR) --prompts FILE --out DIR [options]

Each iteration samples responses to --batch-size prompts, scores them, puts −β·KL to the starting
model on every response token and the score on the last one, sums the rewards to the end of the
response (the return, no value model), normalises these over every token of the batch and takes
PPO's clipped policy-gradient step (Hu 2025, as OpenRLHF runs it). --group-baseline with
--samples-per-prompt > 1 is REINFORCE++-baseline. OUT receives the policy, metrics.jsonl,
TensorBoard events and checkpoints.`,
  outro: `
Examples
  rlhf reinforce-pp --model out/sft --reward-model out/rm --prompts prompts.txt --out out/rpp --kl-coef 0.02
  rlhf reinforce-pp --model out/sft --reward-fn reward.ts --prompts prompts.jsonl --out out/rpp --samples-per-prompt 4 --group-baseline`,
  schema: reinforcePPConfig,
  groups: REINFORCE_PP_HELP_GROUPS,
  async run(config) {
    const r = await trainReinforcePP(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const last = r.history[r.history.length - 1];
    if (last) process.stdout.write(`reinforce-pp: done — score ${last['objective/scores']?.toFixed(3)}, KL ${last['objective/kl']?.toFixed(3)} nats; policy in ${config.out}\n`);
    r.dispose();
    return 0;
  },
});
