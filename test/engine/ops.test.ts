// Op values against hand-computed expectations: creation, elementwise math and broadcasting,
// reductions, linear algebra, views, joining and indexing, nn functions, sampling, in-place ops
// and dtype conversions. Every expectation is written out from the op's definition.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { F, TorchError } from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { Dropout } from '../../src/nn/index.js';
import { assertClose, erf, logSumExp } from './helpers.js';

const t = torch.tensor;
const m23 = (): Tensor => t([[1, 2, 3], [4, 5, 6]]); // float32 (2, 3)
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('creation', () => {
  test('tensor from nested arrays infers shape and defaults to float32', () => {
    const a = m23();
    assert.deepEqual(a.shape, [2, 3]);
    assert.equal(a.dtype, 'float32');
    assert.equal(a.ndim, 2);
    assert.equal(a.numel, 6);
    assert.deepEqual(a.toArray(), [[1, 2, 3], [4, 5, 6]]);
    const s = t(3.5);
    assert.deepEqual(s.shape, []);
    assert.equal(s.item(), 3.5);
    const b = t([true, false, true]);
    assert.equal(b.dtype, 'bool');
    assert.deepEqual(b.toArray(), [true, false, true]);
    assert.deepEqual(t([]).shape, [0]);
    assert.deepEqual(t([[[1], [2]]]).shape, [1, 2, 1]);
  });

  test('tensor with an explicit dtype converts (int64 truncates toward zero)', () => {
    const i = t([1.7, -1.7, 2], { dtype: 'int64' });
    assert.equal(i.dtype, 'int64');
    assert.deepEqual(i.toArray(), [1, -1, 2]);
    const d = t([0.1, 0.2], { dtype: 'float64' });
    assert.equal(d.dtype, 'float64');
    assert.deepEqual(d.toArray(), [0.1, 0.2]); // exact doubles, no float32 round trip
    // bool takes truthiness (bool(x) in Python): 0.5, −1 and NaN are true, 0 and −0 false.
    const b = t([2, 0, 0.5, -1, NaN, -0], { dtype: 'bool' });
    assert.deepEqual(b.toArray(), [true, false, true, true, true, false]);
    assert.equal(b.sum().item(), 4);
    assert.deepEqual(b.logicalNot().toArray(), [false, true, false, false, false, true]);
    const h = t([0.1], { dtype: 'bfloat16' });
    assert.equal(h.dtype, 'bfloat16');
    assert.deepEqual(h.toArray(), [0.10009765625]);
  });

  test('tensor from typed arrays keeps their element type; shape reshapes a flat array', () => {
    assert.equal(t(new Float64Array([1, 2])).dtype, 'float64');
    assert.equal(t(new Float32Array([1, 2])).dtype, 'float32');
    assert.equal(t(new Int32Array([1, 2])).dtype, 'int32');
    assert.equal(t(new Int16Array([1, 2])).dtype, 'int16');
    assert.equal(t(new Int8Array([1, 2])).dtype, 'int8');
    assert.equal(t(new Uint8Array([1, 2])).dtype, 'uint8');
    const l = t(new BigInt64Array([5n, -(2n ** 40n)]));
    assert.equal(l.dtype, 'int64');
    assert.deepEqual(l.toArray(), [5, -(2 ** 40)]);
    // Uint16Array holds raw bfloat16 bits: 0x3f80 is 1.0, 0xc040 is −3.0.
    const bits = t(new Uint16Array([0x3f80, 0xc040]));
    assert.equal(bits.dtype, 'bfloat16');
    assert.deepEqual(bits.toArray(), [1, -3]);
    assert.deepEqual(t(new Float64Array([1.5, 2.5]), { dtype: 'int32' }).toArray(), [1, 2]);
    const r = t(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [3, 2] });
    assert.deepEqual(r.toArray(), [[1, 2], [3, 4], [5, 6]]);
    // A subarray view starts at its own byte offset.
    const sub = new Float32Array([9, 9, 1, 2]).subarray(2);
    assert.deepEqual(t(sub).toArray(), [1, 2]);
  });

  test('tensor rejects ragged arrays and a shape that does not fit the data', () => {
    assert.throws(() => t([[1, 2], [3]]), (e: unknown) => e instanceof TorchError && /ragged/.test(e.message) && /\[2\]/.test(e.message) && /\[1\]/.test(e.message));
    assert.throws(() => t(new Float32Array(5), { shape: [2, 3] }), (e: unknown) => e instanceof TorchError && /\[2, 3\]/.test(e.message) && /6/.test(e.message) && /5/.test(e.message));
  });

  test('zeros / ones / full / empty / *Like', () => {
    assert.deepEqual(torch.zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
    assert.deepEqual(torch.ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
    assert.equal(torch.ones([3], { dtype: 'int32' }).dtype, 'int32');
    assert.deepEqual(torch.full([2], 7.5).toArray(), [7.5, 7.5]);
    assert.deepEqual(torch.full([2], true, { dtype: 'bool' }).toArray(), [true, true]);
    assert.deepEqual(torch.empty([4, 5]).shape, [4, 5]);
    const x = t([[1, 2]], { dtype: 'float64' });
    const zl = torch.zerosLike(x);
    assert.equal(zl.dtype, 'float64');
    assert.deepEqual(zl.toArray(), [[0, 0]]);
    assert.deepEqual(torch.onesLike(x).toArray(), [[1, 1]]);
    assert.deepEqual(torch.fullLike(x, -2).toArray(), [[-2, -2]]);
    assert.equal(torch.ones([2], { requiresGrad: true }).requiresGrad, true);
  });

  test('arange / linspace / eye', () => {
    const a = torch.arange(5);
    assert.equal(a.dtype, 'int64');
    assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4]);
    assert.deepEqual(torch.arange(2, 8, 2).toArray(), [2, 4, 6]);
    assert.deepEqual(torch.arange(1, 2, 0.25, { dtype: 'float32' }).toArray(), [1, 1.25, 1.5, 1.75]);
    // As in PyTorch, a non-integer argument makes the default float32.
    assert.equal(torch.arange(0, 1, 0.25).dtype, 'float32');
    assert.deepEqual(torch.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
    assert.deepEqual(torch.arange(2.5).toArray(), [0, 1, 2]);
    assert.equal(torch.arange(2.5).dtype, 'float32');
    assert.equal(torch.arange(0, 10, 2, { dtype: 'float64' }).dtype, 'float64');
    assert.deepEqual(torch.arange(3, 0, -1).toArray(), [3, 2, 1]);
    assertClose(torch.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
    assertClose(torch.linspace(-1, 1, 3, { dtype: 'float64' }), [-1, 0, 1], { atol: 0 });
    assert.deepEqual(torch.eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  });

  test('randn / rand / randint: manualSeed reproduces, a different seed differs', () => {
    for (const make of [() => torch.randn([64]), () => torch.rand([64]), () => torch.randint(0, 1000, [64])]) {
      torch.manualSeed(7);
      const a = make().toFlatArray();
      torch.manualSeed(7);
      const b = make().toFlatArray();
      torch.manualSeed(8);
      const c = make().toFlatArray();
      assert.deepEqual(a, b);
      assert.notDeepEqual(a, c);
    }
  });

  test('randn ~ N(0, 1), rand ~ U[0, 1), randint uniform on [low, high)', () => {
    torch.manualSeed(0);
    const n = 100_000;
    const z = torch.randn([n], { dtype: 'float64' });
    // mean has standard error 1/√n ≈ 0.0032; variance's ≈ √(2/n) ≈ 0.0045.
    assert.ok(Math.abs(z.mean().item()) < 0.02, `randn mean ${z.mean().item()}`);
    assert.ok(Math.abs(z.var().item() - 1) < 0.03, `randn var ${z.var().item()}`);
    assert.ok(Math.abs(z.gt(1).to('float64').mean().item() - 0.158655) < 0.01, 'P(z > 1) ≈ 0.1587');
    const u = torch.rand([n]);
    assert.ok(u.min().item() >= 0 && u.max().item() < 1);
    assert.ok(Math.abs(u.mean().item() - 0.5) < 0.01);
    assert.ok(Math.abs(u.var().item() - 1 / 12) < 0.005);
    const r = torch.randint(3, 7, [20_000]);
    assert.equal(r.dtype, 'int64');
    assert.equal(r.min().item(), 3);
    assert.equal(r.max().item(), 6);
    for (let v = 3; v < 7; v++) {
      const frac = r.eq(v).to('float32').mean().item();
      assert.ok(Math.abs(frac - 0.25) < 0.02, `P(${v}) = ${frac}`);
    }
    assert.equal(torch.randn([2], { dtype: 'bfloat16' }).dtype, 'bfloat16');
  });
});

describe('elementwise and broadcasting', () => {
  test('binary ops broadcast (2,3) with (3) and (2,1) with (1,3)', () => {
    const a = m23();
    const b = t([10, 20, 30]);
    assert.deepEqual(a.add(b).toArray(), [[11, 22, 33], [14, 25, 36]]);
    assert.deepEqual(a.sub(b).toArray(), [[-9, -18, -27], [-6, -15, -24]]);
    assert.deepEqual(a.sub(b, 2).toArray(), [[-19, -38, -57], [-16, -35, -54]]);
    assert.deepEqual(a.add(b, 0.5).toArray(), [[6, 12, 18], [9, 15, 21]]);
    assert.deepEqual(a.mul(b).toArray(), [[10, 40, 90], [40, 100, 180]]);
    assertClose(a.div(b), [[0.1, 0.1, 0.1], [0.4, 0.25, 0.2]]);
    const col = t([[1], [2]]);
    const row = t([[1, 10, 100]]);
    assert.deepEqual(col.mul(row).toArray(), [[1, 10, 100], [2, 20, 200]]);
    assert.deepEqual(col.add(row).shape, [2, 3]);
    assertClose(t([2, 3]).pow(t([3, 0.5])), [8, Math.sqrt(3)]);
    assert.deepEqual(t([[1, 5], [7, 2]]).maximum(t([3, 3])).toArray(), [[3, 5], [7, 3]]);
    assert.deepEqual(t([[1, 5], [7, 2]]).minimum(t([3, 3])).toArray(), [[1, 3], [3, 2]]);
    assertClose(t([1, -1]).atan2(t([-1, -1])), [Math.atan2(1, -1), Math.atan2(-1, -1)]);
    assertClose(t([0, 10]).lerp(t([10, 20]), 0.25), [2.5, 12.5]);
  });

  test('scalar operands; integer tensors stay integer with whole scalars', () => {
    const a = t([1, 2, 4]);
    assert.deepEqual(a.add(1).toArray(), [2, 3, 5]);
    assert.deepEqual(a.sub(0.5).toArray(), [0.5, 1.5, 3.5]);
    assert.deepEqual(a.mul(3).toArray(), [3, 6, 12]);
    assert.deepEqual(a.div(4).toArray(), [0.25, 0.5, 1]);
    assert.deepEqual(a.pow(2).toArray(), [1, 4, 16]);
    assert.deepEqual(a.rsub(10).toArray(), [9, 8, 6]);
    assert.deepEqual(a.add(2, 3).toArray(), [7, 8, 10]); // a + alpha·2
    const i = torch.arange(3);
    assert.equal(i.add(1).dtype, 'int64');
    assert.deepEqual(i.mul(2).toArray(), [0, 2, 4]);
    assert.equal(i.mul(0.5).dtype, 'float32');
    assert.deepEqual(i.div(2).toArray(), [0, 0.5, 1]); // true division, as torch.div
    // remainder takes the divisor's sign (Python semantics).
    assert.deepEqual(t([-3, 3, 5.5]).remainder(2).toArray(), [1, 1, 1.5]);
    assert.deepEqual(t([-3, 3]).remainder(t([2, -2])).toArray(), [1, -1]);
  });

  test('unary math against closed forms', () => {
    const xs = [-2, -0.5, 0.25, 1.5];
    const x = t(xs, { dtype: 'float64' });
    const check = (y: Tensor, f: (v: number) => number, name: string): void => assertClose(y, xs.map(f), { atol: 1e-12, rtol: 1e-12, msg: name });
    check(x.neg(), (v) => -v, 'neg');
    check(x.exp(), Math.exp, 'exp');
    check(x.abs(), Math.abs, 'abs');
    check(x.sin(), Math.sin, 'sin');
    check(x.cos(), Math.cos, 'cos');
    check(x.tanh(), Math.tanh, 'tanh');
    check(x.sigmoid(), sigmoid, 'sigmoid');
    check(x.logSigmoid(), (v) => Math.log(sigmoid(v)), 'logSigmoid');
    check(x.softplus(), (v) => Math.log1p(Math.exp(v)), 'softplus');
    check(x.relu(), (v) => Math.max(0, v), 'relu');
    check(x.silu(), (v) => v * sigmoid(v), 'silu');
    check(x.erf(), erf, 'erf');
    check(x.expm1(), Math.expm1, 'expm1');
    check(x.square(), (v) => v * v, 'square');
    check(x.reciprocal(), (v) => 1 / v, 'reciprocal');
    check(x.sign(), Math.sign, 'sign');
    check(x.floor(), Math.floor, 'floor');
    check(x.ceil(), Math.ceil, 'ceil');
    check(x.clamp(-1, 1), (v) => Math.min(1, Math.max(-1, v)), 'clamp');
    check(x.clamp(0), (v) => Math.max(0, v), 'clamp(min)');
    check(x.clamp(null, 0), (v) => Math.min(0, v), 'clamp(max)');
    const p = t([0.5, 1, 4], { dtype: 'float64' });
    assertClose(p.log(), [Math.log(0.5), 0, Math.log(4)], { atol: 1e-12 });
    assertClose(p.log1p(), [Math.log1p(0.5), Math.log1p(1), Math.log1p(4)], { atol: 1e-12 });
    assertClose(p.sqrt(), [Math.SQRT1_2, 1, 2], { atol: 1e-12 });
    assertClose(p.rsqrt(), [Math.SQRT2, 1, 0.5], { atol: 1e-12 });
    assertClose(t([0.5, 1.5, 2.5, -0.5]).round(), [0, 2, 2, -0]); // half to even
    assertClose(t([1, 2]).clampT(t([1.5, 0]), t([3, 1.5])), [1.5, 1.5]);
    assertClose(t([-1, 0, 1]).log(), [NaN, -Infinity, 0]);
  });

  test('comparisons give bool tensors; logical ops; isnan / isfinite', () => {
    const a = t([1, 2, 3]);
    const b = t([3, 2, 1]);
    assert.equal(a.eq(b).dtype, 'bool');
    assert.deepEqual(a.eq(b).toArray(), [false, true, false]);
    assert.deepEqual(a.ne(b).toArray(), [true, false, true]);
    assert.deepEqual(a.lt(b).toArray(), [true, false, false]);
    assert.deepEqual(a.le(b).toArray(), [true, true, false]);
    assert.deepEqual(a.gt(b).toArray(), [false, false, true]);
    assert.deepEqual(a.ge(b).toArray(), [false, true, true]);
    assert.deepEqual(a.eq(2).toArray(), [false, true, false]);
    assert.deepEqual(a.gt(1.5).toArray(), [false, true, true]);
    assert.deepEqual(a.le(2).toArray(), [true, true, false]);
    assert.deepEqual(a.lt(2).toArray(), [true, false, false]);
    assert.deepEqual(a.ge(3).toArray(), [false, false, true]);
    assert.deepEqual(a.ne(3).toArray(), [true, true, false]);
    const p = t([true, true, false, false]);
    const q = t([true, false, true, false]);
    assert.deepEqual(p.logicalAnd(q).toArray(), [true, false, false, false]);
    assert.deepEqual(p.logicalOr(q).toArray(), [true, true, true, false]);
    assert.deepEqual(p.logicalNot().toArray(), [false, false, true, true]);
    assert.deepEqual(p.eq(true).toArray(), [true, true, false, false]);
    const z = t([0, 1, -1]).div(t([0, 0, 0])); // NaN, +inf, -inf
    assert.deepEqual(z.isnan().toArray(), [true, false, false]);
    assert.deepEqual(z.isfinite().toArray(), [false, false, false]);
    assert.deepEqual(t([1, Infinity]).isfinite().toArray(), [true, false]);
  });
});

describe('reductions over dims', () => {
  test('sum / mean / prod', () => {
    const a = m23();
    assert.equal(a.sum().item(), 21);
    assert.deepEqual(a.sum().shape, []);
    assert.deepEqual(a.sum(0).toArray(), [5, 7, 9]);
    assert.deepEqual(a.sum(1, true).toArray(), [[6], [15]]);
    assert.deepEqual(a.sum(-1).toArray(), [6, 15]);
    assert.deepEqual(a.sum([0, 1]).toArray(), 21);
    assert.equal(torch.arange(4).sum().dtype, 'int64');
    assert.equal(t([1, 2], { dtype: 'bfloat16' }).sum(undefined, false, { dtype: 'float32' }).dtype, 'float32');
    assert.equal(a.mean().item(), 3.5);
    assert.deepEqual(a.mean(1).toArray(), [2, 5]);
    assert.deepEqual(a.mean(0, true).toArray(), [[2.5, 3.5, 4.5]]);
    assert.equal(a.prod().item(), 720);
    assert.deepEqual(a.prod(1).toArray(), [6, 120]);
    assert.deepEqual(a.prod(0, true).toArray(), [[4, 10, 18]]);
  });

  test('max / min / argmax / argmin, with indices', () => {
    const a = t([[1, 9, 3], [7, 5, 6]]);
    assert.equal(a.max().item(), 9);
    assert.equal(a.min().item(), 1);
    assert.deepEqual(a.max(0).toArray(), [7, 9, 6]);
    assert.deepEqual(a.max(1, true).toArray(), [[9], [7]]);
    assert.deepEqual(a.min(1).toArray(), [1, 5]);
    assert.deepEqual(a.min([0, 1]).toArray(), 1);
    assert.deepEqual(a.argmax(1).toArray(), [1, 0]);
    assert.deepEqual(a.argmin(0).toArray(), [0, 1, 0]);
    assert.equal(a.argmax().item(), 1); // flat index
    assert.equal(a.argmin().item(), 0);
    assert.deepEqual(a.argmax(1, true).shape, [2, 1]);
    const { values, indices } = a.maxWithIndices(1);
    assert.deepEqual(values.toArray(), [9, 7]);
    assert.deepEqual(indices.toArray(), [1, 0]);
    assert.equal(indices.dtype, 'int64');
    const mn = a.minWithIndices(0, true);
    assert.deepEqual(mn.values.toArray(), [[1, 5, 3]]);
    assert.deepEqual(mn.indices.toArray(), [[0, 1, 0]]);
  });

  test('var / std with Bessel correction (default 1) and correction 0', () => {
    const a = m23(); // rows [1,2,3] and [4,5,6]: squared deviations sum to 2 per row; overall 17.5
    assertClose(a.var(1), [1, 1]);
    assertClose(a.var(1, { correction: 0 }), [2 / 3, 2 / 3]);
    assertClose(a.std(1), [1, 1]);
    assertClose(a.std(1, { correction: 0, keepdim: true }), [[Math.sqrt(2 / 3)], [Math.sqrt(2 / 3)]]);
    assertClose(a.var(), 3.5);
    assertClose(a.var(undefined, { correction: 0 }), 17.5 / 6);
    assertClose(a.std(), Math.sqrt(3.5));
    assertClose(a.var(0), [4.5, 4.5, 4.5]);
    assertClose(a.var([0, 1]), 3.5);
  });

  test('logsumexp / cumsum / cumprod / norm / all / any', () => {
    const a = m23();
    assertClose(a.logsumexp(1), [logSumExp([1, 2, 3]), logSumExp([4, 5, 6])]);
    assertClose(a.logsumexp(0, true), [[logSumExp([1, 4]), logSumExp([2, 5]), logSumExp([3, 6])]]);
    assertClose(t([1000, 1000]).logsumexp(0), 1000 + Math.log(2), { rtol: 1e-6 }); // stable
    assert.deepEqual(a.cumsum(1).toArray(), [[1, 3, 6], [4, 9, 15]]);
    assert.deepEqual(a.cumsum(0).toArray(), [[1, 2, 3], [5, 7, 9]]);
    assert.deepEqual(a.cumprod(1).toArray(), [[1, 2, 6], [4, 20, 120]]);
    assertClose(a.norm(), Math.sqrt(91));
    assertClose(a.norm(1), 21);
    assertClose(a.norm(2, 1), [Math.sqrt(14), Math.sqrt(77)]);
    assertClose(t([3, -4]).norm(Infinity), 4);
    const b = t([[true, false], [true, true]]);
    assert.equal(b.all().item(), 0);
    assert.equal(b.any().item(), 1);
    assert.deepEqual(b.all(1).toArray(), [false, true]);
    assert.deepEqual(b.any(0, true).toArray(), [[true, true]]);
  });
});

describe('linear algebra', () => {
  test('matmul: 2-D, matrix-vector, batched with broadcasting; mm; bmm', () => {
    const a = m23();
    const b = t([[1, 0], [0, 1], [1, 1]]);
    assert.deepEqual(a.matmul(b).toArray(), [[4, 5], [10, 11]]);
    assert.deepEqual(a.mm(b).toArray(), [[4, 5], [10, 11]]);
    assert.deepEqual(a.matmul(t([1, 1, 1])).toArray(), [6, 15]);
    const batch = torch.stack([a, a.mul(2)]); // (2, 2, 3)
    assert.deepEqual(batch.matmul(b).toArray(), [[[4, 5], [10, 11]], [[8, 10], [20, 22]]]); // (2,2,3)@(3,2)
    const bb = torch.stack([b, b.mul(-1)]); // (2, 3, 2)
    assert.deepEqual(batch.bmm(bb).toArray(), [[[4, 5], [10, 11]], [[-8, -10], [-20, -22]]]);
    assert.deepEqual(t([1, 2, 3]).matmul(t([4, 5, 6])).toArray(), 32);
  });

  test('einsum: matmul, batched matmul, dot, transpose, outer, trace', () => {
    const a = m23();
    const b = t([[1, 0], [0, 1], [1, 1]]);
    assert.deepEqual(torch.einsum('ij,jk->ik', a, b).toArray(), [[4, 5], [10, 11]]);
    assert.deepEqual(torch.einsum('ij->ji', a).toArray(), [[1, 4], [2, 5], [3, 6]]);
    assert.deepEqual(torch.einsum('i,i->', t([1, 2, 3]), t([4, 5, 6])).toArray(), 32);
    assert.deepEqual(torch.einsum('i,j->ij', t([1, 2]), t([3, 4, 5])).toArray(), [[3, 4, 5], [6, 8, 10]]);
    assert.deepEqual(torch.einsum('ii->', t([[1, 2], [3, 4]])).toArray(), 5);
    const x = torch.stack([a, a]);
    const y = torch.stack([b, b]);
    assert.deepEqual(torch.einsum('bij,bjk->bik', x, y).toArray(), [[[4, 5], [10, 11]], [[4, 5], [10, 11]]]);
  });

  test('F.linear, F.addmm, F.baddbmm', () => {
    const x = t([[1, 2]]); // (1, 2)
    const w = t([[1, 1], [2, -1], [0, 3]]); // (3, 2)
    assert.deepEqual(F.linear(x, w).toArray(), [[3, 0, 6]]);
    assert.deepEqual(F.linear(x, w, t([1, 1, 1])).toArray(), [[4, 1, 7]]);
    // addmm(c, a, b, β, α) = β·c + α·(a @ b)
    assert.deepEqual(F.addmm(t([1, 1, 1]), x, w.T).toArray(), [[4, 1, 7]]);
    assert.deepEqual(F.addmm(t([[1, 1, 1]]), x, w.T, 2, 0.5).toArray(), [[3.5, 2, 5]]);
    assert.deepEqual(F.baddbmm(torch.zeros([1, 1, 3]), x.unsqueeze(0), w.T.unsqueeze(0), 1, 2).toArray(), [[[6, 0, 12]]]);
  });
});

describe('views and shapes', () => {
  test('view / reshape / flatten; a view shares storage with its base', () => {
    const a = m23();
    assert.deepEqual(a.view(3, 2).toArray(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepEqual(a.view(-1).toArray(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(a.view(2, -1, 1).shape, [2, 3, 1]);
    assert.deepEqual(a.reshape(6).toArray(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(a.flatten().shape, [6]);
    assert.deepEqual(torch.zeros([2, 3, 4]).flatten(1).shape, [2, 12]);
    assert.deepEqual(torch.zeros([2, 3, 4]).flatten(0, 1).shape, [6, 4]);
    const v = a.view(6);
    v.mul_(10);
    assert.deepEqual(a.toArray(), [[10, 20, 30], [40, 50, 60]]);
  });

  test('permute / transpose / T / contiguous; reshape of a non-contiguous tensor copies in the right order', () => {
    const a = m23();
    const tr = a.transpose(0, 1);
    assert.deepEqual(tr.toArray(), [[1, 4], [2, 5], [3, 6]]);
    assert.equal(tr.isContiguous, false);
    assert.deepEqual(tr.strides, [1, 3]);
    assert.deepEqual(a.T.toArray(), [[1, 4], [2, 5], [3, 6]]);
    const c = tr.contiguous();
    assert.equal(c.isContiguous, true);
    assert.deepEqual(c.strides, [2, 1]);
    assert.deepEqual(c.toArray(), tr.toArray());
    assert.deepEqual(tr.reshape(6).toArray(), [1, 4, 2, 5, 3, 6]);
    const x = torch.arange(24).view(2, 3, 4);
    const p = x.permute(2, 0, 1); // (4, 2, 3): p[k][i][j] = x[i][j][k]
    assert.deepEqual(p.shape, [4, 2, 3]);
    assert.deepEqual(p.select(0, 1).toArray(), [[1, 5, 9], [13, 17, 21]]);
    assert.deepEqual(x.transpose(-1, -2).shape, [2, 4, 3]);
  });

  test('expand / squeeze / unsqueeze / repeat / repeatInterleave / flip / roll', () => {
    const r = t([[1, 2, 3]]);
    const e = r.expand(2, 3);
    assert.deepEqual(e.toArray(), [[1, 2, 3], [1, 2, 3]]);
    assert.deepEqual(e.strides, [0, 1]); // no copy
    assert.deepEqual(r.expand(2, -1).shape, [2, 3]);
    assert.deepEqual(torch.zeros([1, 3, 1]).squeeze().shape, [3]);
    assert.deepEqual(torch.zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
    assert.deepEqual(torch.zeros([1, 3, 1]).squeeze(-1).shape, [1, 3]);
    assert.deepEqual(torch.zeros([1, 3, 1]).squeeze(1).shape, [1, 3, 1]); // size 3: unchanged
    assert.deepEqual(t([1, 2]).unsqueeze(0).toArray(), [[1, 2]]);
    assert.deepEqual(t([1, 2]).unsqueeze(-1).toArray(), [[1], [2]]);
    assert.deepEqual(t([1, 2]).repeat(2, 2).toArray(), [[1, 2, 1, 2], [1, 2, 1, 2]]);
    assert.deepEqual(t([1, 2]).repeatInterleave(2, 0).toArray(), [1, 1, 2, 2]);
    assert.deepEqual(m23().flip(1).toArray(), [[3, 2, 1], [6, 5, 4]]);
    assert.deepEqual(m23().flip(0, 1).toArray(), [[6, 5, 4], [3, 2, 1]]);
    assert.deepEqual(t([1, 2, 3, 4]).roll(1, 0).toArray(), [4, 1, 2, 3]);
    assert.deepEqual(m23().roll([1, -1], [0, 1]).toArray(), [[5, 6, 4], [2, 3, 1]]);
  });

  test('size() with negative dims; shape is a copy', () => {
    const a = torch.zeros([2, 3, 4]);
    assert.equal(a.size(0), 2);
    assert.equal(a.size(-1), 4);
    const s = a.shape;
    s[0] = 99;
    assert.deepEqual(a.shape, [2, 3, 4]);
  });
});

describe('joining and splitting', () => {
  test('cat / stack', () => {
    const a = t([[1, 2]]);
    const b = t([[3, 4], [5, 6]]);
    assert.deepEqual(torch.cat([a, b]).toArray(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepEqual(torch.cat([b, b], 1).toArray(), [[3, 4, 3, 4], [5, 6, 5, 6]]);
    assert.deepEqual(torch.cat([b, b], -1).shape, [2, 4]);
    assert.deepEqual(torch.stack([t([1, 2]), t([3, 4])]).toArray(), [[1, 2], [3, 4]]);
    assert.deepEqual(torch.stack([t([1, 2]), t([3, 4])], 1).toArray(), [[1, 3], [2, 4]]);
    assert.throws(() => torch.cat([]), TorchError);
    assert.throws(() => torch.stack([]), TorchError);
  });

  test('split by size / by sizes; chunk', () => {
    const x = torch.arange(5);
    assert.deepEqual(x.split(2).map((p) => p.toArray()), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(x.split([1, 4]).map((p) => p.toArray()), [[0], [1, 2, 3, 4]]);
    assert.deepEqual(torch.arange(6).chunk(3).map((p) => p.toArray()), [[0, 1], [2, 3], [4, 5]]);
    assert.deepEqual(torch.arange(5).chunk(2).map((p) => p.toArray()), [[0, 1, 2], [3, 4]]);
    const m = torch.arange(6).view(2, 3);
    assert.deepEqual(m.split(1, 1).map((p) => p.toArray()), [[[0], [3]], [[1], [4]], [[2], [5]]]);
    assert.deepEqual(m.chunk(3, -1).map((p) => p.shape), [[2, 1], [2, 1], [2, 1]]);
  });
});

describe('indexing', () => {
  const x = (): Tensor => torch.arange(12).view(3, 4); // [[0..3],[4..7],[8..11]]

  test('slice / select / narrow', () => {
    assert.deepEqual(x().slice(1, 1, 3).toArray(), [[1, 2], [5, 6], [9, 10]]);
    assert.deepEqual(x().slice(1, 0, undefined, 2).toArray(), [[0, 2], [4, 6], [8, 10]]);
    assert.deepEqual(x().slice(0, -1).toArray(), [[8, 9, 10, 11]]);
    assert.deepEqual(x().slice(0, 1).toArray(), [[4, 5, 6, 7], [8, 9, 10, 11]]);
    assert.deepEqual(x().select(0, 1).toArray(), [4, 5, 6, 7]);
    assert.deepEqual(x().select(1, -1).toArray(), [3, 7, 11]);
    assert.deepEqual(x().narrow(0, 1, 2).toArray(), [[4, 5, 6, 7], [8, 9, 10, 11]]);
    assert.deepEqual(x().narrow(1, 2, 1).toArray(), [[2], [6], [10]]);
  });

  test('index (advanced) / indexSelect / gather', () => {
    const rows = t([2, 0], { dtype: 'int64' });
    const cols = t([1, 3], { dtype: 'int64' });
    assert.deepEqual(x().index([rows]).toArray(), [[8, 9, 10, 11], [0, 1, 2, 3]]);
    assert.deepEqual(x().index([rows, cols]).toArray(), [9, 3]); // pairs (2,1), (0,3)
    assert.deepEqual(x().index([null, cols]).toArray(), [[1, 3], [5, 7], [9, 11]]);
    assert.deepEqual(x().index([x().gt(8)]).toArray(), [9, 10, 11]); // boolean mask
    assert.deepEqual(x().indexSelect(1, t([3, 0], { dtype: 'int64' })).toArray(), [[3, 0], [7, 4], [11, 8]]);
    assert.deepEqual(x().indexSelect(0, t([1], { dtype: 'int64' })).toArray(), [[4, 5, 6, 7]]);
    const idx = t([[0, 0], [1, 0], [3, 2]], { dtype: 'int64' });
    assert.deepEqual(x().gather(1, idx).toArray(), [[0, 0], [5, 4], [11, 10]]);
    assert.deepEqual(x().gather(0, t([[2, 1, 0, 0]], { dtype: 'int64' })).toArray(), [[8, 5, 2, 3]]);
  });

  test('scatter / scatterAdd (out of place) / maskedFill / maskedSelect / where / nonzero', () => {
    const z = torch.zeros([2, 3]);
    const s = z.scatter(1, t([[0], [2]], { dtype: 'int64' }), t([[5], [7]]));
    assert.deepEqual(s.toArray(), [[5, 0, 0], [0, 0, 7]]);
    assert.deepEqual(z.toArray(), [[0, 0, 0], [0, 0, 0]]); // out of place
    const sa = torch.zeros([3]).scatterAdd(0, t([0, 2, 0, 0], { dtype: 'int64' }), t([1, 2, 3, 4]));
    assert.deepEqual(sa.toArray(), [8, 0, 2]);
    assert.deepEqual(x().maskedFill(x().gt(5), -1).toArray(), [[0, 1, 2, 3], [4, 5, -1, -1], [-1, -1, -1, -1]]);
    assert.deepEqual(m23().maskedFill(t([true, false, true]), 0.5).toArray(), [[0.5, 2, 0.5], [0.5, 5, 0.5]]); // broadcast mask
    assert.deepEqual(m23().maskedSelect(m23().gt(3)).toArray(), [4, 5, 6]);
    const c = t([true, false, true]);
    assert.deepEqual(torch.where(c, t([1, 2, 3]), t([-1, -2, -3])).toArray(), [1, -2, 3]);
    assert.deepEqual(torch.where(c, t([1, 2, 3]), 0).toArray(), [1, 0, 3]);
    assert.deepEqual(torch.where(t([[true], [false]]), t([1, 2]), t([9])).toArray(), [[1, 2], [9, 9]]);
    assert.deepEqual(t([[0, 1], [2, 0]]).nonzero().toArray(), [[0, 1], [1, 0]]);
  });

  test('tril / triu with diagonal offsets', () => {
    const o = torch.ones([3, 3]);
    assert.deepEqual(o.tril().toArray(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
    assert.deepEqual(o.tril(-1).toArray(), [[0, 0, 0], [1, 0, 0], [1, 1, 0]]);
    assert.deepEqual(o.triu().toArray(), [[1, 1, 1], [0, 1, 1], [0, 0, 1]]);
    assert.deepEqual(o.triu(1).toArray(), [[0, 1, 1], [0, 0, 1], [0, 0, 0]]);
    assert.deepEqual(torch.ones([2, 4]).tril(1).toArray(), [[1, 1, 0, 0], [1, 1, 1, 0]]);
  });
});

describe('nn functions', () => {
  test('softmax / logSoftmax against closed forms; stable for large logits', () => {
    const lse = logSumExp([1, 2, 3]);
    const sm = [1, 2, 3].map((v) => Math.exp(v - lse));
    assertClose(F.softmax(t([[1, 2, 3]])), [sm]);
    assertClose(F.logSoftmax(t([[1, 2, 3]])), [[1 - lse, 2 - lse, 3 - lse]]);
    assertClose(t([[1, 2], [3, 4]]).softmax(0), [[sigmoid(-2), sigmoid(-2)], [sigmoid(2), sigmoid(2)]]);
    assertClose(F.softmax(t([1000, 1000, -Infinity])), [0.5, 0.5, 0]);
    assertClose(F.logSoftmax(t([1000, 0])), [0, -1000], { rtol: 1e-6 });
  });

  test('layerNorm: (x − mean)/√(var + eps)·w + b with the biased variance', () => {
    const x = t([[1, 2, 3, 4], [2, 2, 2, 6]]);
    const w = t([1, 2, 0.5, -1]);
    const b = t([0, 1, 0, 0.5]);
    const eps = 1e-5;
    const rowLn = (r: number[]): number[] => {
      const mean = r.reduce((a, v) => a + v, 0) / r.length;
      const v = r.reduce((a, q) => a + (q - mean) ** 2, 0) / r.length;
      return r.map((q) => (q - mean) / Math.sqrt(v + eps));
    };
    const n0 = rowLn([1, 2, 3, 4]), n1 = rowLn([2, 2, 2, 6]);
    assertClose(F.layerNorm(x, [4]), [n0, n1], { atol: 1e-5 });
    const affine = (n: number[]): number[] => n.map((v, i) => v * ([1, 2, 0.5, -1][i] as number) + ([0, 1, 0, 0.5][i] as number));
    assertClose(F.layerNorm(x, [4], w, b, eps), [affine(n0), affine(n1)], { atol: 1e-5 });
    // Normalising over the last two dims treats them as one group of 8.
    const all = rowLn([1, 2, 3, 4, 2, 2, 2, 6]);
    assertClose(F.layerNorm(x, [2, 4]), [all.slice(0, 4), all.slice(4)], { atol: 1e-5 });
    // A large eps changes the result as the formula says.
    assertClose(F.layerNorm(t([[0, 2]]), [2], null, null, 1), [[-1 / Math.sqrt(2), 1 / Math.sqrt(2)]], { atol: 1e-6 });
  });

  test('gelu: exact erf form vs tanh approximation (closed forms, and they differ)', () => {
    const xs = [-3, -1, -0.5, 0, 0.5, 1, 2];
    const exact = xs.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    const approx = xs.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    const x = t(xs, { dtype: 'float64' });
    assertClose(F.gelu(x), exact, { atol: 1e-12, rtol: 1e-12 });
    assertClose(x.gelu('none'), exact, { atol: 1e-12, rtol: 1e-12 });
    assertClose(F.gelu(x, 'tanh'), approx, { atol: 1e-12, rtol: 1e-12 });
    assert.ok(Math.abs((exact[5] as number) - (approx[5] as number)) > 1e-4, 'the closed forms differ at x = 1');
    assert.throws(() => assertClose(F.gelu(x, 'tanh'), exact, { atol: 1e-6, rtol: 0 }));
    assertClose(F.gelu(t([1])), [0.8413447460685429], { atol: 1e-6 });
    assertClose(F.gelu(t([1]), 'tanh'), [0.8411919906082768], { atol: 1e-6 });
  });

  test('embedding picks rows; paddingIdx does not change the forward', () => {
    const w = t([[0, 1], [2, 3], [4, 5], [6, 7]]);
    const ids = t([[0, 3], [2, 2]], { dtype: 'int64' });
    assert.deepEqual(F.embedding(ids, w).toArray(), [[[0, 1], [6, 7]], [[4, 5], [4, 5]]]);
    assert.deepEqual(F.embedding(t([1], { dtype: 'int64' }), w, 1).toArray(), [[2, 3]]);
    assert.deepEqual(F.embedding(t([1, 0], { dtype: 'int32' }), w).toArray(), [[2, 3], [0, 1]]);
  });

  test('dropout: eval is the identity; training zeroes ≈ p and scales the rest by 1/(1 − p)', () => {
    torch.manualSeed(3);
    const x = torch.ones([100_000]);
    assert.deepEqual(F.dropout(m23(), 0.5, false).toArray(), [[1, 2, 3], [4, 5, 6]]);
    const d = new Dropout(0.3);
    d.eval();
    assert.deepEqual(d.forward(m23()).toArray(), [[1, 2, 3], [4, 5, 6]]);
    d.train();
    for (const y of [F.dropout(x, 0.3, true), d.forward(x)]) {
      const v = y.toFlatArray();
      const zeros = v.filter((q) => q === 0).length / v.length;
      assert.ok(Math.abs(zeros - 0.3) < 0.01, `zero fraction ${zeros}`);
      const kept = v.filter((q) => q !== 0);
      assert.ok(kept.every((q) => Math.abs(q - 1 / 0.7) < 1e-6), 'kept elements are scaled by 1/(1 − p)');
      assertClose(y.mean(), 1, { atol: 0.02 }); // expectation preserved
    }
    assert.deepEqual(F.dropout(m23(), 0, true).toArray(), [[1, 2, 3], [4, 5, 6]]);
  });

  test('crossEntropy: mean over non-ignored targets, sum / none, custom ignoreIndex, label smoothing, (B, T, C) logits', () => {
    const logits = t([[1, 2, 3], [1, 1, 1], [0, 0, 5]]);
    const l0 = logSumExp([1, 2, 3]) - 3; // target 2
    const l1 = logSumExp([1, 1, 1]) - 1; // target 0 = log 3
    const l2 = logSumExp([0, 0, 5]) - 0; // target 0
    const y = t([2, -100, 0], { dtype: 'int64' });
    assertClose(F.crossEntropy(logits, y), (l0 + l2) / 2, { rtol: 1e-6 });
    assertClose(F.crossEntropy(logits, y, { reduction: 'sum' }), l0 + l2, { rtol: 1e-6 });
    assertClose(F.crossEntropy(logits, y, { reduction: 'none' }), [l0, 0, l2], { rtol: 1e-6 });
    assertClose(F.crossEntropy(logits, t([2, 0, 0], { dtype: 'int64' })), (l0 + l1 + l2) / 3, { rtol: 1e-6 });
    assertClose(F.crossEntropy(logits, t([2, 0, 7], { dtype: 'int64' }), { ignoreIndex: 7 }), (l0 + l1) / 2, { rtol: 1e-6 });
    // Label smoothing ε: (1 − ε)·nll + ε·mean_c(−log p_c), over non-ignored rows.
    const eps = 0.1;
    const smooth = (row: number[], target: number): number => {
      const lse = logSumExp(row);
      const nll = lse - (row[target] as number);
      const uniform = row.reduce((a, v) => a + (lse - v), 0) / row.length;
      return (1 - eps) * nll + eps * uniform;
    };
    assertClose(F.crossEntropy(logits, y, { labelSmoothing: eps }), (smooth([1, 2, 3], 2) + smooth([0, 0, 5], 0)) / 2, { rtol: 1e-6 });
    // Class weights: Σ w_y·l / Σ w_y.
    assertClose(F.crossEntropy(logits, t([2, 0, 0], { dtype: 'int64' }), { weight: t([2, 1, 1]) }), (1 * l0 + 2 * l1 + 2 * l2) / 5, { rtol: 1e-6 });
    // (B, T, C) logits with (B, T) targets are flattened.
    const btc = logits.view(1, 3, 3);
    assertClose(F.crossEntropy(btc, y.view(1, 3)), (l0 + l2) / 2, { rtol: 1e-6 });
  });

  test('nllLoss / mseLoss / binaryCrossEntropyWithLogits against closed forms', () => {
    const lp = t([[-1, -2], [-0.5, -3]]);
    assertClose(F.nllLoss(lp, t([1, 0], { dtype: 'int64' })), (2 + 0.5) / 2);
    assertClose(F.nllLoss(lp, t([1, -100], { dtype: 'int64' })), 2);
    assertClose(F.nllLoss(lp, t([1, 1], { dtype: 'int64' }), { reduction: 'sum' }), 5);
    assertClose(F.mseLoss(t([1, 2, 3]), t([1, 0, 0])), (0 + 4 + 9) / 3);
    assertClose(F.mseLoss(t([1, 2, 3]), t([1, 0, 0]), 'sum'), 13);
    assertClose(F.mseLoss(t([1, 2]), t([0, 0]), 'none'), [1, 4]);
    const bce = (x: number, z: number): number => -(z * Math.log(sigmoid(x)) + (1 - z) * Math.log(1 - sigmoid(x)));
    assertClose(F.binaryCrossEntropyWithLogits(t([0.5, -2]), t([1, 0])), (bce(0.5, 1) + bce(-2, 0)) / 2, { rtol: 1e-6 });
    assertClose(F.binaryCrossEntropyWithLogits(t([0.5, -2]), t([0.3, 0.7]), 'none'), [bce(0.5, 0.3), bce(-2, 0.7)], { rtol: 1e-6 });
    assertClose(F.binaryCrossEntropyWithLogits(t([100]), t([0])), 100, { rtol: 1e-6 }); // stable for large logits
    assertClose(F.logSigmoid(t([-100])), -100, { rtol: 1e-6 });
  });

  test('scaledDotProductAttention (causal, masks, Tk > Tq, scale) equals the naive composition', () => {
    torch.manualSeed(11);
    const [B, nh, T, hs] = [2, 2, 5, 8];
    const q = torch.randn([B, nh, T, hs], { dtype: 'float64' });
    const k = torch.randn([B, nh, T, hs], { dtype: 'float64' });
    const v = torch.randn([B, nh, T, hs], { dtype: 'float64' });
    const naive = (qq: Tensor, kk: Tensor, vv: Tensor, allowed: Tensor | null, scale = 1 / Math.sqrt(hs)): Tensor => {
      let att = qq.matmul(kk.transpose(-2, -1)).mul(scale); // (B, nh, Tq, Tk)
      if (allowed) att = att.maskedFill(allowed.logicalNot(), -Infinity);
      return att.softmax(-1).matmul(vv); // (B, nh, Tq, hs)
    };
    const causal = torch.ones([T, T], { dtype: 'bool' }).tril();
    const tol = { atol: 1e-10, rtol: 1e-10 };
    assertClose(F.scaledDotProductAttention(q, k, v), naive(q, k, v, null).toArray(), tol);
    assertClose(F.scaledDotProductAttention(q, k, v, { isCausal: true }), naive(q, k, v, causal).toArray(), tol);
    assertClose(F.scaledDotProductAttention(q, k, v, { scale: 0.3 }), naive(q, k, v, null, 0.3).toArray(), tol);
    // The causal output at position t does not depend on later positions.
    const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
    const vChanged = v.clone();
    vChanged.narrowCopy_(2, T - 1, torch.full([B, nh, 1, hs], 100, { dtype: 'float64' }));
    const out2 = F.scaledDotProductAttention(q, k, vChanged, { isCausal: true });
    assertClose(out2.narrow(2, 0, T - 1), out.narrow(2, 0, T - 1).toArray(), tol);
    // Boolean padding mask (true = attend), broadcast over heads and queries: keys 3, 4 of batch 1 hidden.
    const pad = t([[true, true, true, true, true], [true, true, true, false, false]]).view(B, 1, 1, T);
    assertClose(F.scaledDotProductAttention(q, k, v, { mask: pad }), naive(q, k, v, pad.expand(B, nh, T, T)).toArray(), tol);
    // Additive float mask.
    const add = torch.zeros([T, T], { dtype: 'float64' }).maskedFill(causal.logicalNot(), -Infinity);
    assertClose(F.scaledDotProductAttention(q, k, v, { mask: add }), naive(q, k, v, causal).toArray(), tol);
    // Causal and a padding mask together: both apply.
    const both = causal.view(1, 1, T, T).logicalAnd(pad);
    assertClose(F.scaledDotProductAttention(q, k, v, { mask: pad, isCausal: true }), naive(q, k, v, both).toArray(), tol);
    // Tq < Tk (decoding with a KV cache): causal alignment to the end, query i sees keys ≤ i + (Tk − Tq).
    const q2 = q.narrow(2, T - 2, 2);
    const aligned = torch.ones([T, T], { dtype: 'bool' }).tril().narrow(0, T - 2, 2); // last 2 rows of the T×T triangle
    assertClose(F.scaledDotProductAttention(q2, k, v, { isCausal: true }), naive(q2, k, v, aligned).toArray(), tol);
  });
});

describe('sampling and sorting', () => {
  test('multinomial: one-hot rows, frequencies, without replacement', () => {
    torch.manualSeed(5);
    assert.deepEqual(t([[0, 0, 1], [1, 0, 0]]).multinomial(3, true).toArray(), [[2, 2, 2], [0, 0, 0]]);
    const draws = t([0.2, 0.8]).multinomial(20_000, true);
    assert.equal(draws.dtype, 'int64');
    const frac = draws.to('float32').mean().item();
    assert.ok(Math.abs(frac - 0.8) < 0.015, `P(1) = ${frac}`);
    // Unnormalised weights are fine.
    const w = t([2, 6]).multinomial(20_000, true).to('float32').mean().item();
    assert.ok(Math.abs(w - 0.75) < 0.015, `P(1) = ${w}`);
    for (let i = 0; i < 10; i++) {
      const s = t([1, 1, 0]).multinomial(2).toFlatArray().sort();
      assert.deepEqual(s, [0, 1]);
    }
  });

  test('topk / sort / argsort', () => {
    const x = t([[3, 1, 4, 1.5], [9, 2, 6, 5]]);
    const top = x.topk(2);
    assert.deepEqual(top.values.toArray(), [[4, 3], [9, 6]]);
    assert.deepEqual(top.indices.toArray(), [[2, 0], [0, 2]]);
    const low = x.topk(1, -1, false);
    assert.deepEqual(low.values.toArray(), [[1], [2]]);
    assert.deepEqual(x.topk(1, 0).indices.toArray(), [[1, 1, 1, 1]]);
    const s = x.sort();
    assert.deepEqual(s.values.toArray(), [[1, 1.5, 3, 4], [2, 5, 6, 9]]);
    assert.deepEqual(s.indices.toArray(), [[1, 3, 0, 2], [1, 3, 2, 0]]);
    assert.deepEqual(x.sort(-1, true).values.toArray(), [[4, 3, 1.5, 1], [9, 6, 5, 2]]);
    assert.deepEqual(x.sort(0).values.toArray(), [[3, 1, 4, 1.5], [9, 2, 6, 5]]);
    assert.deepEqual(x.argsort(-1, true).toArray(), [[2, 0, 3, 1], [0, 2, 3, 1]]);
    assert.deepEqual(x.argsort(0).toArray(), [[0, 0, 0, 0], [1, 1, 1, 1]]);
  });
});

describe('in-place ops', () => {
  test('arithmetic in place returns the same tensor and changes it', () => {
    const a = t([1, 2, 3]);
    assert.equal(a.add_(1), a);
    assert.deepEqual(a.toArray(), [2, 3, 4]);
    a.add_(t([1, 1, 1]), 2);
    assert.deepEqual(a.toArray(), [4, 5, 6]);
    a.add_(t([1, 0, 0]));
    assert.deepEqual(a.toArray(), [5, 5, 6]);
    a.add_(1, 3);
    assert.deepEqual(a.toArray(), [8, 8, 9]);
    a.sub_(t([1, 1, 1]));
    a.sub_(1);
    assert.deepEqual(a.toArray(), [6, 6, 7]);
    a.mul_(t([1, 2, 0.5])).mul_(2);
    assert.deepEqual(a.toArray(), [12, 24, 7]);
    a.div_(t([2, 4, 7])).div_(2);
    assert.deepEqual(a.toArray(), [3, 3, 0.5]);
    const r = t([[1, 2], [3, 4]]);
    r.add_(t([10, 20])); // broadcast the operand
    assert.deepEqual(r.toArray(), [[11, 22], [13, 24]]);
  });

  test('copy_ / zero_ / fill_ / clamp_ / addcmul_ / addcdiv_ / lerp_ / uniform_ / normal_', () => {
    const a = torch.zeros([3]);
    a.copy_(t([1, 2, 3], { dtype: 'int64' })); // converts
    assert.deepEqual(a.toArray(), [1, 2, 3]);
    assert.equal(a.dtype, 'float32');
    a.addcmul_(t([1, 1, 1]), t([2, 3, 4]), 0.5); // a + 0.5·b·c
    assert.deepEqual(a.toArray(), [2, 3.5, 5]);
    a.addcdiv_(t([4, 4, 4]), t([2, 4, 8]), 2); // a + 2·b/c
    assert.deepEqual(a.toArray(), [6, 5.5, 6]);
    a.lerp_(t([10, 10, 10]), 0.5);
    assert.deepEqual(a.toArray(), [8, 7.75, 8]);
    a.clamp_(7.8, 7.9);
    assertClose(a, [7.9, 7.8, 7.9]);
    a.fill_(2);
    assert.deepEqual(a.toArray(), [2, 2, 2]);
    a.zero_();
    assert.deepEqual(a.toArray(), [0, 0, 0]);
    torch.manualSeed(1);
    const u = torch.empty([10_000]).uniform_(-2, 2);
    assert.ok(u.min().item() >= -2 && u.max().item() <= 2);
    assertClose(u.mean(), 0, { atol: 0.06 });
    const n = torch.empty([10_000]).normal_(3, 0.5);
    assertClose(n.mean(), 3, { atol: 0.03 });
    assertClose(n.std(), 0.5, { atol: 0.02 });
  });

  test('indexPut_ (set and accumulate) and narrowCopy_', () => {
    const a = torch.zeros([4]);
    const i = t([0, 2, 0], { dtype: 'int64' });
    a.indexPut_([i], t([1, 2, 3]), true);
    assert.deepEqual(a.toArray(), [4, 0, 2, 0]);
    a.indexPut_([t([3], { dtype: 'int64' })], t([9]));
    assert.deepEqual(a.toArray(), [4, 0, 2, 9]);
    const m = torch.zeros([2, 4]);
    m.indexPut_([null, t([1, 3], { dtype: 'int64' })], t([5]));
    assert.deepEqual(m.toArray(), [[0, 5, 0, 5], [0, 5, 0, 5]]);
    const cache = torch.zeros([1, 5, 2]);
    cache.narrowCopy_(1, 2, t([[[1, 2], [3, 4]]]));
    assert.deepEqual(cache.toArray(), [[[0, 0], [0, 0], [1, 2], [3, 4], [0, 0]]]);
  });
});

describe('dtypes and data out', () => {
  test('conversions between float, int and bool', () => {
    const f = t([-1.7, -0.2, 0, 1.7, 2.5]);
    assert.deepEqual(f.to('int64').toArray(), [-1, 0, 0, 1, 2]); // truncation
    assert.deepEqual(f.long().dtype, 'int64');
    assert.deepEqual(f.int().toArray(), [-1, 0, 0, 1, 2]);
    assert.deepEqual(f.bool().toArray(), [true, true, false, true, true]);
    assert.deepEqual(t([true, false]).float().toArray(), [1, 0]);
    assert.deepEqual(t([300, -1]).to('uint8').toArray(), [44, 255]); // wraps modulo 256
    assert.deepEqual(t([200]).to('int8').toArray(), [-56]);
    assert.deepEqual(t([40000]).to('int16').toArray(), [-25536]);
    assert.equal(f.double().dtype, 'float64');
    assert.equal(f.half().dtype, 'float16');
    assert.equal(f.bfloat16().dtype, 'bfloat16');
    assert.equal(torch.arange(3).float().dtype, 'float32');
    // Mixed dtypes promote like PyTorch: int64 + float32 → float32, float32 + float64 → float64.
    assert.equal(torch.arange(3).add(t([0.5, 0.5, 0.5])).dtype, 'float32');
    assert.equal(t([1]).add(t([1], { dtype: 'float64' })).dtype, 'float64');
  });

  test('bfloat16 rounds to 8 significant bits, ties to even', () => {
    const x = t([1.00390625, 1.01171875, 0.1, 3.14159, -0.0025, 1 + 2 ** -7]).to('bfloat16');
    assert.deepEqual(x.toArray(), [1, 1.015625, 0.10009765625, 3.140625, -0.00250244140625, 1.0078125]);
    // 3e38 = 1.7632·2¹²⁷ → 226/128·2¹²⁷: bfloat16 keeps float32's exponent range.
    assert.equal(t([3e38]).to('bfloat16').item(), (226 / 128) * 2 ** 127);
    assert.deepEqual(t([2 ** 8 + 1]).to('bfloat16').toArray(), [256]);
  });

  test('float16 rounds to 11 significant bits and overflows above 65504', () => {
    const x = t([0.1, 1 / 3, 65504, 70000, 1e-8, 2049]).to('float16');
    assert.deepEqual(x.toArray(), [0.0999755859375, 0.333251953125, 65504, Infinity, 0, 2048]);
    // Below 2⁻¹⁴ float16 is subnormal with spacing 2⁻²⁴: 6e-5 = 1006.6·2⁻²⁴ → 1007·2⁻²⁴.
    assert.deepEqual(t([6e-5]).to('float16').toArray(), [1007 * 2 ** -24]);
  });

  test('data() / toFlatArray() / toArray() / item()', () => {
    assert.ok(m23().data() instanceof Float32Array);
    assert.ok(torch.arange(2).data() instanceof BigInt64Array);
    assert.deepEqual(Array.from(torch.arange(2).data() as BigInt64Array), [0n, 1n]);
    assert.ok(t([1], { dtype: 'bfloat16' }).data() instanceof Float32Array);
    assert.ok(t([1], { dtype: 'float16' }).data() instanceof Float32Array);
    assert.ok(t([true]).data() instanceof Uint8Array);
    assert.ok(t([1], { dtype: 'int8' }).data() instanceof Int8Array);
    // data() of a non-contiguous view is in logical (row-major) order.
    assert.deepEqual(Array.from(m23().T.data() as Float32Array), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(m23().toFlatArray(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(torch.zeros([2, 0]).toArray(), [[], []]);
    assert.equal(t([[7]]).item(), 7);
    assert.equal(t([true]).item(), 1);
    assert.equal(torch.arange(5).sum().item(), 10);
    assert.equal(t([0.1], { dtype: 'float64' }).item(), 0.1);
    assert.throws(() => m23().item(), (e: unknown) => e instanceof TorchError && /6 elements/.test(e.message));
    assert.equal(m23().toString(), 'Tensor(float32[2, 3], cpu)');
    assert.equal(m23().device, 'cpu');
  });
});
