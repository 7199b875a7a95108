// `rlhf rft`: rejection-sampling fine-tuning (RAFT / expert iteration / ReST-style) against a reward model or functions.
import { trainerCommand } from './trainer-command.js';
import { rftConfig, RFT_HELP_GROUPS } from '../trainers/rft/config.js';
import { rft as trainRFT } from '../trainers/rft/train.js';

export const rft = trainerCommand({
  name: 'rft',
  summary: 'rejection-sampling fine-tuning: sample n, keep the best under a reward, SFT on it (RAFT, expert iteration, ReST)',
  intro: `
Usage:
  rlhf rft --model SFT_DIR (--reward-model DIR | --reward-fn FILE.ts …) --prompts FILE --out DIR [options]

Also called RAFT (reward-ranked fine-tuning, Dong et al. 2023), expert iteration (Anthony et al.
2017; Polu et al. 2022) and ReST / ReST-EM-style self-training (Gulcehre et al. 2023; Singh et al.
2023). Each of --rounds rounds: sample --best-of n responses per prompt from the current policy,
score them, keep the best one per prompt (only those with reward ≥ --min-reward, only the
--top-fraction best prompts, when given), and fine-tune on the kept (prompt, completion) pairs with
the SFT loss on the completion only (a fresh AdamW each round). Every round logs the mean reward of
all samples, of the kept ones, and how many were kept. OUT receives the policy (a Hugging Face
directory), metrics.jsonl (one line per round), TensorBoard events, checkpoints/ (one per round;
--resume continues after the last) and rounds/round-NNN/kept.jsonl (what each round trained on).`,
  outro: `
A reward function is a module whose default export maps (prompts, responses) to numbers:
  export default (prompts: string[], responses: string[]) => responses.map((r) => (r.includes('great') ? 1 : 0));

Examples
  rlhf rft --model out/sft --reward-model out/rm --prompts prompts.txt --out out/rft --rounds 4 --best-of 8 --lr 1e-5
  rlhf rft --model out/sft --reward-fn correct.ts --prompts problems.jsonl --out out/ei --min-reward 1   # expert iteration
  rlhf rft --model out/sft --reward-model out/rm --prompts prompts.txt --out out/raft --top-fraction 0.25 --prompts-per-round 256`,
  schema: rftConfig,
  groups: RFT_HELP_GROUPS,
  async run(config) {
    const r = await trainRFT(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const last = r.history[r.history.length - 1];
    const summary = last ? ` — last round: reward of samples ${last['samples/reward_mean']?.toFixed(3)}, kept ${last['kept/count']}` : '';
    process.stdout.write(`rft: done${summary}; policy in ${config.out}\n`);
    r.model.dispose();
    return 0;
  },
});
