// KTO's loss on sequence log-probabilities (B) of unpaired completions, each desirable or not,
// under the policy π and the frozen reference π_ref, summed over the completion tokens (as TRL).
// The trainer gets them from responseSequenceLogprobs (common/preference.ts).
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedMean, validMask, type LossOutput } from '../common/masked.js';

export type KTOStatName = 'rewards/chosen' | 'rewards/rejected' | 'rewards/margins' | 'rewards/sign_accuracy' | 'kl' | 'logps/chosen' | 'logps/rejected';

/**
 * KTO (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization", eq. 7;
 * TRL KTOTrainer, loss_type "kto"):
 *   r(x, y)  = log π(y|x) − log π_ref(y|x)                                           (B)
 *   z0       = max(0, mean_j [log π(y'_j|x_j) − log π_ref(y'_j|x_j)])   detached     (x_j, y'_j) mismatched
 *   v(x, y)  = λ_D·σ(β·(r(x, y) − z0))   if y is desirable
 *              λ_U·σ(β·(z0 − r(x, y)))   if y is undesirable
 *   loss     = mean_b [λ_y − v(x_b, y_b)]
 * z0, the reference point of the value function, is the batch's estimate of KL(π‖π_ref) from
 * completions paired with other prompts; as in TRL it gets no gradient and is clamped at 0.
 * `desirable` (B) is a mask (bool or 0/1). Stats follow TRL: rewards/chosen and rewards/rejected
 * are the mean β·r over the batch's desirable / undesirable examples (0 when it has none),
 * rewards/margins their difference, kl = z0; rewards/sign_accuracy = the fraction whose implicit
 * reward has the label's sign (r > 0 desirable, r < 0 undesirable).
 */
export function ktoLoss(
  policyLogps: Tensor,
  refLogps: Tensor,
  desirable: Tensor,
  policyKlLogps: Tensor,
  refKlLogps: Tensor,
  beta: number,
  desirableWeight: number,
  undesirableWeight: number,
): LossOutput<KTOStatName> {
  if (!(beta > 0)) throw new RangeError(`ktoLoss: β must be > 0, got ${beta}`);
  if (!(desirableWeight > 0 && undesirableWeight > 0)) throw new RangeError(`ktoLoss: λ_D and λ_U must be > 0, got ${desirableWeight}, ${undesirableWeight}`);
  return torch.tidy(() => {
    const d = validMask(desirable); // (B) bool
    const r = policyLogps.sub(refLogps); // (B)
    const z0 = policyKlLogps.detach().sub(refKlLogps).mean().clamp(0).detach(); // 0-d
    const v = torch.where(d, r.sub(z0).mul(beta).sigmoid().mul(desirableWeight), z0.sub(r).mul(beta).sigmoid().mul(undesirableWeight)); // (B)
    const lambda = d.to(r.dtype).mul(desirableWeight - undesirableWeight).add(undesirableWeight); // (B) λ_y
    const loss = lambda.sub(v).mean();
    const stats = torch.noGrad(() => {
      const reward = r.detach().mul(beta); // (B)
      const u = d.logicalNot();
      const chosen = maskedMean(reward, d), rejected = maskedMean(reward, u);
      const right = reward.gt(0).logicalAnd(d).logicalOr(reward.lt(0).logicalAnd(u)); // (B)
      return {
        'rewards/chosen': chosen,
        'rewards/rejected': rejected,
        'rewards/margins': chosen.sub(rejected),
        'rewards/sign_accuracy': right.to(r.dtype).mean(),
        kl: z0,
        'logps/chosen': maskedMean(policyLogps.detach(), d),
        'logps/rejected': maskedMean(policyLogps.detach(), u),
      };
    });
    return { loss, stats };
  });
}
