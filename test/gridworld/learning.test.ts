// The gridworld's learning, in libtorch: the reward model's Bradley–Terry loss falls and it learns
// the person's ordering; the whole feedback loop with a simulated person (the default settings,
// seed 0) ends with a policy that reaches the goal and keeps the hidden preference far more often
// than random search; the same seed gives the same run, to the last number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { VALLEY, parseGrid } from '../../src/gridworld/grid.js';
import { randomWalk } from '../../src/gridworld/env.js';
import { PREFERENCES } from '../../src/gridworld/preferences.js';
import { SimulatedPerson } from '../../src/gridworld/person.js';
import { GridRewardModel, cellFeatures, visitCounts } from '../../src/gridworld/reward-model.js';
import { comparisonsInRound, rescaled, runFeedback, toPairs, type FeedbackResult } from '../../src/gridworld/feedback.js';
import { feedbackConfig, type FeedbackConfig } from '../../src/gridworld/config.js';
import { mixSeed, mulberry32 } from '../../src/data/rng.js';

const grid = parseGrid(VALLEY, 'valley');

function simulated(cfg: FeedbackConfig): SimulatedPerson {
  return new SimulatedPerson(grid, PREFERENCES[cfg.hidden], { hazardCost: cfg.hazardCost, noise: cfg.noise, noiseType: cfg.noiseType }, mulberry32(mixSeed(cfg.seed, 12)));
}

test('features and visit counts: the local view per cell; every trajectory fills the horizon', () => {
  const f = cellFeatures(grid, { position: false });
  assert.deepEqual(f.shape, [84, 6 + 4 * 7 + 2]);
  const row = f.toArray() as number[][];
  // (0, 0): empty, outside above and to the left, coordinates (0, 0)
  assert.deepEqual(row[0]?.slice(0, 6), [1, 0, 0, 0, 0, 0]);
  assert.equal(row[0]?.[6 + 0 * 7 + 6], 1, 'up: outside');
  assert.equal(row[0]?.[6 + 3 * 7 + 6], 1, 'left: outside');
  assert.equal(row[0]?.[6 + 1 * 7 + 0], 1, 'right: empty');
  // (5, 0): lava below it
  assert.equal(row[5]?.[6 + 2 * 7 + 2], 1, 'down: hazard');
  const withPosition = cellFeatures(grid, { position: true });
  assert.deepEqual(withPosition.shape, [84, 36 + 84]);
  const walks = Array.from({ length: 20 }, (_, i) => randomWalk(grid, 40, mulberry32(i)));
  const counts = visitCounts(grid, walks, 40);
  assert.deepEqual(counts.sum(1).toFlatArray(), new Array(20).fill(40), 'H visits each: the goal is visited for the rest of the horizon');
  for (const t of [f, withPosition, counts]) t.dispose();
});

test('reward model: the Bradley–Terry loss falls, and the model orders the pairs as the person does', () => {
  torch.manualSeed(0);
  const rng = mulberry32(4);
  const person = new SimulatedPerson(grid, PREFERENCES.clearance, { hazardCost: 5, noise: 0, noiseType: 'boltzmann' }, mulberry32(1));
  const pairs = [];
  while (pairs.length < 80) {
    const a = randomWalk(grid, 40, rng), b = randomWalk(grid, 40, rng);
    const truth = person.truth(a, b);
    if (truth !== 0) pairs.push(truth === 1 ? { chosen: a, rejected: b } : { chosen: b, rejected: a });
  }
  const rm = new GridRewardModel(grid, 40, { hidden: 32, lr: 0.01, weightDecay: 0.01 });
  try {
    const fit = rm.fit(pairs, 300);
    assert.equal(fit.losses.length, 301);
    const first = fit.losses[0] as number, last = fit.losses[300] as number;
    assert.ok(first > 0.5, `initial loss ${first}`);
    assert.ok(last < 0.2 && last < first / 3, `loss ${first} → ${last}`);
    assert.ok(fit.accuracy >= 0.95, `accuracy ${fit.accuracy}`);
    const r = rm.cellRewards();
    assert.equal(r[grid.goal], 0, 'the goal is the zero of r̂');
    const lava = grid.cells.flatMap((k, c) => (k === 'hazard' ? [r[c] as number] : []));
    const plain = grid.cells.flatMap((k, c) => (k === 'empty' ? [r[c] as number] : []));
    assert.ok(Math.max(...lava) < Math.min(...plain.sort((x, y) => x - y).slice(plain.length / 2)), 'lava is worse than the typical empty cell');
  } finally {
    rm.dispose();
  }
});

test('ties enter as both orders; comparisons spread over rounds; rescaling keeps the goal at 0', () => {
  const a = randomWalk(grid, 40, mulberry32(1)), b = randomWalk(grid, 40, mulberry32(2));
  const pairs = toPairs([{ index: 1, round: 1, a, b, answer: 1 }, { index: 2, round: 1, a, b, answer: 2 }, { index: 3, round: 1, a, b, answer: 0 }]);
  assert.deepEqual(pairs.map((p) => [p.chosen === a ? 'a' : 'b', p.rejected === a ? 'a' : 'b']), [['a', 'b'], ['b', 'a'], ['a', 'b'], ['b', 'a']]);
  assert.deepEqual([0, 1, 2, 3].map((r) => comparisonsInRound(10, 4, r)), [3, 3, 2, 2]);
  const s = rescaled(grid, grid.cells.map((_, c) => (c === grid.goal ? 0 : -2)));
  assert.equal(s[grid.goal], 0);
  assert.equal(s[0], -1);
});

test('the loop (defaults, seed 0, hidden "edge"): the learned policy reaches the goal and keeps off the edge; random search does not', async () => {
  const cfg = feedbackConfig.parse({ simulate: true });
  assert.equal(cfg.comparisons, 60);
  const full = await runFeedback(grid, cfg, simulated(cfg));
  const row = (name: string) => full.table.find((r) => r.agent.startsWith(name));
  const search = row('random search'), walk = row('random walk'), before = row('policy before'), learned = row('learned policy');
  assert.ok(search && walk && before && learned);
  assert.equal(full.comparisons.length, 60);
  assert.equal(full.stoppedEarly, false);
  // random search finds the cheap path: the goal always, the preference almost never
  assert.equal(search.success, 1);
  assert.ok(search.satisfied <= 0.15, `random search keeps the preference ${search.satisfied}`);
  assert.ok(walk.success < 0.7 && walk.satisfied < 0.05, `random walk ${walk.success} / ${walk.satisfied}`);
  assert.ok(before.success < 0.1, `untrained policy ${before.success}`);
  // the learned policy: both, nearly always
  assert.ok(learned.success >= 0.95, `learned policy reaches the goal ${learned.success}`);
  assert.ok(learned.satisfied >= 0.9, `learned policy keeps off the edge ${learned.satisfied}`);
  assert.ok(learned.satisfied >= search.satisfied + 0.75);
  assert.ok(learned.meanTrueReturn > search.meanTrueReturn, `R* ${learned.meanTrueReturn} vs ${search.meanTrueReturn}`);
  assert.ok(full.after.reachedGoal && PREFERENCES.edge.satisfied(grid, full.after), 'the greedy path after training keeps off the edge');
  assert.ok(full.comparisonsToTarget !== null && full.comparisonsToTarget <= 60, `comparisons to target: ${full.comparisonsToTarget}`);
  // the reward model of the last round: its loss fell, it orders fresh pairs as the person does
  const losses = full.rmLosses;
  assert.ok((losses[losses.length - 1] as number) < 0.5 * (losses[0] as number), `BT loss ${losses[0]} → ${losses[losses.length - 1]}`);
  assert.ok(full.rmAgreement.n >= 150 && full.rmAgreement.agree / full.rmAgreement.n >= 0.85, `agreement ${full.rmAgreement.agree}/${full.rmAgreement.n}`);
  assert.equal(full.rounds.length, 6);
  assert.ok(full.rounds.every((r, i) => r.comparisons === 10 * (i + 1)));
});

test('the same seed gives the same run; another seed another; no tensor outlives a run', async () => {
  const small = { simulate: true, rounds: 2, comparisons: 8, ppoIterations: 2, episodes: 16, evalEpisodes: 20, searchRuns: 4, searchTries: 50, rmSteps: 30 };
  const run = async (seed: number): Promise<FeedbackResult> => {
    const cfg = feedbackConfig.parse({ ...small, seed });
    return runFeedback(grid, cfg, simulated(cfg));
  };
  const live = torch.memory().liveTensors;
  const a = await run(3), b = await run(3), c = await run(4);
  assert.equal(torch.memory().liveTensors, live, 'every tensor of the runs is freed');
  const view = (r: FeedbackResult) => ({ answers: r.comparisons.map((x) => [x.a.cells, x.b.cells, x.answer]), rewards: r.cellRewards, table: r.table, losses: r.rmLosses, before: r.before, after: r.after });
  assert.deepEqual(view(a), view(b));
  assert.notDeepEqual(view(a).rewards, view(c).rewards);
  assert.equal(a.comparisons.length, 8);
});
