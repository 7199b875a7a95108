// Evaluation metrics against hand-computed tables (values checked with numpy/scipy/scikit-learn conventions).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracy,
  confusion,
  f1,
  mean,
  meanMargin,
  pairwiseAccuracy,
  pearson,
  precision,
  quantile,
  ranks,
  recall,
  spearman,
  std,
  summarize,
  variance,
  winRate,
} from '../../src/eval/metrics.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

describe('summary statistics', () => {
  test('mean, variance, std (ddof 1 and 0), quantiles with linear interpolation', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    assert.equal(mean(xs), 5);
    close(variance(xs, 0), 4);
    close(std(xs, 0), 2);
    close(variance(xs), 32 / 7);
    close(std(xs), Math.sqrt(32 / 7));
    close(quantile([4, 1, 3, 2], 0.25), 1.75); // numpy.quantile
    close(quantile([4, 1, 3, 2], 0.5), 2.5);
    assert.equal(quantile([4, 1, 3, 2], 1), 4);
    assert.deepEqual(summarize([3, 1, 2]), { n: 3, mean: 2, std: 1, min: 1, q25: 1.5, median: 2, q75: 2.5, max: 3 });
    assert.ok(Number.isNaN(mean([])) && Number.isNaN(variance([5])) && Number.isNaN(quantile([], 0.5)));
    assert.throws(() => quantile([1], 1.5), RangeError);
  });
});

describe('binary classification', () => {
  test('a confusion table by hand', () => {
    const pred = [1, 1, 0, 0, 1, 0], label = [1, 0, 1, 0, 1, 0];
    assert.deepEqual(confusion(pred, label), { tp: 2, fp: 1, tn: 2, fn: 1 });
    close(accuracy(pred, label), 4 / 6);
    close(precision(pred, label), 2 / 3);
    close(recall(pred, label), 2 / 3);
    close(f1(pred, label), 2 / 3);
    // tp 1, fp 0, fn 2: P = 1, R = 1/3, F1 = 2·1·(1/3)/(4/3) = 0.5
    close(precision([1, 0, 0], [1, 1, 1]), 1);
    close(recall([1, 0, 0], [1, 1, 1]), 1 / 3);
    close(f1([1, 0, 0], [1, 1, 1]), 0.5);
  });

  test('degenerate cases: 0/0 is 0', () => {
    // nothing predicted positive: precision 0/0 → 0
    assert.equal(precision([0, 0], [1, 0]), 0);
    assert.equal(recall([0, 0], [1, 0]), 0);
    assert.equal(f1([0, 0], [1, 0]), 0);
    // no positive label at all: recall 0/0 → 0, F1 0/0 → 0, accuracy still 1
    assert.equal(recall([0, 0], [0, 0]), 0);
    assert.equal(f1([0, 0], [0, 0]), 0);
    assert.equal(accuracy([0, 0], [0, 0]), 1);
    // everything predicted positive, nothing is: precision 0/2, recall 0/0
    assert.equal(precision([1, 1], [0, 0]), 0);
    assert.equal(recall([1, 1], [0, 0]), 0);
    assert.throws(() => accuracy([1], [1, 0]), /differ in length/);
  });
});

describe('correlation', () => {
  test('pearson and spearman with ties, by hand', () => {
    const x = [1, 2, 3, 4, 5], y = [2, 4, 5, 4, 5];
    close(pearson(x, y), 6 / Math.sqrt(60)); // sxy 6, sxx 10, syy 6
    assert.deepEqual(ranks(y), [1, 2.5, 4.5, 2.5, 4.5]);
    assert.deepEqual(ranks([3, 1, 3, 2]), [3.5, 1, 3.5, 2]);
    close(spearman(x, y), 7 / Math.sqrt(90)); // scipy.stats.spearmanr: 0.7378647873726218
    close(spearman([1, 2, 3], [10, 100, 1000]), 1);
    close(spearman([1, 2, 3], [3, 2, 1]), -1);
    close(pearson([1, 2, 3], [-2, -4, -6]), -1);
    assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
    assert.ok(Number.isNaN(pearson([1], [2])));
  });
});

describe('preferences', () => {
  test('pairwise accuracy (ties are wrong), mean margin, win rate (ties are half)', () => {
    close(pairwiseAccuracy([1, 2, 3], [0, 2, 5]), 1 / 3);
    close(meanMargin([1, 2, 3], [0, 2, 5]), -1 / 3);
    assert.equal(winRate([1, 2, 3, 4], [0, 2, 5, 4]), 0.5); // win, tie, loss, tie
    assert.equal(winRate([3, 3], [1, 3]), 0.75);
    assert.equal(winRate([0, 0, 0], [1, 1, 1]), 0);
    assert.ok(Number.isNaN(winRate([], [])));
  });
});
