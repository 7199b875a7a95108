// REINFORCE++ (Hu 2025, "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language
// Models"), as OpenRLHF implements it (advantage_estimator "reinforce" and "reinforce_baseline").
// Names follow this project's PPO where the two share an option; each field says which OpenRLHF
// option it is.
import { z } from 'zod';
import { LORA_HELP_KEYS, loraFields, optimFields, runFields } from '../common/config.js';
import { promptFields, rewardFields, rolloutFields } from '../common/online-config.js';

export const reinforcePPConfig = z.object({
  ...runFields({ saveEvery: 20, logEvery: 1 }),
  ...optimFields({ lr: 1e-6, batchSize: 16, epochs: 1, schedule: 'linear' }),
  ...loraFields(),
  ...rewardFields(),
  ...promptFields({ maxPromptLength: 512 }),
  samplesPerPrompt: z.int().min(1).default(1).describe('responses sampled per prompt (OpenRLHF n_samples_per_prompt)'),
  maxNewTokens: z.int().min(1).default(256).describe('most tokens per response (OpenRLHF generate_max_len)'),
  ...rolloutFields({ temperature: 1, temperatureHelp: 'sampling temperature T; log-probs are recomputed with logits/T (OpenRLHF temperature)' }),
  // The token-level KL-penalised reward (Hu 2025 sec. 3.1)
  klCoef: z.number().min(0).default(0.01).describe('β of the per-token KL penalty −β·KL_t in the reward (Hu 2025 eq. 1; OpenRLHF init_kl_coef); 0: no reference model'),
  klEstimator: z.enum(['k1', 'k3']).default('k1').describe('KL estimator per token: k1 = log π − log π_ref, k3 = (r − 1) − log r (Schulman 2020; OpenRLHF kl_estimator)'),
  gamma: z.number().min(0).max(1).default(1).describe('discount γ of the returns G_t = Σ_{s≥t} γ^{s−t} r_s (OpenRLHF gamma)'),
  groupBaseline: z.boolean().default(false).describe('REINFORCE++-baseline: subtract the mean score of the prompt\'s samples first (needs --samples-per-prompt > 1; OpenRLHF advantage_estimator reinforce_baseline)'),
  // The PPO-clipped objective (Hu 2025 sec. 3.3)
  clipRange: z.number().positive().default(0.2).describe('ε of the clipped surrogate objective (Schulman et al. 2017 eq. 7; OpenRLHF eps_clip)'),
  ppoEpochs: z.int().min(1).default(1).describe('passes over each rollout batch (OpenRLHF max_epochs)'),
  numMiniBatches: z.int().min(1).default(1).describe('minibatches (optimizer steps) per pass (OpenRLHF rollout_batch_size / train_batch_size)'),
});

export type ReinforcePPConfig = z.infer<typeof reinforcePPConfig>;
/** What a caller passes: every field with a default may be left out. */
export type ReinforcePPConfigInput = z.input<typeof reinforcePPConfig>;

export const REINFORCE_PP_HELP_GROUPS = {
  'Model and output': ['model', 'rewardModel', 'rewardFn', 'rewardWeights', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'sampleEvery', 'seed', 'dtype', 'quiet'],
  Prompts: ['prompts', 'columns', 'skipInvalid', 'maxPromptLength'],
  Rollouts: ['samplesPerPrompt', 'maxNewTokens', 'temperature', 'topK', 'topP', 'allowSamplingMismatch', 'rolloutDtype', 'missingEosPenalty'],
  'REINFORCE++': ['klCoef', 'klEstimator', 'gamma', 'groupBaseline', 'clipRange', 'ppoEpochs', 'numMiniBatches', 'gradAccum'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
