// The policy: a softmax over the 4 moves for each cell, π(a | s) = softmax(actor(φ(s))), and a
// separate critic V(s) = critic(φ(s)) (CleanRL's ppo.py layout: two small MLPs, the actor's last
// layer initialised near 0 so the first policy is close to uniform). φ(s) is the reward model's
// cell features plus the cell's one-hot position (reward-model.ts cellFeatures).
//
// It is trained with the same PPO losses as the language-model trainer (src/trainers/ppo/loss.ts):
// an episode is a "response", a move is a "token", and the reward of a move is the learned reward
// of the cell it enters, r̂(s_{t+1}). Per iteration, as CleanRL reads:
//   1. roll out E episodes with the current policy (in plain JS: the policy of every cell comes
//      from one forward pass over the N cells)
//   2. rewards r_t = r̂(s_{t+1}) − β·(log π(a_t|s_t) − log ¼): the learned reward, KL-penalised
//      towards the uniform random policy (the reference; klPenaltyRewards, k1) so that the policy
//      keeps exploring and does not lock onto the first hole in r̂; old log-probs and values from
//      the same forward pass
//   3. GAE (γ, λ) right to left; returns = advantages + values; whiten the advantages
//   4. K epochs of shuffled minibatches: clipped policy loss + c_v·clipped value loss − c_e·entropy
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { Linear, Module } from '../nn/index.js';
import { AdamW, clipGradNorm } from '../optim/index.js';
import { type Rng, permutation } from '../data/rng.js';
import { maskedMean } from '../trainers/common/masked.js';
import { gae, klPenaltyRewards, ppoPolicyLoss, ppoValueLoss, whiten } from '../trainers/ppo/loss.js';
import type { Grid } from './grid.js';
import { type Trajectory, openCells, rollout } from './env.js';
import { cellFeatures } from './reward-model.js';

export interface PPOSettings {
  /** Episodes rolled out per iteration. */
  episodes: number;
  /** Passes over each iteration's episodes (K). */
  epochs: number;
  /** Minibatches per epoch. */
  minibatches: number;
  lr: number;
  /** Discount γ and GAE λ (Schulman et al. 2016). */
  gamma: number;
  lambda: number;
  /** ε of the clipped policy loss, ε_v of the clipped value loss. */
  clipRange: number;
  clipRangeValue: number;
  /** β of the per-step KL penalty to the uniform random policy, as in RLHF for language models. */
  klCoef: number;
  /** c_v: weight of the value loss; c_e: weight of the entropy bonus. */
  vfCoef: number;
  entCoef: number;
  maxGradNorm: number;
  maxSteps: number;
  /**
   * Share of the training episodes that start in a random open cell instead of the start
   * ("exploring starts", Sutton & Barto sec. 5.3): the policy meets the goal from nearby long
   * before a walk from the start finds it, and does not settle for the first cheap corner.
   */
  exploringStarts: number;
}

/** Actor and critic, each Linear → tanh → Linear. */
export class GridPolicyNet extends Module {
  readonly actor1: Linear;
  readonly actor2: Linear;
  readonly critic1: Linear;
  readonly critic2: Linear;
  constructor(inFeatures: number, hidden: number) {
    super();
    this.actor1 = this.registerModule('actor1', new Linear(inFeatures, hidden));
    this.actor2 = this.registerModule('actor2', new Linear(hidden, 4, { std: 0.01 })); // near-uniform start (CleanRL: std 0.01)
    this.critic1 = this.registerModule('critic1', new Linear(inFeatures, hidden));
    this.critic2 = this.registerModule('critic2', new Linear(hidden, 1, { std: 1 }));
  }
  /** features (N, D) → logits (N, 4), values (N) */
  forward(features: Tensor): { logits: Tensor; values: Tensor } {
    const logits = this.actor2.forward(this.actor1.forward(features).tanh()); // (N, 4)
    const values = this.critic2.forward(this.critic1.forward(features).tanh()).squeeze(1); // (N)
    return { logits, values };
  }
}

/** What one PPO iteration reports (CleanRL's names). */
export interface PPOIterationStats {
  /** Mean learned return R̂ of the rolled-out episodes. */
  meanReturn: number;
  /** Mean Σ_t KL_t to the uniform policy per episode (nats). */
  kl: number;
  /** Fraction of the episodes that reached the goal. */
  success: number;
  meanSteps: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipfrac: number;
}

/** The policy with its features and optimizer; train() continues from where it left off. */
export class GridPolicy {
  /** φ(s) with the cell's one-hot position, (N, D). */
  readonly features: Tensor;
  readonly net: GridPolicyNet;
  readonly optimizer: AdamW;

  constructor(readonly grid: Grid, hidden: number, readonly settings: PPOSettings) {
    this.features = torch.keep(cellFeatures(grid, { position: true }));
    this.net = new GridPolicyNet(this.features.size(1), hidden);
    this.optimizer = new AdamW(this.net.parameters(), { lr: settings.lr, weightDecay: 0 });
  }

  /** π(a | s) for every cell, N·4 numbers row by row. */
  probs(): Float32Array {
    return torch.noGrad(() => torch.tidy(() => Float32Array.from(this.net.forward(this.features).logits.softmax(-1).toFlatArray())));
  }

  /** Episodes of the current policy (sampled, or the greedy path). */
  episodes(n: number, rng: Rng, greedy = false): Trajectory[] {
    const probs = this.probs();
    return Array.from({ length: n }, () => rollout(this.grid, probs, this.settings.maxSteps, rng, greedy));
  }

  /** One PPO iteration against the per-cell reward r̂ (N numbers). */
  iterate(cellReward: readonly number[], rng: Rng): PPOIterationStats {
    const s = this.settings;
    // 1. roll out, a share of the episodes from random cells (exploring starts)
    const probs = this.probs();
    const open = openCells(this.grid);
    const episodes = Array.from({ length: s.episodes }, (_, i) => {
      const from = i < Math.round(s.episodes * s.exploringStarts) ? (open[Math.floor(rng() * open.length)] as number) : this.grid.start;
      return rollout(this.grid, probs, s.maxSteps, rng, false, from);
    });
    const E = episodes.length;
    const T = Math.max(1, ...episodes.map((e) => e.actions.length));
    const statesA = new Int32Array(E * T), actionsA = new Int32Array(E * T), maskA = new Float32Array(E * T), rewardsA = new Float32Array(E * T);
    episodes.forEach((e, b) => {
      e.actions.forEach((a, t) => {
        statesA[b * T + t] = e.cells[t] as number;
        actionsA[b * T + t] = a;
        maskA[b * T + t] = 1;
        rewardsA[b * T + t] = cellReward[e.cells[t + 1] as number] as number; // 2. r_t = r̂(s_{t+1})
      });
    });
    const meanReturn = episodes.reduce((sum, e) => sum + rewardsOf(cellReward, e), 0) / E;
    const success = episodes.filter((e) => e.reachedGoal).length / E;
    const meanSteps = episodes.reduce((sum, e) => sum + e.actions.length, 0) / E;

    const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipfrac: 0 };
    let klSum = 0;
    let updates = 0;
    torch.tidy(() => {
      const states = torch.tensor(statesA, { shape: [E, T] }).long(); // (E, T)
      const actions = torch.tensor(actionsA, { shape: [E, T] }).long(); // (E, T)
      const mask = torch.tensor(maskA, { shape: [E, T] }); // (E, T)
      const rewards = torch.tensor(rewardsA, { shape: [E, T] }); // (E, T)

      // 2. old log-probs and values, without gradients; the KL-penalised rewards
      const { oldLogprobs, oldValues } = torch.noGrad(() => {
        const { lp, v } = this.evaluate(states, actions);
        return { oldLogprobs: lp, oldValues: v };
      });
      const refLogprobs = torch.fullLike(oldLogprobs, Math.log(1 / 4)); // (E, T): the uniform policy
      const kl = klPenaltyRewards(oldLogprobs, refLogprobs, mask, torch.zeros([E]), s.klCoef, 'k1', null);
      klSum = kl.stats['objective/kl'].item();
      const totalRewards = rewards.add(kl.rewards); // (E, T)

      // 3. GAE, returns, whitened advantages
      const { advantages, returns } = gae(totalRewards, oldValues, mask, s.gamma, s.lambda); // (E, T) each
      const adv = whiten(advantages, mask);

      // 4. K epochs of shuffled minibatches
      const mbSize = Math.max(1, Math.ceil(E / s.minibatches));
      for (let epoch = 0; epoch < s.epochs; epoch++) {
        const order = permutation(E, rng);
        for (let start = 0; start < E; start += mbSize) {
          torch.tidy(() => {
            const idx = torch.tensor(order.slice(start, start + mbSize), { dtype: 'int64' }); // (B)
            const pick = (t: Tensor): Tensor => t.indexSelect(0, idx); // (B, T)
            const m = pick(mask);
            const { lp, v, entropy } = this.evaluate(pick(states), pick(actions));
            const pg = ppoPolicyLoss(lp, pick(oldLogprobs), pick(adv), m, s.clipRange);
            const vf = ppoValueLoss(v, pick(oldValues), pick(returns), m, s.clipRangeValue);
            const ent = maskedMean(entropy, m);
            const loss = pg.loss.add(vf.loss.mul(s.vfCoef)).sub(ent.mul(s.entCoef));
            loss.backward();
            clipGradNorm(this.net.parameters(), s.maxGradNorm);
            this.optimizer.step();
            this.optimizer.zeroGrad();
            sums.policyLoss += pg.loss.item();
            sums.valueLoss += vf.loss.item();
            sums.entropy += ent.item();
            sums.approxKl += (pg.stats['policy/approx_kl'] as Tensor).item();
            sums.clipfrac += (pg.stats['policy/clipfrac'] as Tensor).item();
            updates++;
          });
        }
      }
    });
    const n = Math.max(1, updates);
    return {
      meanReturn,
      kl: klSum,
      success,
      meanSteps,
      policyLoss: sums.policyLoss / n,
      valueLoss: sums.valueLoss / n,
      entropy: sums.entropy / n,
      approxKl: sums.approxKl / n,
      clipfrac: sums.clipfrac / n,
    };
  }

  /** log π(a_t | s_t), V(s_t) and the entropy of π(· | s_t) at each (episode, step): (B, T) each. */
  private evaluate(states: Tensor, actions: Tensor): { lp: Tensor; v: Tensor; entropy: Tensor } {
    const B = states.size(0), T = states.size(1);
    const { logits, values } = this.net.forward(this.features); // (N, 4), (N)
    const logp = logits.logSoftmax(-1); // (N, 4)
    const flat = states.reshape(B * T); // (B·T)
    const lpAll = logp.indexSelect(0, flat).view(B, T, 4); // (B, T, 4)
    const lp = lpAll.gather(2, actions.unsqueeze(2)).squeeze(2); // (B, T)
    const entropy = lpAll.exp().mul(lpAll).sum(-1).neg(); // (B, T)
    const v = values.indexSelect(0, flat).view(B, T); // (B, T)
    return { lp, v, entropy };
  }

  dispose(): void {
    this.features.dispose();
    this.net.dispose();
    this.optimizer.dispose();
  }
}

/** Σ_t r̂(s_{t+1}) of an episode. */
function rewardsOf(cellReward: readonly number[], e: Trajectory): number {
  let r = 0;
  for (let i = 1; i < e.cells.length; i++) r += cellReward[e.cells[i] as number] as number;
  return r;
}
