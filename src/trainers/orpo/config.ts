// Odds Ratio Preference Optimisation (Hong et al. 2024, "ORPO: Monolithic Preference Optimization
// without Reference Model"), with TRL's ORPOConfig names: supervised fine-tuning on the chosen
// response plus an odds-ratio penalty on the rejected one, in one stage, with no reference model.
import { z } from 'zod';
import { dataFields, LORA_HELP_KEYS, loraFields, optimFields, preferenceFields, runFields } from '../common/config.js';

export const orpoConfig = z.object({
  ...runFields(),
  ...dataFields({ maxLength: 256 }),
  ...optimFields({ lr: 1e-6, batchSize: 8, epochs: 1 }),
  beta: z.number().positive().default(0.1).describe('λ: weight of the odds-ratio term L_OR against the NLL term L_SFT (Hong et al. 2024 eq. 6; TRL beta)'),
  ...preferenceFields(),
  ...loraFields(),
});

export type ORPOConfig = z.infer<typeof orpoConfig>;
export type ORPOConfigInput = z.input<typeof orpoConfig>;

export const ORPO_HELP_GROUPS = {
  'Model and output': ['model', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'evalEvery', 'seed', 'dtype', 'quiet'],
  Data: ['data', 'columns', 'evalSplit', 'evalData', 'skipInvalid', 'maxLength', 'maxPromptLength'],
  ORPO: ['beta'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
