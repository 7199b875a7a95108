// Sequence log-probabilities from per-token ones: log π(y|x) = Σ_t log π(y_t | x, y_<t) over the
// response tokens (TRL `concatenated_forward`), or the per-token mean, which IPO uses (TRL divides
// by the completion length when loss_type == "ipo") and SimPO-style length normalisation needs.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedMean, maskedSum } from './masked.js';
import type { SequenceLogprobs } from './logprobs.js';

export interface SequenceLogpsOptions {
  /** Mean over valid tokens instead of the sum. Default false. A row with no valid token gives 0. */
  average?: boolean;
}

/** tokenLogps (B, T), mask (B, T) 1 = response token → (B): Σ_t m·logp (or the mean over valid tokens). */
export function sequenceLogps(tokenLogps: Tensor, mask: Tensor, opts: SequenceLogpsOptions = {}): Tensor {
  return torch.tidy(() => (opts.average ? maskedMean(tokenLogps, mask, 1) : maskedSum(tokenLogps, mask, 1))); // (B)
}

/** The per-token mean log-prob (1/|y|)·Σ_t log π(y_t | …) of each row (B), from sums and counts; a row with no token gives 0. */
export function averageLogps(lp: SequenceLogprobs): Tensor {
  return lp.sum.div(lp.count.clamp(1)); // (B)
}

/** Negative log-likelihood per token over all rows' tokens together, −Σ_b Σ_t log π / Σ_b |y_b| (0-d): the SFT loss of those responses. */
export function meanTokenNll(lp: SequenceLogprobs): Tensor {
  return lp.sum.sum().div(lp.count.sum().clamp(1)).neg();
}
