// `rlhf ppo`: PPO against a reward model or a reward function.
import { trainerCommand } from './trainer-command.js';
import { ppoConfig, PPO_HELP_GROUPS } from '../trainers/ppo/config.js';
import { ppo as trainPPO } from '../trainers/ppo/train.js';

export const ppo = trainerCommand({
  name: 'ppo',
  summary: 'optimise a policy against a reward model or function with PPO (KL-penalised to the SFT model)',
  intro: `
Usage:
  rlhf ppo --model SFT_DIR (--reward-model DIR | --reward-fn FILE.ts) --prompts FILE --out DIR [options]

Each iteration samples responses to --batch-size prompts, scores them, adds a per-token KL penalty
to the frozen SFT model, estimates advantages with GAE and runs --ppo-epochs epochs of the clipped
PPO objective on policy and value model (DESIGN.md, "PPO for language models"). OUT receives the
policy (a Hugging Face directory), OUT/value_model, metrics.jsonl, TensorBoard events and checkpoints.`,
  outro: `
A reward function is a module whose default export maps (prompts, responses) to numbers:
  export default (prompts: string[], responses: string[]) => responses.map((r) => (r.includes('great') ? 1 : 0));

Examples
  rlhf ppo --model out/sft --reward-model out/rm --prompts prompts.txt --out out/ppo --max-steps 100
  rlhf ppo --model out/sft --reward-fn reward.ts --prompts prompts.jsonl --out out/ppo --adaptive-kl --kl-target 4`,
  schema: ppoConfig,
  groups: PPO_HELP_GROUPS,
  async run(config) {
    const r = await trainPPO(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const last = r.history[r.history.length - 1];
    if (last) process.stdout.write(`ppo: done — score ${last['objective/scores']?.toFixed(3)}, KL ${last['objective/kl']?.toFixed(3)} nats; policy in ${config.out}\n`);
    r.dispose();
    return 0;
  },
});
