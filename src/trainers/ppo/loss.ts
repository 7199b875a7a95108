// PPO for language models, the math only (DESIGN.md "PPO for language models — the checklist",
// steps 4–6): KL estimators and the KL-penalised per-token reward, the β controllers, GAE,
// whitening, the clipped policy and value losses, and explained variance. Shapes: B rows
// (query+response pairs), T response tokens; every mask is (B, T) with 1 = a real response token.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { maskedMean, maskedSum, maskedVar, validMask, zeroMasked, type LossOutput, type Stats } from '../common/masked.js';

// ----- KL estimators (Schulman 2020, "Approximating KL divergence") --------------------------

/**
 * k1 = log π(y) − log π_ref(y) = −log r with r = π_ref/π: unbiased for KL(π‖π_ref) under samples
 * from π, high variance, can be negative per token. (B, T) → (B, T).
 */
export function klK1(logprobs: Tensor, refLogprobs: Tensor): Tensor {
  return logprobs.sub(refLogprobs);
}

/**
 * k3 = (r − 1) − log r with r = π_ref/π = exp(refLp − lp): unbiased, low variance, ≥ 0 always.
 * Computed as expm1(d) − d with d = refLp − lp, exact near d = 0. (B, T) → (B, T).
 */
export function klK3(logprobs: Tensor, refLogprobs: Tensor): Tensor {
  return torch.tidy(() => {
    const d = refLogprobs.sub(logprobs); // log r
    return d.expm1().sub(d);
  });
}

export type KLEstimator = 'k1' | 'k3';

export interface KLPenaltyRewards {
  /** (B, T) per-token rewards: −β·KL_t, plus the score at each row's last response token; 0 at padding. */
  rewards: Tensor;
  /** (B, T) the per-token KL estimate; 0 at padding. */
  kl: Tensor;
  stats: Stats<'objective/kl' | 'objective/entropy' | 'objective/non_score_reward' | 'objective/rlhf_reward' | 'objective/scores'>;
}

/**
 * The KL-penalised reward (Ziegler et al. 2019 eq. 2; Stiennon et al. 2020 eq. 1; TRL PPOTrainer):
 *   R_t = −β·KL_t + [t = last_b]·score_b,   KL_t = k1 or k3 of (lp_t, refLp_t)
 * logprobs, refLogprobs, mask (B, T); score (B); lastIndex (B): the index of each row's last real
 * response token (null: the last valid position of mask). Runs without gradients.
 * stats (TRL's names): objective/kl = mean_b Σ_t KL_t (nats per sequence), objective/entropy =
 * mean_b Σ_t −lp_t (a one-sample estimate), objective/non_score_reward = mean_b Σ_t −β·KL_t,
 * objective/scores = mean score, objective/rlhf_reward = non_score_reward + scores.
 */
export function klPenaltyRewards(
  logprobs: Tensor,
  refLogprobs: Tensor,
  mask: Tensor,
  score: Tensor,
  beta: number,
  estimator: KLEstimator,
  lastIndex: Tensor | readonly number[] | null,
): KLPenaltyRewards {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const B = logprobs.size(0), T = logprobs.size(1);
      const kl = zeroMasked(estimator === 'k1' ? klK1(logprobs, refLogprobs) : klK3(logprobs, refLogprobs), mask); // (B, T)
      const nonScoreReward = kl.mul(-beta); // (B, T)
      const last = lastIndexOf(lastIndex, mask, B, T); // (B) int64
      const s = score.to(nonScoreReward.dtype); // (B)
      const rewards = nonScoreReward.scatterAdd(1, last.unsqueeze(1), s.unsqueeze(1)); // (B, T)
      const nsr = nonScoreReward.sum(1).mean();
      const scores = s.mean();
      const stats = {
        'objective/kl': kl.sum(1).mean(),
        'objective/entropy': maskedSum(logprobs.neg(), mask, 1).mean(),
        'objective/non_score_reward': nsr,
        'objective/rlhf_reward': nsr.add(scores),
        'objective/scores': scores,
      };
      return { rewards, kl, stats };
    }),
  );
}

function lastIndexOf(lastIndex: Tensor | readonly number[] | null, mask: Tensor, B: number, T: number): Tensor {
  const device = mask.device as torch.Device;
  if (lastIndex === null) {
    // The largest t with mask[b, t] valid (0 for a row with none).
    const t = torch.arange(T, undefined, 1, { device }).unsqueeze(0).expand(B, T); // (B, T)
    return torch.where(validMask(mask), t, -1).max(1).clamp(0); // (B)
  }
  if (Array.isArray(lastIndex)) return torch.tensor(lastIndex as number[], { dtype: 'int64', device });
  return (lastIndex as Tensor).to('int64');
}

// ----- the β controllers ----------------------------------------------------------------------

/** What a checkpoint stores of a controller; JSON-able. */
export type KLControllerState = { kind: 'fixed'; value: number } | { kind: 'adaptive'; value: number; target: number; horizon: number };

/** A constant β. */
export class FixedKLController {
  constructor(public value: number) {}
  update(_currentKl: number, _nSteps: number): void {}
  state(): KLControllerState {
    return { kind: 'fixed', value: this.value };
  }
  loadState(s: KLControllerState): void {
    if (s.kind !== 'fixed') throw new TypeError(`FixedKLController.loadState: the checkpoint holds an ${s.kind} controller; resume with the same adaptive-KL setting`);
    this.value = s.value;
  }
}

/**
 * Ziegler et al. 2019, sec. 2.2 (TRL AdaptiveKLController): after n episodes with mean KL,
 *   e = clip(KL/target − 1, −0.2, 0.2),   β ← β·(1 + e·n/horizon)
 * KL in nats per sequence (objective/kl), target and horizon from the config.
 */
export class AdaptiveKLController {
  constructor(public value: number, readonly target: number, readonly horizon: number) {}
  update(currentKl: number, nSteps: number): void {
    const e = Math.min(Math.max(currentKl / this.target - 1, -0.2), 0.2);
    this.value *= 1 + (e * nSteps) / this.horizon;
  }
  state(): KLControllerState {
    return { kind: 'adaptive', value: this.value, target: this.target, horizon: this.horizon };
  }
  /** Restores β; target and horizon stay the ones this controller was built with (the config's). */
  loadState(s: KLControllerState): void {
    if (s.kind !== 'adaptive') throw new TypeError(`AdaptiveKLController.loadState: the checkpoint holds a ${s.kind} controller; resume with the same adaptive-KL setting`);
    this.value = s.value;
  }
}

// ----- GAE and whitening ----------------------------------------------------------------------

/**
 * Generalised advantage estimation (Schulman et al. 2016 eq. 16; TRL PPOTrainer), right to left:
 *   δ_t = r_t + γ·V_{t+1} − V_t,   A_t = δ_t + γλ·A_{t+1},   returns R_t = A_t + V_t
 * rewards, values, mask (B, T). A padded position is not part of the episode: its A and R are 0,
 * and a valid token followed by a padded one (or the end) is terminal (V_{t+1} = A_{t+1} = 0).
 * The loop runs over T; each step is tensor ops on a (B) column, vectorised over the batch.
 * Runs without gradients (advantages and returns are targets).
 */
export function gae(rewards: Tensor, values: Tensor, mask: Tensor, gamma: number, lambda: number): { advantages: Tensor; returns: Tensor } {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const T = rewards.size(1);
      const m = validMask(mask).to(values.dtype); // (B, T)
      const r = zeroMasked(rewards, mask).to(values.dtype); // (B, T)
      const V = zeroMasked(values, mask); // (B, T)
      const columns: Tensor[] = new Array<Tensor>(T);
      let nextValue = torch.zeros([rewards.size(0)], { dtype: values.dtype, device: values.device as torch.Device }); // (B)
      let lastGaeLam = nextValue; // A_{t+1}, (B)
      for (let t = T - 1; t >= 0; t--) {
        const Vt = V.select(1, t); // (B)
        const delta = r.select(1, t).add(nextValue, gamma).sub(Vt); // r_t + γ·V_{t+1} − V_t
        lastGaeLam = delta.add(lastGaeLam, gamma * lambda).mul(m.select(1, t)); // 0 at padding: the chain stops there
        columns[t] = lastGaeLam;
        nextValue = Vt;
      }
      const advantages = torch.stack(columns, 1); // (B, T)
      return { advantages, returns: advantages.add(V) };
    }),
  );
}

/**
 * GAE by its definition, in plain arrays, for tests: A_t = Σ_{l≥0} (γλ)^l δ_{t+l}, summed over the
 * run of valid tokens that starts at t, with V = 0 past the run's end. O(T²) per row.
 */
export function gaeNaive(rewards: number[][], values: number[][], mask: number[][], gamma: number, lambda: number): { advantages: number[][]; returns: number[][] } {
  const advantages: number[][] = [], returns: number[][] = [];
  for (let b = 0; b < rewards.length; b++) {
    const r = rewards[b] as number[], v = values[b] as number[], m = mask[b] as number[];
    const T = r.length;
    const valid = (t: number): boolean => t < T && m[t] !== 0;
    const A: number[] = [], R: number[] = [];
    for (let t = 0; t < T; t++) {
      if (!valid(t)) {
        A.push(0);
        R.push(0);
        continue;
      }
      let sum = 0;
      for (let k = t; valid(k); k++) {
        const next = valid(k + 1) ? (v[k + 1] as number) : 0;
        const delta = (r[k] as number) + gamma * next - (v[k] as number);
        sum += (gamma * lambda) ** (k - t) * delta;
      }
      A.push(sum);
      R.push(sum + (v[t] as number));
    }
    advantages.push(A);
    returns.push(R);
  }
  return { advantages, returns };
}

/**
 * Whitening over valid tokens (TRL `masked_whiten`): (x − mean)/√(var + 1e-8) with the masked mean
 * and unbiased masked variance; shiftMean = false adds the mean back (only rescales). 0 at padding.
 */
export function whiten(x: Tensor, mask: Tensor, shiftMean = true): Tensor {
  return torch.tidy(() => {
    const mean = maskedMean(x, mask);
    const variance = maskedVar(x, mask, true);
    let w = x.sub(mean).mul(variance.add(1e-8).rsqrt());
    if (!shiftMean) w = w.add(mean);
    return zeroMasked(w, mask);
  });
}

// ----- PPO losses -----------------------------------------------------------------------------

/**
 * Clipped surrogate policy loss (Schulman et al. 2017 eq. 7, negated; TRL PPOTrainer):
 *   r_t = exp(lp_t − lp_old_t),   loss = mean_valid max(−A_t·r_t, −A_t·clip(r_t, 1−ε, 1+ε))
 * logprobs (B, T) with gradients, oldLogprobs and advantages (B, T) from the rollout, ε = clipRange.
 * stats: policy/approx_kl = ½·mean_valid (log r)² (the k2 estimator, as TRL logs it),
 * policy/clipfrac = fraction of valid tokens where the clipped term is the larger (TRL pg_clipfrac),
 * policy/ratio = mean_valid r.
 */
export function ppoPolicyLoss(
  logprobs: Tensor,
  oldLogprobs: Tensor,
  advantages: Tensor,
  mask: Tensor,
  clipRange: number,
): LossOutput<'policy/approx_kl' | 'policy/clipfrac' | 'policy/ratio'> {
  return torch.tidy(() => {
    const logRatio = logprobs.sub(oldLogprobs); // (B, T)
    const ratio = logRatio.exp();
    const pgLosses = advantages.neg().mul(ratio);
    const pgLosses2 = advantages.neg().mul(ratio.clamp(1 - clipRange, 1 + clipRange));
    const loss = maskedMean(pgLosses.maximum(pgLosses2), mask);
    const stats = torch.noGrad(() => ({
      'policy/approx_kl': maskedMean(logRatio.detach().square(), mask).mul(0.5),
      'policy/clipfrac': maskedMean(pgLosses2.detach().gt(pgLosses.detach()).to(ratio.dtype), mask),
      'policy/ratio': maskedMean(ratio.detach(), mask),
    }));
    return { loss, stats };
  });
}

/**
 * Clipped value loss (TRL PPOTrainer; OpenAI baselines ppo2):
 *   v_clip = clip(v, v_old − ε_v, v_old + ε_v),   loss = ½·mean_valid max((v − R)², (v_clip − R)²)
 * values (B, T) with gradients, oldValues and returns (B, T) from the rollout, ε_v = clipRangeValue.
 * stats: value/clipfrac = fraction of valid tokens where the clipped error is the larger.
 */
export function ppoValueLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, clipRangeValue: number): LossOutput<'value/clipfrac'> {
  return torch.tidy(() => {
    const vClipped = values.clampT(oldValues.sub(clipRangeValue), oldValues.add(clipRangeValue)); // (B, T)
    const vfLosses1 = values.sub(returns).square();
    const vfLosses2 = vClipped.sub(returns).square();
    const loss = maskedMean(vfLosses1.maximum(vfLosses2), mask).mul(0.5);
    const stats = torch.noGrad(() => ({
      'value/clipfrac': maskedMean(vfLosses2.detach().gt(vfLosses1.detach()).to(values.dtype), mask),
    }));
    return { loss, stats };
  });
}

/**
 * Explained variance of the value head (CleanRL ppo.py): 1 − Var(R − v)/Var(R) over valid tokens.
 * 1: perfect; 0: no better than a constant; negative: worse. NaN when Var(R) = 0. 0-d, no gradient.
 */
export function explainedVariance(values: Tensor, returns: Tensor, mask: Tensor): Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const varR = maskedVar(returns, mask);
      const ev = maskedVar(returns.sub(values), mask).div(varR).rsub(1);
      return torch.where(varR.eq(0), torch.full([], Number.NaN, { dtype: ev.dtype, device: ev.device as torch.Device }), ev);
    }),
  );
}
