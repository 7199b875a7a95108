// Shape and dtype errors name the operation and print the actual and the expected values, so a
// user finds the bad line without a debugger.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { F, TorchError, ShapeError } from '../../src/torch/index.js';
import type { DType } from '../../src/torch/index.js';

/** Asserts fn throws an instance of cls whose message contains every fragment. */
function throwsWith(fn: () => unknown, cls: typeof TorchError, ...fragments: string[]): TorchError {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof cls, `expected a ${cls.name}, got ${String(caught)}`);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
  return caught;
}

const a23 = (): torch.Tensor => torch.zeros([2, 3]);

describe('shape errors', () => {
  test('matmul: inner dimensions, with both shapes and dtypes', () => {
    throwsWith(() => a23().matmul(torch.zeros([4, 5])), ShapeError, 'matmul', 'float32[2, 3]', 'float32[4, 5]', '3 ≠ 4');
    throwsWith(() => a23().matmul(torch.zeros([4])), ShapeError, 'float32[2, 3] @ float32[4]', '3 ≠ 4');
    throwsWith(() => torch.zeros([5, 2, 3]).matmul(torch.zeros([5, 2, 3])), ShapeError, 'float32[5, 2, 3] @ float32[5, 2, 3]', '3 ≠ 2');
    throwsWith(() => a23().mm(torch.zeros([4, 3])), TorchError, 'mm(float32[2, 3], float32[4, 3])', '2x3 and 4x3');
    throwsWith(() => torch.zeros([2, 2, 3]).bmm(torch.zeros([2, 4, 3])), TorchError, 'bmm(float32[2, 2, 3], float32[2, 4, 3])', '[2, 3]', '[2, 4]');
    throwsWith(() => F.linear(a23(), torch.zeros([4, 5])), TorchError, 'linear(float32[2, 3], float32[4, 5]', '2x3 and 5x4');
  });

  test('view / reshape: the tensor, its element count and the requested shape', () => {
    throwsWith(() => a23().view(4, 2), ShapeError, 'view', 'float32[2, 3]', '6 elements', '[4, 2]');
    throwsWith(() => a23().view(-1, 4), ShapeError, '6 elements', '[-1, 4]');
    throwsWith(() => a23().view(-1, -1), ShapeError, '[-1, -1]');
    throwsWith(() => a23().reshape(7), ShapeError, 'reshape', 'float32[2, 3]', '[7]');
    // PyTorch takes reshape((3, 2)) too; here the sizes are separate arguments, and the error says so
    throwsWith(() => (a23() as unknown as { reshape(s: number[]): unknown }).reshape([3, 2]), ShapeError, 'separate arguments', '.reshape(3, 2)');
    throwsWith(() => a23().view(2.5, 2), ShapeError, 'whole numbers', '[2.5,2]');
    // Valid shapes still work, including -1.
    assert.deepEqual(a23().view(-1, 2).shape, [3, 2]);
    assert.deepEqual(torch.zeros([0, 3]).view(-1, 3).shape, [0, 3]);
  });

  test('broadcast failures name both shapes and the dimension', () => {
    throwsWith(() => a23().add(torch.zeros([4])), TorchError, 'add(float32[2, 3], float32[4])', 'tensor a (3)', 'tensor b (4)', 'dimension 1');
    throwsWith(() => a23().mul(torch.zeros([3, 2])), TorchError, 'mul(float32[2, 3], float32[3, 2])', '(3)', '(2)');
    throwsWith(() => torch.where(torch.ones([4], { dtype: 'bool' }), a23(), a23()), TorchError, 'where(bool[4], float32[2, 3], float32[2, 3])');
    throwsWith(() => a23().expand(4, 3), TorchError, 'expand(float32[2, 3], [4,3])', '(4)', '(2)');
    throwsWith(() => torch.cat([a23(), torch.zeros([2, 4])]), TorchError, 'cat(float32[2, 3], float32[2, 4])', 'Expected size 3 but got size 4');
  });

  test('crossEntropy: target count and dtype', () => {
    throwsWith(() => F.crossEntropy(torch.zeros([2, 3, 5]), torch.zeros([5], { dtype: 'int64' })), ShapeError, 'crossEntropy', 'float32[2, 3, 5]', 'need 6 targets', 'int64[5]');
    throwsWith(() => F.crossEntropy(torch.zeros([4, 5]), torch.zeros([3], { dtype: 'int64' })), TorchError, 'crossEntropy(float32[4, 5], int64[3])', '(4)', '(3)');
    throwsWith(() => F.crossEntropy(torch.zeros([4, 5]), torch.zeros([4], { dtype: 'int32' })), TorchError, 'int32[4]');
  });

  test('assertShape prints the expected pattern and the actual shape', () => {
    const x = a23();
    throwsWith(() => x.assertShape([null, 4], 'hidden'), ShapeError, 'hidden: expected shape [?, 4], got float32[2, 3]');
    throwsWith(() => x.assertShape([2, 3, 1]), ShapeError, 'expected shape [2, 3, 1], got float32[2, 3]');
    throwsWith(() => x.assertShape([2]), ShapeError, '[2]', 'float32[2, 3]');
    assert.equal(x.assertShape([2, 3]), x);
    assert.equal(x.assertShape([null, null]), x);
  });

  test('assigning a gradient of the wrong shape', () => {
    const p = torch.zeros([3]).requiresGrad_();
    throwsWith(() => { p.grad = torch.zeros([5]); }, ShapeError, 'grad', 'float32[5]', 'float32[3]');
    throwsWith(() => { p.grad = torch.zeros([1]); }, ShapeError, 'float32[1]'); // would broadcast silently in an optimizer
    assert.equal(p.grad, null);
    p.grad = torch.ones([3]);
    assert.deepEqual(p.grad?.toArray(), [1, 1, 1]);
  });

  test('other shape problems: size(), layerNorm, attention, select, scalar item', () => {
    throwsWith(() => a23().size(5), ShapeError, 'size(5)', 'float32[2, 3]', '2 dims');
    throwsWith(() => F.layerNorm(a23(), [4]), TorchError, 'layerNorm(float32[2, 3]', '[*, 4]', '[2, 3]');
    throwsWith(() => F.scaledDotProductAttention(torch.zeros([1, 1, 2, 4]), torch.zeros([1, 1, 2, 3]), torch.zeros([1, 1, 2, 3])), TorchError, 'float32[1, 1, 2, 4]', 'float32[1, 1, 2, 3]');
    throwsWith(() => a23().select(0, 5), TorchError, 'select(float32[2, 3], 0, 5)', 'index 5 out of range');
    throwsWith(() => a23().item(), TorchError, 'item(float32[2, 3])', '6 elements, expected 1');
    throwsWith(() => torch.tensor([[1, 2], [3]]), TorchError, 'ragged', 'data[0] has shape [2]', 'data[1] has [1]');
  });
});

describe('dtype errors', () => {
  test('mixed float dtypes in matmul name both dtypes', () => {
    throwsWith(() => a23().matmul(torch.zeros([3, 2], { dtype: 'float64' })), TorchError, 'float32[2, 3]', 'float64[3, 2]', 'Float', 'Double');
  });

  test('index arguments must be integers', () => {
    throwsWith(() => F.embedding(torch.zeros([2]), torch.zeros([4, 2])), TorchError, 'embedding(float32[2], float32[4, 2])', 'Long, Int');
    throwsWith(() => a23().gather(1, torch.zeros([2, 2])), TorchError, 'gather(float32[2, 3], 1, float32[2, 2])', 'int64');
    throwsWith(() => torch.where(a23(), a23(), a23()), TorchError, 'boolean');
  });

  test('requiresGrad on an integer tensor and unknown dtypes', () => {
    throwsWith(
      () => {
        torch.zeros([2], { dtype: 'int64' }).requiresGrad = true;
      },
      TorchError,
      'only floating-point tensors can require gradients',
      'int64',
    );
    throwsWith(() => torch.zeros([1], { dtype: 'float8' as unknown as DType }), TorchError, "unknown dtype 'float8'", 'float32, float64, bfloat16');
    assert.throws(() => torch.autocast('float16', () => 0), (e: unknown) => e instanceof TypeError && /bfloat16 only, got float16/.test(e.message));
  });
});

describe('error objects', () => {
  test('classes, names and the libtorch cause', () => {
    const e = throwsWith(() => a23().add(torch.zeros([4])), TorchError);
    assert.equal(e.name, 'TorchError');
    assert.ok(e instanceof Error);
    assert.ok(e.cause instanceof Error, 'the addon\'s error is kept as the cause');
    assert.ok(!e.message.includes('\n'), 'one line: no C++ backtrace');
    const s = throwsWith(() => a23().view(5), ShapeError);
    assert.equal(s.name, 'ShapeError');
    assert.ok(s instanceof TorchError);
  });

  test('a failed op leaves no tensor behind', () => {
    const before = torch.memory().liveTensors;
    const x = a23();
    const y = torch.zeros([4]);
    for (let i = 0; i < 10; i++) assert.throws(() => x.add(y));
    x.dispose();
    y.dispose();
    assert.equal(torch.memory().liveTensors, before);
  });
});
