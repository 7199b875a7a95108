// Simple Preference Optimisation (Meng et al. 2024, "SimPO: Simple Preference Optimization with a
// Reference-Free Reward"), with TRL's CPOConfig names for loss_type="simpo" (beta, simpo_gamma,
// cpo_alpha). Defaults are the SimPO authors' (princeton-nlp/SimPO scripts/simpo_config.py:
// beta 2.0, gamma_beta_ratio 0.25 → γ = 0.5, sft_weight 0), not CPOConfig's beta 0.1, which is
// CPO's and far too weak for length-averaged log-probs; γ = 0.5 is also CPOConfig's simpo_gamma.
import { z } from 'zod';
import { dataFields, LORA_HELP_KEYS, loraFields, optimFields, preferenceFields, runFields } from '../common/config.js';

export const simpoConfig = z.object({
  ...runFields(),
  ...dataFields({ maxLength: 256 }),
  ...optimFields({ lr: 1e-6, batchSize: 8, epochs: 1 }),
  beta: z.number().positive().default(2).describe('β: scale of the length-normalised reward β/|y|·log π(y|x) (Meng et al. 2024 eq. 4; SimPO repo default 2.0; TRL beta)'),
  simpoGamma: z.number().min(0).default(0.5).describe('γ: target reward margin (eq. 5; SimPO repo γ/β = 0.25 with β = 2; TRL simpo_gamma)'),
  cpoAlpha: z.number().min(0).default(0).describe('α: weight of an NLL term on the chosen response (L_NLL of CPO, Xu et al. 2024; TRL cpo_alpha; 0 is pure SimPO)'),
  ...preferenceFields(),
  ...loraFields(),
});

export type SimPOConfig = z.infer<typeof simpoConfig>;
export type SimPOConfigInput = z.input<typeof simpoConfig>;

export const SIMPO_HELP_GROUPS = {
  'Model and output': ['model', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'evalEvery', 'seed', 'dtype', 'quiet'],
  Data: ['data', 'columns', 'evalSplit', 'evalData', 'skipInvalid', 'maxLength', 'maxPromptLength'],
  SimPO: ['beta', 'simpoGamma', 'cpoAlpha'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
