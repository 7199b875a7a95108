// Sequence log-probabilities from per-token ones: log π(y|x) = Σ_t log π(y_t | x, y_<t) over the
// response tokens (TRL `concatenated_forward`), or the per-token mean, which IPO uses (TRL divides
// by the completion length when loss_type == "ipo") and SimPO-style length normalisation needs.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedMean, maskedSum } from './masked.js';

export interface SequenceLogpsOptions {
  /** Mean over valid tokens instead of the sum. Default false. A row with no valid token gives 0. */
  average?: boolean;
}

/** tokenLogps (B, T), mask (B, T) 1 = response token → (B): Σ_t m·logp (or the mean over valid tokens). */
export function sequenceLogps(tokenLogps: Tensor, mask: Tensor, opts: SequenceLogpsOptions = {}): Tensor {
  return torch.tidy(() => (opts.average ? maskedMean(tokenLogps, mask, 1) : maskedSum(tokenLogps, mask, 1))); // (B)
}
