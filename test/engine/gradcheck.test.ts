// Every differentiable op's gradient against central differences in float64 (helpers.ts's
// gradcheck: eps 1e-6, tolerance 1e-6), then the autograd features: retainGraph, torch.grad,
// noGrad/enableGrad, detach, requiresGrad on integer tensors, and accumulation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { F, TorchError } from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble, rng } from './helpers.js';

const f64 = (data: number[] | number[][], shape?: number[]): Tensor => torch.tensor(data, { dtype: 'float64', ...(shape ? { shape } : {}) });
const long = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: 'int64' });
/** Values with |x| in [0.2, 1] and mixed signs: away from the kinks of abs/relu/sign. */
function awayFromZero(shape: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return torch.tensor(Float64Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (0.2 + 0.8 * r())), { shape });
}
const positive = (shape: number[], seed: number): Tensor => randDouble(shape, seed, 0.5, 2);
const rand = randDouble;

interface Case {
  name: string;
  fn: (...xs: Tensor[]) => Tensor;
  inputs: () => Tensor[];
}

function run(cases: Case[]): void {
  for (const c of cases) {
    test(c.name, () => {
      torch.tidy(() => {
        gradcheck(c.fn, c.inputs(), { name: c.name });
      });
    });
  }
}

describe('gradcheck itself', () => {
  test('passes a correct gradient and catches a wrong one', () => {
    assert.ok(gradcheck((x) => x.mul(x), [rand([3], 1)]) < 1e-7);
    // x·detach(x) has autograd gradient x, but the true derivative of x² is 2x.
    assert.throws(() => gradcheck((x) => x.mul(x.detach()), [rand([3], 1)]), /central difference/);
    // A gradient that is right for some elements but wrong for one is caught too.
    assert.throws(() => gradcheck((x) => torch.cat([x.narrow(0, 0, 2), x.narrow(0, 2, 1).detach().add(x.narrow(0, 2, 1).mul(0))]), [rand([3], 2)]));
    assert.throws(() => gradcheck((x) => x, [torch.tensor([1, 2])]), /float64/);
  });
});

describe('elementwise', () => {
  run([
    { name: 'add (tensor, broadcast)', fn: (a, b) => a.add(b), inputs: () => [rand([2, 3], 1), rand([3], 2)] },
    { name: 'add (tensor, alpha)', fn: (a, b) => a.add(b, -2.5), inputs: () => [rand([2, 3], 1), rand([2, 1], 2)] },
    { name: 'add (scalar)', fn: (a) => a.add(1.5), inputs: () => [rand([4], 3)] },
    { name: 'sub (tensor, broadcast)', fn: (a, b) => a.sub(b), inputs: () => [rand([2, 1], 4), rand([1, 3], 5)] },
    { name: 'sub (tensor, alpha)', fn: (a, b) => a.sub(b, 3), inputs: () => [rand([3], 4), rand([3], 5)] },
    { name: 'sub (scalar) / rsub', fn: (a) => a.sub(0.7).mul(a.rsub(2)), inputs: () => [rand([4], 6)] },
    { name: 'mul (tensor, broadcast)', fn: (a, b) => a.mul(b), inputs: () => [rand([2, 3], 7), rand([3], 8)] },
    { name: 'mul (scalar)', fn: (a) => a.mul(-3.25), inputs: () => [rand([4], 9)] },
    { name: 'div (tensor)', fn: (a, b) => a.div(b), inputs: () => [rand([2, 3], 10), positive([2, 3], 11)] },
    { name: 'div (scalar)', fn: (a) => a.div(0.3), inputs: () => [rand([4], 12)] },
    { name: 'pow (tensor ^ tensor)', fn: (a, b) => a.pow(b), inputs: () => [positive([2, 3], 13), rand([2, 3], 14)] },
    { name: 'pow (tensor ^ scalar 3)', fn: (a) => a.pow(3), inputs: () => [rand([4], 15)] },
    { name: 'pow (tensor ^ scalar 0.5)', fn: (a) => a.pow(0.5), inputs: () => [positive([4], 16)] },
    { name: 'neg', fn: (a) => a.neg(), inputs: () => [rand([4], 17)] },
    { name: 'exp', fn: (a) => a.exp(), inputs: () => [rand([4], 18)] },
    { name: 'log', fn: (a) => a.log(), inputs: () => [positive([4], 19)] },
    { name: 'log1p', fn: (a) => a.log1p(), inputs: () => [rand([4], 20, -0.5, 2)] },
    { name: 'expm1', fn: (a) => a.expm1(), inputs: () => [rand([4], 21)] },
    { name: 'sqrt', fn: (a) => a.sqrt(), inputs: () => [positive([4], 22)] },
    { name: 'rsqrt', fn: (a) => a.rsqrt(), inputs: () => [positive([4], 23)] },
    { name: 'abs', fn: (a) => a.abs(), inputs: () => [awayFromZero([6], 24)] },
    { name: 'sin', fn: (a) => a.sin(), inputs: () => [rand([4], 25, -3, 3)] },
    { name: 'cos', fn: (a) => a.cos(), inputs: () => [rand([4], 26, -3, 3)] },
    { name: 'tanh', fn: (a) => a.tanh(), inputs: () => [rand([4], 27, -2, 2)] },
    { name: 'sigmoid', fn: (a) => a.sigmoid(), inputs: () => [rand([4], 28, -3, 3)] },
    { name: 'logSigmoid', fn: (a) => a.logSigmoid(), inputs: () => [rand([4], 29, -3, 3)] },
    { name: 'F.logSigmoid', fn: (a) => F.logSigmoid(a), inputs: () => [rand([4], 29, -3, 3)] },
    { name: 'softplus', fn: (a) => a.softplus(), inputs: () => [rand([4], 30, -3, 3)] },
    { name: 'relu', fn: (a) => a.relu(), inputs: () => [awayFromZero([6], 31)] },
    { name: 'silu', fn: (a) => a.silu(), inputs: () => [rand([4], 32, -3, 3)] },
    { name: 'gelu (exact)', fn: (a) => a.gelu(), inputs: () => [rand([6], 33, -3, 3)] },
    { name: 'gelu (tanh)', fn: (a) => F.gelu(a, 'tanh'), inputs: () => [rand([6], 34, -3, 3)] },
    { name: 'erf', fn: (a) => a.erf(), inputs: () => [rand([4], 35, -2, 2)] },
    { name: 'square', fn: (a) => a.square(), inputs: () => [rand([4], 36)] },
    { name: 'reciprocal', fn: (a) => a.reciprocal(), inputs: () => [positive([4], 37)] },
    { name: 'clamp (both bounds)', fn: (a) => a.clamp(-0.5, 0.5), inputs: () => [f64([-0.9, -0.3, 0.1, 0.45, 0.7, -0.55])] },
    { name: 'clamp (min only)', fn: (a) => a.clamp(0.1), inputs: () => [f64([-0.9, 0.3, 0.05, 0.6])] },
    { name: 'clampT (tensor bounds)', fn: (a, lo) => a.clampT(lo, null), inputs: () => [f64([-0.9, 0.3, 0.05, 0.6]), f64([0, 0, 0.5, 0.5])] },
    { name: 'maximum / minimum', fn: (a, b) => a.maximum(b).add(a.minimum(b).mul(2)), inputs: () => [f64([1, -2, 3]), f64([0.5, 0.5, 4])] },
    { name: 'lerp', fn: (a, b) => a.lerp(b, 0.3), inputs: () => [rand([3], 38), rand([3], 39)] },
    { name: 'atan2', fn: (a, b) => a.atan2(b), inputs: () => [rand([3], 40), positive([3], 41)] },
  ]);
});

describe('reductions', () => {
  run([
    { name: 'sum (all)', fn: (a) => a.sum(), inputs: () => [rand([2, 3], 50)] },
    { name: 'sum (dim, keepdim)', fn: (a) => a.sum(1, true), inputs: () => [rand([2, 3], 51)] },
    { name: 'sum (dims)', fn: (a) => a.sum([0, 2]), inputs: () => [rand([2, 3, 2], 52)] },
    { name: 'mean (all)', fn: (a) => a.mean(), inputs: () => [rand([2, 3], 53)] },
    { name: 'mean (dim)', fn: (a) => a.mean(0), inputs: () => [rand([2, 3], 54)] },
    { name: 'max (all)', fn: (a) => a.max(), inputs: () => [rand([2, 3], 55)] },
    { name: 'max (dim)', fn: (a) => a.max(1), inputs: () => [rand([3, 4], 56)] },
    { name: 'maxWithIndices values', fn: (a) => a.maxWithIndices(0).values, inputs: () => [rand([3, 4], 57)] },
    { name: 'min (all)', fn: (a) => a.min(), inputs: () => [rand([2, 3], 58)] },
    { name: 'min (dim, keepdim)', fn: (a) => a.min(0, true), inputs: () => [rand([3, 4], 59)] },
    { name: 'minWithIndices values', fn: (a) => a.minWithIndices(1).values, inputs: () => [rand([3, 4], 60)] },
    { name: 'var (correction 1)', fn: (a) => a.var(1), inputs: () => [rand([2, 4], 61)] },
    { name: 'var (correction 0, all)', fn: (a) => a.var(undefined, { correction: 0 }), inputs: () => [rand([2, 4], 62)] },
    { name: 'std (dim)', fn: (a) => a.std(0), inputs: () => [rand([3, 2], 63)] },
    { name: 'std (all, correction 0)', fn: (a) => a.std(undefined, { correction: 0 }), inputs: () => [rand([5], 64)] },
    { name: 'logsumexp', fn: (a) => a.logsumexp(-1), inputs: () => [rand([2, 4], 65, -3, 3)] },
    { name: 'norm (2, all)', fn: (a) => a.norm(), inputs: () => [rand([2, 3], 66)] },
    { name: 'norm (2, dim)', fn: (a) => a.norm(2, 1), inputs: () => [rand([2, 3], 67)] },
    { name: 'norm (1)', fn: (a) => a.norm(1), inputs: () => [awayFromZero([5], 68)] },
    { name: 'cumsum', fn: (a) => a.cumsum(1), inputs: () => [rand([2, 4], 69)] },
    { name: 'cumprod', fn: (a) => a.cumprod(0), inputs: () => [awayFromZero([4], 70)] },
    { name: 'prod (all)', fn: (a) => a.prod(), inputs: () => [awayFromZero([5], 71)] },
    { name: 'prod (dim)', fn: (a) => a.prod(1), inputs: () => [awayFromZero([2, 3], 72)] },
  ]);
});

describe('linear algebra', () => {
  run([
    { name: 'matmul (2-D)', fn: (a, b) => a.matmul(b), inputs: () => [rand([2, 3], 80), rand([3, 4], 81)] },
    { name: 'matmul (batched, broadcast)', fn: (a, b) => a.matmul(b), inputs: () => [rand([2, 2, 3], 82), rand([3, 2], 83)] },
    { name: 'matmul (matrix-vector)', fn: (a, b) => a.matmul(b), inputs: () => [rand([2, 3], 84), rand([3], 85)] },
    { name: 'mm', fn: (a, b) => a.mm(b), inputs: () => [rand([3, 2], 86), rand([2, 3], 87)] },
    { name: 'bmm', fn: (a, b) => a.bmm(b), inputs: () => [rand([2, 2, 3], 88), rand([2, 3, 2], 89)] },
    { name: "einsum('bij,bjk->bik')", fn: (a, b) => torch.einsum('bij,bjk->bik', a, b), inputs: () => [rand([2, 2, 3], 90), rand([2, 3, 2], 91)] },
    { name: "einsum('ij,ij->i')", fn: (a, b) => torch.einsum('ij,ij->i', a, b), inputs: () => [rand([2, 3], 92), rand([2, 3], 93)] },
    { name: 'F.linear (x, W, b)', fn: (x, w, b) => F.linear(x, w, b), inputs: () => [rand([2, 3], 94), rand([4, 3], 95), rand([4], 96)] },
    { name: 'F.linear (no bias, 3-D x)', fn: (x, w) => F.linear(x, w), inputs: () => [rand([2, 2, 3], 97), rand([2, 3], 98)] },
    { name: 'F.addmm (c, a, b, β, α)', fn: (c, a, b) => F.addmm(c, a, b, 0.5, 2), inputs: () => [rand([3], 99), rand([2, 4], 100), rand([4, 3], 101)] },
    { name: 'F.baddbmm', fn: (c, a, b) => F.baddbmm(c, a, b, 1.5, -1), inputs: () => [rand([2, 2, 2], 102), rand([2, 2, 3], 103), rand([2, 3, 2], 104)] },
  ]);
});

describe('shape ops', () => {
  run([
    { name: 'view', fn: (a) => a.view(3, 2).mul(f64([[1], [2], [3]])), inputs: () => [rand([2, 3], 110)] },
    { name: 'reshape (non-contiguous input)', fn: (a) => a.T.reshape(6), inputs: () => [rand([2, 3], 111)] },
    { name: 'permute', fn: (a) => a.permute(2, 0, 1), inputs: () => [rand([2, 3, 2], 112)] },
    { name: 'transpose', fn: (a) => a.transpose(0, 2), inputs: () => [rand([2, 3, 2], 113)] },
    { name: 'contiguous', fn: (a) => a.T.contiguous(), inputs: () => [rand([2, 3], 114)] },
    { name: 'expand (gradient sums over the expanded dim)', fn: (a) => a.expand(3, 4), inputs: () => [rand([3, 1], 115)] },
    { name: 'squeeze / unsqueeze', fn: (a) => a.squeeze(1).unsqueeze(0).mul(f64([[1, 2, 3]])), inputs: () => [rand([3, 1], 116)] },
    { name: 'flatten', fn: (a) => a.flatten(1), inputs: () => [rand([2, 2, 2], 117)] },
    { name: 'slice (step 2)', fn: (a) => a.slice(1, 1, undefined, 2), inputs: () => [rand([2, 5], 118)] },
    { name: 'select', fn: (a) => a.select(0, 1), inputs: () => [rand([3, 2], 119)] },
    { name: 'narrow', fn: (a) => a.narrow(1, 1, 2), inputs: () => [rand([2, 4], 120)] },
    { name: 'cat', fn: (a, b) => torch.cat([a, b, a], 1), inputs: () => [rand([2, 1], 121), rand([2, 2], 122)] },
    { name: 'stack', fn: (a, b) => torch.stack([a, b.exp()], 1), inputs: () => [rand([2, 3], 123), rand([2, 3], 124)] },
    {
      name: 'split',
      fn: (a) => {
        const [p, q, r] = a.split([1, 2, 1]);
        return torch.cat([(r as Tensor).mul(2), p as Tensor, (q as Tensor).exp()]);
      },
      inputs: () => [rand([4, 2], 125)],
    },
    {
      name: 'split (by size) / chunk',
      fn: (a) => {
        const [p, q] = a.chunk(2, 1);
        const [r, s] = a.split(2, 1);
        return (p as Tensor).mul(q as Tensor).add((r as Tensor).sum(1, true)).sub((s as Tensor).square());
      },
      inputs: () => [rand([2, 4], 126)],
    },
    { name: 'flip', fn: (a) => a.flip(0, 1).mul(f64([1, 2, 3])), inputs: () => [rand([2, 3], 127)] },
    { name: 'repeat', fn: (a) => a.repeat(2, 3), inputs: () => [rand([2, 1], 128)] },
    { name: 'roll', fn: (a) => a.roll(1, 0).mul(f64([1, 2, 3])), inputs: () => [rand([3], 129)] },
  ]);
});

describe('indexing', () => {
  run([
    { name: 'gather', fn: (a) => a.gather(1, long([[0, 0, 2], [1, 2, 1]])), inputs: () => [rand([2, 3], 130)] },
    { name: 'scatter (self and src)', fn: (a, s) => a.scatter(1, long([[2], [0]]), s), inputs: () => [rand([2, 3], 131), rand([2, 1], 132)] },
    { name: 'scatterAdd (repeated indices)', fn: (a, s) => a.scatterAdd(0, long([0, 2, 0]), s), inputs: () => [rand([3], 133), rand([3], 134)] },
    { name: 'indexSelect (repeated indices)', fn: (a) => a.indexSelect(0, long([2, 0, 2])), inputs: () => [rand([3, 2], 135)] },
    { name: 'index (rows, with repeats)', fn: (a) => a.index([long([1, 1, 0])]), inputs: () => [rand([3, 2], 136)] },
    { name: 'index (row/col pairs)', fn: (a) => a.index([long([0, 2]), long([1, 1])]), inputs: () => [rand([3, 2], 137)] },
    { name: 'maskedFill', fn: (a) => a.maskedFill(torch.tensor([true, false, true]), 0.5), inputs: () => [rand([2, 3], 138)] },
    { name: 'where (both branches)', fn: (a, b) => torch.where(torch.tensor([[true, false], [false, true]]), a, b), inputs: () => [rand([2, 2], 139), rand([2], 140)] },
    { name: 'where (scalar other)', fn: (a) => torch.where(torch.tensor([true, false, true]), a, 2), inputs: () => [rand([3], 141)] },
    { name: 'tril', fn: (a) => a.tril(), inputs: () => [rand([3, 3], 142)] },
    { name: 'triu (k=1)', fn: (a) => a.triu(1), inputs: () => [rand([3, 3], 143)] },
  ]);
});

describe('nn functions and losses', () => {
  const targets = (): Tensor => long([2, 0, 1]);
  run([
    { name: 'softmax', fn: (a) => a.softmax(-1), inputs: () => [rand([2, 4], 150, -2, 2)] },
    { name: 'softmax (dim 0)', fn: (a) => F.softmax(a, 0), inputs: () => [rand([3, 2], 151, -2, 2)] },
    { name: 'logSoftmax', fn: (a) => F.logSoftmax(a), inputs: () => [rand([2, 4], 152, -2, 2)] },
    { name: 'layerNorm (input, weight, bias)', fn: (x, w, b) => F.layerNorm(x, [4], w, b), inputs: () => [rand([3, 4], 153, -2, 2), rand([4], 154, 0.5, 1.5), rand([4], 155)] },
    { name: 'layerNorm (no affine, 2 trailing dims)', fn: (x) => F.layerNorm(x, [2, 3]), inputs: () => [rand([2, 2, 3], 156, -2, 2)] },
    { name: 'embedding (weight; repeated ids accumulate)', fn: (w) => F.embedding(long([[0, 2], [2, 2]]), w), inputs: () => [rand([3, 2], 157)] },
    { name: 'crossEntropy (logits)', fn: (l) => F.crossEntropy(l, targets()), inputs: () => [rand([3, 4], 158, -2, 2)] },
    { name: 'crossEntropy (ignoreIndex)', fn: (l) => F.crossEntropy(l, long([2, -100, 1])), inputs: () => [rand([3, 4], 159, -2, 2)] },
    { name: 'crossEntropy (label smoothing 0.1, ignoreIndex)', fn: (l) => F.crossEntropy(l, long([2, 0, 5]), { labelSmoothing: 0.1, ignoreIndex: 5 }), inputs: () => [rand([3, 4], 160, -2, 2)] },
    { name: 'crossEntropy (sum, class weights)', fn: (l) => F.crossEntropy(l, targets(), { reduction: 'sum', weight: f64([1, 2, 0.5, 1]) }), inputs: () => [rand([3, 4], 161, -2, 2)] },
    { name: 'crossEntropy ((B, T, C) logits)', fn: (l) => F.crossEntropy(l, long([[1, 0, 3]])), inputs: () => [rand([1, 3, 4], 162, -2, 2)] },
    { name: 'nllLoss', fn: (lp) => F.nllLoss(lp, long([1, -100, 3])), inputs: () => [rand([3, 4], 163)] },
    { name: 'mseLoss (input and target)', fn: (a, b) => F.mseLoss(a, b), inputs: () => [rand([2, 3], 164), rand([2, 3], 165)] },
    { name: 'mseLoss (none)', fn: (a, b) => F.mseLoss(a, b, 'none'), inputs: () => [rand([4], 166), rand([4], 167)] },
    { name: 'bceWithLogits (logits)', fn: (x) => F.binaryCrossEntropyWithLogits(x, f64([1, 0, 0.3, 1])), inputs: () => [rand([4], 168, -3, 3)] },
    { name: 'bceWithLogits (sum)', fn: (x) => F.binaryCrossEntropyWithLogits(x, f64([0, 1, 1]), 'sum'), inputs: () => [rand([3], 169, -3, 3)] },
    { name: 'scaledDotProductAttention (q, k, v)', fn: (q, k, v) => F.scaledDotProductAttention(q, k, v), inputs: () => [rand([1, 2, 3, 2], 170), rand([1, 2, 3, 2], 171), rand([1, 2, 3, 2], 172)] },
    { name: 'scaledDotProductAttention (causal)', fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true }), inputs: () => [rand([1, 2, 4, 2], 173), rand([1, 2, 4, 2], 174), rand([1, 2, 4, 2], 175)] },
    {
      name: 'scaledDotProductAttention (causal + padding mask, Tq < Tk)',
      fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { isCausal: true, mask: torch.tensor([false, true, true, true]).view(1, 1, 1, 4) }),
      inputs: () => [rand([1, 1, 2, 2], 176), rand([1, 1, 4, 2], 177), rand([1, 1, 4, 2], 178)],
    },
  ]);
});

describe('autograd features', () => {
  test('retainGraph lets backward run twice (gradients add); without it the second call throws', () => {
    const x = torch.tensor([0.5, -1], { dtype: 'float64', requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    assertClose(x.grad as Tensor, [Math.exp(0.5), Math.exp(-1)], { atol: 1e-12 });
    y.backward();
    assertClose(x.grad as Tensor, [2 * Math.exp(0.5), 2 * Math.exp(-1)], { atol: 1e-12 });
    const z = x.exp().sum();
    z.backward();
    assert.throws(() => z.backward(), (e: unknown) => e instanceof TorchError && /backward/.test(e.message));
  });

  test('gradients accumulate across backward calls; zeroGrad forgets them', () => {
    const x = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const grad = (): Tensor | null => x.grad; // a fresh read each time (no narrowing of the getter)
    assert.equal(grad(), null);
    x.mul(x).sum().backward(); // 2x
    x.mul(3).sum().backward(); // + 3
    assertClose(grad() as Tensor, [5, 7, 9], { atol: 0 });
    x.zeroGrad();
    assert.equal(grad(), null);
    x.sum().backward();
    assertClose(grad() as Tensor, [1, 1, 1], { atol: 0 });
    x.grad = torch.tensor([7, 7, 7], { dtype: 'float64' });
    assertClose(x.grad as Tensor, [7, 7, 7], { atol: 0 });
  });

  test('backward of a non-scalar needs a gradient argument', () => {
    const x = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(x);
    assert.throws(() => y.backward(), TorchError);
    y.backward(torch.tensor([1, 10], { dtype: 'float64' }));
    assertClose(x.grad as Tensor, [2, 40], { atol: 0 });
  });

  test('torch.grad returns gradients without touching .grad; null for unused inputs; createGraph gives second derivatives', () => {
    const x = torch.tensor([2, -1], { dtype: 'float64', requiresGrad: true });
    const u = torch.tensor([5], { dtype: 'float64', requiresGrad: true });
    const y = x.pow(3).sum(); // dy/dx = 3x², d²y/dx² = 6x
    const [gx, gu] = torch.grad(y, [x, u], { retainGraph: true });
    assertClose(gx as Tensor, [12, 3], { atol: 1e-12 });
    assert.equal(gu, null);
    assert.equal(x.grad, null);
    const [g1] = torch.grad(y, [x], { createGraph: true });
    assert.equal((g1 as Tensor).requiresGrad, true);
    const [g2] = torch.grad((g1 as Tensor).sum(), [x]);
    assertClose(g2 as Tensor, [12, -6], { atol: 1e-12 });
    // gradOutputs weight a non-scalar output.
    const z = x.mul(x);
    const [gz] = torch.grad(z, [x], { gradOutputs: [torch.tensor([1, 3], { dtype: 'float64' })] });
    assertClose(gz as Tensor, [4, -6], { atol: 1e-12 });
    // Several outputs: gradients sum.
    const [gs] = torch.grad([x.sum(), x.mul(2).sum()], [x]);
    assertClose(gs as Tensor, [3, 3], { atol: 0 });
  });

  test('noGrad / enableGrad / isGradEnabled, restored after an exception', () => {
    const x = torch.tensor([1, 2], { requiresGrad: true });
    assert.equal(torch.isGradEnabled(), true);
    const y = torch.noGrad(() => {
      assert.equal(torch.isGradEnabled(), false);
      const inner = torch.enableGrad(() => {
        assert.equal(torch.isGradEnabled(), true);
        return x.mul(2);
      });
      assert.equal(inner.requiresGrad, true);
      assert.equal(torch.isGradEnabled(), false);
      return x.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    assert.equal(x.mul(2).requiresGrad, true);
    assert.throws(() => torch.noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.equal(torch.isGradEnabled(), true);
    assert.throws(() => torch.noGrad(() => Promise.resolve(1)), TypeError);
    assert.equal(torch.isGradEnabled(), true);
  });

  test('detach cuts the graph and shares storage', () => {
    const x = torch.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const d = x.detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.isLeaf, true);
    x.mul(x.detach()).sum().backward();
    assertClose(x.grad as Tensor, [1, 2, 3], { atol: 0 }); // not 2x
    torch.noGrad(() => x.mul_(2));
    assert.deepEqual(d.toArray(), [2, 4, 6]);
  });

  test('requiresGrad on an integer or bool tensor is a clear error', () => {
    for (const dtype of ['int64', 'int32', 'bool', 'uint8'] as const) {
      const i = torch.zeros([2], { dtype });
      assert.throws(
        () => {
          i.requiresGrad = true;
        },
        (e: unknown) => e instanceof TorchError && e.message.includes(dtype) && /floating-point/.test(e.message),
      );
      assert.throws(() => i.requiresGrad_(), TorchError);
      assert.equal(i.requiresGrad, false);
    }
    assert.throws(() => torch.arange(3, undefined, 1, { requiresGrad: true }), TorchError);
    assert.equal(torch.zeros([1], { dtype: 'bfloat16' }).requiresGrad_().requiresGrad, true);
  });

  test('embedding sends no gradient to the paddingIdx row', () => {
    const w = torch.ones([3, 2], { dtype: 'float64', requiresGrad: true });
    F.embedding(long([0, 1, 1, 2]), w, 1).mul(f64([[1, 2], [3, 4], [5, 6], [7, 8]])).sum().backward();
    assert.deepEqual(w.grad?.toArray(), [[1, 2], [0, 0], [7, 8]]);
  });

  test('leaves, gradFn names, retainGrad on intermediate tensors', () => {
    const x = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    assert.equal(x.isLeaf, true);
    assert.equal(x.gradFn, null);
    const h = x.mul(3).retainGrad();
    assert.equal(h.isLeaf, false);
    assert.match(h.gradFn ?? '', /^MulBackward/);
    h.square().sum().backward();
    assertClose(h.grad as Tensor, [6, 12], { atol: 0 }); // 2h
    assertClose(x.grad as Tensor, [18, 36], { atol: 0 }); // 2h·3
  });
});
