// PPO for language models (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et al. 2022), with the
// defaults and names of TRL's PPOConfig where they exist. Each field says where it comes from.
import { z } from 'zod';
import { LORA_HELP_KEYS, loraFields, optimFields, runFields } from '../common/config.js';
import { promptFields, rewardFields, rolloutFields } from '../common/online-config.js';

export const ppoConfig = z.object({
  ...runFields({ saveEvery: 20, logEvery: 1 }),
  ...optimFields({ lr: 1e-5, batchSize: 16, epochs: 1, schedule: 'linear' }),
  ...loraFields(),
  ...rewardFields(),
  valueModel: z.string().min(1).nullable().default(null).describe('value-model directory (default: a copy of the reward model, or of the policy body with a new head when only --reward-fn is used)'),
  ...promptFields({ maxPromptLength: 64 }),
  // Rollouts (DESIGN step 1)
  maxNewTokens: z.int().min(1).default(32).describe('most response tokens per prompt (TRL response_length)'),
  ...rolloutFields({ temperature: 0.7, temperatureHelp: 'sampling temperature T; log-probs are recomputed with logits/T (TRL temperature)' }),
  // KL-penalised reward (DESIGN step 4)
  klCoef: z.number().min(0).default(0.05).describe('β of the per-token KL penalty −β·KL(π‖π_ref) (TRL kl_coef; Ziegler et al. 2019 eq. 2)'),
  klEstimator: z.enum(['k1', 'k3']).default('k1').describe('KL estimator per token: k1 = log π − log π_ref, k3 = (r − 1) − log r (Schulman 2020)'),
  adaptiveKl: z.boolean().default(false).describe("adapt β toward --kl-target with Ziegler et al.'s controller (2019, sec. 2.2)"),
  klTarget: z.number().positive().default(6).describe('target KL (nats per sequence) of the adaptive controller'),
  klHorizon: z.number().positive().default(10000).describe('horizon of the adaptive controller, in episodes'),
  // GAE and PPO epochs (DESIGN steps 5–6)
  gamma: z.number().min(0).max(1).default(1).describe('discount γ of GAE (Schulman et al. 2016)'),
  lam: z.number().min(0).max(1).default(0.95).describe('λ of GAE'),
  whitenRewards: z.boolean().default(false).describe('whiten the per-token rewards before GAE (TRL whiten_rewards)'),
  ppoEpochs: z.int().min(1).default(4).describe('K passes over each rollout batch (TRL num_ppo_epochs)'),
  numMiniBatches: z.int().min(1).default(1).describe('minibatches (optimizer steps) per PPO epoch (TRL num_mini_batches)'),
  clipRange: z.number().positive().default(0.2).describe('ε of the clipped surrogate objective (Schulman et al. 2017 eq. 7; TRL cliprange)'),
  clipRangeValue: z.number().positive().default(0.2).describe('ε_v of the clipped value loss (TRL cliprange_value)'),
  vfCoef: z.number().min(0).default(0.1).describe('c_v: total loss = policy loss + c_v · value loss (TRL vf_coef)'),
});

export type PPOConfig = z.infer<typeof ppoConfig>;
/** What a caller passes: every field with a default may be left out. */
export type PPOConfigInput = z.input<typeof ppoConfig>;

export const PPO_HELP_GROUPS = {
  'Model and output': ['model', 'rewardModel', 'rewardFn', 'rewardWeights', 'valueModel', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'sampleEvery', 'seed', 'dtype', 'quiet'],
  Prompts: ['prompts', 'columns', 'skipInvalid', 'maxPromptLength'],
  Rollouts: ['maxNewTokens', 'temperature', 'topK', 'topP', 'allowSamplingMismatch', 'rolloutDtype', 'missingEosPenalty'],
  'KL penalty': ['klCoef', 'klEstimator', 'adaptiveKl', 'klTarget', 'klHorizon'],
  'PPO': ['ppoEpochs', 'numMiniBatches', 'gradAccum', 'clipRange', 'clipRangeValue', 'vfCoef', 'gamma', 'lam', 'whitenRewards'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
