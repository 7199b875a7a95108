// Episodes on a grid: a trajectory is the list of cells visited from the start, with the move
// taken at each step. An episode ends on reaching the goal or after maxSteps moves. Moving into a
// wall or off the grid leaves the agent where it is (the move still costs a step). Hazards do not
// end an episode; they cost.
import { type Grid, legalActions, moveFrom } from './grid.js';
import type { Rng } from '../data/rng.js';

export interface Trajectory {
  /** s_0 … s_T: the start, then the cell after each move. */
  cells: number[];
  /** a_0 … a_{T−1}: 0 up, 1 right, 2 down, 3 left. */
  actions: number[];
  reachedGoal: boolean;
}

/** Number of moves T. */
export const stepsOf = (t: Trajectory): number => t.actions.length;

/** How many times a move entered a hazard cell. */
export function hazardsOf(grid: Grid, t: Trajectory): number {
  let n = 0;
  for (let i = 1; i < t.cells.length; i++) if (grid.cells[t.cells[i] as number] === 'hazard') n++;
  return n;
}

/**
 * The search's cost function: what an engineer would write down first,
 *   cost = steps + hazardCost · hazards touched     (Infinity when the goal was not reached)
 * It knows nothing about edges, scenery or how close the path runs to a hazard.
 */
export function pathCost(grid: Grid, t: Trajectory, hazardCost: number): number {
  return t.reachedGoal ? stepsOf(t) + hazardCost * hazardsOf(grid, t) : Infinity;
}

/** A key that is equal for two trajectories through the same cells. */
export const trajectoryKey = (t: Trajectory): string => t.cells.join(',');

/** Replays moves from the start (stopping at the goal). */
export function replay(grid: Grid, actions: readonly number[]): Trajectory {
  const cells = [grid.start];
  const taken: number[] = [];
  for (const a of actions) {
    const c = cells[cells.length - 1] as number;
    if (c === grid.goal) break;
    cells.push(moveFrom(grid, c, a));
    taken.push(a);
  }
  return { cells, actions: taken, reachedGoal: cells[cells.length - 1] === grid.goal };
}

/**
 * The search's random walker: at each step a uniformly random legal move (never into a wall or off
 * the grid), preferring cells it has not visited yet when there are any (a self-avoiding walk that
 * backtracks only when cornered). selfAvoiding = false: any legal move.
 */
export function randomWalk(grid: Grid, maxSteps: number, rng: Rng, selfAvoiding = true): Trajectory {
  const cells = [grid.start];
  const actions: number[] = [];
  const seen = new Set<number>(cells);
  let c = grid.start;
  while (c !== grid.goal && actions.length < maxSteps) {
    const legal = legalActions(grid, c);
    const fresh = selfAvoiding ? legal.filter((a) => !seen.has(moveFrom(grid, c, a))) : legal;
    const choices = fresh.length ? fresh : legal;
    if (choices.length === 0) break; // boxed in by walls: nothing to do
    const a = choices[Math.floor(rng() * choices.length)] as number;
    c = moveFrom(grid, c, a);
    cells.push(c);
    actions.push(a);
    seen.add(c);
  }
  return { cells, actions, reachedGoal: c === grid.goal };
}

/** The cells an episode may start in for exploring starts: every cell but walls and the goal. */
export function openCells(grid: Grid): number[] {
  return grid.cells.flatMap((k, c) => (k === 'wall' || c === grid.goal ? [] : [c]));
}

/** Samples a ~ probs[cell] (4 probabilities per cell, row by row) by inverting the CDF. */
export function sampleAction(probs: ArrayLike<number>, cell: number, rng: Rng): number {
  let u = rng();
  for (let a = 0; a < 3; a++) {
    u -= probs[cell * 4 + a] as number;
    if (u < 0) return a;
  }
  return 3;
}

/**
 * One episode of a policy that depends only on the cell: probs holds π(a | cell) for every cell
 * (N·4 numbers). greedy = true takes the most likely move instead of sampling. `from`: the cell to
 * start in (default the start).
 */
export function rollout(grid: Grid, probs: ArrayLike<number>, maxSteps: number, rng: Rng, greedy = false, from = grid.start): Trajectory {
  const cells = [from];
  const actions: number[] = [];
  let c = from;
  while (c !== grid.goal && actions.length < maxSteps) {
    let a: number;
    if (greedy) {
      a = 0;
      for (let k = 1; k < 4; k++) if ((probs[c * 4 + k] as number) > (probs[c * 4 + a] as number)) a = k;
    } else a = sampleAction(probs, c, rng);
    c = moveFrom(grid, c, a);
    cells.push(c);
    actions.push(a);
  }
  return { cells, actions, reachedGoal: c === grid.goal };
}
