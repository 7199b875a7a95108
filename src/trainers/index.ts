// The trainers: `import { sft, trainRewardModel, ppo, dpo } from 'rlhf/trainers'`. Each takes its
// typed config (the same schema as the CLI flags and YAML keys) and returns the trained model and
// its metrics.
export { sft, evaluateLm, type SFTResult, type TrainerHooks } from './sft/train.js';
export { sftConfig, type SFTConfig, type SFTConfigInput } from './sft/config.js';
export { causalLmLoss } from './sft/loss.js';
export { trainRewardModel, evaluateReward, type RewardResult } from './reward/train.js';
export { rewardConfig, type RewardConfig, type RewardConfigInput } from './reward/config.js';
export { scoreTexts, scoreIds } from './reward/score.js';
export * from './reward/loss.js';
export { ppo, rolloutSeed, type PPOResult, type PPOOptions } from './ppo/train.js';
export { ppoConfig, type PPOConfig, type PPOConfigInput } from './ppo/config.js';
export * from './ppo/loss.js';
export { dpo, type DPOResult } from './dpo/train.js';
export { dpoConfig, type DPOConfig, type DPOConfigInput } from './dpo/config.js';
export * from './dpo/loss.js';
export { runPipeline, readPipeline } from './pipeline.js';
export { responseLogprobs, labelledSequenceLogprobs } from './common/logprobs.js';
export { loadRewardFn, type RewardFn } from './common/reward-fn.js';
export { saveCheckpoint, loadLatestCheckpoint, listCheckpoints, CheckpointCorruptError } from './common/checkpoint.js';
export { MetricsLogger, readMetrics } from './common/metrics-log.js';
export { TensorBoardWriter } from './common/tensorboard.js';
export { TrainerError } from './common/setup.js';
