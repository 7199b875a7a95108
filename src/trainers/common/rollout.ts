// The rollout of the online trainers — DESIGN.md's PPO checklist, steps 1–3, shared by PPO, GRPO,
// RLOO and REINFORCE++ so they sample, score and recompute log-probs the same way:
//   1. sample: prompts left-padded (position ids from the attention mask), each repeated G times
//      (rows i·G … i·G + G − 1 are prompt i's samples), temperature T, optionally on a bf16 copy
//      of the weights; each response is cut after its first EOS
//   2. score prompt + response text with the scorer (reward model and/or functions, weighted);
//      a response that never ended loses the missing-EOS penalty
//   3. recompute the sampled tokens' log-probs under the policy (when the trainer needs "old"
//      log-probs) and the frozen reference, with logits / T, in the training dtype, in chunks
//      of rows, without gradients
// What it returns holds tensors; the trainer frees them with disposeRollout().
import type { Tensor } from '../../torch/tensor.js';
import { cat, disposeAll, noGrad, tensor, tidy } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { copyModel, loadPretrained } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { generate } from '../../generation/generate.js';
import { mulberry32, padLeft, permutation, readPrompts } from '../../data/index.js';
import { responseLogprobs } from './logprobs.js';
import { maybeAutocast, TrainerError } from './setup.js';
import type { Scorer } from './rewards.js';
import type { RewardFn } from './reward-fn.js';

/**
 * Rows per no-grad forward when recomputing the rollout's log-probs (step 3), as TRL's
 * local_rollout_forward_batch_size: big batches are faster than the training micro-batches, and the
 * first minibatch's ratio is still 1 to float32 rounding (the tests hold it to 1e-6).
 */
export const ROLLOUT_CHUNK = 64;

/** The seed of iteration `it`'s rollout: different every iteration, the same on a resumed run. */
export function rolloutSeed(seed: number, it: number): number {
  return (seed * 1_000_003 + (it + 1) * 7_919) % 2_147_483_647;
}

/** Rows of each prompt batch of an epoch: a seeded permutation cut into batches (the last partial one dropped). */
export function promptBatches(n: number, batchSize: number, seed: number, epoch: number): number[][] {
  const perm = permutation(n, mulberry32(seed * 7_777 + epoch));
  const out: number[][] = [];
  for (let i = 0; i + batchSize <= n; i += batchSize) out.push(perm.slice(i, i + batchSize));
  return out;
}

export interface Prompts {
  texts: string[];
  /** Token ids of each prompt: its last maxPromptLength tokens (a BOS/EOS for an empty one). */
  ids: number[][];
}

/**
 * Reads and tokenises the prompts file, checking there are at least `batchSize` prompts and that
 * the longest prompt plus `maxNewTokens` fits the model's positions.
 */
export function loadPrompts(
  cfg: { prompts: string; columns: Record<string, string>; skipInvalid: boolean; maxPromptLength: number },
  tokenizer: Tokenizer,
  o: { batchSize: number; maxNewTokens: number; nPositions: number; trainer: string; lengthFlag: string },
): Prompts {
  const texts = readPrompts(cfg.prompts, { columns: cfg.columns, skipInvalid: cfg.skipInvalid, tokenizer });
  if (texts.length < o.batchSize) throw new TrainerError(`${cfg.prompts} has ${texts.length} prompts; ${o.trainer} needs at least --batch-size (${o.batchSize}).`);
  const start = tokenizer.bosTokenId ?? tokenizer.eosTokenId ?? 0;
  const ids = texts.map((p) => {
    const t = tokenizer.encode(p);
    return t.length === 0 ? [start] : t.slice(Math.max(0, t.length - cfg.maxPromptLength));
  });
  const longest = Math.max(...ids.map((p) => p.length));
  if (longest + o.maxNewTokens > o.nPositions) {
    throw new TrainerError(`prompts of up to ${longest} tokens + ${o.lengthFlag} ${o.maxNewTokens} exceed the model's ${o.nPositions} positions; lower --max-prompt-length or ${o.lengthFlag}.`);
  }
  return { texts, ids };
}

/** Refuses top-k/top-p unless the user accepts that rollouts then come from another policy. */
export function checkSampling(cfg: { topK: number | null; topP: number | null; allowSamplingMismatch: boolean }, trainer: string): void {
  if ((cfg.topK !== null || cfg.topP !== null) && !cfg.allowSamplingMismatch) {
    throw new TrainerError(`--top-k/--top-p sample from a different distribution than the policy ${trainer} optimises (its log-probs are of softmax(logits/T)); drop them, or pass --allow-sampling-mismatch to accept the bias.`);
  }
}

export interface RolloutOptions {
  /** G: samples per prompt (each prompt's rows are consecutive). */
  samplesPerPrompt: number;
  maxNewTokens: number;
  temperature: number;
  topK: number | null;
  topP: number | null;
  /** dtype of the sampling copy of the weights. */
  rolloutDtype: 'float32' | 'bfloat16';
  /** dtype of the log-prob recomputation (the training dtype). */
  dtype: 'float32' | 'bfloat16';
  /** Subtracted from the score of a response without EOS; null: none. */
  missingEosPenalty: number | null;
  eos: number;
  pad: number;
  seed: number;
  /**
   * Recompute the policy's log-probs (step 3): the "old" log-probs of a clipped ratio or a KL in the
   * reward. A trainer that updates once per rollout may skip it and use its training forward,
   * detached, as TRL's GRPOTrainer does when num_iterations = 1.
   */
  policyLogprobs: boolean;
  /** Rows per no-grad forward (default ROLLOUT_CHUNK). */
  chunk?: number;
}

export interface Rollout {
  /** N = prompts × G rows; row i·G + g is sample g of prompt i. */
  N: number;
  G: number;
  promptTexts: string[];
  responseTexts: string[];
  /** (N) prompt ids, response ids (up to and including EOS). */
  queries: number[][];
  responses: number[][];
  endedWithEos: boolean[];
  /** (N) the scorer's weighted reward, minus the missing-EOS penalty where it applies. */
  scores: Float32Array;
  /** (N) the scorer's weighted reward as it came. */
  rawScores: Float32Array;
  /** Each reward source's own rewards (N), by name. */
  bySource: Record<string, Float32Array>;
  /** Prompt width (left-padded) and response width (right-padded) of the tensors. */
  P: number;
  R: number;
  /** (N, P+R) int64 [prompt | response] and its attention mask. */
  seq: Tensor;
  mask: Tensor;
  /** (N, R) int64 the response tokens; (N, R) float32 1 up to and including EOS. */
  targets: Tensor;
  respMask: Tensor;
  /** (N, R) log π_old of the sampled tokens (logits / T); null when not asked for. */
  logprobs: Tensor | null;
  /** (N, R) log π_ref; null without a reference model. */
  refLogprobs: Tensor | null;
  /** Seconds spent in each step. */
  timings: { generation: number; scoring: number; logprobs: number };
}

/** The (N, P+R) batch tensors of queries + responses: [left-padded prompt | right-padded response]. */
export function rolloutTensors(queries: readonly (readonly number[])[], responses: readonly (readonly number[])[], pad: number): { P: number; R: number; seq: Tensor; mask: Tensor; targets: Tensor; respMask: Tensor } {
  const P = Math.max(...queries.map((q) => q.length));
  const R = Math.max(1, ...responses.map((r) => r.length));
  return tidy(() => {
    const seqRows = queries.map((q, b) => {
      const r = responses[b] as readonly number[];
      return [...new Array<number>(P - q.length).fill(pad), ...q, ...r, ...new Array<number>(R - r.length).fill(pad)];
    });
    const maskRows = queries.map((q, b) => {
      const r = (responses[b] as readonly number[]).length;
      return [...new Array<number>(P - q.length).fill(0), ...new Array<number>(q.length + r).fill(1), ...new Array<number>(R - r).fill(0)];
    });
    const seq = tensor(seqRows, { dtype: 'int64' }); // (N, P+R)
    const mask = tensor(maskRows, { dtype: 'int64' }); // (N, P+R)
    const targets = seq.narrow(1, P, R).contiguous(); // (N, R)
    const respMask = mask.narrow(1, P, R).float().contiguous(); // (N, R) 1 up to and including EOS
    return { P, R, seq, mask, targets, respMask };
  });
}

/**
 * fn over the rows of (seq, mask, targets) in chunks, without gradients and under the training
 * dtype's autocast; the chunks' outputs concatenated along dim 0.
 */
export function inChunks(
  t: { seq: Tensor; mask: Tensor; targets: Tensor },
  dtype: 'float32' | 'bfloat16',
  fn: (seq: Tensor, mask: Tensor, targets: Tensor) => Tensor,
  chunk = ROLLOUT_CHUNK,
): Tensor {
  const N = t.seq.size(0);
  return tidy(() => {
    const parts: Tensor[] = [];
    noGrad(() =>
      maybeAutocast(dtype, () => {
        for (let s = 0; s < N; s += chunk) {
          const n = Math.min(chunk, N - s);
          parts.push(fn(t.seq.narrow(0, s, n), t.mask.narrow(0, s, n), t.targets.narrow(0, s, n)));
        }
      }),
    );
    return cat(parts, 0);
  });
}

/** (N, R) log-probs of the rollout's response tokens under `model`, logits / T, in chunks, no gradient. */
export function rolloutLogprobs(model: CausalLM, t: { P: number; seq: Tensor; mask: Tensor; targets: Tensor }, temperature: number, dtype: 'float32' | 'bfloat16', chunk = ROLLOUT_CHUNK): Tensor {
  return inChunks(t, dtype, (sq, mk, tg) => responseLogprobs(model, sq, mk, tg, t.P, { temperature }).logprobs, chunk);
}

/** Steps 1–3 for a batch of prompts (see the top of this file). */
export async function rollout(
  models: { policy: CausalLM; ref: CausalLM | null; tokenizer: Tokenizer; scorer: Scorer },
  prompts: { texts: readonly string[]; ids: readonly (readonly number[])[] },
  o: RolloutOptions,
): Promise<Rollout> {
  const { policy, ref, tokenizer, scorer } = models;
  const G = o.samplesPerPrompt;
  const queries = prompts.ids.flatMap((q) => new Array<number[]>(G).fill([...q]));
  const promptTexts = prompts.texts.flatMap((p) => new Array<string>(G).fill(p));
  const N = queries.length;

  // 1. sample, left-padded, truncated after the first EOS
  const t0 = performance.now();
  const q = padLeft(queries, o.pad); // (N, P)
  let gen;
  try {
    gen = generate(policy, q, {
      maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP,
      eosTokenId: o.eos, padTokenId: o.pad, seed: o.seed, dtype: o.rolloutDtype,
    });
  } finally {
    q.inputIds.dispose();
    q.attentionMask.dispose();
  }
  gen.sequences.dispose();
  gen.responseMask.dispose();
  const responses = gen.responseIds; // up to and including EOS
  const endedWithEos = gen.finishReason.map((r) => r === 'eos');
  const responseTexts = responses.map((r) => tokenizer.decode(r, { skipSpecialTokens: true }));

  // 2. score prompt + response (as text: a reward model re-tokenises it with its own tokenizer, no EOS)
  const t1 = performance.now();
  const detail = await scorer.scoreDetailed(promptTexts, responseTexts);
  const rawScores = detail.total;
  const scores = Float32Array.from(rawScores);
  if (o.missingEosPenalty !== null) for (let b = 0; b < N; b++) if (!endedWithEos[b]) scores[b] = (scores[b] as number) - o.missingEosPenalty;

  // 3. log-probs of the sampled tokens under the policy and the reference (logits / T)
  const t2 = performance.now();
  const t = rolloutTensors(queries, responses, o.pad);
  let logprobs: Tensor | null = null;
  let refLogprobs: Tensor | null = null;
  try {
    if (o.policyLogprobs) logprobs = rolloutLogprobs(policy, t, o.temperature, o.dtype, o.chunk);
    if (ref) refLogprobs = rolloutLogprobs(ref, t, o.temperature, o.dtype, o.chunk);
  } catch (err) {
    disposeAll([t, logprobs]);
    throw err;
  }
  const t3 = performance.now();
  return {
    N, G, promptTexts, responseTexts, queries, responses, endedWithEos, scores, rawScores, bySource: detail.bySource,
    ...t, logprobs, refLogprobs,
    timings: { generation: (t1 - t0) / 1000, scoring: (t2 - t1) / 1000, logprobs: (t3 - t2) / 1000 },
  };
}

/** Frees a rollout's tensors. */
export function disposeRollout(r: Rollout): void {
  disposeAll([r.seq, r.mask, r.targets, r.respMask, r.logprobs, r.refLogprobs]);
}

/** The policy, the frozen reference (or none), the tokenizer, EOS and padding ids. */
export interface LoadedPolicy {
  policy: CausalLM;
  ref: CausalLM | null;
  tokenizer: Tokenizer;
  eos: number;
  pad: number;
}

/**
 * Loads the policy from `dir` and, when `withRef`, a frozen copy of it as the reference; dropout
 * off in both (DESIGN step 0). The tokenizer must be there: responses are decoded for the scorer.
 */
export async function loadPolicy(dir: string, withRef: boolean, trainer: string, revision?: string): Promise<LoadedPolicy> {
  const { model: policy, tokenizer } = await loadPretrained(dir, revision === undefined ? {} : { revision });
  try {
    if (!tokenizer) throw new TrainerError(`${dir} has no tokenizer files; ${trainer} needs them to decode responses (save the SFT model with its tokenizer).`);
    const ref = withRef ? copyModel(policy) : null;
    ref?.requiresGrad_(false);
    policy.eval();
    ref?.eval();
    const eos = tokenizer.eosTokenId ?? policy.config.eos_token_id;
    return { policy, ref, tokenizer, eos, pad: tokenizer.padTokenId ?? eos };
  } catch (err) {
    policy.dispose();
    throw err;
  }
}

// ----- what the critic-free trainers (GRPO, RLOO, REINFORCE++) take and give -------------------

export interface OnlineTrainerOptions {
  /** Reward functions given in code; they join --reward-model and --reward-fn (weighted last, in order, by --reward-weights). */
  rewardFns?: RewardFn[];
  /** Progress and sample lines go here (the CLI passes stdout); default: nowhere. */
  onLog?: (line: string) => void;
  /** Progress bar stream; default: none. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Called after every micro-batch with its stats (pass: which of the passes over the rollout; step: optimizer step within it) (tests check the invariants of the first one). */
  onMinibatch?: (info: { iteration: number; pass: number; step: number; micro: number; stats: Record<string, number> }) => void;
  /** Called after every iteration with its record (what metrics.jsonl gets). */
  onIteration?: (iteration: number, record: Record<string, number>) => void;
}

export interface OnlineTrainerResult<C> {
  policy: CausalLM;
  tokenizer: Tokenizer;
  /** One record per iteration: what metrics.jsonl holds. */
  history: Record<string, number>[];
  config: C;
  /** Frees the policy. */
  dispose(): void;
}

