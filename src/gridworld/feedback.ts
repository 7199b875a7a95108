// RLHF on a grid, after Christiano et al. 2017 ("Deep RL from human preferences"), in rounds:
//   1. draw a pool of trajectories: half from the current policy, a quarter random walks that
//      reached the goal, a quarter short paths from small random searches (so that early on, before
//      the policy finds the goal, there is something to prefer, and its detours meet direct routes)
//   2. ask the person about pairs from the pool (1, 2, tie, or stop)
//   3. fit a reward model r̂ to every answer so far with the Bradley–Terry loss (reward-model.ts)
//   4. train a policy on r̂ with PPO (policy.ts)
//   5. measure the policy: how often it reaches the goal, and keeps the hidden preference
// and at the end, the same measures for random walks, random search and the untrained policy.
// Library code: nothing is printed here; the CLI prints from the hooks and the result.
import * as torch from '../torch/index.js';
import { mixSeed, mulberry32, type Rng } from '../data/rng.js';
import type { Grid } from './grid.js';
import { type Trajectory, hazardsOf, openCells, randomWalk, stepsOf, trajectoryKey } from './env.js';
import { type HiddenPreference, PREFERENCES, trueReturn } from './preferences.js';
import { type Answer, type Person, TIE_MARGIN } from './person.js';
import { GridPolicy, type PPOIterationStats, type PPOSettings } from './policy.js';
import { GridRewardModel, type PreferencePair } from './reward-model.js';
import { randomSearch } from './search.js';
import type { FeedbackConfig } from './config.js';

export interface ComparisonRecord {
  /** 1-based, in the order asked. */
  index: number;
  round: number;
  a: Trajectory;
  b: Trajectory;
  answer: Answer;
}

export interface RoundRecord {
  round: number;
  /** Comparisons answered so far, this round's included. */
  comparisons: number;
  asked: number;
  /** The Bradley–Terry loss at the start and end of this round's fit (NaN when nothing to fit). */
  rmLossStart: number;
  rmLossEnd: number;
  /** Of the answers so far (ties as two pairs), the fraction the reward model orders as the person did. */
  rmAccuracy: number;
  /** The last PPO iteration of the round, or null with no PPO (no answers yet). */
  ppo: PPOIterationStats | null;
  /** The policy after this round, over the evaluation episodes. */
  eval: AgentRow;
}

/** One row of the summary table. */
export interface AgentRow {
  agent: string;
  /** Episodes or searches behind the rates. */
  n: number;
  /** Fraction that reached the goal. */
  success: number;
  /** Fraction that reached the goal keeping the hidden preference. */
  satisfied: number;
  /** Mean steps and hazards of those that reached the goal (NaN: none did). */
  meanSteps: number;
  meanHazards: number;
  /** Mean R*, the person's hidden return. */
  meanTrueReturn: number;
}

export interface FeedbackResult {
  preference: HiddenPreference;
  comparisons: ComparisonRecord[];
  /** The person pressed q (or the input ended) before all comparisons were asked. */
  stoppedEarly: boolean;
  rounds: RoundRecord[];
  /** The Bradley–Terry loss at every step of the last fit (the curve of the final reward model's training). */
  rmLosses: number[];
  /** r̂ per cell after the last fit. */
  cellRewards: number[];
  /** A sampled episode of the untrained policy, and the trained policy's greedy path. */
  before: Trajectory;
  after: Trajectory;
  table: AgentRow[];
  /** Comparisons answered when the policy first kept the preference on ≥ target of its episodes; null: never. */
  comparisonsToTarget: number | null;
  /** On fresh pairs the person would not call a tie: how often r̂ orders them as R* does. */
  rmAgreement: { agree: number; n: number };
}

export interface FeedbackHooks {
  /** Before asking, each round. */
  onRoundStart?(round: number, toAsk: number): void;
  onRound?(record: RoundRecord): void;
}

/** Measures a set of trajectories (episodes, or the paths random searches returned). */
export function measure(agent: string, grid: Grid, trajectories: readonly Trajectory[], pref: HiddenPreference, hazardCost: number): AgentRow {
  const n = trajectories.length;
  const reached = trajectories.filter((t) => t.reachedGoal);
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  return {
    agent,
    n,
    success: reached.length / n,
    satisfied: trajectories.filter((t) => pref.satisfied(grid, t)).length / n,
    meanSteps: mean(reached.map(stepsOf)),
    meanHazards: mean(reached.map((t) => hazardsOf(grid, t))),
    meanTrueReturn: mean(trajectories.map((t) => trueReturn(grid, t, pref, hazardCost))),
  };
}

/** How many comparisons round r asks when `total` are spread over `rounds` (earlier rounds get the remainder). */
export function comparisonsInRound(total: number, rounds: number, r: number): number {
  return Math.floor(total / rounds) + (r < total % rounds ? 1 : 0);
}

/** Random walks that reached the goal (up to `n`, trying 50·n walks), topped up with ones that did not. */
function goalWalks(grid: Grid, n: number, maxSteps: number, rng: Rng): Trajectory[] {
  const hits: Trajectory[] = [], misses: Trajectory[] = [];
  for (let i = 0; i < 50 * n && hits.length < n; i++) {
    const w = randomWalk(grid, maxSteps, rng);
    (w.reachedGoal ? hits : misses).push(w);
  }
  return [...hits, ...misses.slice(0, n - hits.length)];
}

/** r̂ divided by its mean |r̂| over the open cells other than the goal (r̂(goal) = 0 stays 0). */
export function rescaled(grid: Grid, cellRewards: readonly number[]): number[] {
  const open = openCells(grid);
  const scale = open.reduce((sum, c) => sum + Math.abs(cellRewards[c] as number), 0) / Math.max(1, open.length);
  return scale > 1e-9 ? cellRewards.map((r) => r / scale) : [...cellRewards];
}

/** n paths that a random search of 20 walks returns (walks that missed the goal when it found none). */
function shortPaths(grid: Grid, n: number, cfg: FeedbackConfig, rng: Rng): Trajectory[] {
  return Array.from({ length: n }, () => {
    const r = randomSearch(grid, { tries: 20, maxSteps: cfg.maxSteps, hazardCost: cfg.hazardCost, selfAvoiding: true }, rng);
    return r.best ?? randomWalk(grid, cfg.maxSteps, rng);
  });
}

/** Up to n pairs of different trajectories from the pool, none asked before. */
function choosePairs(pool: readonly Trajectory[], n: number, asked: Set<string>, rng: Rng): [Trajectory, Trajectory][] {
  const pairs: [Trajectory, Trajectory][] = [];
  for (let attempt = 0; attempt < 50 * n && pairs.length < n; attempt++) {
    const a = pool[Math.floor(rng() * pool.length)] as Trajectory;
    const b = pool[Math.floor(rng() * pool.length)] as Trajectory;
    const ka = trajectoryKey(a), kb = trajectoryKey(b);
    if (ka === kb || asked.has(`${ka}|${kb}`) || asked.has(`${kb}|${ka}`)) continue;
    asked.add(`${ka}|${kb}`);
    pairs.push([a, b]);
  }
  return pairs;
}

/** The answers as Bradley–Terry pairs: the chosen first; a tie as both orders. */
export function toPairs(records: readonly ComparisonRecord[]): PreferencePair[] {
  return records.flatMap((r): PreferencePair[] =>
    r.answer === 1 ? [{ chosen: r.a, rejected: r.b }] : r.answer === 2 ? [{ chosen: r.b, rejected: r.a }] : [{ chosen: r.a, rejected: r.b }, { chosen: r.b, rejected: r.a }],
  );
}

/**
 * The whole loop; see the top of this file. On one libtorch thread unless RLHF_NUM_THREADS says
 * otherwise: the networks are tiny (a few thousand weights), a second thread never pays off, and OpenMP's
 * spinning threads cost 10× the time when anything else runs on the machine (as in the demo).
 */
export async function runFeedback(grid: Grid, cfg: FeedbackConfig, person: Person, hooks: FeedbackHooks = {}): Promise<FeedbackResult> {
  const threads = torch.getNumThreads();
  if (!process.env.RLHF_NUM_THREADS) torch.setNumThreads(1);
  try {
    return await feedbackLoop(grid, cfg, person, hooks);
  } finally {
    torch.setNumThreads(threads);
  }
}

async function feedbackLoop(grid: Grid, cfg: FeedbackConfig, person: Person, hooks: FeedbackHooks): Promise<FeedbackResult> {
  const pref = PREFERENCES[cfg.hidden];
  const rngFor = (...parts: number[]): Rng => mulberry32(mixSeed(cfg.seed, ...parts));
  // The reward model, too, is fitted afresh each round, to every answer so far: continuing from the
  // last round's fit, a model that grew confident on a few pairs (saturated tanh units) can no
  // longer move when later answers contradict them.
  const freshRewardModel = (round: number): GridRewardModel => {
    torch.manualSeed(mixSeed(cfg.seed, 30, round));
    return new GridRewardModel(grid, cfg.maxSteps, { hidden: cfg.rmHidden, lr: cfg.rmLr, weightDecay: cfg.rmWeightDecay });
  };
  let rewardModel = freshRewardModel(0);
  const settings: PPOSettings = {
    episodes: cfg.episodes,
    epochs: cfg.ppoEpochs,
    minibatches: cfg.minibatches,
    lr: cfg.lr,
    gamma: cfg.gamma,
    lambda: cfg.lam,
    clipRange: cfg.clipRange,
    clipRangeValue: cfg.clipRangeValue,
    klCoef: cfg.klCoef,
    vfCoef: cfg.vfCoef,
    entCoef: cfg.entCoef,
    maxGradNorm: 0.5,
    maxSteps: cfg.maxSteps,
    exploringStarts: cfg.exploringStarts,
  };
  // A fresh policy for each round (initialised from its own seed): one trained on an earlier, worse
  // r̂ has committed to that r̂'s mistakes (its entropy is low, it no longer explores), while on a
  // grid a new one converges on the newest r̂ within a few dozen PPO iterations.
  const freshPolicy = (round: number): GridPolicy => {
    torch.manualSeed(mixSeed(cfg.seed, 20, round));
    return new GridPolicy(grid, cfg.policyHidden, settings);
  };
  let policy = freshPolicy(0);
  try {
    const evalPolicy = (name: string, round: number): AgentRow => measure(name, grid, policy.episodes(cfg.evalEpisodes, rngFor(4, round)), pref, cfg.hazardCost);
    const before = policy.episodes(1, rngFor(5))[0] as Trajectory;
    const untrained = evalPolicy('policy before feedback', 0);

    const comparisons: ComparisonRecord[] = [];
    const rounds: RoundRecord[] = [];
    let rmLosses: number[] = [];
    const asked = new Set<string>();
    const ppoRng = rngFor(1), poolRng = rngFor(2), pairRng = rngFor(3);
    let stoppedEarly = false;
    let cellRewards = rewardModel.cellRewards();
    for (let round = 1; round <= cfg.rounds && !stoppedEarly; round++) {
      // 1. the pool: the policy's episodes, random walks that reached the goal, and short paths
      //    (the best of 20 walks each, as a small random search finds them)
      const quarter = Math.floor(cfg.pool / 4);
      const pool = [
        ...policy.episodes(cfg.pool - 2 * quarter, poolRng),
        ...goalWalks(grid, quarter, cfg.maxSteps, poolRng),
        ...shortPaths(grid, quarter, cfg, poolRng),
      ];
      // 2. ask
      const toAsk = comparisonsInRound(cfg.comparisons, cfg.rounds, round - 1);
      hooks.onRoundStart?.(round, toAsk);
      let askedNow = 0;
      for (const [a, b] of choosePairs(pool, toAsk, asked, pairRng)) {
        const answer = await person.compare(a, b, comparisons.length + 1);
        if (answer === 'quit') {
          stoppedEarly = true;
          break;
        }
        comparisons.push({ index: comparisons.length + 1, round, a, b, answer });
        askedNow++;
      }
      if (stoppedEarly && askedNow === 0) break; // nothing new since the last round's models
      // 3. fit the reward model to every answer so far
      let rmLossStart = Number.NaN, rmLossEnd = Number.NaN, rmAccuracy = Number.NaN;
      let ppo: PPOIterationStats | null = null;
      if (comparisons.length > 0) {
        rewardModel.dispose();
        rewardModel = freshRewardModel(round);
        const fit = rewardModel.fit(toPairs(comparisons), cfg.rmSteps);
        rmLosses = fit.losses;
        rmLossStart = fit.losses[0] as number;
        rmLossEnd = fit.losses[fit.losses.length - 1] as number;
        rmAccuracy = fit.accuracy;
        cellRewards = rewardModel.cellRewards();
        // 4. PPO on r̂, from a fresh policy. r̂ is rescaled so that a typical cell costs 1
        //    (Christiano et al. normalise r̂ to a fixed scale too): a noisy person gives a flatter
        //    r̂, and the policy should not then care more for the KL term than for the reward.
        policy.dispose();
        policy = freshPolicy(round);
        const scaled = rescaled(grid, cellRewards);
        for (let it = 0; it < cfg.ppoIterations; it++) ppo = policy.iterate(scaled, ppoRng);
      }
      // 5. measure
      const record: RoundRecord = { round, comparisons: comparisons.length, asked: askedNow, rmLossStart, rmLossEnd, rmAccuracy, ppo, eval: evalPolicy('learned policy', round) };
      rounds.push(record);
      hooks.onRound?.(record);
    }

    // The summary: random walks, random search, the policy before and after.
    const walkRng = rngFor(6), searchRng = rngFor(7);
    const walks = Array.from({ length: cfg.evalEpisodes }, () => randomWalk(grid, cfg.maxSteps, walkRng));
    const searches = Array.from({ length: cfg.searchRuns }, () => randomSearch(grid, { tries: cfg.searchTries, maxSteps: cfg.maxSteps, hazardCost: cfg.hazardCost, selfAvoiding: true }, searchRng).best);
    const failed: Trajectory = { cells: [grid.start], actions: [], reachedGoal: false };
    const finalEval = rounds.length ? (rounds[rounds.length - 1] as RoundRecord).eval : untrained;
    const table: AgentRow[] = [
      measure('random walk', grid, walks, pref, cfg.hazardCost),
      measure(`random search (best of ${cfg.searchTries})`, grid, searches.map((b) => b ?? failed), pref, cfg.hazardCost),
      { ...untrained, agent: 'policy before feedback' },
      { ...finalEval, agent: 'learned policy' },
    ];
    const after = policy.episodes(1, rngFor(8), true)[0] as Trajectory;
    const hit = rounds.find((r) => r.eval.satisfied >= cfg.target);

    // How well r̂ ranks fresh pairs as the hidden preference does.
    const probe = [...policy.episodes(64, rngFor(9)), ...goalWalks(grid, 64, cfg.maxSteps, rngFor(10))];
    const probeRng = rngFor(11);
    let agree = 0, n = 0;
    for (let i = 0; i < 400 && n < 200; i++) {
      const a = probe[Math.floor(probeRng() * probe.length)] as Trajectory, b = probe[Math.floor(probeRng() * probe.length)] as Trajectory;
      const d = trueReturn(grid, a, pref, cfg.hazardCost) - trueReturn(grid, b, pref, cfg.hazardCost);
      if (Math.abs(d) < TIE_MARGIN) continue;
      n++;
      if (Math.sign(GridRewardModel.returnOf(cellRewards, a) - GridRewardModel.returnOf(cellRewards, b)) === Math.sign(d)) agree++;
    }
    return {
      preference: pref,
      comparisons,
      stoppedEarly,
      rounds,
      rmLosses,
      cellRewards,
      before,
      after,
      table,
      comparisonsToTarget: hit ? hit.comparisons : null,
      rmAgreement: { agree, n },
    };
  } finally {
    policy.dispose();
    rewardModel.dispose();
  }
}
