// GRPO — Group Relative Policy Optimization (Shao et al. 2024, "DeepSeekMath", sec. 4.1), with the
// defaults and names of TRL's GRPOConfig (camelCase here, kebab-case flags). Each field says where
// it comes from.
import { z } from 'zod';
import { LORA_HELP_KEYS, loraFields, optimFields, runFields } from '../common/config.js';
import { promptFields, rewardFields, rolloutFields } from '../common/online-config.js';

export const grpoConfig = z.object({
  ...runFields({ saveEvery: 20, logEvery: 1 }),
  ...optimFields({ lr: 1e-6, batchSize: 8, epochs: 1, schedule: 'linear' }),
  ...loraFields(),
  ...rewardFields(),
  ...promptFields({ maxPromptLength: 512 }),
  // Sampling the group (Shao et al. 2024 sec. 4.1.1: G outputs per question)
  numGenerations: z.int().min(2).default(8).describe('G: responses sampled per prompt, the group its advantages are relative to (TRL num_generations)'),
  maxCompletionLength: z.int().min(1).default(256).describe('most tokens per response (TRL max_completion_length; loss type dr_grpo divides by it)'),
  ...rolloutFields({ temperature: 1, temperatureHelp: 'sampling temperature T; log-probs are recomputed with logits/T (TRL temperature)' }),
  // Advantages (Shao et al. 2024 sec. 4.1.2, outcome supervision)
  scaleRewards: z.enum(['group', 'batch', 'none']).default('group').describe("divide r − mean_group by the std of the group, of the whole batch, or not at all ('none': Dr. GRPO, Liu et al. 2025) (TRL scale_rewards)"),
  maskTruncatedCompletions: z.boolean().default(false).describe('leave responses that never ended out of the loss (DAPO, Yu et al. 2025; TRL mask_truncated_completions)'),
  // The clipped objective and the KL term (Shao et al. 2024 eq. 3)
  beta: z.number().min(0).default(0).describe('β of the KL term β·D_KL(π‖π_ref) in the loss, k3 estimator (Shao et al. 2024 eq. 4); 0: no reference model is loaded (TRL beta)'),
  epsilon: z.number().positive().default(0.2).describe('ε of the clipped ratio clip(r, 1 − ε, 1 + ε_high) (TRL epsilon)'),
  epsilonHigh: z.number().positive().nullable().default(null).describe('upper ε of the clip (DAPO "clip-higher", recommends 0.28; default: --epsilon) (TRL epsilon_high)'),
  lossType: z.enum(['grpo', 'bnpo', 'dr_grpo', 'dapo']).default('dapo').describe('how token losses are averaged: grpo per response then over responses; bnpo over the micro-batch\'s tokens; dr_grpo ÷ (responses · --max-completion-length); dapo over the optimizer step\'s tokens (TRL loss_type)'),
  numIterations: z.int().min(1).default(1).describe('μ: passes over each rollout batch (Shao et al. 2024 Alg. 1; TRL num_iterations)'),
  stepsPerGeneration: z.int().min(1).default(1).describe('optimizer steps each rollout batch is split into (TRL steps_per_generation)'),
});

export type GRPOConfig = z.infer<typeof grpoConfig>;
/** What a caller passes: every field with a default may be left out. */
export type GRPOConfigInput = z.input<typeof grpoConfig>;

export const GRPO_HELP_GROUPS = {
  'Model and output': ['model', 'rewardModel', 'rewardFn', 'rewardWeights', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'sampleEvery', 'seed', 'dtype', 'quiet'],
  Prompts: ['prompts', 'columns', 'skipInvalid', 'maxPromptLength'],
  Rollouts: ['numGenerations', 'maxCompletionLength', 'temperature', 'topK', 'topP', 'allowSamplingMismatch', 'rolloutDtype', 'missingEosPenalty', 'maskTruncatedCompletions'],
  GRPO: ['scaleRewards', 'beta', 'epsilon', 'epsilonHigh', 'lossType', 'numIterations', 'stepsPerGeneration', 'gradAccum'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
