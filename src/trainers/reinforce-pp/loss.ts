// REINFORCE++, the math only (Hu 2025; OpenRLHF ppo_utils): returns without a critic and the
// global batch normalisation of the advantages. The KL-penalised per-token reward and the clipped
// policy loss are PPO's own (src/trainers/ppo/loss.ts: klPenaltyRewards, ppoPolicyLoss), as in the
// paper. Shapes: N rows, T response tokens; masks (N, T), 1 = a response token.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedMean, validMask, zeroMasked } from '../common/masked.js';

/**
 * The group-mean baseline of REINFORCE++-baseline (Hu 2025 sec. 3.4; OpenRLHF reinforce_baseline):
 *   r'_i = r_i − mean_{j ∈ group(i)} r_j
 * scores (N) with each prompt's G samples consecutive. No gradient.
 */
export function subtractGroupMean(scores: Tensor, G: number): Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const N = scores.size(0);
      if (N % G !== 0) throw new RangeError(`subtractGroupMean: ${N} scores do not split into groups of ${G}`);
      const grouped = scores.view(N / G, G); // (N/G, G)
      return grouped.sub(grouped.mean(1, true)).reshape(N); // (N)
    }),
  );
}

/**
 * Returns without a critic (Hu 2025 eq. 2; OpenRLHF get_cumulative_returns), right to left:
 *   G_t = r_t + γ · G_{t+1},   G past the last valid token = 0
 * rewards, mask (N, T); 0 at padding. The loop runs over T, vectorised over N. No gradient.
 */
export function discountedReturns(rewards: Tensor, mask: Tensor, gamma: number): Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const T = rewards.size(1);
      const m = validMask(mask).to(rewards.dtype); // (N, T)
      const r = zeroMasked(rewards, mask); // (N, T)
      const columns: Tensor[] = new Array<Tensor>(T);
      let next = torch.zeros([rewards.size(0)], { dtype: rewards.dtype, device: rewards.device as torch.Device }); // (N) G_{t+1}
      for (let t = T - 1; t >= 0; t--) {
        next = r.select(1, t).add(next, gamma).mul(m.select(1, t)); // the chain stops at padding
        columns[t] = next;
      }
      return torch.stack(columns, 1); // (N, T)
    }),
  );
}

/**
 * Global batch normalisation of the advantages (Hu 2025 sec. 3.2; OpenRLHF), over every valid token
 * of the whole rollout batch — not per prompt, which is what makes it unbiased across prompts:
 *   Â = (A − mean_valid A) / sqrt(max(var_valid A, 1e-8)),   var biased (÷ n, as OpenRLHF)
 * 0 at padding. No gradient.
 */
export function normalizeAdvantagesGlobal(advantages: Tensor, mask: Tensor): Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const mean = maskedMean(advantages, mask);
      const variance = maskedMean(advantages.sub(mean).square(), mask);
      return zeroMasked(advantages.sub(mean).mul(variance.clamp(1e-8).rsqrt()), mask);
    }),
  );
}
