// Shared helpers for the engine tests: a tolerance comparison that prints where values differ,
// and gradcheck (autograd gradients against central differences in float64).
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import type { Tensor, NestedArray } from '../../src/torch/index.js';

export interface Tolerance {
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Prefix for the failure message. */
  msg?: string;
}

function shapeOf(x: NestedArray): number[] {
  if (!Array.isArray(x)) return [];
  if (x.length === 0) return [0];
  return [x.length, ...shapeOf(x[0] as NestedArray)];
}

function flat(x: NestedArray, out: number[] = []): number[] {
  if (Array.isArray(x)) for (const v of x) flat(v, out);
  else out.push(Number(x));
  return out;
}

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise. A tensor's shape must match a
 * nested array's shape; NaN matches NaN and ±Infinity must match exactly.
 */
export function assertClose(actual: Tensor | NestedArray | readonly number[], expected: NestedArray | readonly number[], tol: Tolerance = {}): void {
  const atol = tol.atol ?? 1e-6;
  const rtol = tol.rtol ?? 1e-5;
  const prefix = tol.msg ? `${tol.msg}: ` : '';
  let a: number[];
  if (actual instanceof torch.Tensor) {
    if (Array.isArray(expected)) {
      const es = shapeOf(expected as NestedArray);
      assert.deepEqual(actual.shape, es, `${prefix}shape ${JSON.stringify(actual.shape)} ≠ expected ${JSON.stringify(es)}`);
    } else {
      assert.equal(actual.numel, 1, `${prefix}expected a scalar, got shape ${JSON.stringify(actual.shape)}`);
    }
    a = actual.toFlatArray();
  } else a = flat(actual as NestedArray);
  const e = flat(expected as NestedArray);
  assert.equal(a.length, e.length, `${prefix}${a.length} values ≠ expected ${e.length}`);
  for (let i = 0; i < e.length; i++) {
    const x = a[i] as number, y = e[i] as number;
    if (Number.isNaN(y)) {
      assert.ok(Number.isNaN(x), `${prefix}[${i}] = ${x}, expected NaN`);
      continue;
    }
    if (!Number.isFinite(y)) {
      assert.equal(x, y, `${prefix}[${i}] = ${x}, expected ${y}`);
      continue;
    }
    const d = Math.abs(x - y);
    if (!(d <= atol + rtol * Math.abs(y))) {
      assert.fail(`${prefix}element ${i}: ${x} vs expected ${y} (|diff| ${d.toExponential(2)} > atol ${atol} + rtol ${rtol}·|expected|)\n  actual   ${JSON.stringify(a.slice(0, 24))}\n  expected ${JSON.stringify(e.slice(0, 24))}`);
    }
  }
}

/** Deterministic PRNG (mulberry32), independent of libtorch's generator. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GradcheckOptions {
  /** Central-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance (default 1e-6). */
  rtol?: number;
  /** Name used in failure messages. */
  name?: string;
}

/**
 * Checks autograd against central differences in float64. `inputs` are float64 tensors (their
 * values are copied; they need not require grad). fn maps fresh leaf tensors with those values to
 * an output of any shape; the scalar checked is Σ w ⊙ fn(inputs) with fixed pseudo-random weights
 * w, so every output element contributes with a distinct weight. Returns the largest |analytic −
 * numeric| seen; throws (with the input, element, and both values) on a mismatch.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): number {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const rtol = opts.rtol ?? 1e-6;
  const name = opts.name ?? 'gradcheck';
  for (const [i, x] of inputs.entries()) assert.equal(x.dtype, 'float64', `${name}: input ${i} must be float64, is ${x.dtype}`);
  const values = inputs.map((x) => Float64Array.from(x.data() as Float64Array));
  const shapes = inputs.map((x) => x.shape);

  // Weights for the output elements: fixed, distinct, away from 0.
  let weights: Float64Array | null = null;
  const scalarOf = (out: Tensor): Tensor => {
    assert.equal(out.dtype, 'float64', `${name}: output must be float64, is ${out.dtype}`);
    if (weights === null || weights.length !== out.numel) {
      const r = rng(12345);
      weights = Float64Array.from({ length: out.numel }, () => 0.5 + r());
    }
    const w = torch.tensor(weights, { shape: out.shape });
    return out.mul(w).sum();
  };

  // Analytic: one backward pass.
  const analytic = torch.tidy(() => {
    const leaves = values.map((v, i) => torch.tensor(Float64Array.from(v), { shape: shapes[i] }).requiresGrad_());
    const s = scalarOf(fn(...leaves));
    s.backward();
    return leaves.map((l, i) => {
      const g = l.grad;
      if (g === null) return new Float64Array(values[i]?.length ?? 0);
      assert.deepEqual(g.shape, shapes[i], `${name}: gradient of input ${i} has shape ${JSON.stringify(g.shape)}, input ${JSON.stringify(shapes[i])}`);
      return Float64Array.from(g.data() as Float64Array);
    });
  });

  // Numeric: (f(x + eps·e_k) − f(x − eps·e_k)) / 2eps for every element k of every input.
  const evalAt = (): number =>
    torch.tidy(() =>
      torch.noGrad(() => {
        const xs = values.map((v, i) => torch.tensor(Float64Array.from(v), { shape: shapes[i] }));
        return scalarOf(fn(...xs)).item();
      }),
    );
  let worst = 0;
  for (const [i, v] of values.entries()) {
    for (let k = 0; k < v.length; k++) {
      const x0 = v[k] as number;
      v[k] = x0 + eps;
      const fp = evalAt();
      v[k] = x0 - eps;
      const fm = evalAt();
      v[k] = x0;
      const numeric = (fp - fm) / (2 * eps);
      const a = (analytic[i] as Float64Array)[k] as number;
      const d = Math.abs(a - numeric);
      worst = Math.max(worst, d);
      if (!(d <= atol + rtol * Math.abs(numeric))) {
        assert.fail(`${name}: input ${i} ${JSON.stringify(shapes[i])} element ${k}: autograd ${a} vs central difference ${numeric} (|diff| ${d.toExponential(2)})`);
      }
    }
  }
  return worst;
}

/** A float64 tensor of the given shape with values uniform in [lo, hi) from a seeded JS PRNG. */
export function randDouble(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return torch.tensor(Float64Array.from({ length: n }, () => lo + (hi - lo) * r()), { shape });
}

/** erf by its Taylor series (|x| ≤ 4: error below 1e-12), for closed-form expectations. */
export function erf(x: number): number {
  if (Math.abs(x) > 4) return Math.sign(x);
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** log Σ exp(xs), computed stably in doubles. */
export function logSumExp(xs: readonly number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}
