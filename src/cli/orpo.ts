// `rlhf orpo`: odds-ratio preference optimisation — SFT and preference alignment in one stage, no reference model.
import { trainerCommand } from './trainer-command.js';
import { orpoConfig, ORPO_HELP_GROUPS } from '../trainers/orpo/config.js';
import { orpo as trainORPO } from '../trainers/orpo/train.js';

export const orpo = trainerCommand({
  name: 'orpo',
  summary: 'ORPO: SFT on the chosen response plus an odds-ratio penalty on the rejected one, no reference model',
  intro: `
Usage:
  rlhf orpo --model DIR --data FILE --out DIR [options]

Odds ratio preference optimisation (Hong et al. 2024): the negative log-likelihood of the chosen
response plus λ·(−log σ(log odds(chosen) − log odds(rejected))), odds from the length-averaged
log-probs. No reference model and no separate SFT stage are needed. Reads the same preference data
as 'rlhf dpo'. Logs TRL's rewards/* (λ·mean log-prob per token), nll_loss, log_odds_ratio.`,
  outro: `
Examples
  rlhf orpo --model base --data prefs.jsonl --out out/orpo --beta 0.1 --lr 8e-6
  rlhf orpo --model base --data dpo-en-demo.json --out out/orpo --eval-split 0.1`,
  schema: orpoConfig,
  groups: ORPO_HELP_GROUPS,
  async run(config) {
    const r = await trainORPO(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const e = r.eval;
    const acc = e['eval/rewards/accuracies'];
    process.stdout.write(`orpo: done${acc !== undefined ? ` — held-out reward accuracy ${acc.toFixed(3)}, margin ${(e['eval/rewards/margins'] ?? Number.NaN).toFixed(3)}, NLL ${(e['eval/nll_loss'] ?? Number.NaN).toFixed(3)}` : ''}; policy in ${config.out}\n`);
    r.model.dispose();
    return 0;
  },
});
