// The options the online trainers (PPO, GRPO, RLOO, REINFORCE++) share, each defined once: where
// the reward comes from, where the prompts come from, and how responses are sampled. A trainer
// spreads them into its own schema with its own defaults; the meaning stays the same.
import { z } from 'zod';

/** The reward: a reward model and/or reward functions, weighted (src/trainers/common/rewards.ts). */
export function rewardFields() {
  return {
    rewardModel: z.string().min(1).nullable().default(null).describe('reward-model directory (ScalarHeadModel / *ForSequenceClassification), read at the last token of prompt + response'),
    rewardFn: z
      .array(z.string().min(1))
      .nullable()
      .default([])
      .describe('a TypeScript/JavaScript module whose default export (or `reward`) maps (prompts, responses) to numbers, sync or async; repeat the flag for several')
      .meta({ split: false, metavar: 'FILE.ts' }),
    rewardWeights: z
      .array(z.number())
      .nullable()
      .default(null)
      .describe('one weight per reward — --reward-model first, then each --reward-fn in order; the reward is Σ w_k·r_k (TRL reward_weights; default all 1)'),
  };
}

/** Where the prompts come from. */
export function promptFields(d: { maxPromptLength?: number } = {}) {
  return {
    prompts: z.string().min(1).describe('prompts file: .txt (one per line) or .jsonl/.json/.csv/.tsv with a prompt/query/text column'),
    columns: z.record(z.string(), z.string()).default({}).describe("rename columns of the prompts file: NEW=OLD, e.g. 'prompt=sentence'"),
    skipInvalid: z.boolean().default(false).describe('skip malformed prompt rows instead of stopping'),
    maxPromptLength: z.int().min(1).default(d.maxPromptLength ?? 64).describe('prompt tokens kept (the end of longer prompts)'),
  };
}

/**
 * Sampling the responses (DESIGN.md step 1) and what happens to a response that never ended. The
 * response length is each trainer's own field (PPO: maxNewTokens, TRL's GRPO/RLOO: maxCompletionLength).
 */
export function rolloutFields(d: { temperature: number; temperatureHelp: string }) {
  return {
    temperature: z.number().positive().default(d.temperature).describe(d.temperatureHelp),
    topK: z.int().min(1).nullable().default(null).describe('top-k sampling: changes the behaviour policy, so it needs --allow-sampling-mismatch'),
    topP: z.number().gt(0).max(1).nullable().default(null).describe('nucleus sampling: changes the behaviour policy, so it needs --allow-sampling-mismatch'),
    allowSamplingMismatch: z.boolean().default(false).describe('allow top-k/top-p: rollouts then come from a policy other than the one optimised'),
    rolloutDtype: z.enum(['float32', 'bfloat16']).default('float32').describe('dtype of the rollout copy of the weights (bf16: faster sampling; log-probs are recomputed in --dtype)'),
    missingEosPenalty: z.number().min(0).nullable().default(null).describe('subtracted from the score of a response that ended without EOS (TRL missing_eos_penalty; null: none)'),
    sampleEvery: z.int().min(0).default(10).describe('iterations between printed sample responses (0: never)'),
  };
}

export type OnlineRewardOptions = z.infer<z.ZodObject<ReturnType<typeof rewardFields>>>;
export type OnlinePromptOptions = z.infer<z.ZodObject<ReturnType<typeof promptFields>>>;
export type OnlineSamplingOptions = z.infer<z.ZodObject<ReturnType<typeof rolloutFields>>>;
