// Reward models from three kinds of human feedback — pairwise preferences, scalar ratings (on one
// or several named dimensions) and labels — each giving a ScalarHeadModel directory in the
// sequence-classification layout. TRL's RewardConfig names where they exist.
import { z } from 'zod';
import { dataFields, LORA_HELP_KEYS, loraFields, optimFields, runFields } from '../common/config.js';

export const REWARD_KINDS = ['auto', 'preference', 'ratings', 'labels'] as const;

export const rewardConfig = z.object({
  ...runFields(),
  ...dataFields({ maxLength: 256 }),
  ...optimFields({ lr: 1e-5, batchSize: 8, epochs: 1 }),
  ...loraFields(),
  kind: z.enum(REWARD_KINDS).default('auto').describe('the feedback in --data: preference pairs (Bradley–Terry), ratings (regression) or labels (binary cross-entropy); auto: from its columns'),
  centerRewardsCoefficient: z.number().min(0).default(0).describe('preferences: adds coef·mean((r_c + r_r)²), keeping rewards centred at 0 (TRL center_rewards_coefficient; Eisenstein et al. 2023)'),
  positiveLabel: z.string().nullable().default(null).describe('labels: the class whose reward is high (σ(reward) = P(positive)); default 1/true/positive/pos/good'),
  dimensions: z.array(z.string()).default([]).describe('ratings: the rating columns (default: every numeric column other than prompt/response)'),
  dimensionWeights: z.record(z.string(), z.number().min(0)).default({}).describe('ratings: weight of each dimension in the one reward, e.g. coherence=2,fluency=1 (default equal; normalised to sum 1)'),
  evalEvery: z.int().min(0).default(0).describe('optimizer steps between evaluations on the held-out split (0: only at the end)'),
});

export type RewardConfig = z.infer<typeof rewardConfig>;
export type RewardConfigInput = z.input<typeof rewardConfig>;

export const REWARD_HELP_GROUPS = {
  'Model and output': ['model', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'evalEvery', 'seed', 'dtype', 'quiet'],
  Data: ['data', 'kind', 'columns', 'evalSplit', 'skipInvalid', 'maxLength', 'positiveLabel', 'dimensions', 'dimensionWeights', 'centerRewardsCoefficient'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
