// Optimizers against their update rules worked out in plain JavaScript doubles, schedules at
// specific steps against their closed forms, and gradient clipping.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { AdamW, SGD, LRScheduler, clipGradNorm, constantSchedule, linearSchedule, cosineSchedule, decayGroups } from '../../src/optim/index.js';
import { assertClose } from './helpers.js';

const F32 = { atol: 1e-6, rtol: 1e-6 }; // parameters live in float32

function param(values: number[]): Tensor {
  return torch.tensor(values).requiresGrad_();
}
function setGrad(p: Tensor, g: number[]): void {
  p.grad = torch.tensor(g);
}

/** PyTorch's AdamW rule in doubles, one parameter vector; returns the parameter after each step. */
function adamwReference(p0: number[], grads: number[][], c: { lr: number; b1: number; b2: number; eps: number; wd: number }): number[][] {
  const p = p0.slice();
  const m = p0.map(() => 0);
  const v = p0.map(() => 0);
  const out: number[][] = [];
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] as number;
      p[i] = (p[i] as number) * (1 - c.lr * c.wd); // decoupled decay
      m[i] = c.b1 * (m[i] as number) + (1 - c.b1) * gi;
      v[i] = c.b2 * (v[i] as number) + (1 - c.b2) * gi * gi;
      const mHat = (m[i] as number) / (1 - c.b1 ** t);
      const vHat = (v[i] as number) / (1 - c.b2 ** t);
      p[i] = (p[i] as number) - (c.lr * mHat) / (Math.sqrt(vHat) + c.eps);
    }
    out.push(p.slice());
  });
  return out;
}

describe('AdamW', () => {
  const grads = [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.05]];

  test('three steps without weight decay match the hand-computed rule', () => {
    const p = param([1, -2]);
    const opt = new AdamW([p], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    const expected = adamwReference([1, -2], grads, { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 });
    // Step 1 by hand: m̂ = g and v̂ = g², so the update is lr·g/(|g| + eps) ≈ lr·sign(g).
    assertClose(expected[0] as number[], [1 - 0.1, -2 + 0.1], { atol: 1e-8 });
    grads.forEach((g, i) => {
      setGrad(p, g);
      opt.step();
      assertClose(p, expected[i] as number[], { ...F32, msg: `after step ${i + 1}` });
    });
    // Step 2 written out for element 0: m = 0.9·0.01 + 0.03 = 0.039… the reference's value:
    const m2 = 0.9 * (0.1 * 0.1) + 0.1 * 0.3;
    const v2 = 0.999 * (0.001 * 0.01) + 0.001 * 0.09;
    const p2 = 0.9 - (0.1 * (m2 / (1 - 0.81))) / (Math.sqrt(v2 / (1 - 0.999 ** 2)) + 1e-8);
    assertClose([(expected[1] as number[])[0] as number], [p2], { atol: 1e-12 });
    assert.equal(opt.state.get(p)?.step, 3);
    assertClose(opt.state.get(p)?.m as Tensor, [0.9 * (0.9 * 0.01 + 0.03) - 0.05, 0.9 * (0.9 * -0.02 + 0.04) + 0.005], F32);
  });

  test('three steps with decoupled weight decay', () => {
    const p = param([1, -2]);
    const opt = new AdamW([p], { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 });
    const expected = adamwReference([1, -2], grads, { lr: 0.05, b1: 0.8, b2: 0.99, eps: 1e-6, wd: 0.1 });
    grads.forEach((g, i) => {
      setGrad(p, g);
      opt.step();
      assertClose(p, expected[i] as number[], { ...F32, msg: `after step ${i + 1}` });
    });
    // Decay alone: with a zero gradient the moments stay 0 and p shrinks by (1 − lr·λ) per step.
    const q = param([2, -4]);
    const opt2 = new AdamW([q], { lr: 0.1, weightDecay: 0.5 });
    setGrad(q, [0, 0]);
    opt2.step();
    assertClose(q, [2 * 0.95, -4 * 0.95], F32);
  });

  test('the defaults are PyTorch\'s (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01)', () => {
    const p = param([0.5, 0.25]);
    const opt = new AdamW([p]);
    const expected = adamwReference([0.5, 0.25], grads, { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01 });
    grads.forEach((g, i) => {
      setGrad(p, g);
      opt.step();
      assertClose(p, expected[i] as number[], F32);
    });
  });

  test('param groups use their own lr and weight decay; setLr keeps their ratio', () => {
    const a = param([1, 1]);
    const b = param([1, 1]);
    const opt = new AdamW([{ params: [a] }, { params: [b], config: { lr: 0.01, weightDecay: 0 } }], { lr: 0.1, weightDecay: 0.2 });
    const ea = adamwReference([1, 1], grads, { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.2 });
    const eb = adamwReference([1, 1], grads, { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 });
    grads.forEach((g, i) => {
      setGrad(a, g);
      setGrad(b, g);
      opt.step();
      assertClose(a, ea[i] as number[], { ...F32, msg: `group 0 step ${i + 1}` });
      assertClose(b, eb[i] as number[], { ...F32, msg: `group 1 step ${i + 1}` });
    });
    opt.setLr(0.5);
    assert.equal(opt.groups[0]?.config.lr, 0.5);
    assertClose([opt.groups[1]?.config.lr as number], [0.05], { atol: 1e-15 });
    assert.throws(() => new AdamW([{ params: [a] }, { params: [a, b] }]), /more than one group/);
  });

  test('decayGroups: matrices decay, vectors do not', () => {
    const w = torch.zeros([2, 2]).requiresGrad_();
    const bias = torch.zeros([2]).requiresGrad_();
    const groups = decayGroups<{ lr: number }>([['w', w], ['b', bias]], 0.1);
    assert.deepEqual(groups.map((g) => g.params), [[w], [bias]]);
    assert.deepEqual(groups.map((g) => g.config?.weightDecay), [0.1, 0]);
  });

  test('parameters without a gradient are skipped; each keeps its own step count', () => {
    const a = param([1, 1]);
    const b = param([5, 5]);
    const opt = new AdamW([a, b], { lr: 0.1, weightDecay: 0.5 });
    setGrad(a, [1, -1]);
    opt.step();
    assert.deepEqual(b.toArray(), [5, 5]); // no gradient: not even decayed
    assert.equal(opt.state.has(b), false);
    setGrad(a, [1, -1]);
    setGrad(b, [2, -3]);
    opt.step();
    assert.equal(opt.state.get(a)?.step, 2);
    assert.equal(opt.state.get(b)?.step, 1);
    // b's first step is bias-corrected as step 1: decay, then ≈ lr·sign(g).
    assertClose(b, [5 * 0.95 - 0.1, 5 * 0.95 + 0.1], F32);
    opt.zeroGrad();
    assert.equal(a.grad, null);
    assert.equal(b.grad, null);
    const before = torch.memory().liveTensors;
    opt.dispose();
    assert.equal(torch.memory().liveTensors, before - 4); // m and v of two parameters
    assert.equal(opt.state.size, 0);
  });

  test('minimises a quadratic', () => {
    const p = param([3, -2]);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0 });
    for (let i = 0; i < 200; i++) {
      torch.tidy(() => {
        opt.zeroGrad();
        p.sub(torch.tensor([1, 1])).square().sum().backward();
        opt.step();
      });
    }
    assertClose(p, [1, 1], { atol: 0.02 });
  });
});

/** PyTorch's SGD rule in doubles. */
function sgdReference(p0: number[], grads: number[][], c: { lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean }): number[][] {
  const p = p0.slice();
  let buf: number[] | null = null;
  const out: number[][] = [];
  for (const g0 of grads) {
    let g = g0.map((gi, i) => gi + c.wd * (p[i] as number));
    if (c.momentum !== 0) {
      const prev: number[] | null = buf;
      const b: number[] = prev === null ? g.slice() : prev.map((bi, i) => c.momentum * bi + (1 - c.dampening) * (g[i] as number));
      buf = b;
      g = c.nesterov ? g.map((gi, i) => gi + c.momentum * (b[i] as number)) : b;
    }
    for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) - c.lr * (g[i] as number);
    out.push(p.slice());
  }
  return out;
}

describe('SGD', () => {
  const grads = [[0.1, -0.2], [0.3, 0.4], [-0.5, 0.05]];
  const cases = [
    { name: 'plain', c: { lr: 0.1, momentum: 0, dampening: 0, wd: 0, nesterov: false } },
    { name: 'momentum', c: { lr: 0.1, momentum: 0.9, dampening: 0, wd: 0, nesterov: false } },
    { name: 'momentum + dampening', c: { lr: 0.1, momentum: 0.9, dampening: 0.5, wd: 0, nesterov: false } },
    { name: 'nesterov', c: { lr: 0.1, momentum: 0.9, dampening: 0, wd: 0, nesterov: true } },
    { name: 'weight decay + momentum', c: { lr: 0.2, momentum: 0.5, dampening: 0, wd: 0.1, nesterov: false } },
    { name: 'everything', c: { lr: 0.05, momentum: 0.8, dampening: 0.1, wd: 0.3, nesterov: true } },
  ];
  for (const { name, c } of cases) {
    test(`${name} matches the hand-computed rule`, () => {
      const p = param([1, -2]);
      const opt = new SGD([p], { lr: c.lr, momentum: c.momentum, dampening: c.dampening, weightDecay: c.wd, nesterov: c.nesterov });
      const expected = sgdReference([1, -2], grads, c);
      grads.forEach((g, i) => {
        setGrad(p, g);
        opt.step();
        assertClose(p, expected[i] as number[], { ...F32, msg: `step ${i + 1}` });
      });
    });
  }

  test('by hand: momentum 0.9, two steps', () => {
    // step 1: b = g1 = 0.1 → p = 1 − 0.1·0.1 = 0.99; step 2: b = 0.9·0.1 + 0.3 = 0.39 → p = 0.99 − 0.039 = 0.951
    const p = param([1]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    setGrad(p, [0.1]);
    opt.step();
    assertClose(p, [0.99], F32);
    setGrad(p, [0.3]);
    opt.step();
    assertClose(p, [0.951], F32);
    const before = torch.memory().liveTensors;
    opt.dispose();
    assert.equal(torch.memory().liveTensors, before - 1);
  });
});

describe('schedules', () => {
  test('constant with warmup', () => {
    const s = constantSchedule(10);
    assert.deepEqual([0, 1, 5, 10, 11, 1000].map(s), [0, 0.1, 0.5, 1, 1, 1]);
    assert.equal(constantSchedule()(0), 1);
  });

  test('linear: warmup then linear decay to 0 at totalSteps', () => {
    const s = linearSchedule(10, 110);
    assert.deepEqual([0, 5, 10, 35, 60, 109, 110, 200].map(s), [0, 0.5, 1, 0.75, 0.5, 0.01, 0, 0]);
    assert.equal(linearSchedule(0, 100)(0), 1);
  });

  test('cosine: warmup then ½(1 + cos(π·progress)), floored at minRatio', () => {
    const s = cosineSchedule(10, 110);
    assertClose([0, 5, 10, 35, 60, 85, 110, 500].map(s), [0, 0.5, 1, 0.5 * (1 + Math.SQRT1_2), 0.5, 0.5 * (1 - Math.SQRT1_2), 0, 0], { atol: 1e-12 });
    const m = cosineSchedule(0, 100, 0.1);
    assertClose([0, 50, 100, 150].map(m), [1, 0.55, 0.1, 0.1], { atol: 1e-12 });
  });

  test('LRScheduler drives an optimizer: lr = base·schedule(step), per-group ratios kept', () => {
    const a = param([0]);
    const b = param([0]);
    const opt = new AdamW([{ params: [a] }, { params: [b], config: { lr: 0.5 } }], { lr: 1 });
    const sched = new LRScheduler(opt, 0.2, linearSchedule(2, 6));
    assert.equal(opt.groups[0]?.config.lr, 0); // schedule(0) = 0 at construction
    const lrs: number[] = [];
    for (let i = 0; i < 7; i++) lrs.push(sched.step());
    assertClose(lrs, [0.1, 0.2, 0.15, 0.1, 0.05, 0, 0], { atol: 1e-12 });
    assert.equal(sched.currentStep, 7);
    assert.equal(sched.lastLr, 0);
    const s2 = new LRScheduler(opt, 0.2, constantSchedule(4));
    s2.step();
    s2.step();
    assertClose([opt.groups[0]?.config.lr as number, opt.groups[1]?.config.lr as number], [0.1, 0.05], { atol: 1e-12 });
    assertClose([s2.lastLr], [0.1], { atol: 1e-12 });
    // It steers SGD too (anything with setLr).
    const p = param([1]);
    const sgd = new SGD([p], { lr: 1 });
    const s3 = new LRScheduler(sgd, 0.5, constantSchedule(0));
    setGrad(p, [1]);
    sgd.step();
    assertClose(p, [0.5], F32);
    assert.equal(s3.lastLr, 0.5);
  });
});

describe('clipGradNorm', () => {
  test('scales every gradient by maxNorm/‖g‖ when the global norm is above maxNorm', () => {
    const a = param([0, 0]);
    const b = param([0]);
    const c = param([0]); // no gradient: ignored
    setGrad(a, [3, 4]);
    setGrad(b, [12]); // ‖(3, 4, 12)‖ = 13
    const norm = clipGradNorm([a, b, c], 6.5);
    assertClose([norm], [13], { atol: 1e-5 });
    const coef = 6.5 / (13 + 1e-6);
    assertClose(a.grad as Tensor, [3 * coef, 4 * coef], F32);
    assertClose(b.grad as Tensor, [12 * coef], F32);
    assert.equal(c.grad, null);
    // The clipped gradients now have norm maxNorm, so a second clip reports it and changes nothing.
    assertClose([clipGradNorm([a, b], 6.5)], [6.5], { atol: 1e-5 });
    assertClose(a.grad as Tensor, [3 * coef, 4 * coef], F32);
  });

  test('is a no-op below the threshold and returns the norm; 0 with no gradients', () => {
    const a = param([0, 0]);
    setGrad(a, [3, 4]);
    assertClose([clipGradNorm([a], 10)], [5], { atol: 1e-6 });
    assert.deepEqual((a.grad as Tensor).toArray(), [3, 4]);
    assert.equal(clipGradNorm([param([1])], 1), 0);
    const before = torch.memory().liveTensors;
    clipGradNorm([a], 1);
    assert.equal(torch.memory().liveTensors, before, 'clipping frees its temporaries');
  });
});
