// GRPO, the math only (Shao et al. 2024, "DeepSeekMath", sec. 4.1; TRL GRPOTrainer): group-relative
// advantages, the clipped per-token objective with a k3 KL term, and the four ways TRL averages
// token losses (loss_type). Shapes: N rows = prompts × G samples, row i·G + g is sample g of
// prompt i; T response tokens; every mask is (N, T) with 1 = a real response token.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedMean, maskedSum, validMask, zeroMasked, type LossOutput, type Stats } from '../common/masked.js';
import { klK3 } from '../ppo/loss.js';

/** ε added to the std of the rewards (TRL GRPOTrainer: `std + 1e-4`). */
export const ADVANTAGE_EPS = 1e-4;

export type ScaleRewards = 'group' | 'batch' | 'none';

/**
 * Group-relative advantages (Shao et al. 2024 sec. 4.1.2, outcome supervision; TRL GRPOTrainer):
 *   Â_i = (r_i − mean(r_group(i))) / (std(r_group(i)) + ε)   scaleRewards 'group'
 *   Â_i = (r_i − mean(r_group(i))) / (std(r_batch) + ε)      'batch' (TRL, after "PPO-Lite", Liu et al. 2025)
 *   Â_i =  r_i − mean(r_group(i))                             'none'  (Dr. GRPO, Liu et al. 2025 sec. 3.1)
 * rewards (N) with N = groups × G, each group's G rows consecutive; std unbiased (torch.std),
 * ε = 1e-4. Every token of response i gets Â_i. No gradient.
 * stats: reward = mean r, reward_std = mean over groups of std(r_group) (TRL), frac_reward_zero_std =
 * fraction of groups whose rewards are all equal (they carry no signal).
 */
export function grpoAdvantages(rewards: Tensor, G: number, scale: ScaleRewards): { advantages: Tensor; stats: Stats<'reward' | 'reward_std' | 'frac_reward_zero_std'> } {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const N = rewards.size(0);
      if (N % G !== 0) throw new RangeError(`grpoAdvantages: ${N} rewards do not split into groups of ${G}`);
      const grouped = rewards.view(N / G, G); // (N/G, G)
      const meanG = grouped.mean(1, true); // (N/G, 1)
      const stdG = grouped.std(1, { keepdim: true }); // (N/G, 1) unbiased
      const centred = grouped.sub(meanG).reshape(N); // (N)
      let advantages = centred;
      if (scale === 'group') advantages = centred.div(stdG.expand(N / G, G).reshape(N).add(ADVANTAGE_EPS));
      else if (scale === 'batch') advantages = centred.div(rewards.std().add(ADVANTAGE_EPS));
      const stats = {
        reward: rewards.mean(),
        reward_std: stdG.mean(),
        frac_reward_zero_std: stdG.abs().lt(1e-8).float().mean(),
      };
      return { advantages, stats };
    }),
  );
}

export interface GrpoTokenLossOptions {
  /** ε_low of the clip: the ratio is held above 1 − ε. */
  epsilon: number;
  /** ε_high of the clip: the ratio is held below 1 + ε_high (DAPO's clip-higher); default ε. */
  epsilonHigh?: number | null;
  /** β of the KL term; 0 (or no refLogprobs) leaves it out. */
  beta: number;
}

export type GrpoStatKey = 'policy/ratio' | 'clip_ratio/low_mean' | 'clip_ratio/high_mean' | 'clip_ratio/region_mean' | 'kl';

/**
 * GRPO's per-token objective (Shao et al. 2024 eq. 3, negated to a loss; TRL GRPOTrainer):
 *   r_t  = π_θ(o_t | q, o_<t) / π_old(o_t | q, o_<t) = exp(lp_t − lp_old_t)
 *   ℓ_t  = −min(r_t · Â, clip(r_t, 1 − ε, 1 + ε_high) · Â) + β · D_KL,t
 *   D_KL,t = π_ref/π_θ − log(π_ref/π_θ) − 1   (Shao et al. 2024 eq. 4: the k3 estimator, ≥ 0)
 * logprobs (N, T) with gradients; oldLogprobs, refLogprobs (N, T) and advantages (N) from the
 * rollout. Returns the (N, T) token losses, 0 at padding, for one of the aggregations below.
 * stats (TRL's names): clip_ratio/low_mean = fraction of valid tokens with r < 1 − ε and Â < 0,
 * clip_ratio/high_mean = r > 1 + ε_high and Â > 0, region = either; kl = mean valid D_KL;
 * policy/ratio = mean valid r.
 */
export function grpoTokenLoss(logprobs: Tensor, oldLogprobs: Tensor, refLogprobs: Tensor | null, advantages: Tensor, mask: Tensor, o: GrpoTokenLossOptions): { tokenLoss: Tensor; stats: Stats<GrpoStatKey> } {
  return torch.tidy(() => {
    const epsLow = o.epsilon;
    const epsHigh = o.epsilonHigh ?? o.epsilon;
    const A = advantages.unsqueeze(1); // (N, 1)
    const coef1 = logprobs.sub(oldLogprobs).exp(); // (N, T) r_t
    const coef2 = coef1.clamp(1 - epsLow, 1 + epsHigh);
    let tokenLoss = coef1.mul(A).minimum(coef2.mul(A)).neg(); // (N, T)
    const kl = refLogprobs ? klK3(logprobs, refLogprobs) : null; // (N, T)
    if (kl && o.beta !== 0) tokenLoss = tokenLoss.add(kl.mul(o.beta));
    tokenLoss = zeroMasked(tokenLoss, mask);
    const stats = torch.noGrad(() => {
      const r = coef1.detach();
      const low = r.lt(1 - epsLow).logicalAnd(A.lt(0).expand(...r.shape)); // (N, T)
      const high = r.gt(1 + epsHigh).logicalAnd(A.gt(0).expand(...r.shape));
      return {
        'policy/ratio': maskedMean(r, mask),
        'clip_ratio/low_mean': maskedMean(low.to(r.dtype), mask),
        'clip_ratio/high_mean': maskedMean(high.to(r.dtype), mask),
        'clip_ratio/region_mean': maskedMean(low.logicalOr(high).to(r.dtype), mask),
        kl: kl ? maskedMean(kl.detach(), mask) : torch.zeros([], { dtype: r.dtype }),
      };
    });
    return { tokenLoss, stats };
  });
}

// ----- aggregating token losses (TRL loss_type) -----------------------------------------------

/**
 * loss_type 'grpo' (Shao et al. 2024 eq. 3): the mean over each response's tokens, then over responses,
 *   L = 1/N Σ_i 1/|o_i| Σ_t ℓ_i,t
 * A long response's tokens weigh less than a short one's (the length bias Dr. GRPO points out).
 */
export function aggregateGrpo(tokenLoss: Tensor, mask: Tensor): Tensor {
  return maskedMean(tokenLoss, mask, 1).mean();
}

/**
 * loss_type 'bnpo' (TRL): the mean over every valid token of the micro-batch,
 *   L = Σ_i Σ_t ℓ_i,t / Σ_i |o_i|
 */
export function aggregateBnpo(tokenLoss: Tensor, mask: Tensor): Tensor {
  return maskedMean(tokenLoss, mask);
}

/**
 * loss_type 'dr_grpo' (Liu et al. 2025, "Understanding R1-Zero-Like Training", sec. 3.1): a constant
 * denominator, the rows times the longest allowed response, so no response's length changes its weight,
 *   L = Σ_i Σ_t ℓ_i,t / (N · L_max)
 */
export function aggregateDrGrpo(tokenLoss: Tensor, mask: Tensor, maxCompletionLength: number): Tensor {
  return maskedSum(tokenLoss, mask).div(tokenLoss.size(0) * maxCompletionLength);
}

/**
 * loss_type 'dapo' (Yu et al. 2025, "DAPO", eq. 8 token-level policy gradient; TRL): the sum over this
 * micro-batch's tokens divided by the number of valid tokens in the whole optimizer step (every
 * micro-batch of it), so gradient accumulation gives the same step as one big batch,
 *   L = Σ_{i∈micro} Σ_t ℓ_i,t / Σ_{i∈step} |o_i|
 * With one micro-batch per step it equals bnpo.
 */
export function aggregateDapo(tokenLoss: Tensor, mask: Tensor, stepTokens: number): Tensor {
  return maskedSum(tokenLoss, mask).div(Math.max(1, stepTokens));
}

export type GrpoLossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';

export interface GrpoLossOptions extends GrpoTokenLossOptions {
  lossType: GrpoLossType;
  /** L_max of dr_grpo. */
  maxCompletionLength: number;
  /** dapo: valid tokens in the whole optimizer step (default: this micro-batch's). */
  stepTokens?: number;
}

/**
 * The GRPO loss of a micro-batch: grpoTokenLoss aggregated as lossType says. For 'dapo' the value is
 * this micro-batch's share of the step's loss (sum it over micro-batches); for the others it is the
 * micro-batch's mean (average it over micro-batches).
 */
export function grpoLoss(logprobs: Tensor, oldLogprobs: Tensor, refLogprobs: Tensor | null, advantages: Tensor, mask: Tensor, o: GrpoLossOptions): LossOutput<GrpoStatKey> {
  return torch.tidy(() => {
    const { tokenLoss, stats } = grpoTokenLoss(logprobs, oldLogprobs, refLogprobs, advantages, mask, o);
    let loss: Tensor;
    if (o.lossType === 'grpo') loss = aggregateGrpo(tokenLoss, mask);
    else if (o.lossType === 'bnpo') loss = aggregateBnpo(tokenLoss, mask);
    else if (o.lossType === 'dr_grpo') loss = aggregateDrGrpo(tokenLoss, mask, o.maxCompletionLength);
    else loss = aggregateDapo(tokenLoss, mask, o.stepTokens ?? validMask(mask).sum().item());
    return { loss, stats };
  });
}
