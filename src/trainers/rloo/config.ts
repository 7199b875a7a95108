// RLOO — REINFORCE Leave-One-Out (Ahmadian et al. 2024, "Back to Basics: Revisiting REINFORCE Style
// Optimization for Learning from Human Feedback in LLMs"; Kool et al. 2019), with the defaults and
// names of TRL's RLOOConfig (camelCase here, kebab-case flags). Each field says where it comes from.
import { z } from 'zod';
import { LORA_HELP_KEYS, loraFields, optimFields, runFields } from '../common/config.js';
import { promptFields, rewardFields, rolloutFields } from '../common/online-config.js';

export const rlooConfig = z.object({
  ...runFields({ saveEvery: 20, logEvery: 1 }),
  ...optimFields({ lr: 1e-6, batchSize: 8, epochs: 1, schedule: 'linear' }),
  ...loraFields(),
  ...rewardFields(),
  ...promptFields({ maxPromptLength: 512 }),
  // Sampling k responses per prompt (Ahmadian et al. 2024 sec. 3.2)
  numGenerations: z.int().min(2).default(2).describe('k: responses per prompt; each one\'s baseline is the mean reward of the other k − 1 (TRL num_generations, formerly rloo_k)'),
  maxCompletionLength: z.int().min(1).default(256).describe('most tokens per response (TRL max_completion_length)'),
  ...rolloutFields({ temperature: 1, temperatureHelp: 'sampling temperature T; log-probs are recomputed with logits/T (TRL temperature)' }),
  maskTruncatedCompletions: z.boolean().default(false).describe('leave responses that never ended out of the loss (TRL mask_truncated_completions)'),
  // The KL-penalised sequence reward and the objective
  beta: z.number().min(0).default(0.05).describe('β of the sequence-level KL penalty in the reward, r − β·Σ_t (log π_old − log π_ref) (Ahmadian et al. 2024 eq. 1; TRL beta); 0: no reference model'),
  normalizeAdvantages: z.boolean().default(false).describe('standardise the advantages over the batch (mean 0, std 1) (TRL normalize_advantages)'),
  epsilon: z.number().positive().default(0.2).describe('ε of the clipped sequence ratio clip(ρ, 1 − ε, 1 + ε_high) (TRL epsilon)'),
  epsilonHigh: z.number().positive().nullable().default(null).describe('upper ε of the clip (default: --epsilon) (TRL epsilon_high)'),
  numIterations: z.int().min(1).default(1).describe('μ: passes over each rollout batch; 1 is plain REINFORCE (TRL num_iterations)'),
  stepsPerGeneration: z.int().min(1).default(1).describe('optimizer steps each rollout batch is split into (TRL steps_per_generation)'),
});

export type RLOOConfig = z.infer<typeof rlooConfig>;
/** What a caller passes: every field with a default may be left out. */
export type RLOOConfigInput = z.input<typeof rlooConfig>;

export const RLOO_HELP_GROUPS = {
  'Model and output': ['model', 'rewardModel', 'rewardFn', 'rewardWeights', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'sampleEvery', 'seed', 'dtype', 'quiet'],
  Prompts: ['prompts', 'columns', 'skipInvalid', 'maxPromptLength'],
  Rollouts: ['numGenerations', 'maxCompletionLength', 'temperature', 'topK', 'topP', 'allowSamplingMismatch', 'rolloutDtype', 'missingEosPenalty', 'maskTruncatedCompletions'],
  RLOO: ['beta', 'normalizeAdvantages', 'epsilon', 'epsilonHigh', 'numIterations', 'stepsPerGeneration', 'gradAccum'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
