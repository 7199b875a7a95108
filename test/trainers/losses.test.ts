// The trainers' loss functions: closed forms, clipping by hand, fast-vs-naive GAE, and gradients
// against central differences in float64 (test/engine/helpers.ts's gradcheck).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble, rng } from '../engine/helpers.js';
import { maskedMean, maskedVar, maskedSum, readStats } from '../../src/trainers/common/masked.js';
import { sequenceLogps } from '../../src/trainers/common/sequence-logps.js';
import { bradleyTerryLoss, combineDimensions, labelBceLoss, ratingRegressionLoss } from '../../src/trainers/reward/loss.js';
import { dpoConservativeLoss, dpoSigmoidLoss, ipoLoss } from '../../src/trainers/dpo/loss.js';
import {
  AdaptiveKLController,
  FixedKLController,
  explainedVariance,
  gae,
  gaeNaive,
  klK1,
  klK3,
  klPenaltyRewards,
  ppoPolicyLoss,
  ppoValueLoss,
  whiten,
} from '../../src/trainers/ppo/loss.js';

torch.setNumThreads(1);

const f64 = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: 'float64' });
const LOG2 = Math.log(2);
const sigma = (x: number): number => 1 / (1 + Math.exp(-x));
const check = (name: string, fn: (...xs: Tensor[]) => Tensor, inputs: () => Tensor[]): void => {
  torch.tidy(() => void gradcheck(fn, inputs(), { name }));
};

/** (B, T) 0/1 mask from per-row valid lengths (right padding). */
function lengthsMask(lengths: number[], T: number): number[][] {
  return lengths.map((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)));
}

function randomRows(B: number, T: number, seed: number, lo = -1, hi = 1): number[][] {
  const r = rng(seed);
  return Array.from({ length: B }, () => Array.from({ length: T }, () => lo + (hi - lo) * r()));
}

describe('masked helpers', () => {
  test('maskedMean, maskedSum, maskedVar by hand; an empty mask gives 0, padding NaN does not leak', () => {
    torch.tidy(() => {
      const x = f64([[1, 2, 3], [4, Number.NaN, 6]]);
      const m = f64([[1, 1, 0], [1, 0, 0]]);
      assertClose(maskedSum(x, m), 7);
      assertClose(maskedMean(x, m), 7 / 3);
      assertClose(maskedMean(x, m, 1), [1.5, 4]);
      // valid values 1, 2, 4: mean 7/3, Σ(x − x̄)² = 16/9 + 1/9 + 25/9 = 42/9; unbiased /2, biased /3
      assertClose(maskedVar(x, m), 42 / 9 / 2, { rtol: 1e-12 });
      assertClose(maskedVar(x, m, false), 42 / 9 / 3, { rtol: 1e-12 });
      const none = f64([[0, 0, 0], [0, 0, 0]]);
      assertClose(maskedMean(x, none), 0);
      assertClose(maskedVar(x, none), 0);
      assertClose(maskedMean(x, torch.tensor([[true, false, false], [false, false, true]])), 3.5); // bool masks too
    });
  });

  test('readStats reads every stat with one copy, and a loss step leaves no tensors behind', () => {
    const lp = randDouble([2, 3], 1).requiresGrad_();
    const old = randDouble([2, 3], 2), A = randDouble([2, 3], 3), m = f64(lengthsMask([3, 2], 3));
    const before = torch.memory().liveTensors;
    for (let i = 0; i < 3; i++) {
      const stats = torch.tidy(() => {
        const { loss, stats } = ppoPolicyLoss(lp, old, A, m, 0.2);
        loss.backward();
        return readStats(stats);
      });
      assert.deepEqual(Object.keys(stats), ['policy/approx_kl', 'policy/clipfrac', 'policy/ratio']);
      for (const v of Object.values(stats)) assert.equal(typeof v, 'number');
      lp.zeroGrad();
    }
    assert.equal(torch.memory().liveTensors, before);
    assert.deepEqual(readStats({}), {});
  });

  test('sequenceLogps sums (or averages) over valid tokens', () => {
    torch.tidy(() => {
      const lp = f64([[-1, -2, -3], [-0.5, -0.5, -9]]);
      const m = f64(lengthsMask([3, 2], 3));
      assertClose(sequenceLogps(lp, m), [-6, -1]);
      assertClose(sequenceLogps(lp, m, { average: true }), [-2, -0.5]);
      assertClose(sequenceLogps(lp, f64(lengthsMask([0, 1], 3)), { average: true }), [0, -0.5]);
    });
  });
});

describe('reward-model losses', () => {
  test('Bradley–Terry: equal rewards give log 2; margin, centring and stats by hand', () => {
    torch.tidy(() => {
      const eq = bradleyTerryLoss(f64([0.3, -1, 2]), f64([0.3, -1, 2]));
      assertClose(eq.loss, LOG2, { rtol: 1e-12 });
      const rc = [1, 0, 2], rr = [0, 0.5, -1], m = [0.5, 0, 1];
      const out = bradleyTerryLoss(f64(rc), f64(rr), { margin: f64(m), centerRewardsCoefficient: 0.01 });
      const nll = rc.map((c, i) => -Math.log(sigma(c - (rr[i] as number) - (m[i] as number))));
      const centre = rc.map((c, i) => (c + (rr[i] as number)) ** 2);
      const expected = nll.reduce((a, b) => a + b) / 3 + (0.01 * centre.reduce((a, b) => a + b)) / 3;
      assertClose(out.loss, expected, { rtol: 1e-12 });
      const s = readStats(out.stats);
      assert.equal(s.accuracy, 2 / 3); // 1 > 0, 0 < 0.5, 2 > −1
      assertClose([s.margin], [(1 - 0.5 + 3) / 3], { rtol: 1e-12 });
      assertClose([s['rewards/chosen'], s['rewards/rejected']], [1, -0.5 / 3], { rtol: 1e-12 });
    });
  });

  test('labelBceLoss: logit 0 gives log 2; by hand; accuracy', () => {
    torch.tidy(() => {
      assertClose(labelBceLoss(f64([0, 0]), f64([1, 0])).loss, LOG2, { rtol: 1e-12 });
      const z = [2, -1, 0.5], y = [1, 1, 0];
      const out = labelBceLoss(f64(z), torch.tensor(y, { dtype: 'int64' }));
      const expected = -(Math.log(sigma(2)) + Math.log(sigma(-1)) + Math.log(1 - sigma(0.5))) / 3;
      assertClose(out.loss, expected, { rtol: 1e-12 });
      const s = readStats(out.stats);
      assert.equal(s.accuracy, 1 / 3);
      assertClose([s.p_positive], [(sigma(2) + sigma(-1) + sigma(0.5)) / 3], { rtol: 1e-12 });
    });
  });

  test('ratingRegressionLoss: per-dimension MSE, normalised weights, masks; combineDimensions', () => {
    torch.tidy(() => {
      const pred = f64([[1, 2], [3, 4]]), target = f64([[0, 2], [3, 1]]);
      // mse_0 = (1 + 0)/2 = 0.5, mse_1 = (0 + 9)/2 = 4.5; weights 1:3 → 0.25·0.5 + 0.75·4.5
      const out = ratingRegressionLoss(pred, target, [1, 3], { names: ['helpful', 'safe'] });
      assertClose(out.loss, 0.125 + 3.375, { rtol: 1e-12 });
      assert.deepEqual(readStats(out.stats), { 'mse/helpful': 0.5, 'mse/safe': 4.5 });
      // row 1 of dimension 1 unrated: mse_1 = 0; dimension 0 unchanged
      const masked = ratingRegressionLoss(pred, target, [1, 1], { mask: f64([[1, 1], [1, 0]]) });
      assertClose(masked.loss, 0.5 * 0.5 + 0.5 * 0, { rtol: 1e-12 });
      assert.deepEqual(readStats(masked.stats), { 'mse/0': 0.5, 'mse/1': 0 });
      assertClose(combineDimensions(pred, [1, 3]), [0.25 + 1.5, 0.75 + 3], { rtol: 1e-12 });
      assert.throws(() => combineDimensions(pred, [1]), /2 rating dimensions/);
      assert.throws(() => combineDimensions(pred, [0, 0]), /sum to 0/);
    });
  });

  test('gradients: Bradley–Terry (margin, centring), BCE, regression', () => {
    check('bradleyTerryLoss', (rc, rr, m) => bradleyTerryLoss(rc, rr, { margin: m, centerRewardsCoefficient: 0.1 }).loss, () => [randDouble([4], 1, -2, 2), randDouble([4], 2, -2, 2), randDouble([4], 3, 0, 1)]);
    check('labelBceLoss', (z) => labelBceLoss(z, f64([1, 0, 1, 0])).loss, () => [randDouble([4], 4, -3, 3)]);
    check('ratingRegressionLoss', (p, y) => ratingRegressionLoss(p, y, [1, 2, 0.5], { mask: f64([[1, 1, 0], [1, 0, 1]]) }).loss, () => [randDouble([2, 3], 5), randDouble([2, 3], 6)]);
    check('combineDimensions', (p) => combineDimensions(p, [1, 2, 0.5]), () => [randDouble([2, 3], 7)]);
  });
});

describe('DPO losses', () => {
  // Policy and reference log-probs with equal log-ratios: h = 0.
  const equal = (): Tensor[] => [f64([-3, -5]), f64([-4, -2]), f64([-2, -6]), f64([-3, -3])];

  test('equal log-ratios: DPO and cDPO give log 2, IPO gives 1/(4τ²)', () => {
    torch.tidy(() => {
      const [pc, pr, rc, rr] = equal() as [Tensor, Tensor, Tensor, Tensor];
      assertClose(dpoSigmoidLoss(pc, pr, rc, rr, 0.1).loss, LOG2, { rtol: 1e-12 });
      assertClose(dpoConservativeLoss(pc, pr, rc, rr, 0.1, 0.2).loss, LOG2, { rtol: 1e-12 });
      assertClose(ipoLoss(pc, pr, rc, rr, 0.5).loss, 1 / (4 * 0.25), { rtol: 1e-12 });
      assertClose(ipoLoss(pc, pr, rc, rr, 0.1).loss, 1 / (4 * 0.01), { rtol: 1e-12 });
    });
  });

  test('cDPO with ε = 0 is DPO; by hand with ε > 0; reference-free; stats', () => {
    torch.tidy(() => {
      const pc = f64([-1, -4]), pr = f64([-3, -2]), rc = f64([-2, -3]), rr = f64([-2, -2.5]);
      // h = (π_c − ref_c) − (π_r − ref_r) = [1 − (−1), −1 − 0.5] = [2, −1.5]
      const beta = 0.5, h = [2, -1.5];
      const dpo = dpoSigmoidLoss(pc, pr, rc, rr, beta);
      assertClose(dpo.loss, -(Math.log(sigma(1)) + Math.log(sigma(-0.75))) / 2, { rtol: 1e-12 });
      assertClose(dpoConservativeLoss(pc, pr, rc, rr, beta, 0).loss, dpo.loss.item(), { rtol: 1e-12 });
      const eps = 0.1;
      const cdpo = h.map((x) => -(1 - eps) * Math.log(sigma(beta * x)) - eps * Math.log(sigma(-beta * x)));
      assertClose(dpoConservativeLoss(pc, pr, rc, rr, beta, eps).loss, (cdpo[0]! + cdpo[1]!) / 2, { rtol: 1e-12 });
      const tau = 0.25;
      assertClose(ipoLoss(pc, pr, rc, rr, tau).loss, ((2 - 2) ** 2 + (-1.5 - 2) ** 2) / 2, { rtol: 1e-12 });
      // reference-free: h = π_c − π_r = [2, −2]
      assertClose(dpoSigmoidLoss(pc, pr, null, null, beta).loss, -(Math.log(sigma(1)) + Math.log(sigma(-1))) / 2, { rtol: 1e-12 });
      const s = readStats(dpo.stats);
      // rewards/chosen = β(π_c − ref_c) = [0.5, −0.5], rewards/rejected = β(π_r − ref_r) = [−0.5, 0.25]
      assertClose([s['rewards/chosen'], s['rewards/rejected'], s['rewards/margins'], s['rewards/accuracies']], [0, -0.125, 0.125, 0.5], { rtol: 1e-12 });
      assertClose([s['logps/chosen'], s['logps/rejected']], [-2.5, -2.5], { rtol: 1e-12 });
      assert.deepEqual(Object.keys(s), ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']);
    });
  });

  test('gradients: DPO sigmoid, cDPO, IPO (with and without a reference)', () => {
    const inputs = (): Tensor[] => [randDouble([3], 11, -6, -1), randDouble([3], 12, -6, -1), randDouble([3], 13, -6, -1), randDouble([3], 14, -6, -1)];
    check('dpoSigmoidLoss', (a, b, c, d) => dpoSigmoidLoss(a, b, c, d, 0.7).loss, inputs);
    check('dpoConservativeLoss', (a, b, c, d) => dpoConservativeLoss(a, b, c, d, 0.7, 0.15).loss, inputs);
    check('ipoLoss', (a, b, c, d) => ipoLoss(a, b, c, d, 0.3).loss, inputs);
    check('dpoSigmoidLoss (reference-free)', (a, b) => dpoSigmoidLoss(a, b, null, null, 0.2).loss, () => inputs().slice(0, 2));
  });
});

describe('PPO: KL and rewards', () => {
  test('k1 and k3 are 0 at equal log-probs; k3 ≥ 0 always; k3 by hand', () => {
    torch.tidy(() => {
      const lp = randDouble([3, 4], 21, -5, 0);
      assertClose(klK1(lp, lp), Array(3).fill(Array(4).fill(0)));
      assertClose(klK3(lp, lp), Array(3).fill(Array(4).fill(0)));
      const k3 = klK3(randDouble([50], 22, -8, 0), randDouble([50], 23, -8, 0)).toFlatArray();
      assert.ok(k3.every((x) => x >= 0), `k3 negative: ${k3}`);
      const r = Math.exp(-1 - -2); // ref −1, lp −2
      assertClose(klK3(f64([-2]), f64([-1])), [r - 1 - Math.log(r)], { rtol: 1e-12 });
      assertClose(klK1(f64([-2]), f64([-1])), [-1]);
    });
  });

  test('klPenaltyRewards: −β·KL per token, score on each last token, zeros at padding, stats', () => {
    torch.tidy(() => {
      const lp = f64([[-1, -2, -3], [-1, -1, 5]]);
      const ref = f64([[-1.5, -1, -3], [-2, -1, 7]]);
      const m = f64(lengthsMask([3, 2], 3));
      const { rewards, kl, stats } = klPenaltyRewards(lp, ref, m, f64([1, -2]), 0.1, 'k1', [2, 1]);
      assertClose(kl, [[0.5, -1, 0], [1, 0, 0]], { rtol: 1e-12 });
      assertClose(rewards, [[-0.05, 0.1, 1], [-0.1, -2, 0]], { rtol: 1e-12 });
      const s = readStats(stats);
      assertClose([s['objective/kl'], s['objective/non_score_reward'], s['objective/scores'], s['objective/rlhf_reward'], s['objective/entropy']], [0.25, -0.025, -0.5, -0.525, 4], { rtol: 1e-12 });
      // lastIndex from the mask gives the same rewards
      assertClose(klPenaltyRewards(lp, ref, m, f64([1, -2]), 0.1, 'k1', null).rewards, [[-0.05, 0.1, 1], [-0.1, -2, 0]], { rtol: 1e-12 });
      const k3 = klPenaltyRewards(lp, ref, m, f64([0, 0]), 1, 'k3', torch.tensor([2, 1], { dtype: 'int64' }));
      assert.ok(k3.kl.toFlatArray().every((x) => x >= 0));
    });
  });

  test('AdaptiveKLController by hand; FixedKLController; state round trip', () => {
    const c = new AdaptiveKLController(0.1, 6, 10000);
    c.update(12, 256); // e = clip(12/6 − 1) = 0.2 → β·(1 + 0.2·256/10000)
    assertClose([c.value], [0.1 * 1.00512], { rtol: 1e-14 });
    c.update(5.7, 256); // e = −0.05 → β·(1 − 0.05·0.0256)
    assertClose([c.value], [0.1 * 1.00512 * 0.99872], { rtol: 1e-14 });
    c.update(0, 1000); // e = clip(−1) = −0.2 → β·0.98
    assertClose([c.value], [0.1 * 1.00512 * 0.99872 * 0.98], { rtol: 1e-14 });
    const saved = JSON.parse(JSON.stringify(c.state()));
    const resumed = new AdaptiveKLController(0.1, 6, 10000);
    resumed.loadState(saved);
    assert.equal(resumed.value, c.value);
    const f = new FixedKLController(0.05);
    f.update(100, 64);
    assert.equal(f.value, 0.05);
    assert.deepEqual(f.state(), { kind: 'fixed', value: 0.05 });
    assert.throws(() => f.loadState(saved), /adaptive/);
  });
});

describe('PPO: GAE and whitening', () => {
  test('GAE by hand on one row (γ = 1, λ = 0.5)', () => {
    torch.tidy(() => {
      // r = [0, 0, 1], V = [0.5, 0.5, 0.5]: δ = [0, 0, 0.5], A = [0.125, 0.25, 0.5]
      const { advantages, returns } = gae(f64([[0, 0, 1, 9]]), f64([[0.5, 0.5, 0.5, 9]]), f64([[1, 1, 1, 0]]), 1, 0.5);
      assertClose(advantages, [[0.125, 0.25, 0.5, 0]], { rtol: 1e-12 });
      assertClose(returns, [[0.625, 0.75, 1, 0]], { rtol: 1e-12 });
    });
  });

  for (const [gamma, lambda] of [[1, 0.95], [0.9, 0.8]] as const) {
    test(`GAE vectorised equals the naive definition on ragged masks (γ = ${gamma}, λ = ${lambda})`, () => {
      torch.tidy(() => {
        const B = 6, T = 9;
        const r = randomRows(B, T, 31), v = randomRows(B, T, 32);
        const mask = lengthsMask([9, 0, 1, 4, 7, 5], T);
        mask[5] = [0, 0, 1, 1, 0, 1, 1, 1, 0]; // left padding and a hole
        const naive = gaeNaive(r, v, mask, gamma, lambda);
        for (const dtype of ['float64', 'float32'] as const) {
          const t = (x: number[][]): Tensor => torch.tensor(x, { dtype });
          const { advantages, returns } = gae(t(r), t(v), t(mask), gamma, lambda);
          assertClose(advantages, naive.advantages, { atol: 1e-5, rtol: 1e-5 });
          assertClose(returns, naive.returns, { atol: 1e-5, rtol: 1e-5 });
        }
        // bool masks give the same
        const boolMask = torch.tensor(mask.map((row) => row.map((x) => x === 1)));
        assertClose(gae(f64(r), f64(v), boolMask, gamma, lambda).advantages, naive.advantages, { atol: 1e-12 });
      });
    });
  }

  test('whiten: masked mean 0 and unbiased variance 1; shiftMean = false keeps the mean', () => {
    torch.tidy(() => {
      const x = randDouble([4, 6], 41, -3, 5);
      const m = f64(lengthsMask([6, 2, 5, 3], 6));
      const w = whiten(x, m);
      assertClose(maskedMean(w, m), 0, { atol: 1e-12 });
      assertClose(maskedVar(w, m), 1, { atol: 1e-6 });
      assertClose(maskedSum(w.abs(), f64(lengthsMask([6, 2, 5, 3], 6)).rsub(1)), 0); // 0 at padding
      const w2 = whiten(x, m, false);
      assertClose(maskedMean(w2, m), maskedMean(x, m).item(), { atol: 1e-12 });
      assertClose(maskedVar(w2, m), 1, { atol: 1e-6 });
    });
  });
});

describe('PPO: policy and value losses', () => {
  const m = [[1, 1, 1, 0], [1, 1, 0, 0]];

  test('policy loss at ratio 1 is −mean(A) over valid tokens; approx_kl 0, clipfrac 0', () => {
    torch.tidy(() => {
      const lp = randDouble([2, 4], 51, -4, 0);
      const A = f64([[1, -2, 0.5, 100], [3, -1, 100, 100]]);
      const { loss, stats } = ppoPolicyLoss(lp, lp, A, f64(m), 0.2);
      assertClose(loss, -(1 - 2 + 0.5 + 3 - 1) / 5, { rtol: 1e-12 });
      assert.deepEqual(readStats(stats), { 'policy/approx_kl': 0, 'policy/clipfrac': 0, 'policy/ratio': 1 });
    });
  });

  test('clipping by hand: r > 1+ε with A > 0 and r < 1−ε with A < 0 are clipped (no gradient); the others are not', () => {
    torch.tidy(() => {
      const eps = 0.2;
      const r = [1.5, 0.5, 1.5, 0.5], A = [2, -1, -1, 1];
      const old = f64([[-1, -1, -1, -1]]);
      const lp = torch.tensor([r.map((x) => Math.log(x) - 1)], { dtype: 'float64' }).requiresGrad_();
      const { loss, stats } = ppoPolicyLoss(lp, old, f64([A]), f64([[1, 1, 1, 1]]), eps);
      // per token: −2·1.2 (clipped), −(−1)·0.8 (clipped), −(−1)·1.5 (unclipped: the pessimistic side), −1·0.5 (unclipped)
      assertClose(loss, (-2.4 + 0.8 + 1.5 - 0.5) / 4, { rtol: 1e-12 });
      loss.backward();
      // d/dlp of −A·r = −A·r at unclipped tokens, 0 at clipped ones; mean over 4
      assertClose(lp.grad as Tensor, [[0, 0, 1.5 / 4, -0.5 / 4]], { rtol: 1e-12 });
      const s = readStats(stats);
      assert.equal(s['policy/clipfrac'], 0.5);
      assertClose([s['policy/ratio'], s['policy/approx_kl']], [1, (0.5 * 2 * (Math.log(1.5) ** 2 + Math.log(0.5) ** 2)) / 4], { rtol: 1e-12 });
    });
  });

  test('value loss at v = v_old is ½·MSE; clipping by hand', () => {
    torch.tidy(() => {
      const v = randDouble([2, 4], 61), R = randDouble([2, 4], 62);
      const mask = f64(m);
      const { loss, stats } = ppoValueLoss(v, v, R, mask, 0.2);
      assertClose(loss, maskedMean(v.sub(R).square(), mask).mul(0.5).item(), { rtol: 1e-12 });
      assert.equal(readStats(stats)['value/clipfrac'], 0);
      // v moved 1 away from v_old = 0: clipped to ±0.2. R = 0.5: (1 − 0.5)² = 0.25 vs (0.2 − 0.5)² = 0.09 → unclipped;
      // R = 2: (1 − 2)² = 1 vs (0.2 − 2)² = 3.24 → clipped (the pessimistic max)
      const out = ppoValueLoss(f64([[1, 1]]), f64([[0, 0]]), f64([[0.5, 2]]), f64([[1, 1]]), 0.2);
      assertClose(out.loss, 0.5 * (0.25 + 3.24) / 2, { rtol: 1e-12 });
      assert.equal(readStats(out.stats)['value/clipfrac'], 0.5);
    });
  });

  test('explained variance: 1 when v = R, 0 for the mean, NaN for constant returns', () => {
    torch.tidy(() => {
      const R = randDouble([2, 4], 71), mask = f64(m);
      assertClose(explainedVariance(R, R, mask), 1, { rtol: 1e-12 });
      assertClose(explainedVariance(torch.zerosLike(R).add(maskedMean(R, mask)), R, mask), 0, { atol: 1e-12 });
      assert.ok(Number.isNaN(explainedVariance(R, f64([[1, 1, 1, 5], [1, 1, 5, 5]]), mask).item()));
    });
  });

  test('gradients: policy loss (away from the clip boundary) and value loss', () => {
    const eps = 0.2;
    const r = rng(81);
    // log-ratios in (−0.6, 0.6), at least 0.02 from log(1 ± ε): both clipped and unclipped tokens
    const logRatio = Array.from({ length: 12 }, () => {
      for (;;) {
        const x = -0.6 + 1.2 * r();
        if (Math.abs(x - Math.log(1 + eps)) > 0.02 && Math.abs(x - Math.log(1 - eps)) > 0.02 && Math.abs(x) > 0.02) return x;
      }
    });
    const old = randDouble([3, 4], 82, -3, -1);
    const A = randDouble([3, 4], 83, -2, 2);
    const mask = f64(lengthsMask([4, 3, 2], 4));
    check('ppoPolicyLoss', (lp) => ppoPolicyLoss(lp, old, A, mask, eps).loss, () => [old.add(torch.tensor(Float64Array.from(logRatio), { shape: [3, 4] }))]);
    // values: some inside v_old ± ε_v, some outside (clipped), none within 0.02 of the boundary
    const vOld = randDouble([3, 4], 84);
    const dv = Array.from({ length: 12 }, (_, i) => [0.05, -0.1, 0.5, -0.6][i % 4] as number);
    const R = randDouble([3, 4], 85, -2, 2);
    check('ppoValueLoss', (v) => ppoValueLoss(v, vOld, R, mask, 0.2).loss, () => [vOld.add(torch.tensor(Float64Array.from(dv), { shape: [3, 4] }))]);
  });
});
