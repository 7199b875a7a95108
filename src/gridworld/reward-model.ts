// The learned reward: a tiny MLP that scores each cell, r̂(s) = MLP(φ(s)), and a trajectory's
// reward is the sum over the cells it enters, R̂(τ) = Σ_t r̂(s_t) — the same additive form as the
// person's hidden R* (preferences.ts), but learned only from which of two trajectories they chose.
//
// Fitting uses the same Bradley–Terry loss as the language-model reward trainer
// (src/trainers/reward/loss.ts): P(τ_c ≻ τ_r) = σ(R̂(τ_c) − R̂(τ_r)), loss = −mean log σ(R̂_c − R̂_r).
// Since R̂ is linear in the visit counts, R̂(τ) = counts(τ) · r̂ with counts (B, N), one matrix
// product scores a whole batch of trajectories.
//
// Every episode lasts the same H = maxSteps moves: an agent that reaches the goal early stays there
// for the rest (Christiano et al. 2017 made their episodes fixed-length for the same reason). Then
// every trajectory has H visits in all, adding a constant to r̂ adds H·constant to every R̂, and the
// comparisons say nothing about the level of r̂ — only its differences, which is all they can
// know. (With episodes of different lengths the level would pay for being long or short: a
// reward model a little too high everywhere teaches the policy never to arrive.) So the level is
// fixed by convention: cellRewards() reports r̂(s) − r̂(goal), resting at the goal is worth 0, and
// an episode can end at the goal without changing how any two trajectories compare.
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { Linear, Module } from '../nn/index.js';
import { AdamW } from '../optim/index.js';
import { bradleyTerryLoss } from '../trainers/reward/loss.js';
import { type CellKind, type Grid, MOVES, xOf, yOf } from './grid.js';
import type { Trajectory } from './env.js';

const KINDS: readonly CellKind[] = ['empty', 'wall', 'hazard', 'scenic', 'start', 'goal'];
/** What a neighbour can be: a kind, or outside the grid. */
const AROUND = [...KINDS, 'outside'] as const;

/**
 * φ(s) for every cell, (N, D), what an agent standing there would see:
 *   - the cell's kind, one-hot (6): "hazards are bad", "the goal is good"
 *   - the kind of each of its 4 neighbours, or "outside the grid", one-hot (4 × 7)
 *   - its coordinates scaled to [0, 1] (2): smooth shapes over the map
 *   - with `position`, the cell's own one-hot (N): a table the network can fill cell by cell
 * The reward model reads the first three only: with ~50 comparisons over 84 cells a table would
 * fit the noise (a cheap corner here, a dear one there), while the local view generalises —
 * one weight learns "a cell next to lava", or "a cell with the outside next to it", everywhere at
 * once. The policy reads all four: where to go next is a per-cell decision. Nothing here names
 * the hidden preference; every cell gets the same generic view.
 */
export function cellFeatures(grid: Grid, opts: { position: boolean }): Tensor {
  const N = grid.cells.length;
  const LOCAL = KINDS.length + MOVES.length * AROUND.length + 2;
  const D = LOCAL + (opts.position ? N : 0);
  const f = new Float32Array(N * D);
  for (let c = 0; c < N; c++) {
    const x = xOf(grid, c), y = yOf(grid, c);
    const row = c * D;
    f[row + KINDS.indexOf(grid.cells[c] as CellKind)] = 1;
    MOVES.forEach((m, k) => {
      const nx = x + m.dx, ny = y + m.dy;
      const inside = nx >= 0 && ny >= 0 && nx < grid.width && ny < grid.height;
      const what = inside ? KINDS.indexOf(grid.cells[ny * grid.width + nx] as CellKind) : AROUND.length - 1;
      f[row + KINDS.length + k * AROUND.length + what] = 1;
    });
    f[row + LOCAL - 2] = x / Math.max(1, grid.width - 1);
    f[row + LOCAL - 1] = y / Math.max(1, grid.height - 1);
    if (opts.position) f[row + LOCAL + c] = 1;
  }
  return torch.tensor(f, { shape: [N, D] }); // (N, D)
}

/**
 * Visit counts of the cells each trajectory enters (its start excluded) over a horizon of H moves:
 * a trajectory that reached the goal after T moves visits the goal H − T more times. (B, N).
 */
export function visitCounts(grid: Grid, trajectories: readonly Trajectory[], horizon: number): Tensor {
  const N = grid.cells.length;
  const m = new Float32Array(trajectories.length * N);
  trajectories.forEach((t, b) => {
    for (let i = 1; i < t.cells.length; i++) m[b * N + (t.cells[i] as number)]! += 1;
    if (t.reachedGoal) m[b * N + grid.goal]! += Math.max(0, horizon - t.actions.length);
  });
  return torch.tensor(m, { shape: [trajectories.length, N] }); // (B, N)
}

/** r̂(s) = w₂ · tanh(W₁ φ(s) + b₁) + b₂. */
export class CellRewardModel extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(inFeatures: number, hidden: number) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(inFeatures, hidden));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, 1));
  }
  /** features (N, D) → r̂ (N) */
  forward(features: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(features).tanh()).squeeze(1);
  }
}

/** One answer, as a training pair; a tie is given as both orders (see fitStep). */
export interface PreferencePair {
  chosen: Trajectory;
  rejected: Trajectory;
}

export interface RewardFitResult {
  /** The Bradley–Terry loss before each optimizer step, then after the last. */
  losses: number[];
  /** Fraction of the pairs whose chosen trajectory the model now scores higher. */
  accuracy: number;
}

/** The reward model with its features and optimizer; fit() continues from where it left off. */
export class GridRewardModel {
  readonly features: Tensor;
  readonly model: CellRewardModel;
  readonly optimizer: AdamW;

  /** horizon: H, the moves of every episode (maxSteps). */
  constructor(readonly grid: Grid, readonly horizon: number, opts: { hidden: number; lr: number; weightDecay: number }) {
    this.features = torch.keep(cellFeatures(grid, { position: false }));
    this.model = new CellRewardModel(this.features.size(1), opts.hidden);
    this.optimizer = new AdamW(this.model.parameters(), { lr: opts.lr, weightDecay: opts.weightDecay });
  }

  /**
   * Full-batch AdamW on the Bradley–Terry loss over every pair so far. A tie enters as two pairs,
   * (a ≻ b) and (b ≻ a): their losses sum to −log σ(d) − log σ(−d), least at d = 0, so a tie pulls
   * the two returns together without saying which is better.
   */
  fit(pairs: readonly PreferencePair[], steps: number): RewardFitResult {
    if (pairs.length === 0) return { losses: [], accuracy: Number.NaN };
    const losses: number[] = [];
    const [cChosen, cRejected] = torch.tidy(() => torch.keep([visitCounts(this.grid, pairs.map((p) => p.chosen), this.horizon), visitCounts(this.grid, pairs.map((p) => p.rejected), this.horizon)]));
    try {
      for (let step = 0; step <= steps; step++) {
        torch.tidy(() => {
          const r = this.model.forward(this.features); // (N)
          const rChosen = cChosen.matmul(r); // (P)
          const rRejected = cRejected.matmul(r); // (P)
          const { loss } = bradleyTerryLoss(rChosen, rRejected);
          losses.push(loss.item());
          if (step === steps) return; // the last entry is the loss after the last step
          loss.backward();
          this.optimizer.step();
          this.optimizer.zeroGrad();
        });
      }
      const accuracy = torch.noGrad(() =>
        torch.tidy(() => {
          const r = this.model.forward(this.features);
          return cChosen.matmul(r).gt(cRejected.matmul(r)).float().mean().item();
        }),
      );
      return { losses, accuracy };
    } finally {
      cChosen.dispose();
      cRejected.dispose();
    }
  }

  /** r̂(s) − r̂(goal) for every cell, as numbers (N): the learned reward, with the goal at 0. */
  cellRewards(): number[] {
    const r = torch.noGrad(() => torch.tidy(() => this.model.forward(this.features).toFlatArray()));
    const atGoal = r[this.grid.goal] as number;
    return r.map((v) => v - atGoal);
  }

  /** R̂(τ) = Σ_t r̂(s_t) − r̂(goal) of a trajectory, from cellRewards() (the goal's rest adds 0). */
  static returnOf(cellRewards: readonly number[], t: Trajectory): number {
    let r = 0;
    for (let i = 1; i < t.cells.length; i++) r += cellRewards[t.cells[i] as number] as number;
    return r;
  }

  dispose(): void {
    this.model.dispose();
    this.features.dispose();
    this.optimizer.dispose();
  }
}
