// What the person really wants. The search's cost counts steps and hazards; the person counts those
// too, and also one thing the cost function misses — the hidden preference. Each is a reward per
// cell entered, so the person's whole judgement of a trajectory is a sum over its cells:
//
//   R*(τ) = Σ_{t=1..T} r*(s_t),   r*(s) = −1 − hazardCost·[s hazard] + hidden(s),   r*(goal) = 0
//
// Read it over the whole episode of maxSteps moves: an agent that reaches the goal rests there at
// no cost for the remaining steps, one that does not pays for every step. (Every episode is then
// equally long, which is what lets a reward model learn from comparisons alone: see
// reward-model.ts.)
//
// A simulated person compares two trajectories by R* (person.ts); the reward model only ever sees
// the comparisons. "Satisfied" is the plain-words test used in the summary table: the trajectory
// reaches the goal and keeps the preference all the way.
import { type Grid, besideHazard, isBorder } from './grid.js';
import type { Trajectory } from './env.js';

export const HIDDEN_PREFERENCES = ['edge', 'clearance', 'scenic'] as const;
export type HiddenPreferenceName = (typeof HIDDEN_PREFERENCES)[number];

export interface HiddenPreference {
  name: HiddenPreferenceName;
  /** What the person wants, in their words. */
  wish: string;
  /** The hidden term of r*(s) for entering cell s. */
  hidden(grid: Grid, cell: number): number;
  /** Reached the goal and kept the preference. */
  satisfied(grid: Grid, t: Trajectory): boolean;
}

/** The price of a step away from the goal, in the person's units. */
export const STEP_COST = 1;
/**
 * How much a cell on the edge, or beside a hazard, costs the person on top of the step; how much a
 * scenic cell pleases them. Sized so that on the valley map the liked route beats the cheapest by
 * 2–3 units, and reaching the goal still matters more than the preference: a failed episode of 40
 * moves costs 40, a messy 30-move walk to the goal 30 plus its penalties. A scenic cell must stay
 * dearer than resting at the goal (bonus < 1), or strolling in the garden forever would beat
 * arriving.
 */
export const EDGE_PENALTY = 0.5;
export const CLEARANCE_PENALTY = 1;
export const SCENIC_BONUS = 0.65;
/** Scenic cells a route must pass to count as the scenic route (or all of them, if fewer). */
export const SCENIC_MIN_CELLS = 3;

const entered = (t: Trajectory): number[] => t.cells.slice(1);

export const PREFERENCES: Readonly<Record<HiddenPreferenceName, HiddenPreference>> = {
  edge: {
    name: 'edge',
    wish: 'stay away from the edge of the map',
    hidden: (grid, c) => (c !== grid.start && c !== grid.goal && isBorder(grid, c) ? -EDGE_PENALTY : 0),
    satisfied: (grid, t) => t.reachedGoal && entered(t).every((c) => c === grid.start || c === grid.goal || !isBorder(grid, c)),
  },
  clearance: {
    name: 'clearance',
    wish: 'keep a cell of clearance from every hazard',
    hidden: (grid, c) => (besideHazard(grid, c) || grid.cells[c] === 'hazard' ? -CLEARANCE_PENALTY : 0),
    satisfied: (grid, t) => t.reachedGoal && entered(t).every((c) => !besideHazard(grid, c) && grid.cells[c] !== 'hazard'),
  },
  scenic: {
    name: 'scenic',
    wish: 'take the scenic route through the flowers',
    hidden: (grid, c) => (grid.cells[c] === 'scenic' ? SCENIC_BONUS : 0),
    satisfied: (grid, t) => {
      if (!t.reachedGoal) return false;
      const total = grid.cells.filter((k) => k === 'scenic').length;
      const seen = new Set(entered(t).filter((c) => grid.cells[c] === 'scenic'));
      return total > 0 && seen.size >= Math.min(SCENIC_MIN_CELLS, total);
    },
  },
};

/** r*(s): the person's reward for entering cell s (0 for the goal: arrived, nothing more to pay). */
export function trueCellReward(grid: Grid, cell: number, pref: HiddenPreference, hazardCost: number): number {
  if (cell === grid.goal) return 0;
  return -STEP_COST - (grid.cells[cell] === 'hazard' ? hazardCost : 0) + pref.hidden(grid, cell);
}

/** R*(τ) = Σ_t r*(s_t) over the cells entered. */
export function trueReturn(grid: Grid, t: Trajectory, pref: HiddenPreference, hazardCost: number): number {
  let r = 0;
  for (let i = 1; i < t.cells.length; i++) r += trueCellReward(grid, t.cells[i] as number, pref, hazardCost);
  return r;
}
