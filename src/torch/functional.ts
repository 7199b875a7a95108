// Neural-network functions (PyTorch's torch.nn.functional): the building blocks of a transformer
// and of the losses. Each calls one ATen kernel, so forward and backward run at libtorch speed.
import { native, type Handle } from './native.js';
import { Tensor, wrapHandle, failOp, reductionCode, type Reduction } from './tensor.js';
import { ShapeError, describe } from './errors.js';

/** y = x·Wᵀ + b, with W of shape (out, in) as nn.Linear stores it. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return wrapHandle('linear', [x, weight, bias], () => native.linear(x.handle, weight.handle, bias ? bias.handle : null));
}

/** c·β + (a @ b)·α for 2-D a, b — one BLAS call. GPT-2's Conv1D is addmm(bias, x, W). */
export function addmm(c: Tensor, a: Tensor, b: Tensor, beta = 1, alpha = 1): Tensor {
  return wrapHandle('addmm', [c, a, b], () => native.addmm(c.handle, a.handle, b.handle, beta, alpha));
}

export function baddbmm(c: Tensor, a: Tensor, b: Tensor, beta = 1, alpha = 1): Tensor {
  return wrapHandle('baddbmm', [c, a, b], () => native.baddbmm(c.handle, a.handle, b.handle, beta, alpha));
}

export function softmax(x: Tensor, dim = -1): Tensor {
  return x.softmax(dim);
}

export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return x.logSoftmax(dim);
}

/** Layer normalisation over the trailing dims in normalizedShape (Ba et al., 2016). */
export function layerNorm(x: Tensor, normalizedShape: number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return wrapHandle('layerNorm', [x, weight, bias], () => native.layerNorm(x.handle, normalizedShape, weight?.handle ?? null, bias?.handle ?? null, eps));
}

export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return x.gelu(approximate);
}

/** Rows of weight picked by integer indices: (…) → (…, C). */
export function embedding(indices: Tensor, weight: Tensor, paddingIdx = -1): Tensor {
  return wrapHandle('embedding', [indices, weight], () => native.embedding(weight.handle, indices.handle, paddingIdx));
}

/** Zeroes elements with probability p and scales the rest by 1/(1−p) when training. */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!training || p === 0) return x.clone();
  return wrapHandle('dropout', [x, p], () => native.dropout(x.handle, p, training));
}

export interface CrossEntropyOptions {
  /** Targets equal to this are skipped (not counted in the mean). Default -100, as in PyTorch. */
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
  weight?: Tensor | null;
}

/**
 * Cross-entropy between logits (N, C) and integer targets (N): −log softmax(logits)[target],
 * averaged over targets that are not ignoreIndex. Higher-rank logits (B, T, C) are flattened.
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  let l = logits;
  let y = target;
  const ls = logits.shape;
  if (ls.length > 2) {
    const C = ls[ls.length - 1] as number;
    const N = ls.slice(0, -1).reduce((a, b) => a * b, 1);
    if (target.numel !== N) throw new ShapeError(`crossEntropy: logits ${describe(logits.dtype, ls)} need ${N} targets, got ${describe(target.dtype, target.shape)}`);
    l = logits.reshape(N, C); // (B*T, C)
    y = target.reshape(N); // (B*T)
  }
  const out = wrapHandle('crossEntropy', [l, y], () =>
    native.crossEntropy(l.handle, y.handle, opts.weight?.handle ?? null, reductionCode(opts.reduction ?? 'mean'), opts.ignoreIndex ?? -100, opts.labelSmoothing ?? 0),
  );
  if (l !== logits) l.dispose();
  if (y !== target) y.dispose();
  return out;
}

export interface LinearLogProbsOptions {
  /** The logits are divided by τ before the softmax (the sampling temperature). Default 1. */
  temperature?: number;
  /** Rows per chunk. Default: C·(bytes per element of the products)/2 rows, kept between 4 and 128 MB of float32 logits (see native/fused.cc). */
  chunkSize?: number;
  /** Also return each row's entropy −Σ p·log p, computed in the same pass (it carries no gradient). */
  withEntropy?: boolean;
  /** Targets equal to this get log-prob 0 and no gradient. Default -100, as in PyTorch. */
  ignoreIndex?: number;
}

export interface LinearLogProbs {
  /** (…) log softmax(hidden·Wᵀ / τ)[target], float32 (float64 for float64 inputs); 0 at ignored targets. */
  logprobs: Tensor;
  /** (…) −Σ_v p_v·log p_v of each row's distribution, when withEntropy; else null. */
  entropy: Tensor | null;
}

/**
 * The log-probability of each target under a linear head, log softmax(hidden·Wᵀ / τ)[target], and
 * its gradient w.r.t. hidden and weight — without ever holding the (N, V) logits: rows go through
 * the head in chunks, forward and backward (the backward recomputes each chunk's logits), as Liger
 * Kernel's fused linear cross-entropy and Cut Cross-Entropy (Wijmans et al., 2024) do. For a
 * language model, weight is its output embedding (V, C) and V is the vocabulary.
 * hidden (…, C), weight (V, C), targets (…) int64 → logprobs (…), entropy (…) | null.
 * Under autocast the products run in bf16 and the softmax statistics in float32; the backward
 * uses the autocast state of the forward.
 */
export function linearLogProbs(hidden: Tensor, weight: Tensor, targets: Tensor, opts: LinearLogProbsOptions & { withEntropy: true }): { logprobs: Tensor; entropy: Tensor };
export function linearLogProbs(hidden: Tensor, weight: Tensor, targets: Tensor, opts?: LinearLogProbsOptions): LinearLogProbs;
export function linearLogProbs(hidden: Tensor, weight: Tensor, targets: Tensor, opts: LinearLogProbsOptions = {}): LinearLogProbs {
  const hs = hidden.shape; // (…, C)
  const lead = hs.slice(0, -1);
  const C = hs[hs.length - 1];
  const N = lead.reduce((a, b) => a * b, 1);
  if (C === undefined || lead.length === 0) throw new ShapeError(`linearLogProbs: hidden must be (…, C), got ${describe(hidden.dtype, hs)}`);
  if (targets.shape.join() !== lead.join()) {
    throw new ShapeError(`linearLogProbs: hidden ${describe(hidden.dtype, hs)} needs targets of shape [${lead.join(', ')}], got ${describe(targets.dtype, targets.shape)}`);
  }
  const h2 = lead.length === 1 ? hidden : hidden.reshape(N, C); // (N, C)
  const y = lead.length === 1 ? targets : targets.reshape(N); // (N)
  let handles: Handle[];
  try {
    handles = native.linearLogProbs(h2.handle, weight.handle, y.handle, opts.temperature ?? 1, opts.chunkSize ?? 0, opts.withEntropy ?? false, opts.ignoreIndex ?? -100);
  } catch (err) {
    failOp('linearLogProbs', [hidden, weight, targets], err);
  } finally {
    if (h2 !== hidden) h2.dispose();
    if (y !== targets) y.dispose();
  }
  const unflatten = (h: Handle | undefined): Tensor | null => {
    if (h === undefined) return null;
    const t = new Tensor(h); // (N)
    if (lead.length === 1) return t;
    const r = t.view(...lead); // (…)
    t.dispose();
    return r;
  };
  return { logprobs: unflatten(handles[0]) as Tensor, entropy: unflatten(handles[1]) };
}

export interface LinearCrossEntropyOptions {
  /** Targets equal to this are skipped (not counted in the mean). Default -100, as in PyTorch. */
  ignoreIndex?: number;
  reduction?: Reduction;
  /** Rows per chunk of the fused head; see linearLogProbs. */
  chunkSize?: number;
}

/**
 * crossEntropy(linear(hidden, weight), targets) without the (N, V) logits: −log softmax(hidden·Wᵀ)[target].
 * 'mean' divides by the number of targets that are not ignoreIndex (NaN when there are none, as
 * F.crossEntropy); 'sum' adds them up; 'none' gives (…) with 0 at ignored targets (through
 * linearLogProbs). With one loss value the gradient is known in the forward up to its scale, so
 * 'mean' and 'sum' compute ∂hidden and ∂weight during the forward (when grad is on and they require
 * it) and the backward only scales them: no second pass over the vocabulary (Liger Kernel's scheme).
 * hidden (…, C), weight (V, C), targets (…) int64.
 */
export function linearCrossEntropy(hidden: Tensor, weight: Tensor, targets: Tensor, opts: LinearCrossEntropyOptions = {}): Tensor {
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'none') {
    const { logprobs } = linearLogProbs(hidden, weight, targets, { ignoreIndex, chunkSize: opts.chunkSize }); // (…)
    const loss = logprobs.neg(); // (…)
    logprobs.dispose();
    return loss;
  }
  const hs = hidden.shape; // (…, C)
  const lead = hs.slice(0, -1);
  const C = hs[hs.length - 1];
  const N = lead.reduce((a, b) => a * b, 1);
  if (C === undefined || lead.length === 0) throw new ShapeError(`linearCrossEntropy: hidden must be (…, C), got ${describe(hidden.dtype, hs)}`);
  if (targets.shape.join() !== lead.join()) {
    throw new ShapeError(`linearCrossEntropy: hidden ${describe(hidden.dtype, hs)} needs targets of shape [${lead.join(', ')}], got ${describe(targets.dtype, targets.shape)}`);
  }
  const h2 = lead.length === 1 ? hidden : hidden.reshape(N, C); // (N, C)
  const y = lead.length === 1 ? targets : targets.reshape(N); // (N)
  try {
    return wrapHandle('linearCrossEntropy', [hidden, weight, targets], () =>
      native.linearCrossEntropy(h2.handle, weight.handle, y.handle, opts.chunkSize ?? 0, ignoreIndex, reduction === 'mean'),
    );
  } finally {
    if (h2 !== hidden) h2.dispose();
    if (y !== targets) y.dispose();
  }
}

export function nllLoss(logProbs: Tensor, target: Tensor, opts: { ignoreIndex?: number; reduction?: Reduction } = {}): Tensor {
  return wrapHandle('nllLoss', [logProbs, target], () => native.nllLoss(logProbs.handle, target.handle, null, reductionCode(opts.reduction ?? 'mean'), opts.ignoreIndex ?? -100));
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrapHandle('mseLoss', [input, target], () => native.mseLoss(input.handle, target.handle, reductionCode(reduction)));
}

export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  return wrapHandle('bceWithLogits', [logits, target], () => native.bceWithLogits(logits.handle, target.handle, null, null, reductionCode(reduction)));
}

export function logSigmoid(x: Tensor): Tensor {
  return x.logSigmoid();
}

export interface AttentionOptions {
  /** Bool mask (true = attend) or additive float mask, broadcastable to (B, nh, Tq, Tk). */
  mask?: Tensor | null;
  /** Causal masking: query i sees keys up to i (aligned to the end when Tk > Tq, as with a KV cache). */
  isCausal?: boolean;
  dropoutP?: number;
  /** Defaults to 1/√hs. */
  scale?: number;
}

/**
 * Scaled dot-product attention, softmax(q·kᵀ·scale + mask)·v (Vaswani et al., 2017, eq. 1).
 * q (B, nh, Tq, hs), k and v (B, nh, Tk, hs) → (B, nh, Tq, hs).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  return wrapHandle('scaledDotProductAttention', [q, k, v], () =>
    native.sdpa(q.handle, k.handle, v.handle, opts.mask?.handle ?? null, opts.dropoutP ?? 0, opts.isCausal ?? false, opts.scale ?? null),
  );
}
