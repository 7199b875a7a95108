// `rlhf grpo`: GRPO against reward functions and/or a reward model, no value model.
import { trainerCommand } from './trainer-command.js';
import { grpoConfig, GRPO_HELP_GROUPS } from '../trainers/grpo/config.js';
import { grpo as trainGRPO } from '../trainers/grpo/train.js';

export const grpo = trainerCommand({
  name: 'grpo',
  summary: 'optimise a policy with GRPO: G samples per prompt, each judged against its group (no value model)',
  intro: `
Usage:
  rlhf grpo --model SFT_DIR (--reward-fn FILE.ts … | --reward-model DIR) --prompts FILE --out DIR [options]

Each iteration samples --num-generations responses to each of --batch-size prompts, scores them
(the --reward-weights-weighted sum of every reward given), turns each reward into an advantage
relative to its group, (r − mean)/(std + 1e-4), and takes the clipped policy-gradient step of
Shao et al. 2024 (DeepSeekMath), with a k3 KL term to the starting model when --beta > 0. The
names and defaults are TRL's GRPOConfig's. OUT receives the policy (a Hugging Face directory),
metrics.jsonl (rewards/<name>/mean for each reward), TensorBoard events and checkpoints.`,
  outro: `
A reward function is a module whose default export maps (prompts, responses) to numbers:
  export default (prompts: string[], responses: string[]) => responses.map((r) => (r.trim() === '42' ? 1 : 0));

Examples
  rlhf grpo --model out/sft --reward-fn exact.ts --reward-fn format.ts --reward-weights 1,0.2 --prompts prompts.jsonl --out out/grpo
  rlhf grpo --model out/sft --reward-model out/rm --prompts prompts.txt --out out/grpo --beta 0.04 --loss-type grpo --scale-rewards none`,
  schema: grpoConfig,
  groups: GRPO_HELP_GROUPS,
  async run(config) {
    const r = await trainGRPO(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const last = r.history[r.history.length - 1];
    if (last) process.stdout.write(`grpo: done — reward ${last.reward?.toFixed(3)}, response length ${last['completions/mean_length']?.toFixed(1)}; policy in ${config.out}\n`);
    r.dispose();
    return 0;
  },
});
