// Direct Preference Optimization (Rafailov et al. 2023) and two of its variants, with TRL's
// DPOConfig names: sigmoid DPO, IPO (Azar et al. 2023), conservative DPO (label smoothing).
import { z } from 'zod';
import { dataFields, LORA_HELP_KEYS, loraFields, optimFields, preferenceFields, runFields } from '../common/config.js';

export const dpoConfig = z.object({
  ...runFields(),
  ...dataFields({ maxLength: 256 }),
  ...optimFields({ lr: 1e-6, batchSize: 8, epochs: 1 }),
  refModel: z.string().min(1).nullable().default(null).describe('reference model directory (default: a frozen copy of --model; with LoRA, --model with its adapters off)'),
  referenceFree: z.boolean().default(false).describe('no reference: log-ratios against a uniform reference (TRL reference_free)'),
  beta: z.number().positive().default(0.1).describe('β: strength of the implicit KL constraint (Rafailov et al. 2023 eq. 7); τ for IPO'),
  lossType: z.enum(['sigmoid', 'ipo']).default('sigmoid').describe('sigmoid: DPO (eq. 7); ipo: IPO (Azar et al. 2023 eq. 17), on length-averaged log-probs as TRL'),
  labelSmoothing: z.number().min(0).max(0.5).default(0).describe('ε > 0 with sigmoid: conservative DPO, −(1−ε)·log σ(βh) − ε·log σ(−βh) (Mitchell 2023)'),
  ...preferenceFields(),
  ...loraFields(),
});

export type DPOConfig = z.infer<typeof dpoConfig>;
export type DPOConfigInput = z.input<typeof dpoConfig>;

export const DPO_HELP_GROUPS = {
  'Model and output': ['model', 'refModel', 'referenceFree', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'evalEvery', 'seed', 'dtype', 'quiet'],
  Data: ['data', 'columns', 'evalSplit', 'skipInvalid', 'maxLength', 'maxPromptLength'],
  DPO: ['beta', 'lossType', 'labelSmoothing'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
