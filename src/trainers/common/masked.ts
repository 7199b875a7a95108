// Masked reductions over valid tokens, and the stats convention every loss follows.
//
// A mask is 1 (or true) where a token is real and 0 where it is padding; any dtype. Padding is
// excluded with `where`, not multiplied by 0, so a NaN or ±Infinity at a padded position cannot
// leak into a forward value (an Infinity there still poisons the *gradient*: keep padded inputs
// finite when they need gradients). An empty mask gives 0, never NaN, and costs no host sync.
//
// Losses return `{ loss, stats }`: `loss` a 0-d tensor with its graph, `stats` detached 0-d tensors.
// A training loop reads every stat of a step with one `readStats` call — one device→host copy.
import * as torch from '../../torch/index.js';
import type { Tensor, DType } from '../../torch/index.js';

/** Detached 0-d tensors named as the trainer logs them, e.g. `policy/clipfrac`. */
export type Stats<K extends string = string> = Record<K, Tensor>;

/** What every loss function returns. */
export interface LossOutput<K extends string = string> {
  /** 0-d, differentiable. */
  loss: Tensor;
  stats: Stats<K>;
}

/** The mask as bool (true = valid). */
export function validMask(mask: Tensor): Tensor {
  return mask.dtype === 'bool' ? mask : mask.ne(0);
}

/** values with padded positions set to 0 (same shape). */
export function zeroMasked(values: Tensor, mask: Tensor): Tensor {
  return torch.tidy(() => torch.where(validMask(mask), values, 0));
}

/** Floating dtype to count valid tokens in: float64 for float64 values, else float32 (exact up to 2²⁴). */
function countDtype(values: Tensor): DType {
  return values.dtype === 'float64' ? 'float64' : 'float32';
}

/** Σ values over valid positions (all, or along dim). */
export function maskedSum(values: Tensor, mask: Tensor, dim?: number): Tensor {
  return torch.tidy(() => zeroMasked(values, mask).sum(dim));
}

/** Number of valid positions (all, or along dim), as a float tensor. */
export function maskedCount(mask: Tensor, dim?: number, dtype: DType = 'float32'): Tensor {
  return torch.tidy(() => validMask(mask).sum(dim, false, { dtype }));
}

/**
 * Mean over valid positions: Σ m·x / Σ m (TRL `masked_mean`). With dim, one mean per slice
 * (e.g. dim 1 of (B, T) gives (B)). A slice without valid positions gives 0.
 */
export function maskedMean(values: Tensor, mask: Tensor, dim?: number): Tensor {
  return torch.tidy(() => {
    const n = maskedCount(mask, dim, countDtype(values)).clamp(1); // 0 valid → 0/1 = 0, not NaN
    return maskedSum(values, mask, dim).div(n);
  });
}

/**
 * Variance over all valid positions (TRL `masked_var`): mean of (x − x̄)² over valid positions,
 * times n/(n−1) when unbiased (Bessel). TRL raises for n ≤ 1; here n = 1 gives 0 and n = 0 gives 0,
 * so no host sync is needed.
 */
export function maskedVar(values: Tensor, mask: Tensor, unbiased = true): Tensor {
  return torch.tidy(() => {
    const mean = maskedMean(values, mask);
    const variance = maskedMean(values.sub(mean).square(), mask);
    if (!unbiased) return variance;
    const n = maskedCount(mask, undefined, countDtype(values));
    return variance.mul(n).div(n.sub(1).clamp(1));
  });
}

/**
 * Every stat as a JavaScript number, with one device→host copy: the stats are stacked into one
 * float64 vector and read together, so a step costs one sync however many stats it logs.
 */
export function readStats<K extends string>(stats: Stats<K>): Record<K, number> {
  const keys = Object.keys(stats) as K[];
  const out = {} as Record<K, number>;
  if (keys.length === 0) return out;
  const values = torch.noGrad(() =>
    torch.tidy(() => {
      let all = torch.cat(keys.map((k) => stats[k].detach().to('float64').reshape(1))); // (K)
      if (all.device !== 'cpu') all = all.to('cpu');
      return all.data() as Float64Array;
    }),
  );
  keys.forEach((k, i) => {
    out[k] = values[i] as number;
  });
  return out;
}
