// The fused linear + log-softmax + gather op (native/fused.cc, F.linearLogProbs) against the naive
// path it replaces — F.linear → logSoftmax → gather — for values, entropy and gradients; a float64
// central-difference check; bf16 autocast close to float32; and memory: no (N, V) tensor survives
// the forward, peak memory stays far below N·V·4 bytes, and a training loop holds live tensors flat.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as torch from '../../src/torch/index.js';
import { F } from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble, rng } from './helpers.js';

const F32 = { atol: 1e-5, rtol: 1e-5 };

/** (N) int64 targets in [0, V), with every `ignoreEvery`-th one set to ignoreIndex. */
function targetsFor(N: number, V: number, seed: number, ignoreEvery = 0, ignoreIndex = -100): Tensor {
  const r = rng(seed);
  return torch.tensor(Array.from({ length: N }, (_, i) => (ignoreEvery > 0 && i % ignoreEvery === ignoreEvery - 1 ? ignoreIndex : Math.floor(r() * V))), { dtype: 'int64' });
}

/** The path the fused op replaces: full (…, V) logits, log-softmax, gather; 0 where ignored. */
function naive(hidden: Tensor, weight: Tensor, targets: Tensor, temperature = 1, ignoreIndex = -100): { logprobs: Tensor; entropy: Tensor } {
  const logp = F.linear(hidden, weight).div(temperature).logSoftmax(-1); // (…, V)
  const kept = targets.ne(ignoreIndex); // (…)
  const safe = targets.maskedFill(kept.logicalNot(), 0); // (…)
  const logprobs = logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1).mul(kept); // (…)
  const entropy = logp.exp().mul(logp).sum(-1).neg(); // (…)
  return { logprobs, entropy };
}

/** Gradients of Σ c ⊙ logprobs w.r.t. hidden and weight, with fixed coefficients c. */
function grads(fn: (h: Tensor, w: Tensor) => Tensor, h0: Tensor, w0: Tensor, c: Tensor): { gh: number[]; gw: number[] } {
  return torch.tidy(() => {
    const h = h0.detach().requiresGrad_();
    const w = w0.detach().requiresGrad_();
    fn(h, w).mul(c).sum().backward();
    return { gh: (h.grad as Tensor).toFlatArray(), gw: (w.grad as Tensor).toFlatArray() };
  });
}

const cases = [
  { name: 'N not divisible by the chunk, ignored rows', N: 37, C: 16, V: 50, chunk: 8, temperature: 1, ignoreEvery: 5 },
  { name: 'temperature 0.7, default chunk', N: 64, C: 32, V: 1000, chunk: undefined, temperature: 0.7, ignoreEvery: 0 },
  { name: 'one row per chunk, temperature 2', N: 9, C: 4, V: 7, chunk: 1, temperature: 2, ignoreEvery: 3 },
  { name: 'chunk larger than N', N: 10, C: 8, V: 300, chunk: 4096, temperature: 1.3, ignoreEvery: 4 },
];

describe('linearLogProbs equals linear + logSoftmax + gather (float32)', () => {
  for (const c of cases) {
    test(`${c.name}: N=${c.N} C=${c.C} V=${c.V}`, () => {
      torch.manualSeed(1);
      torch.tidy(() => {
        const h = torch.randn([c.N, c.C]);
        const w = torch.randn([c.V, c.C]).mul(0.5);
        const y = targetsFor(c.N, c.V, 7, c.ignoreEvery);
        const fused = F.linearLogProbs(h, w, y, { temperature: c.temperature, chunkSize: c.chunk, withEntropy: true });
        const ref = naive(h, w, y, c.temperature);
        assert.deepEqual(fused.logprobs.shape, [c.N]);
        assert.equal(fused.logprobs.dtype, 'float32');
        assertClose(fused.logprobs, ref.logprobs.toArray(), { ...F32, msg: 'logprobs' });
        assertClose(fused.entropy, ref.entropy.toArray(), { ...F32, msg: 'entropy' });
        if (c.ignoreEvery > 0) assert.equal(fused.logprobs.toFlatArray()[c.ignoreEvery - 1], 0, 'an ignored target has log-prob 0');

        const coef = torch.randn([c.N]);
        const fg = grads((hh, ww) => F.linearLogProbs(hh, ww, y, { temperature: c.temperature, chunkSize: c.chunk }).logprobs, h, w, coef);
        const ng = grads((hh, ww) => naive(hh, ww, y, c.temperature).logprobs, h, w, coef);
        assertClose(fg.gh, ng.gh, { ...F32, msg: '∂hidden' });
        assertClose(fg.gw, ng.gw, { ...F32, msg: '∂weight' });
      });
    });
  }

  test('hidden (B, T, C) and targets (B, T): results come back (B, T)', () => {
    torch.manualSeed(2);
    torch.tidy(() => {
      const h = torch.randn([3, 5, 8]);
      const w = torch.randn([11, 8]);
      const y = targetsFor(15, 11, 3, 4).reshape(3, 5);
      const fused = F.linearLogProbs(h, w, y, { withEntropy: true, chunkSize: 4 });
      const ref = naive(h, w, y);
      assertClose(fused.logprobs, ref.logprobs.toArray() as number[][], F32);
      assertClose(fused.entropy, ref.entropy.toArray() as number[][], F32);
      const fg = grads((hh, ww) => F.linearLogProbs(hh, ww, y, { chunkSize: 4 }).logprobs, h, w, torch.onesLike(ref.logprobs));
      const ng = grads((hh, ww) => naive(hh, ww, y).logprobs, h, w, torch.onesLike(ref.logprobs));
      assertClose(fg.gh, ng.gh, F32);
      assertClose(fg.gw, ng.gw, F32);
    });
  });

  test('a custom ignoreIndex; no entropy unless asked', () => {
    torch.tidy(() => {
      const h = torch.randn([6, 4]);
      const w = torch.randn([9, 4]);
      const y = targetsFor(6, 9, 5, 2, -1);
      const r = F.linearLogProbs(h, w, y, { ignoreIndex: -1 });
      assert.equal(r.entropy, null);
      assertClose(r.logprobs, naive(h, w, y, 1, -1).logprobs.toArray(), F32);
      assert.deepEqual([1, 3, 5].map((i) => r.logprobs.toFlatArray()[i]), [0, 0, 0]);
    });
  });

  test('linearCrossEntropy equals F.crossEntropy on the logits, every reduction', () => {
    torch.manualSeed(3);
    torch.tidy(() => {
      const h = torch.randn([4, 6, 16]); // (B, T, C)
      const w = torch.randn([40, 16]); // (V, C)
      const y = targetsFor(24, 40, 9, 3).reshape(4, 6); // (B, T), 8 ignored
      for (const reduction of ['mean', 'sum', 'none'] as const) {
        const fused = F.linearCrossEntropy(h, w, y, { reduction, chunkSize: 5 });
        const ref = F.crossEntropy(F.linear(h, w), y, { reduction });
        assertClose(fused, reduction === 'none' ? (ref.reshape(4, 6).toArray() as number[][]) : ref.item(), { ...F32, msg: reduction });
      }
      const fg = grads((hh, ww) => F.linearCrossEntropy(hh, ww, y), h, w, torch.tensor(1));
      const ng = grads((hh, ww) => F.crossEntropy(F.linear(hh, ww), y), h, w, torch.tensor(1));
      assertClose(fg.gh, ng.gh, F32);
      assertClose(fg.gw, ng.gw, F32);
    });
  });

  test('errors name the problem: shapes, dtype, out-of-vocabulary targets', () => {
    torch.tidy(() => {
      const h = torch.randn([4, 3]);
      const w = torch.randn([5, 3]);
      assert.throws(() => F.linearLogProbs(h, w, torch.tensor([0, 1, 2], { dtype: 'int64' })), /needs targets of shape \[4\]/);
      assert.throws(() => F.linearLogProbs(h, torch.randn([5, 2]), torch.tensor([0, 1, 2, 3], { dtype: 'int64' })), /weight \(V, C\)/);
      assert.throws(() => F.linearLogProbs(h, w, torch.tensor([0, 1, 2, 3], { dtype: 'int32' })), /targets must be int64/);
      assert.throws(() => F.linearLogProbs(h, w, torch.tensor([0, 1, 5, 3], { dtype: 'int64' })), /target 5 is outside the vocabulary \[0, 5\)/);
      assert.throws(() => F.linearLogProbs(h, w, torch.tensor([0, 1, 2, 3], { dtype: 'int64' }), { temperature: 0 }), /temperature must be a positive/);
    });
  });
});

describe('linearLogProbs gradients', () => {
  test('float64 central differences: hidden and weight, temperature 1.3, two chunks, an ignored row', () => {
    const y = targetsFor(5, 4, 11, 3); // row 2 ignored
    const fn = (h: Tensor, w: Tensor): Tensor => F.linearLogProbs(h, w, y, { temperature: 1.3, chunkSize: 2 }).logprobs;
    gradcheck(fn, [randDouble([5, 3], 1), randDouble([4, 3], 2)], { name: 'linearLogProbs', atol: 1e-7, rtol: 1e-6 });
    y.dispose();
  });

  test('linearCrossEntropy (gradients computed in the forward): float64 central differences, mean and sum', () => {
    const y = targetsFor(7, 5, 13, 3); // rows 2 and 5 ignored
    for (const reduction of ['mean', 'sum'] as const) {
      const fn = (h: Tensor, w: Tensor): Tensor => F.linearCrossEntropy(h, w, y, { reduction, chunkSize: 3 });
      gradcheck(fn, [randDouble([7, 3], 3), randDouble([5, 3], 4)], { name: `linearCrossEntropy ${reduction}`, atol: 1e-7, rtol: 1e-6 });
    }
    y.dispose();
  });

  test('linearCrossEntropy: the backward scales by the incoming gradient, twice with retainGraph, and nothing under noGrad', () => {
    torch.tidy(() => {
      const h = torch.randn([9, 4]).requiresGrad_();
      const w = torch.randn([6, 4]).requiresGrad_();
      const y = targetsFor(9, 6, 2, 4);
      const loss = F.linearCrossEntropy(h, w, y, { chunkSize: 4 });
      loss.mul(3).backward(undefined, { retainGraph: true });
      const g1 = (h.grad as Tensor).toFlatArray();
      loss.mul(3).backward();
      const g2 = (h.grad as Tensor).toFlatArray();
      assertClose(g2, g1.map((x) => 2 * x), { atol: 1e-6, rtol: 1e-6, msg: 'the saved gradients are not changed by a backward' });
      const ref = grads((hh, ww) => F.crossEntropy(F.linear(hh, ww), y).mul(3), h, w, torch.tensor(1));
      assertClose(g1, ref.gh, F32);
      const frozen = torch.noGrad(() => F.linearCrossEntropy(h, w, y, { chunkSize: 4 }));
      assert.equal(frozen.requiresGrad, false);
      assert.equal(frozen.item(), loss.item());
      assert.ok(Number.isNaN(F.linearCrossEntropy(h, w, torch.full([9], -100, { dtype: 'int64' })).item()), 'mean over no target is NaN, as F.crossEntropy');
    });
  });

  test('frozen weight: only hidden gets a gradient (and the other way round)', () => {
    torch.tidy(() => {
      const h = torch.randn([6, 4]).requiresGrad_();
      const w = torch.randn([9, 4]);
      const y = targetsFor(6, 9, 1);
      F.linearLogProbs(h, w, y).logprobs.sum().backward();
      assert.ok(h.grad !== null);
      assert.equal(w.grad, null);
      const h2 = torch.randn([6, 4]);
      const w2 = torch.randn([9, 4]).requiresGrad_();
      F.linearLogProbs(h2, w2, y).logprobs.sum().backward();
      assert.ok(w2.grad !== null);
    });
  });
});

describe('linearLogProbs under bf16 autocast', () => {
  test('values and gradients close to float32; backward outside the region uses the forward\'s autocast', () => {
    torch.manualSeed(4);
    torch.tidy(() => {
      const N = 48, C = 64, V = 500;
      const h = torch.randn([N, C]);
      const w = torch.randn([V, C]).mul(0.2);
      const y = targetsFor(N, V, 2, 6);
      const coef = torch.randn([N]);
      const ref = naive(h, w, y, 0.9);
      const r = torch.autocast('bfloat16', () => F.linearLogProbs(h, w, y, { temperature: 0.9, chunkSize: 20, withEntropy: true }));
      assert.equal(r.logprobs.dtype, 'float32', 'statistics come back in float32');
      assertClose(r.logprobs, ref.logprobs.toArray(), { atol: 0.1, rtol: 0.05, msg: 'bf16 logprobs' });
      assertClose(r.entropy, ref.entropy.toArray(), { atol: 0.1, rtol: 0.05, msg: 'bf16 entropy' });
      // The backward runs here, outside autocast: it must still multiply in bf16 (as the forward did)
      // and return float32 gradients shaped like the float32 inputs.
      const hl = h.detach().requiresGrad_();
      const wl = w.detach().requiresGrad_();
      const lp = torch.autocast('bfloat16', () => F.linearLogProbs(hl, wl, y, { temperature: 0.9, chunkSize: 20 }).logprobs);
      lp.mul(coef).sum().backward();
      const gh = hl.grad as Tensor, gw = wl.grad as Tensor;
      assert.equal(gh.dtype, 'float32');
      assert.equal(gw.dtype, 'float32');
      const ng = grads((hh, ww) => naive(hh, ww, y, 0.9).logprobs, h, w, coef);
      const relErr = (a: number[], b: number[]): number => {
        let num = 0, den = 0;
        a.forEach((x, i) => ((num += (x - (b[i] as number)) ** 2), (den += (b[i] as number) ** 2)));
        return Math.sqrt(num / den);
      };
      assert.ok(relErr(gh.toFlatArray(), ng.gh) < 0.03, `∂hidden relative error ${relErr(gh.toFlatArray(), ng.gh)}`);
      assert.ok(relErr(gw.toFlatArray(), ng.gw) < 0.03, `∂weight relative error ${relErr(gw.toFlatArray(), ng.gw)}`);
      // Not bit-equal to float32: the products did run in bf16.
      assert.notDeepEqual(gh.toFlatArray(), ng.gh);
      // The cross-entropy path (gradients in the forward) under autocast too.
      const hc = h.detach().requiresGrad_();
      const wc = w.detach().requiresGrad_();
      const ce = torch.autocast('bfloat16', () => F.linearCrossEntropy(hc, wc, y, { chunkSize: 20 }));
      ce.backward();
      const ceRef = grads((hh, ww) => F.crossEntropy(F.linear(hh, ww), y), h, w, torch.tensor(1));
      assert.ok(Math.abs(ce.item() - F.crossEntropy(F.linear(h, w), y).item()) < 0.02, 'bf16 loss');
      assert.ok(relErr((hc.grad as Tensor).toFlatArray(), ceRef.gh) < 0.03, 'bf16 cross-entropy ∂hidden');
      assert.ok(relErr((wc.grad as Tensor).toFlatArray(), ceRef.gw) < 0.03, 'bf16 cross-entropy ∂weight');
    });
  });
});

/** Peak resident set size (kB) since the last reset, or null where /proc does not allow it. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
function rssKb(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? NaN);
}

describe('linearLogProbs memory', () => {
  // N·V·4 = 2048·50000·4 ≈ 410 MB of float32 logits: what the naive path holds (twice: logits
  // and log-softmax, and again in the backward). The fused op holds one ~64 MB chunk at a time.
  const N = 2048, C = 64, V = 50000;
  const logitsBytes = N * V * 4;

  test('no (N, V) tensor alive after the forward, peak well below N·V·4', () => {
    torch.manualSeed(5);
    const h = torch.keep(torch.randn([N, C]).requiresGrad_());
    const w = torch.keep(torch.randn([V, C]).mul(0.1).requiresGrad_());
    const y = torch.keep(targetsFor(N, V, 4, 10));
    const bytes0 = torch.memory().bytes;
    const rss0 = rssKb('VmRSS') * 1024;
    const peakTracked = resetPeakRss();
    const lp = F.linearLogProbs(h, w, y).logprobs; // the graph (saved tensors) stays alive with lp
    const rssAfterForward = rssKb('VmRSS') * 1024;
    assert.ok(torch.memory().bytes - bytes0 < logitsBytes / 100, `tensors JS holds grew by ${torch.memory().bytes - bytes0} bytes`);
    assert.ok(rssAfterForward - rss0 < logitsBytes / 4, `RSS grew by ${((rssAfterForward - rss0) / 1e6).toFixed(0)} MB after the forward (N·V·4 = ${(logitsBytes / 1e6).toFixed(0)} MB)`);
    lp.sum().backward();
    if (peakTracked) {
      const peak = rssKb('VmHWM') * 1024;
      assert.ok(peak - rss0 < logitsBytes / 2, `peak RSS rose ${((peak - rss0) / 1e6).toFixed(0)} MB over forward + backward (N·V·4 = ${(logitsBytes / 1e6).toFixed(0)} MB)`);
    }
    for (const t of [lp, h, w, y]) t.dispose();
  });

  test('linearCrossEntropy: peak well below N·V·4 over forward + backward', (t) => {
    torch.manualSeed(5);
    const h = torch.keep(torch.randn([N, C]).requiresGrad_());
    const w = torch.keep(torch.randn([V, C]).mul(0.1).requiresGrad_());
    const y = torch.keep(targetsFor(N, V, 4, 10));
    const rss0 = rssKb('VmRSS') * 1024;
    if (!resetPeakRss()) {
      t.skip('/proc/self/clear_refs is not writable here');
      return;
    }
    const loss = F.linearCrossEntropy(h, w, y);
    loss.backward();
    const peak = rssKb('VmHWM') * 1024;
    assert.ok(peak - rss0 < logitsBytes / 2, `peak RSS rose ${((peak - rss0) / 1e6).toFixed(0)} MB over forward + backward (N·V·4 = ${(logitsBytes / 1e6).toFixed(0)} MB)`);
    for (const x of [loss, h, w, y]) x.dispose();
  });

  test('live tensors and bytes flat across 50 forward + backward iterations (both ops)', () => {
    torch.manualSeed(6);
    const h = torch.keep(torch.randn([128, 32]).requiresGrad_());
    const w = torch.keep(torch.randn([2000, 32]).mul(0.1).requiresGrad_());
    const y = torch.keep(targetsFor(128, 2000, 8, 7));
    const at = new Map<number, { live: number; bytes: number }>();
    for (let i = 1; i <= 50; i++) {
      torch.tidy(() => {
        h.zeroGrad();
        w.zeroGrad();
        const r = F.linearLogProbs(h, w, y, { chunkSize: 50, withEntropy: true });
        r.logprobs.sum().add(r.entropy.mean()).add(F.linearCrossEntropy(h, w, y, { chunkSize: 50 })).backward();
      });
      if (i === 5 || i === 50) at.set(i, { live: torch.memory().liveTensors, bytes: torch.memory().bytes });
    }
    assert.deepEqual(at.get(50), at.get(5));
    for (const t of [h, w, y]) t.dispose();
  });
});
