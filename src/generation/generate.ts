// Batched sampling with a preallocated KV cache — the rollout engine of PPO.
//
//   const out = generate(model, { inputIds, attentionMask }, { maxNewTokens: 64, temperature: 0.7, topP: 0.9, seed: 1 });
//   out.responseIds[b]   // the ids row b generated, up to and including its EOS / stop token
//   out.logprobs[b]      // log softmax(logits / T) of each of them: what PPO recomputes
//
// 0. weights: in bf16 (dtype: 'bfloat16') and in the layout the model asks for (decodingRelayout:
//    GPT-2's Conv1D weights column-major) — copies
//    made once per call, not per step, and the model's own tensors put back afterwards.
// 1. prefill: one forward over the left-padded prompts (position ids cumsum(mask) − 1) fills the
//    cache; only the last position goes through the LM head.
// 2. decode: each step feeds the B tokens just sampled, writes their k, v into the cache in
//    place, processes the (B, V) logits and samples — all on the device, inside tidy(), so the
//    live-tensor count is the same every step. The one host copy per step is the B sampled ids,
//    which stopping (EOS, stop strings) and streaming need.
// 3. finished rows keep emitting padding (never read) until every row has finished or
//    maxNewTokens is reached.
// Sampling inverts the CDF with one uniform per row (sample.ts) instead of torch.multinomial.
import type { Tensor } from '../torch/tensor.js';
import { cat, full, keep, manualSeed, noGrad, ones, tensor, tidy, zeros, arange, buildInfo, getNumThreads, setNumThreads } from '../torch/index.js';
import type { CausalLM, ForwardOptions, KVCache } from '../models/types.js';
import { inEvalMode } from '../nn/module.js';
import type { Decodes } from '../tokenizers/stream.js';
import { penalizeSeen, seenTokens, topK as topKFilter, topP as topPFilter } from './logits-processors.js';
import type { FinishReason } from './stopping.js';
import { StoppingCriteria } from './stopping.js';
import { sampleCategorical } from './sample.js';
import { SAMPLING_DEFAULTS } from './config.js';

export type GenerationDType = 'float32' | 'bfloat16';

/** Called once per generated token of a running row, right after it is sampled (streaming). */
export interface TokenEvent {
  row: number;
  token: number;
  /** 0 for the first generated token. */
  step: number;
  /** Set when this token finished the row. */
  finishReason: FinishReason | null;
}

export interface GenerateOptions {
  /** Most tokens to generate per row. Default 64. */
  maxNewTokens?: number;
  /** Argmax instead of sampling (temperature, topK, topP are then ignored; log-probs use T = 1). Default false. */
  greedy?: boolean;
  /** Softmax temperature T > 0 (0 means greedy). Log-probs are of softmax(logits / T). Default 1. */
  temperature?: number;
  /** Sample among the k most likely tokens only. Default: off. */
  topK?: number | null;
  /** Nucleus sampling: the smallest set of tokens with probability ≥ p (at least one). Default: off (1). */
  topP?: number | null;
  /** CTRL repetition penalty θ over the tokens already in each row, prompt included (1 = off, 1.2 typical). Default 1. */
  repetitionPenalty?: number;
  /** Token id(s) that end a row. Default: the model config's eos_token_id; [] or null: never. */
  eosTokenId?: number | readonly number[] | null;
  /** Written after a row has finished. Default: the tokenizer's pad id, else the first EOS id, else 0. */
  padTokenId?: number | null;
  /** Strings that end a row once its decoded text contains them (needs `tokenizer`). */
  stopStrings?: readonly string[];
  /** Decodes ids, for stop strings. */
  tokenizer?: (Decodes & { padTokenId?: number | null }) | null;
  /** Seeds libtorch's generator first: the same seed gives the same tokens. */
  seed?: number | null;
  /**
   * Compute dtype. 'bfloat16' on a float32 model runs on a bf16 copy of the weights made once for
   * this call (no per-step casting as under autocast, half the memory traffic) and a bf16 KV cache;
   * the model's own weights are untouched. Log-probs are then of the bf16 model's logits (cast to
   * float32), within ~1e-2 of float32. Default: the model's dtype.
   */
  dtype?: GenerationDType;
  /**
   * Give GPT-2's Conv1D weights a column-major copy for this call (one copy of those weights, made
   * once; the model is unchanged afterwards): each decoding step's matrix products run BLAS's fast
   * path for few rows. Default: when maxNewTokens ≥ 16 (enough steps to repay the copy); false
   * saves the memory of the copy.
   */
  relayoutWeights?: boolean;
  /** Streaming: called for every token a running row generates. */
  onToken?: (event: TokenEvent) => void;
}

export interface GenerateInput {
  /** (B, T) int64 prompt ids, left-padded. */
  inputIds: Tensor;
  /** (B, T) 1 for real tokens, 0 for padding (which must be on the left). Default: all ones. */
  attentionMask?: Tensor | null;
}

export interface GenerationTimings {
  /** Copying the weights into the compute dtype and layout (0 when none was needed). */
  castMs: number;
  /** The prompt forward and the first sample. */
  prefillMs: number;
  /** Every later step. */
  decodeMs: number;
  totalMs: number;
  /** Real (non-pad) prompt tokens in the batch. */
  promptTokens: number;
  /** Tokens generated by running rows (what responseIds hold). */
  generatedTokens: number;
  /** Decoding steps run (≤ maxNewTokens; fewer when every row stopped early). */
  steps: number;
  /** promptTokens / prefill seconds. */
  prefillTokensPerS: number;
  /** Batch tokens produced per second of decoding, B · (steps − 1) / decode seconds. */
  decodeTokensPerS: number;
}

export interface GenerateOutput {
  /** (B, T + steps) int64: prompts (still left-padded) followed by the generated ids (padding after a row finished). */
  sequences: Tensor;
  /** Per row, the generated ids up to and including its EOS or stop-string token. */
  responseIds: number[][];
  /** Per row, how many of the generated columns of `sequences` are real (the length of responseIds[b]). */
  responseLengths: number[];
  /**
   * (B, steps) int64: 1 for the generated tokens up to and including each row's EOS, 0 for the
   * padding after it — so a real EOS is never confused with padding (the padding id is often the
   * EOS id). The caller owns it, as `sequences`.
   */
  responseMask: Tensor;
  /** Per row, log softmax(logits / T) of each id in responseIds (T = 1 when greedy), before top-k/top-p/repetition penalty. */
  logprobs: number[][];
  finishReason: FinishReason[];
  timings: GenerationTimings;
}

/** Bad generation input or options; the message names the option and the fix. */
export class GenerationConfigError extends Error {
  override name = 'GenerationConfigError';
}

/**
 * The next-token distribution is not one: NaN or infinite logits (weights holding NaN/Inf, a
 * diverged training run, or a temperature so small that logits / T overflow). PyTorch's sampler
 * refuses too ("probability tensor contains either inf, nan or element < 0"), instead of emitting
 * token 0 with a null log-prob forever.
 */
export class NonFiniteLogitsError extends Error {
  override name = 'NonFiniteLogitsError';
  constructor(
    model: CausalLM,
    /** 0 for the first generated token. */
    readonly step: number,
    readonly row: number,
    temperature: number,
  ) {
    const what = `${model.constructor.name} (${model.config.model_type})`;
    const hint = temperature < 1e-3 ? `; or temperature ${temperature} is so small that logits / T overflow — use --greedy (temperature 0) instead` : '';
    super(
      `the next-token logits of ${what} are NaN or infinite at generation step ${step} (prompt row ${row}), so there is no distribution to sample from: ` +
        `its weights hold NaN/Inf (a diverged training run or a corrupted checkpoint — check the weights, or retrain from the last good checkpoint)${hint}`,
    );
  }
}

interface Resolved {
  maxNewTokens: number;
  greedy: boolean;
  temperature: number;
  topK: number | null;
  topP: number | null;
  repetitionPenalty: number;
  eos: number[];
  pad: number;
}

// Options not given take SAMPLING_DEFAULTS (config.ts), the same defaults as `rlhf generate`.
function resolveOptions(model: CausalLM, o: GenerateOptions): Resolved {
  const maxNewTokens = o.maxNewTokens ?? SAMPLING_DEFAULTS.maxNewTokens;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new GenerationConfigError(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  const t = o.temperature ?? SAMPLING_DEFAULTS.temperature;
  if (!(t >= 0) || !Number.isFinite(t)) throw new GenerationConfigError(`temperature must be ≥ 0 (0 = greedy), got ${t}`);
  const greedy = (o.greedy ?? SAMPLING_DEFAULTS.greedy) || t === 0;
  const topK = o.topK ?? SAMPLING_DEFAULTS.topK;
  if (topK !== null && (!Number.isInteger(topK) || topK < 1)) throw new GenerationConfigError(`topK must be a positive integer, got ${topK}`);
  const topP = o.topP ?? SAMPLING_DEFAULTS.topP;
  if (topP !== null && !(topP > 0 && topP <= 1)) throw new GenerationConfigError(`topP must be in (0, 1], got ${topP}`);
  const repetitionPenalty = o.repetitionPenalty ?? SAMPLING_DEFAULTS.repetitionPenalty;
  if (!(repetitionPenalty > 0) || !Number.isFinite(repetitionPenalty)) throw new GenerationConfigError(`repetitionPenalty must be > 0 (1 = off), got ${repetitionPenalty}`);
  const V = model.config.vocab_size;
  const isId = (id: number): boolean => Number.isInteger(id) && id >= 0 && id < V;
  let eos: number[];
  if (o.eosTokenId === undefined) {
    const ids = model.config.eos_token_ids ?? [model.config.eos_token_id]; // a config's EOS outside a (toy) vocabulary means none
    eos = ids.filter((id) => typeof id === 'number' && isId(id));
  } else {
    const e = o.eosTokenId;
    eos = e === null ? [] : typeof e === 'number' ? [e] : [...e];
    for (const id of eos) if (!isId(id)) throw new GenerationConfigError(`eosTokenId ${id} is not a token id of this model (vocabulary of ${V})`);
  }
  const pad = o.padTokenId ?? o.tokenizer?.padTokenId ?? eos[0] ?? 0;
  return { maxNewTokens, greedy, temperature: greedy ? 1 : t, topK, topP: topP === 1 ? null : topP, repetitionPenalty, eos, pad };
}

// ---- the LM head on the last position only ---------------------------------------------------------

// The prefill applies the LM head to the last position only: a (B, C)·(C, V) product instead of
// (B·T, C)·(C, V) — for GPT-2 small and a 32-token prompt, 32× less head work.

/** Next-token logits at the last position, (B, V). */
function lastLogits(model: CausalLM, ids: Tensor, opts: ForwardOptions): Tensor {
  const T = ids.size(1);
  const h = model.forwardHidden(ids, opts); // (B, T, C)
  return model.lmHead(T === 1 ? h.squeeze(1) : h.select(1, T - 1)); // (B, V)
}

// ---- weights for decoding: dtype and layout --------------------------------------------------------

function weightDType(model: CausalLM): string {
  return model.parameters()[0]?.dtype ?? 'float32';
}

const FLOAT = new Set(['float32', 'bfloat16', 'float16', 'float64']);

/** Below this many new tokens, the column-major copy costs more than the steps it speeds up. */
const RELAYOUT_MIN_TOKENS = 16;

/**
 * The weights the model wants column-major while decoding (CausalLM.decodingRelayout: GPT-2's
 * (in, out) Conv1D weights, multiplied as x·W; none for nn.Linear models).
 */
function rowMajorConvWeights(model: CausalLM): Set<Tensor> {
  return new Set(model.decodingRelayout());
}

/**
 * Runs fn with the model's floating-point weights swapped for copies made once, here: cast to
 * `dtype`, and Conv1D weights laid out column-major (see rowMajorConvWeights). The originals go back
 * afterwards, even when fn throws. Tensor identities do not change, so tied weights stay tied and an
 * optimizer's references stay valid. Costs one copy of the swapped weights for the duration of fn.
 */
function withDecodingWeights<T>(model: CausalLM, dtype: GenerationDType, relayout: boolean, fn: () => T): { result: T; castMs: number } {
  const t0 = performance.now();
  const conv = relayout ? rowMajorConvWeights(model) : new Set<Tensor>();
  const tensors = new Set<Tensor>([...model.parameters(), ...model.namedBuffers().map(([, b]) => b)]);
  const saved: [Tensor, Tensor][] = [];
  try {
    noGrad(() => {
      for (const t of tensors) {
        if (!FLOAT.has(t.dtype) || (t.dtype === dtype && !conv.has(t))) continue;
        const original = keep(t.detach()); // shares the original storage
        const temps: Tensor[] = [];
        let data = t.dtype === dtype ? t : t.to(dtype);
        if (data !== t) temps.push(data);
        if (conv.has(t)) {
          const dataT = data.T; // (out, in) view
          const contiguousT = dataT.contiguous(); // (out, in) row-major
          data = contiguousT.T; // (in, out) view, column-major
          temps.push(dataT, contiguousT, data);
        }
        t.setData_(data);
        for (const x of temps) x.dispose(); // t now holds the storage
        saved.push([t, original]);
      }
    });
    const castMs = performance.now() - t0;
    return { result: fn(), castMs };
  } finally {
    noGrad(() => {
      for (const [t, original] of saved) {
        t.setData_(original);
        original.dispose();
      }
    });
  }
}

/**
 * Readies a model that only generates (the CLI, the studio, evaluation): dropout off, weights cast to
 * `dtype`, and GPT-2's Conv1D weights laid out column-major (see rowMajorConvWeights) — once, so
 * generate() copies nothing per call. The model computes the same function and can still be saved.
 * A policy being trained needs none of this: generate() makes those copies per call instead.
 */
export function prepareForInference<M extends CausalLM>(model: M, opts: { dtype?: GenerationDType } = {}): M {
  if (opts.dtype && weightDType(model) !== opts.dtype) model.to(opts.dtype);
  noGrad(() => {
    for (const w of rowMajorConvWeights(model)) {
      const view = w.T; // (out, in) view
      const contiguousT = view.contiguous(); // (out, in) row-major
      const columnMajor = contiguousT.T; // (in, out) view
      w.setData_(columnMajor);
      for (const t of [view, contiguousT, columnMajor]) t.dispose();
    }
  });
  model.eval();
  return model;
}

let blasOwnThreads: boolean | undefined;

/**
 * Runs fn with one OpenMP thread when float32 matrix products go to a BLAS with threads of its own:
 * libtorch built without MKL (Debian's) calls OpenBLAS, whose pthreads and OpenMP's threads otherwise
 * fight over the cores between every pair of ops. Measured on the project's 2-core machine, GPT-2
 * small: 2.3× faster decoding steps at batch 16, 1.5× faster prefill. bf16 runs on oneDNN, which
 * needs the OpenMP threads, so it is left alone.
 */
function withThreadsFor<T>(model: CausalLM, dtype: GenerationDType, fn: () => T): T {
  blasOwnThreads ??= !buildInfo().mkl;
  const prev = getNumThreads();
  const onCpu = (model.parameters()[0]?.device ?? 'cpu') === 'cpu';
  if (dtype !== 'float32' || !onCpu || !blasOwnThreads || prev === 1) return fn();
  setNumThreads(1);
  try {
    return fn();
  } finally {
    setNumThreads(prev);
  }
}

// ---- generate --------------------------------------------------------------------------------------

/**
 * Generates up to maxNewTokens tokens for every row of a left-padded batch. Synchronous: it
 * holds the thread until done (run it in a worker to keep a server responsive).
 */
export function generate(model: CausalLM, input: GenerateInput, opts: GenerateOptions = {}): GenerateOutput {
  const o = resolveOptions(model, opts);
  const { inputIds } = input;
  if (inputIds.ndim !== 2) throw new GenerationConfigError(`inputIds must be (B, T), got shape [${inputIds.shape.join(', ')}]`);
  const [B, T] = inputIds.shape as [number, number];
  if (B < 1 || T < 1) throw new GenerationConfigError(`inputIds must hold at least one token per row, got shape [${B}, ${T}]; give empty prompts a BOS token`);
  const maskRows = readMask(input.attentionMask ?? null, B, T);
  const promptLens = maskRows.map((r) => r.reduce((a, b) => a + b, 0));
  const limit = model.config.n_positions;
  if (T + o.maxNewTokens > limit) {
    const fix = T < limit ? `lower maxNewTokens to ${limit - T} or shorten the prompt` : `shorten the prompt to at most ${limit - 1} tokens (it leaves no room for a new token)`;
    throw new GenerationConfigError(`prompt length ${T} + maxNewTokens ${o.maxNewTokens} exceeds the model's n_positions (${limit}); ${fix}`);
  }
  if (opts.seed !== undefined && opts.seed !== null) manualSeed(opts.seed);
  const dtype = opts.dtype ?? (weightDType(model) === 'bfloat16' ? 'bfloat16' : 'float32');
  const run = (): GenerateOutput => withThreadsFor(model, dtype, () => inEvalMode([model], () => noGrad(() => decodeLoop(model, input, maskRows, promptLens, o, opts, dtype))));
  const relayout = opts.relayoutWeights ?? o.maxNewTokens >= RELAYOUT_MIN_TOKENS;
  if (weightDType(model) === dtype && (!relayout || rowMajorConvWeights(model).size === 0)) return run();
  const { result, castMs } = withDecodingWeights(model, dtype, relayout, run);
  result.timings.castMs = castMs;
  result.timings.totalMs += castMs;
  return result;
}

/** The attention mask as host rows, checked to be 0/1 and left-padded (every row has a real last token). */
function readMask(mask: Tensor | null, B: number, T: number): number[][] {
  if (!mask) return Array.from({ length: B }, () => new Array<number>(T).fill(1));
  if (mask.ndim !== 2 || mask.size(0) !== B || mask.size(1) !== T) throw new GenerationConfigError(`attentionMask must have the shape of inputIds [${B}, ${T}], got [${mask.shape.join(', ')}]`);
  const flat = mask.toFlatArray();
  const rows: number[][] = [];
  for (let b = 0; b < B; b++) {
    const row = flat.slice(b * T, (b + 1) * T);
    const firstReal = row.indexOf(1);
    if (row.some((v) => v !== 0 && v !== 1)) throw new GenerationConfigError(`attentionMask row ${b} holds values other than 0 and 1`);
    if (firstReal < 0) throw new GenerationConfigError(`attentionMask row ${b} has no real token; give empty prompts a BOS token`);
    if (row.slice(firstReal).includes(0)) {
      throw new GenerationConfigError(`attentionMask row ${b} is not left-padded; generation needs padding on the left (tokenizer.withOptions({ paddingSide: 'left' }))`);
    }
    rows.push(row);
  }
  return rows;
}

function decodeLoop(
  model: CausalLM,
  input: GenerateInput,
  maskRows: number[][],
  promptLens: number[],
  o: Resolved,
  opts: GenerateOptions,
  dtype: GenerationDType,
): GenerateOutput {
  const t0 = performance.now();
  const inputIds = input.inputIds.dtype === 'int64' ? input.inputIds : input.inputIds.long();
  const [B, T] = inputIds.shape as [number, number];
  const N = o.maxNewTokens;
  const V = model.config.vocab_size;
  const hasPadding = promptLens.some((n) => n < T);
  const stopping = new StoppingCriteria(B, { eosTokenIds: o.eos, stopStrings: opts.stopStrings, maxNewTokens: N, tokenizer: opts.tokenizer ?? null });

  // Everything that lives across steps is allocated here, once, and freed in `finally`.
  const owned: (Tensor | KVCache)[] = [];
  const own = <X extends Tensor | KVCache>(x: X): X => (owned.push(x), x);
  try {
    const cache = own(model.createCache(B, T + N, { dtype }));
    const sequences = own(keep(zeros([B, T + N], { dtype: 'int64' }))); // (B, T+N)
    sequences.narrowCopy_(1, 0, inputIds);
    const logprobs = own(keep(zeros([B, N]))); // (B, N) float32
    let mask: Tensor | null = null; // (B, T+N) 1 = real; generated columns are all real
    let prefillPos: Tensor | null = null; // (B, T) cumsum(mask) − 1, padding at 1 (as transformers)
    let basePos: Tensor | null = null; // (B, 1) number of real prompt tokens
    if (hasPadding) {
      const m = own(keep(tensor(maskRows, { dtype: 'int64' }))); // (B, T)
      mask = own(keep(ones([B, T + N], { dtype: 'int64' })));
      mask.narrowCopy_(1, 0, m);
      prefillPos = own(keep(tidy(() => m.cumsum(1).sub(1).maskedFill(m.eq(0), 1))));
      basePos = own(keep(tensor(promptLens, { dtype: 'int64', shape: [B, 1] })));
    }
    const seen = o.repetitionPenalty !== 1 ? own(keep(tidy(() => seenTokens(inputIds, V, mask ? mask.narrow(1, 0, T) : null)))) : null; // (B, V) bool
    const rowIndex = seen ? own(keep(arange(B))) : null;
    const trueValue = seen ? own(keep(full([1], true, { dtype: 'bool' }))) : null;
    let doneMask: Tensor | null = null; // (B, 1) bool, rebuilt when a row finishes

    // One step: forward, process, sample, write into the preallocated tensors; returns the B ids.
    const step = (s: number): number[] =>
      tidy(() => {
        let last: Tensor; // (B, V)
        if (s === 0) last = lastLogits(model, inputIds, { attentionMask: mask?.narrow(1, 0, T) ?? null, positionIds: prefillPos, cache });
        else {
          const ids = sequences.narrow(1, T + s - 1, 1); // (B, 1) the tokens sampled last step
          const positionIds = basePos ? basePos.add(s - 1) : null; // (B, 1)
          last = lastLogits(model, ids, { attentionMask: mask?.narrow(1, 0, T + s) ?? null, positionIds, cache });
        }
        const logits = last.dtype === 'float32' ? last : last.float(); // (B, V)
        const scaled = o.temperature === 1 ? logits : logits.div(o.temperature); // logits / T
        let l = seen ? penalizeSeen(scaled, seen, o.repetitionPenalty) : scaled;
        let next: Tensor; // (B, 1) int64
        if (o.greedy) next = l.argmax(-1, true);
        else {
          if (o.topK !== null) l = topKFilter(l, o.topK);
          if (o.topP !== null) l = topPFilter(l, o.topP);
          next = sampleCategorical(l);
        }
        if (doneMask) next = next.maskedFill(doneMask, o.pad);
        sequences.narrowCopy_(1, T + s, next);
        // log softmax(logits / T)[next] = (logits / T)[next] − logsumexp(logits / T): what PPO recomputes
        const lse = scaled.logsumexp(-1, true); // (B, 1): finite iff softmax(logits / T) is a distribution
        logprobs.narrowCopy_(1, s, scaled.gather(1, next).sub(lse));
        if (seen && rowIndex && trueValue) seen.indexPut_([rowIndex, next.squeeze(1)], trueValue);
        const host = cat([next, lse.isfinite().long()], 1).toFlatArray(); // (B, 2): id, finite — one copy
        for (let b = 0; b < B; b++) if (host[2 * b + 1] === 0 && !stopping.done[b]) throw new NonFiniteLogitsError(model, s, b, o.temperature);
        return Array.from({ length: B }, (_, b) => host[2 * b] as number);
      });

    const responseIds: number[][] = Array.from({ length: B }, () => []);
    let steps = 0;
    let t1 = t0;
    for (let s = 0; s < N; s++) {
      const ids = step(s);
      steps = s + 1;
      if (s === 0) t1 = performance.now();
      let changed = false;
      for (let b = 0; b < B; b++) {
        if (stopping.done[b]) continue;
        const token = ids[b] as number;
        (responseIds[b] as number[]).push(token);
        const reason = stopping.push(b, token);
        if (reason) changed = true;
        opts.onToken?.({ row: b, token, step: s, finishReason: reason });
      }
      if (stopping.allDone) break;
      if (changed) {
        doneMask?.dispose();
        doneMask = keep(tensor(stopping.done, { shape: [B, 1] }));
      }
    }
    doneMask?.dispose();
    const t2 = performance.now();

    const lpFlat = logprobs.toFlatArray();
    const lps = responseIds.map((r, b) => lpFlat.slice(b * N, b * N + r.length));
    const out = tidy(() => sequences.narrow(1, 0, T + steps).contiguous()); // (B, T+steps)
    const responseLengths = responseIds.map((r) => r.length);
    const responseMask = tensor(responseLengths.map((n) => Array.from({ length: steps }, (_, t) => (t < n ? 1 : 0))), { dtype: 'int64', shape: [B, steps] }); // (B, steps)
    const promptTokens = promptLens.reduce((a, b) => a + b, 0);
    const generatedTokens = responseIds.reduce((a, r) => a + r.length, 0);
    const prefillMs = t1 - t0;
    const decodeMs = t2 - t1;
    return {
      sequences: out,
      responseIds,
      responseLengths,
      responseMask,
      logprobs: lps,
      finishReason: stopping.finishReason.map((r) => r ?? 'length'),
      timings: {
        castMs: 0,
        prefillMs,
        decodeMs,
        totalMs: t2 - t0,
        promptTokens,
        generatedTokens,
        steps,
        prefillTokensPerS: prefillMs > 0 ? (promptTokens / prefillMs) * 1000 : 0,
        decodeTokensPerS: decodeMs > 0 ? ((B * (steps - 1)) / decodeMs) * 1000 : 0,
      },
    };
  } finally {
    for (const x of owned) x.dispose();
    if (inputIds !== input.inputIds) inputIds.dispose();
  }
}
