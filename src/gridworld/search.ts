// Random search: sample constrained random walks (env.ts randomWalk: no walls, no leaving the grid,
// no revisiting while there is a choice) and keep the cheapest under the cost function
//   cost = steps + hazardCost · hazards touched      (walks that miss the goal cost Infinity)
// It is the "optimise what you wrote down" baseline: it finds the cheap path, not the liked one.
// The true optimum of the same cost (Dijkstra, grid.ts) is reported beside it, to show how many
// tries chance needed to get there.
import { cheapestPath, type Grid, MOVES } from './grid.js';
import { type Trajectory, pathCost, randomWalk, replay } from './env.js';
import type { Rng } from '../data/rng.js';

export interface SearchOptions {
  tries: number;
  maxSteps: number;
  hazardCost: number;
  selfAvoiding: boolean;
}

export interface SearchResult {
  tries: number;
  /** The cheapest walk found, or null when no walk reached the goal. */
  best: Trajectory | null;
  bestCost: number;
  /** The try (1-based) that found `best`; 0 when none did. */
  bestTry: number;
  /** The first try that reached the goal at all; 0 when none did. */
  firstSuccessTry: number;
  /** Walks that reached the goal. */
  successes: number;
  /** The best cost so far after each try (Infinity until the first success). */
  curve: number[];
  /** The cheapest possible path under the same cost, and the first try that matched its cost (0: never). */
  optimum: { cost: number; path: Trajectory; foundAtTry: number };
}

/** Runs `tries` random walks and keeps the cheapest. */
export function randomSearch(grid: Grid, opts: SearchOptions, rng: Rng): SearchResult {
  const cost = (c: number): number => 1 + (grid.cells[c] === 'hazard' ? opts.hazardCost : 0);
  const opt = cheapestPath(grid, cost);
  let best: Trajectory | null = null;
  let bestCost = Infinity, bestTry = 0, firstSuccessTry = 0, successes = 0, foundAtTry = 0;
  const curve: number[] = [];
  for (let i = 1; i <= opts.tries; i++) {
    const walk = randomWalk(grid, opts.maxSteps, rng, opts.selfAvoiding);
    const c = pathCost(grid, walk, opts.hazardCost);
    if (walk.reachedGoal) {
      successes++;
      if (firstSuccessTry === 0) firstSuccessTry = i;
    }
    if (c < bestCost) {
      best = walk;
      bestCost = c;
      bestTry = i;
      if (foundAtTry === 0 && c <= opt.cost + 1e-9) foundAtTry = i;
    }
    curve.push(bestCost);
  }
  return { tries: opts.tries, best, bestCost, bestTry, firstSuccessTry, successes, curve, optimum: { cost: opt.cost, path: replay(grid, actionsAlong(grid, opt.cells)), foundAtTry } };
}

/** The moves that walk a list of neighbouring cells. */
export function actionsAlong(grid: Grid, cells: readonly number[]): number[] {
  const actions: number[] = [];
  for (let i = 1; i < cells.length; i++) {
    const d = (cells[i] as number) - (cells[i - 1] as number);
    const a = MOVES.findIndex((m) => m.dx + m.dy * grid.width === d);
    if (a < 0) throw new RangeError(`actionsAlong: cells ${cells[i - 1]} and ${cells[i]} are not neighbours`);
    actions.push(a);
  }
  return actions;
}
