// The seeded PRNG, train/eval splits and per-epoch batch order: deterministic from the seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchIndices, mixSeed, mulberry32, permutation, trainEvalSplit } from '../../src/data/index.js';

test('mulberry32: same seed, same stream; floats in [0, 1); roughly uniform', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 10_000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.notEqual(mulberry32(1)(), mulberry32(2)());
  // the reference implementation's first output for seed 0 (t = 0x6D2B79F5 → …)
  assert.equal(mulberry32(0)(), 0.26642920868471265);
});

test('mixSeed separates (seed, epoch) streams', () => {
  assert.equal(mixSeed(1, 2), mixSeed(1, 2));
  assert.notEqual(mixSeed(1, 2), mixSeed(2, 1));
  assert.notEqual(mixSeed(1, 0), mixSeed(1, 1));
  assert.throws(() => mixSeed(1, 0.5), /integers/);
});

test('permutation covers 0 … n−1', () => {
  assert.deepEqual([...permutation(50, mulberry32(3))].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
});

test('trainEvalSplit: sizes, disjoint, order kept, deterministic', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const s = trainEvalSplit(items, 0.1, 7);
  assert.equal(s.eval.length, 10);
  assert.equal(s.train.length, 90);
  assert.deepEqual([...s.train, ...s.eval].sort((x, y) => x - y), items);
  assert.deepEqual(s.train, [...s.train].sort((x, y) => x - y));
  assert.deepEqual(trainEvalSplit(items, 0.1, 7), s);
  assert.notDeepEqual(trainEvalSplit(items, 0.1, 8).eval, s.eval);
  assert.deepEqual(s.eval.slice(0, 0), []);
});

test('trainEvalSplit: at least one eval item when fraction > 0 and n ≥ 2, never all', () => {
  assert.equal(trainEvalSplit([1, 2], 0.01, 0).eval.length, 1);
  assert.equal(trainEvalSplit([1, 2], 0.99, 0).train.length, 1);
  assert.equal(trainEvalSplit([1, 2, 3, 4, 5], 0.01, 0).eval.length, 1);
  assert.deepEqual(trainEvalSplit([1], 0.5, 0), { train: [1], eval: [] });
  assert.deepEqual(trainEvalSplit([1, 2, 3], 0, 0), { train: [1, 2, 3], eval: [] });
  assert.deepEqual(trainEvalSplit([], 0.2, 0), { train: [], eval: [] });
  assert.throws(() => trainEvalSplit([1, 2], 1, 0), /evalFraction/);
});

test('batchIndices: a deterministic shuffle per epoch, every index once', () => {
  const e0 = batchIndices(10, 3, 1, 0);
  assert.deepEqual(e0.map((b) => b.length), [3, 3, 3, 1]);
  assert.deepEqual(e0.flat().sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual(batchIndices(10, 3, 1, 0), e0); // a resumed run sees the same order
  assert.notDeepEqual(batchIndices(10, 3, 1, 1), e0);
  assert.notDeepEqual(batchIndices(10, 3, 2, 0), e0);
  assert.deepEqual(batchIndices(10, 3, 1, 0, { dropLast: true }).map((b) => b.length), [3, 3, 3]);
  assert.deepEqual(batchIndices(5, 2, 1, 0, { sequential: true }), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(batchIndices(0, 2, 1, 0), []);
  assert.throws(() => batchIndices(5, 0, 1, 0), /batchSize/);
});
