// Reward-model losses: pairwise preferences (Bradley–Terry), ratings per dimension (regression),
// and binary labels (logistic). Each returns { loss, stats } with detached 0-d stats (masked.ts).
import * as torch from '../../torch/index.js';
import { F } from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedMean, type LossOutput } from '../common/masked.js';

export interface BradleyTerryOptions {
  /** Per-pair margin m (B): how much better chosen must score (Llama 2, Touvron et al. 2023 eq. 2; TRL `margin` column). */
  margin?: Tensor | null;
  /** Weight of mean((r_c + r_r)²), which keeps rewards centred on 0 (Eisenstein et al. 2023; TRL center_rewards_coefficient). Default 0. */
  centerRewardsCoefficient?: number;
}

/**
 * Bradley–Terry pairwise loss (Ouyang et al. 2022 eq. 1; TRL RewardTrainer.compute_loss):
 *   loss = −mean_b log σ(r_c − r_r − m) + c·mean_b (r_c + r_r)²
 * rChosen, rRejected (B) scalar rewards; m (B) optional margin, c = centerRewardsCoefficient.
 * stats: accuracy = mean(r_c > r_r) (ties count as wrong), margin = mean(r_c − r_r),
 * rewards/chosen = mean r_c, rewards/rejected = mean r_r.
 */
export function bradleyTerryLoss(
  rChosen: Tensor,
  rRejected: Tensor,
  opts: BradleyTerryOptions = {},
): LossOutput<'accuracy' | 'margin' | 'rewards/chosen' | 'rewards/rejected'> {
  const c = opts.centerRewardsCoefficient ?? 0;
  return torch.tidy(() => {
    const diff = rChosen.sub(rRejected); // (B)
    let loss = diff.sub(opts.margin ?? 0).logSigmoid().mean().neg();
    if (c !== 0) loss = loss.add(rChosen.add(rRejected).square().mean().mul(c));
    const stats = torch.noGrad(() => ({
      accuracy: diff.detach().gt(0).to(diff.dtype).mean(),
      margin: diff.detach().mean(),
      'rewards/chosen': rChosen.detach().mean(),
      'rewards/rejected': rRejected.detach().mean(),
    }));
    return { loss, stats };
  });
}

/** w / Σw, checked: one non-negative weight per dimension, not all zero. */
function normalisedWeights(weights: readonly number[], D: number, what: string): number[] {
  if (weights.length !== D) throw new RangeError(`${what}: ${weights.length} weights for ${D} rating dimensions; pass one weight per dimension`);
  if (weights.some((w) => !(w >= 0) || !Number.isFinite(w))) throw new RangeError(`${what}: weights must be finite and ≥ 0, got [${weights.join(', ')}]`);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new RangeError(`${what}: the weights sum to 0; give at least one dimension a positive weight`);
  return weights.map((w) => w / total);
}

export interface RatingRegressionOptions {
  /** (B, D), 1 = this row has a rating in this dimension. Default: every rating present. */
  mask?: Tensor | null;
  /** Names of the D dimensions for the stats (`mse/<name>`). Default: the indices 0…D−1. */
  names?: readonly string[];
}

/**
 * Regression on ratings, one mean squared error per dimension d (Wang et al. 2023, HelpSteer: a
 * regression head per attribute), combined with the normalised weights w̃ = w/Σw:
 *   mse_d = mean over rated rows b of (pred_bd − target_bd)²,   loss = Σ_d w̃_d·mse_d
 * pred, target (B, D); weights (D). A dimension with no rated row contributes 0.
 * stats: `mse/<name>` per dimension.
 */
export function ratingRegressionLoss(pred: Tensor, target: Tensor, weights: readonly number[], opts: RatingRegressionOptions = {}): LossOutput {
  const D = pred.size(-1);
  const w = normalisedWeights(weights, D, 'ratingRegressionLoss');
  const names = opts.names ?? Array.from({ length: D }, (_, d) => String(d));
  if (names.length !== D) throw new RangeError(`ratingRegressionLoss: ${names.length} names for ${D} rating dimensions`);
  return torch.tidy(() => {
    const se = pred.sub(target).square(); // (B, D)
    const mse = opts.mask ? maskedMean(se, opts.mask, 0) : se.mean(0); // (D)
    const wt = torch.tensor(w, { dtype: pred.dtype, device: pred.device as torch.Device }); // (D)
    const loss = mse.mul(wt).sum();
    const stats: Record<string, Tensor> = {};
    torch.noGrad(() => names.forEach((name, d) => (stats[`mse/${name}`] = mse.detach().select(0, d))));
    return { loss, stats };
  });
}

/** One reward per row from ratings: r_b = Σ_d w̃_d·pred_bd with w̃ = w/Σw. pred (B, D) → (B). */
export function combineDimensions(pred: Tensor, weights: readonly number[]): Tensor {
  const w = normalisedWeights(weights, pred.size(-1), 'combineDimensions');
  return torch.tidy(() => pred.mul(torch.tensor(w, { dtype: pred.dtype, device: pred.device as torch.Device })).sum(-1)); // (B)
}

/**
 * Binary labels (thumbs up/down, KTO-style unpaired data) as logistic regression: the reward is the
 * logit and σ(reward) = P(positive). Binary cross-entropy with logits (PyTorch BCEWithLogitsLoss):
 *   loss = −mean_b [y log σ(z) + (1 − y) log(1 − σ(z))]
 * logit (B), label (B) in {0, 1} (any dtype). stats: accuracy = mean((z > 0) == (y = 1)),
 * p_positive = mean σ(z).
 */
export function labelBceLoss(logit: Tensor, label: Tensor): LossOutput<'accuracy' | 'p_positive'> {
  return torch.tidy(() => {
    const y = label.to(logit.dtype); // (B)
    const loss = F.binaryCrossEntropyWithLogits(logit, y);
    const stats = torch.noGrad(() => {
      const z = logit.detach();
      return {
        accuracy: z.gt(0).eq(y.gt(0.5)).to(z.dtype).mean(),
        p_positive: z.sigmoid().mean(),
      };
    });
    return { loss, stats };
  });
}
