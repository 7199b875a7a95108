// Direct preference losses on sequence log-probabilities (B) of the chosen and rejected responses
// under the policy π and the frozen reference π_ref (the trainer gets them from labelledSequenceLogprobs in
// common/logprobs.ts; common/sequence-logps.ts does the same from per-token log-probs). With
// refs = null the loss is reference-free: log π_ref is taken as 0. Every loss is a function of
//   h = (log π(y_c) − log π_ref(y_c)) − (log π(y_r) − log π_ref(y_r))          (B)
// and logs TRL's stats: rewards/chosen = mean β(log π(y_c) − log π_ref(y_c)), rewards/rejected
// likewise, rewards/accuracies = mean(reward_c > reward_r), rewards/margins = mean(reward_c −
// reward_r), logps/chosen and logps/rejected = mean policy log-probs.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import type { LossOutput } from '../common/masked.js';
import { preferenceStats, type PreferenceStatName } from '../common/preference-stats.js';

export type DPOStatName = PreferenceStatName;

/** The implicit rewards β·log(π/π_ref) of chosen and rejected (B), and h = their difference / β. */
function implicitRewards(policyChosen: Tensor, policyRejected: Tensor, refChosen: Tensor | null, refRejected: Tensor | null) {
  const chosen = refChosen ? policyChosen.sub(refChosen) : policyChosen; // log π/π_ref (y_c), (B)
  const rejected = refRejected ? policyRejected.sub(refRejected) : policyRejected; // (B)
  return { chosen, rejected, h: chosen.sub(rejected) };
}

/**
 * DPO (Rafailov et al. 2023 eq. 7; TRL loss_type "sigmoid"):
 *   loss = −mean_b log σ(β·h_b)
 * policy/ref log-probs (B) summed over response tokens.
 */
export function dpoSigmoidLoss(
  policyChosenLogps: Tensor,
  policyRejectedLogps: Tensor,
  refChosenLogps: Tensor | null,
  refRejectedLogps: Tensor | null,
  beta: number,
): LossOutput<DPOStatName> {
  return torch.tidy(() => {
    const { chosen, rejected, h } = implicitRewards(policyChosenLogps, policyRejectedLogps, refChosenLogps, refRejectedLogps);
    const loss = h.mul(beta).logSigmoid().mean().neg();
    return { loss, stats: preferenceStats(beta, chosen, rejected, policyChosenLogps, policyRejectedLogps) };
  });
}

/**
 * Conservative DPO (cDPO, Mitchell 2023, "A note on DPO with noisy preferences"; TRL loss_type
 * "sigmoid" with label_smoothing ε): each label is flipped with probability ε,
 *   loss = −mean_b [(1 − ε)·log σ(β·h_b) + ε·log σ(−β·h_b)]
 * ε = 0 is DPO.
 */
export function dpoConservativeLoss(
  policyChosenLogps: Tensor,
  policyRejectedLogps: Tensor,
  refChosenLogps: Tensor | null,
  refRejectedLogps: Tensor | null,
  beta: number,
  labelSmoothing: number,
): LossOutput<DPOStatName> {
  if (!(labelSmoothing >= 0 && labelSmoothing <= 0.5)) throw new RangeError(`dpoConservativeLoss: labelSmoothing ε must be in [0, 0.5], got ${labelSmoothing}`);
  return torch.tidy(() => {
    const { chosen, rejected, h } = implicitRewards(policyChosenLogps, policyRejectedLogps, refChosenLogps, refRejectedLogps);
    const bh = h.mul(beta); // (B)
    const loss = bh.logSigmoid().mul(1 - labelSmoothing).add(bh.neg().logSigmoid().mul(labelSmoothing)).mean().neg();
    return { loss, stats: preferenceStats(beta, chosen, rejected, policyChosenLogps, policyRejectedLogps) };
  });
}

/**
 * IPO (Azar et al. 2023, "A General Theoretical Paradigm…", eq. 17; TRL loss_type "ipo"):
 *   loss = mean_b (h_b − 1/(2τ))²
 * As in TRL, the log-probs are per-token AVERAGES over the response (sum / count of
 * labelledSequenceLogprobs, or sequenceLogps with { average: true }), not sums. The stats use τ in place of β.
 */
export function ipoLoss(
  policyChosenLogps: Tensor,
  policyRejectedLogps: Tensor,
  refChosenLogps: Tensor | null,
  refRejectedLogps: Tensor | null,
  tau: number,
): LossOutput<DPOStatName> {
  if (!(tau > 0)) throw new RangeError(`ipoLoss: τ must be > 0, got ${tau}`);
  return torch.tidy(() => {
    const { chosen, rejected, h } = implicitRewards(policyChosenLogps, policyRejectedLogps, refChosenLogps, refRejectedLogps);
    const loss = h.sub(1 / (2 * tau)).square().mean();
    return { loss, stats: preferenceStats(tau, chosen, rejected, policyChosenLogps, policyRejectedLogps) };
  });
}
