// Rejection-sampling fine-tuning — also called RAFT (Dong et al. 2023, "reward-ranked fine-tuning"),
// expert iteration (Anthony et al. 2017; Polu et al. 2022; Havrilla et al. 2024) and ReST / ReST-EM
// (Gulcehre et al. 2023; Singh et al. 2023): rounds of "sample n per prompt, keep the best under a
// reward, fine-tune on what was kept". Each field says where it comes from.
import { z } from 'zod';
import { LORA_HELP_KEYS, loraFields, optimFields, runFields } from '../common/config.js';
import { promptFields, rewardFields } from '../common/online-config.js';

const { logEvery: _logEvery, ...run } = runFields();
const optim = optimFields({ lr: 1e-5, batchSize: 8, epochs: 1, schedule: 'constant' });

export const rftConfig = z.object({
  ...run,
  saveEvery: z.int().min(0).default(1).describe('rounds between checkpoints (0: none; the final model is always saved)'),
  ...rewardFields(),
  ...promptFields({ maxPromptLength: 64 }),
  // The rounds (RAFT's stages; ReST's Grow/Improve loop with one Improve step per Grow step)
  rounds: z.int().min(1).default(3).describe('rounds of sample → select → fine-tune (RAFT stages, ReST Grow steps, expert-iteration iterations)'),
  promptsPerRound: z.int().min(0).default(0).describe('prompts sampled each round, a fresh seeded draw from --prompts (0: all of them every round)'),
  // 1. sampling (best-of-n: src/generation/best-of-n.ts)
  bestOf: z.int().min(1).default(4).describe('n: responses sampled per prompt, of which the highest-reward one is kept (RAFT K, ReST samples per prompt)'),
  maxNewTokens: z.int().min(1).default(32).describe('most tokens per sampled response'),
  temperature: z.number().positive().default(1).describe('sampling temperature T (1: the policy itself; lower: less diverse candidates)'),
  topK: z.int().min(1).nullable().default(null).describe('top-k sampling of the candidates (off when not given)'),
  topP: z.number().gt(0).max(1).nullable().default(null).describe('nucleus sampling of the candidates (off when not given)'),
  rolloutDtype: z.enum(['float32', 'bfloat16']).default('float32').describe('dtype of the sampling copy of the weights (bf16: faster sampling; training stays in --dtype)'),
  sampleBatchSize: z.int().min(1).default(16).describe('prompts per generation batch and reward-model batch'),
  // 2.–3. selection (select.ts)
  minReward: z.number().nullable().default(null).describe("keep a prompt's best response only if its reward is ≥ X (ReST's threshold τ; expert iteration: 1 = correct); none when not given").meta({ metavar: 'X' }),
  topFraction: z.number().gt(0).max(1).default(1).describe("keep only the prompts whose best responses rank in the top fraction F of the round (RAFT's 1/k ranking); 1: all").meta({ metavar: 'F' }),
  // 4. fine-tuning on the kept pairs: the SFT step, a fresh AdamW and schedule each round
  ...optim,
  epochs: optim.epochs.describe("passes over each round's kept pairs"),
  maxSteps: optim.maxSteps.describe('optimizer steps per round (0: run --epochs over the kept pairs)'),
  // LoRA: the adapters are put on once and keep training round after round (each round a fresh AdamW over them)
  ...loraFields(),
});

export type RFTConfig = z.infer<typeof rftConfig>;
/** What a caller passes: every field with a default may be left out. */
export type RFTConfigInput = z.input<typeof rftConfig>;

export const RFT_HELP_GROUPS = {
  'Model and output': ['model', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'seed', 'dtype', 'quiet'],
  Reward: ['rewardModel', 'rewardFn', 'rewardWeights'],
  Prompts: ['prompts', 'columns', 'skipInvalid', 'maxPromptLength', 'promptsPerRound'],
  Rounds: ['rounds', 'bestOf', 'minReward', 'topFraction'],
  Sampling: ['maxNewTokens', 'temperature', 'topK', 'topP', 'rolloutDtype', 'sampleBatchSize'],
  'Fine-tuning (each round)': ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
