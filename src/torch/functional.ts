// Neural-network functions (PyTorch's torch.nn.functional): the building blocks of a transformer
// and of the losses. Each calls one ATen kernel, so forward and backward run at libtorch speed.
import { native } from './native.js';
import { Tensor, wrapHandle, reductionCode, type Reduction } from './tensor.js';
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
