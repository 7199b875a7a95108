// RLOO, the math only (Ahmadian et al. 2024; TRL RLOOTrainer): the KL-penalised sequence reward, the
// leave-one-out baseline, and the clipped sequence-level objective. Shapes: N rows = prompts × k
// samples, row i·k + j is sample j of prompt i; T response tokens; masks (N, T), 1 = a response token.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedSum, type LossOutput, type Stats } from '../common/masked.js';
import { klK1 } from '../ppo/loss.js';

/**
 * The sequence reward with a sequence-level KL penalty (Ahmadian et al. 2024 eq. 1; TRL RLOOTrainer):
 *   r̃_i = r_i − β · Σ_t (log π_old(y_i,t) − log π_ref(y_i,t))
 * scores (N); logprobs, refLogprobs, mask (N, T). No gradient.
 * stats: kl = mean_i Σ_t (log π_old − log π_ref) (nats per sequence).
 */
export function klPenalizedScores(scores: Tensor, logprobs: Tensor, refLogprobs: Tensor, mask: Tensor, beta: number): { rewards: Tensor; stats: Stats<'kl'> } {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const kl = maskedSum(klK1(logprobs, refLogprobs), mask, 1); // (N)
      return { rewards: scores.sub(kl.mul(beta)), stats: { kl: kl.mean() } };
    }),
  );
}

/**
 * The leave-one-out baseline (Kool et al. 2019; Ahmadian et al. 2024 eq. 6): with k samples per prompt,
 *   b_i = 1/(k − 1) · Σ_{j≠i} r_j = (Σ_j r_j − r_i)/(k − 1),   A_i = r_i − b_i
 * rewards (N), N = prompts × k, each prompt's k rows consecutive. No gradient.
 */
export function rlooAdvantages(rewards: Tensor, k: number): { advantages: Tensor; baselines: Tensor } {
  if (k < 2) throw new RangeError(`rlooAdvantages: k = ${k}; the leave-one-out baseline needs at least 2 samples per prompt`);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const N = rewards.size(0);
      if (N % k !== 0) throw new RangeError(`rlooAdvantages: ${N} rewards do not split into groups of ${k}`);
      const grouped = rewards.view(N / k, k); // (N/k, k)
      const baselines = grouped.sum(1, true).sub(grouped).div(k - 1).reshape(N); // (N)
      return { advantages: rewards.sub(baselines), baselines };
    }),
  );
}

/** Batch standardisation of the advantages (TRL normalize_advantages): (A − mean)/(std + 1e-4), std unbiased. */
export function normalizeBatch(advantages: Tensor): Tensor {
  return torch.noGrad(() => torch.tidy(() => advantages.sub(advantages.mean()).div(advantages.std().add(1e-4))));
}

/**
 * RLOO's clipped sequence-level objective (TRL RLOOTrainer; PPO's clip, Schulman et al. 2017 eq. 7,
 * on whole responses):
 *   log ρ_i = Σ_t log π_θ(y_i,t) − Σ_t log π_old(y_i,t)
 *   L = 1/N Σ_i −min(ρ_i · A_i, clip(ρ_i, 1 − ε, 1 + ε_high) · A_i)
 * At ρ = 1 (the first step on a rollout) ∇L = −1/N Σ_i A_i ∇ log π_θ(y_i): REINFORCE with the
 * leave-one-out baseline. logprobs (N, T) with gradients, oldLogprobs (N, T), advantages (N).
 * stats: policy/ratio = mean ρ; clip_ratio/low_mean (ρ < 1 − ε and A < 0), clip_ratio/high_mean
 * (ρ > 1 + ε_high and A > 0), clip_ratio/region_mean (either), fractions of responses (TRL).
 */
export function rlooLoss(
  logprobs: Tensor,
  oldLogprobs: Tensor,
  advantages: Tensor,
  mask: Tensor,
  o: { epsilon: number; epsilonHigh?: number | null },
): LossOutput<'policy/ratio' | 'clip_ratio/low_mean' | 'clip_ratio/high_mean' | 'clip_ratio/region_mean'> {
  return torch.tidy(() => {
    const epsLow = o.epsilon;
    const epsHigh = o.epsilonHigh ?? o.epsilon;
    const logRatio = maskedSum(logprobs, mask, 1).sub(maskedSum(oldLogprobs, mask, 1)); // (N)
    const coef1 = logRatio.exp(); // ρ_i
    const coef2 = coef1.clamp(1 - epsLow, 1 + epsHigh);
    const loss = coef1.mul(advantages).minimum(coef2.mul(advantages)).neg().mean();
    const stats = torch.noGrad(() => {
      const r = coef1.detach();
      const low = r.lt(1 - epsLow).logicalAnd(advantages.lt(0));
      const high = r.gt(1 + epsHigh).logicalAnd(advantages.gt(0));
      return {
        'policy/ratio': r.mean(),
        'clip_ratio/low_mean': low.to(r.dtype).mean(),
        'clip_ratio/high_mean': high.to(r.dtype).mean(),
        'clip_ratio/region_mean': low.logicalOr(high).to(r.dtype).mean(),
      };
    });
    return { loss, stats };
  });
}
