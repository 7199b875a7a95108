// Logits processors against hand-computed examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { full, manualSeed, tensor, tidy } from '../../src/torch/index.js';
import { LogitsProcessorError, sampleCategorical, penalizeSeen, repetitionPenalty, seenTokens, temperature, topK, topP } from '../../src/generation/index.js';
import { assertClose } from '../engine/helpers.js';

const NEG = -Infinity;

test('temperature divides the logits by T', () => {
  tidy(() => {
    assertClose(temperature(tensor([[1, 2], [-2, 4]]), 2), [[0.5, 1], [-1, 2]]);
    assertClose(temperature(tensor([[1, 2]]), 1), [[1, 2]]);
    assert.throws(() => temperature(tensor([[1]]), 0), LogitsProcessorError);
  });
});

test('top-k keeps the k largest per row (ties with the k-th stay)', () => {
  tidy(() => {
    assertClose(topK(tensor([[1, 3, 2, 0], [4, 3, 2, 1]]), 2), [[NEG, 3, 2, NEG], [4, 3, NEG, NEG]]);
    assertClose(topK(tensor([[1, 2, 2, 0]]), 2), [[NEG, 2, 2, NEG]]);
    assertClose(topK(tensor([[1, 2, 3]]), 1), [[NEG, NEG, 3]]);
    assertClose(topK(tensor([[1, 2, 3]]), 10), [[1, 2, 3]]);
    assert.throws(() => topK(tensor([[1, 2]]), 0), LogitsProcessorError);
  });
});

test('top-p keeps the nucleus, and at least one token', () => {
  tidy(() => {
    // probabilities 0.5, 0.3, 0.15, 0.05; ascending cumulative 0.05, 0.2, 0.5, 1.0
    const l = tensor([[0.5, 0.3, 0.15, 0.05].map(Math.log)]);
    const lv = l.toArray() as number[][];
    const row = lv[0] as number[];
    assertClose(topP(l, 0.7), [[row[0] as number, row[1] as number, NEG, NEG]]); // drop cumulative ≤ 0.3
    assertClose(topP(l, 0.9), [[row[0] as number, row[1] as number, row[2] as number, NEG]]); // drop ≤ 0.1
    assertClose(topP(l, 0.01), [[row[0] as number, NEG, NEG, NEG]]); // only the most likely survives
    assertClose(topP(l, 0.01, 2), [[row[0] as number, row[1] as number, NEG, NEG]]); // minTokensToKeep
    assertClose(topP(l, 1), lv);
    // rows are independent and the order of the vocabulary does not matter
    const two = tensor([[0.05, 0.5, 0.15, 0.3].map(Math.log), [0.4, 0.1, 0.3, 0.2].map(Math.log)]);
    const kept = (topP(two, 0.75).toArray() as number[][]).map((r) => r.map((x) => x !== NEG));
    assert.deepEqual(kept, [[false, true, false, true], [true, false, true, true]]); // drop cumulative ≤ 0.25
    assert.throws(() => topP(l, 0), LogitsProcessorError);
  });
});

test('repetition penalty: positive logits of seen tokens divided by θ, negative ones multiplied', () => {
  tidy(() => {
    const logits = tensor([[2, -2, 1, 0.5]]);
    assertClose(repetitionPenalty(logits, tensor([[0, 1, 0]], { dtype: 'int64' }), 2), [[1, -4, 1, 0.5]]);
    // padding (mask 0) does not count as seen
    assertClose(repetitionPenalty(logits, tensor([[2, 0]], { dtype: 'int64' }), 2, tensor([[0, 1]], { dtype: 'int64' })), [[1, -2, 1, 0.5]]);
    // θ < 1 encourages repeats
    assertClose(repetitionPenalty(logits, tensor([[1]], { dtype: 'int64' }), 0.5), [[2, -1, 1, 0.5]]);
    const seen = seenTokens(tensor([[3, 3], [0, 2]], { dtype: 'int64' }), 4);
    assert.deepEqual(seen.toArray(), [[false, false, false, true], [true, false, true, false]]);
    assertClose(penalizeSeen(tensor([[1, 1, 1, 1], [1, 1, 1, 1]]), seen, 4), [[1, 1, 1, 0.25], [0.25, 1, 0.25, 1]]);
  });
});

test('sampleCategorical draws from softmax(logits), never a token with probability 0, reproducibly', () => {
  tidy(() => {
    const p = [0.1, 0, 0.2, 0.3, 0, 0.4];
    const logits = tensor([p.map(Math.log)]).expand(20000, 6); // (20000, 6), −∞ for the zeros
    manualSeed(0);
    const draws = sampleCategorical(logits).toFlatArray();
    assert.equal(draws.length, 20000);
    const freq = p.map((_, v) => draws.filter((d) => d === v).length / draws.length);
    p.forEach((q, v) => assert.ok(Math.abs((freq[v] as number) - q) < 0.015, `token ${v}: frequency ${freq[v]} vs probability ${q}`));
    assert.equal(freq[1], 0);
    assert.equal(freq[4], 0);
    manualSeed(0);
    assert.deepEqual(sampleCategorical(logits).toFlatArray(), draws);
    // one token left (top-k = 1): always it; a degenerate row stays in range
    assert.deepEqual(sampleCategorical(tensor([[-Infinity, 3, -Infinity]])).toFlatArray(), [1]);
    assert.deepEqual(sampleCategorical(full([3, 5], 0)).shape, [3, 1]);
  });
});
