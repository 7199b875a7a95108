// SimPO's loss on the policy's log-probabilities of chosen and rejected responses: per row the sum
// over response tokens and their count (B each; the trainer gets them from pairLogprobs in
// common/preference.ts). No reference model.
import * as torch from '../../torch/index.js';
import type { LossOutput } from '../common/masked.js';
import type { SequenceLogprobs } from '../common/logprobs.js';
import { averageLogps, meanTokenNll } from '../common/sequence-logps.js';
import { preferenceStats, type PreferenceStatName } from '../common/preference-stats.js';

export type SimPOStatName = PreferenceStatName | 'nll_loss';

/**
 * SimPO (Meng et al. 2024, "SimPO: Simple Preference Optimization with a Reference-Free Reward",
 * eq. 4–6; TRL CPOTrainer.cpo_loss with loss_type "simpo"):
 *   r(x, y) = (β/|y|)·log π(y|x) = (β/|y|)·Σ_t log π(y_t | x, y_<t)     length-normalised reward (eq. 4)
 *   loss    = −mean_b log σ(r(x, y_c) − r(x, y_r) − γ)                   target margin γ (eq. 5–6)
 *             + α·NLL(y_c)                                             CPO's NLL term L_NLL (Xu et al. 2024; TRL cpo_alpha), 0 in SimPO
 * NLL(y_c) is the per-token negative log-likelihood of the chosen responses. Stats as TRL:
 * rewards/chosen = mean r(x, y_c) = β·(mean log-prob per token), rewards/margins = mean r_c − r_r, …
 */
export function simpoLoss(chosen: SequenceLogprobs, rejected: SequenceLogprobs, beta: number, gamma: number, alpha = 0): LossOutput<SimPOStatName> {
  if (!(beta > 0)) throw new RangeError(`simpoLoss: β must be > 0, got ${beta}`);
  if (!(gamma >= 0 && alpha >= 0)) throw new RangeError(`simpoLoss: γ and α must be ≥ 0, got γ = ${gamma}, α = ${alpha}`);
  return torch.tidy(() => {
    const avgC = averageLogps(chosen), avgR = averageLogps(rejected); // (B) log π(y|x) / |y|
    const h = avgC.sub(avgR).mul(beta).sub(gamma); // (B) r_c − r_r − γ
    const nll = meanTokenNll(chosen); // 0-d
    const pref = h.logSigmoid().mean().neg();
    const loss = alpha > 0 ? pref.add(nll.mul(alpha)) : pref;
    return { loss, stats: { ...preferenceStats(beta, avgC, avgR, avgC, avgR), nll_loss: nll.detach() } };
  });
}
