// `rlhf simpo`: simple preference optimisation — a length-normalised reward with a target margin, no reference model.
import { trainerCommand } from './trainer-command.js';
import { simpoConfig, SIMPO_HELP_GROUPS } from '../trainers/simpo/config.js';
import { simpo as trainSimPO } from '../trainers/simpo/train.js';

export const simpo = trainerCommand({
  name: 'simpo',
  summary: 'SimPO: length-normalised implicit reward with a target margin, no reference model',
  intro: `
Usage:
  rlhf simpo --model DIR --data FILE --out DIR [options]

Simple preference optimisation (Meng et al. 2024): −log σ(β/|y_c|·log π(y_c|x) − β/|y_r|·log π(y_r|x) − γ),
the policy's own mean log-prob per token as the reward, so no reference model is loaded. Defaults
are the SimPO authors' (β = 2, γ = 0.5), not TRL CPOConfig's β = 0.1; --cpo-alpha adds CPO's NLL
term on the chosen response. Reads the same preference data as 'rlhf dpo'.`,
  outro: `
Examples
  rlhf simpo --model out/sft --data prefs.jsonl --out out/simpo --beta 2 --simpo-gamma 0.5 --lr 5e-7
  rlhf simpo --model out/sft --data dpo-en-demo.json --out out/simpo --cpo-alpha 0.05`,
  schema: simpoConfig,
  groups: SIMPO_HELP_GROUPS,
  async run(config) {
    const r = await trainSimPO(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const acc = r.eval['eval/rewards/accuracies'];
    process.stdout.write(`simpo: done${acc !== undefined ? ` — held-out reward accuracy ${acc.toFixed(3)}, margin ${(r.eval['eval/rewards/margins'] ?? Number.NaN).toFixed(3)}` : ''}; policy in ${config.out}\n`);
    r.model.dispose();
    return 0;
  },
});
