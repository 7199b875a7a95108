// Kahneman–Tversky Optimisation (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect
// Theoretic Optimization"), with TRL's KTOConfig names: unpaired desirable / undesirable examples,
// a frozen reference, the KL reference point z0 estimated from mismatched prompt/completion pairs.
import { z } from 'zod';
import { dataFields, LORA_HELP_KEYS, loraFields, optimFields, preferenceFields, runFields } from '../common/config.js';

export const ktoConfig = z.object({
  ...runFields(),
  ...dataFields({ maxLength: 256 }),
  ...optimFields({ lr: 1e-6, batchSize: 8, epochs: 1 }),
  refModel: z.string().min(1).nullable().default(null).describe('reference model directory, the frozen SFT model (default: a frozen copy of --model; with LoRA, --model with its adapters off)'),
  beta: z.number().positive().default(0.1).describe('β: how far the policy may move from the reference; the value function is σ(β·(r − z0)) (Ethayarajh et al. 2024 eq. 7; TRL beta)'),
  desirableWeight: z.number().positive().default(1).describe('λ_D: weight of desirable examples (eq. 7; TRL desirable_weight); keep λ_D·n_D / (λ_U·n_U) in [1, 4/3] (eq. 8)'),
  undesirableWeight: z.number().positive().default(1).describe('λ_U: weight of undesirable examples (eq. 7; TRL undesirable_weight)'),
  ...preferenceFields(),
  ...loraFields(),
});

export type KTOConfig = z.infer<typeof ktoConfig>;
export type KTOConfigInput = z.input<typeof ktoConfig>;

export const KTO_HELP_GROUPS = {
  'Model and output': ['model', 'refModel', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'evalEvery', 'seed', 'dtype', 'quiet'],
  Data: ['data', 'columns', 'evalSplit', 'evalData', 'skipInvalid', 'maxLength', 'maxPromptLength'],
  KTO: ['beta', 'desirableWeight', 'undesirableWeight'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
