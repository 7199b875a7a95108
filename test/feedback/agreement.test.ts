// Agreement coefficients against worked examples from the literature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agreementWord, cohensKappa, fleissKappa, krippendorffAlpha } from '../../src/feedback/agreement.js';

const close = (actual: number | null, expected: number, eps = 5e-4): void => {
  assert.ok(actual !== null, `expected ${expected}, got null`);
  assert.ok(Math.abs(actual - expected) < eps, `expected ${expected}, got ${actual}`);
};

test("Cohen's kappa: 50 grant proposals, 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → 0.4", () => {
  // p_o = 35/50 = 0.7; p_e = 0.5·0.6 + 0.5·0.4 = 0.5; κ = (0.7 − 0.5)/(1 − 0.5) = 0.4.
  const pairs: [string, string][] = [
    ...Array.from({ length: 20 }, () => ['yes', 'yes'] as [string, string]),
    ...Array.from({ length: 5 }, () => ['yes', 'no'] as [string, string]),
    ...Array.from({ length: 10 }, () => ['no', 'yes'] as [string, string]),
    ...Array.from({ length: 15 }, () => ['no', 'no'] as [string, string]),
  ];
  close(cohensKappa(pairs), 0.4, 1e-12);
});

test("Cohen's kappa: perfect agreement is 1, systematic disagreement negative, no variation undefined", () => {
  close(cohensKappa([['a', 'a'], ['b', 'b'], ['c', 'c']]), 1, 1e-12);
  // p_o = 0, p_e = 0.5 → κ = −1.
  close(cohensKappa([['a', 'b'], ['b', 'a']]), -1, 1e-12);
  assert.equal(cohensKappa([['a', 'a'], ['a', 'a']]), null);
  assert.equal(cohensKappa([]), null);
});

test("Fleiss' kappa: Fleiss (1971) / Wikipedia example, 10 subjects × 14 raters × 5 categories → 0.210", () => {
  const counts = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
  ];
  // P̄ = 0.378, P̄_e = 0.213 → κ = 0.210.
  close(fleissKappa(counts), 0.20993, 1e-4);
});

test("Fleiss' kappa with two raters equals Scott's pi; subjects with one rating are ignored", () => {
  // Two raters, 4 items: agree on 3 (a, a, b) and disagree on 1 (a vs b).
  // Pooled p_a = 5/8, p_b = 3/8 → P̄_e = 34/64; P̄ = 3/4 → κ = (0.75 − 0.53125)/(1 − 0.53125) = 0.46667.
  const counts = [[2, 0], [2, 0], [0, 2], [1, 1], [1, 0]];
  close(fleissKappa(counts), 0.466667, 1e-5);
  assert.equal(fleissKappa([[1, 0], [0, 1]]), null);
});

// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers, 12 units, missing data.
const OBSERVERS = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
  [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
];
const UNITS = OBSERVERS[0]!.map((_, u) => OBSERVERS.map((o) => o[u]).filter((v): v is number => v !== null && v !== undefined));

test("Krippendorff's alpha: the 2011 paper's example — nominal .743, ordinal .815, interval .849, ratio .797", () => {
  close(krippendorffAlpha(UNITS, 'nominal'), 0.743);
  close(krippendorffAlpha(UNITS, 'ordinal'), 0.815);
  close(krippendorffAlpha(UNITS, 'interval'), 0.849);
  close(krippendorffAlpha(UNITS, 'ratio'), 0.797);
});

test("Krippendorff's alpha: perfect agreement 1; unpairable or invariant data undefined; nominal alpha accepts strings", () => {
  close(krippendorffAlpha([[1, 1], [2, 2], [3, 3, 3]], 'interval'), 1, 1e-12);
  assert.equal(krippendorffAlpha([[1], [2]], 'nominal'), null);
  assert.equal(krippendorffAlpha([[4, 4], [4, 4]], 'interval'), null);
  close(krippendorffAlpha([['tie', 'tie'], ['0', '1'], ['1', '1']], 'nominal'), krippendorffAlpha([[3, 3], [0, 1], [1, 1]], 'nominal')!, 1e-12);
  assert.throws(() => krippendorffAlpha([['a', 'b']], 'interval'), /numeric/);
});

test('readings follow Landis & Koch', () => {
  assert.equal(agreementWord(null), 'not enough overlap');
  assert.equal(agreementWord(-0.1), 'worse than chance');
  assert.equal(agreementWord(0.4), 'fair');
  assert.equal(agreementWord(0.61), 'substantial');
  assert.equal(agreementWord(0.95), 'almost perfect');
});
