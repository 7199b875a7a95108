// Collate: (B, T) int64 tensors, right and left padding, SFT labels (−100 on prompt and padding,
// not shifted), preference batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IGNORE_INDEX, collatePreference, collateSft, padLeft, padRight } from '../../src/data/index.js';

const PAD = 9;

test('padRight: shapes, int64, pad values after, attention mask', () => {
  const { inputIds, attentionMask } = padRight([[1, 2, 3], [4], [5, 6]], PAD);
  assert.deepEqual(inputIds.shape, [3, 3]);
  assert.equal(inputIds.dtype, 'int64');
  assert.equal(attentionMask.dtype, 'int64');
  assert.deepEqual(inputIds.toArray(), [[1, 2, 3], [4, PAD, PAD], [5, 6, PAD]]);
  assert.deepEqual(attentionMask.toArray(), [[1, 1, 1], [1, 0, 0], [1, 1, 0]]);
  inputIds.dispose();
  attentionMask.dispose();
});

test('padLeft: padding before, the last real token at T−1', () => {
  const { inputIds, attentionMask } = padLeft([[1, 2, 3], [4]], PAD);
  assert.deepEqual(inputIds.toArray(), [[1, 2, 3], [PAD, PAD, 4]]);
  assert.deepEqual(attentionMask.toArray(), [[1, 1, 1], [0, 0, 1]]);
});

test('length and padToMultipleOf; empty batch and bad padId are errors', () => {
  assert.deepEqual(padRight([[1, 2, 3]], PAD, { padToMultipleOf: 4 }).inputIds.shape, [1, 4]);
  assert.deepEqual(padRight([[1]], PAD, { length: 3 }).inputIds.toArray(), [[1, PAD, PAD]]);
  assert.throws(() => padRight([], PAD), /empty/);
  assert.throws(() => padRight([[1]], Number.NaN), /padId/);
});

test('collateSft: labels are the ids where the loss counts, −100 on prompt and padding, not shifted', () => {
  const batch = collateSft(
    [
      { inputIds: [10, 11, 12, 13], lossMask: [0, 0, 1, 1] },
      { inputIds: [20, 21], lossMask: [1, 1] },
    ],
    PAD,
  );
  assert.deepEqual(batch.inputIds.shape, [2, 4]);
  assert.deepEqual(batch.labels.shape, [2, 4]);
  assert.equal(batch.labels.dtype, 'int64');
  assert.deepEqual(batch.inputIds.toArray(), [[10, 11, 12, 13], [20, 21, PAD, PAD]]);
  assert.deepEqual(batch.attentionMask.toArray(), [[1, 1, 1, 1], [1, 1, 0, 0]]);
  assert.deepEqual(batch.labels.toArray(), [[IGNORE_INDEX, IGNORE_INDEX, 12, 13], [20, 21, IGNORE_INDEX, IGNORE_INDEX]]);
});

test('collatePreference: (2B, T), chosen rows first, labels on the responses only', () => {
  const batch = collatePreference(
    [
      { promptIds: [1, 2], chosenIds: [3], rejectedIds: [4, 5], margin: 0.5 },
      { promptIds: [6], chosenIds: [7, 8, 9], rejectedIds: [10], margin: 1 },
    ],
    0,
  );
  assert.equal(batch.pairs, 2);
  assert.deepEqual(batch.inputIds.toArray(), [[1, 2, 3, 0], [6, 7, 8, 9], [1, 2, 4, 5], [6, 10, 0, 0]]);
  assert.deepEqual(batch.labels.toArray(), [
    [-100, -100, 3, -100],
    [-100, 7, 8, 9],
    [-100, -100, 4, 5],
    [-100, 10, -100, -100],
  ]);
  assert.deepEqual(batch.margin?.toArray(), [0.5, 1]);
  assert.equal(collatePreference([{ promptIds: [1], chosenIds: [2], rejectedIds: [3] }], 0).margin, undefined);
});
