// The KV cache and left padding must not change the numbers: decoding with a cache, in chunks or
// token by token, and left-padded batches (with position ids from the mask) give the logits of a
// full recomputation of each unpadded row. For GPT-Neo the window (3) is shorter than the
// sequences, so local layers see a different key set than global ones at every later position.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import type { CausalLM } from '../../src/models/types.js';
import { buildLocalAttentionMask, expandAttentionTypes } from '../../src/models/gpt-neo.js';
import { tinyGPT2, tinyNeo, maxAbsDiff, ids } from './helpers.js';

const TOL = 1e-4;
const SEQ_A = [5, 17, 3, 44, 21, 8, 30, 12, 9, 41, 2]; // 11 tokens
const SEQ_B = [7, 7, 33, 1, 19, 26, 40, 11, 4, 15, 38];

const archs: [string, () => CausalLM][] = [
  ['gpt2', () => tinyGPT2()],
  ['gpt-neo', () => tinyNeo()],
];

/** Logits (1, T, V) of one unpadded sequence, recomputed from scratch. */
function full(model: CausalLM, seq: number[]): torch.Tensor {
  return model.forward(ids([seq])).logits;
}

for (const [name, make] of archs) {
  test(`${name}: cached decoding (prefill, a chunk, then one token at a time) equals full recomputation`, () => {
    const model = make();
    try {
      torch.noGrad(() =>
        torch.tidy(() => {
          const ref = full(model, SEQ_A); // (1, 11, V)
          const cache = model.createCache(1, SEQ_A.length);
          try {
            const pieces = [[0, 5], [5, 8], [8, 9], [9, 10], [10, 11]] as const;
            for (const [s, e] of pieces) {
              const out = model.forward(ids([SEQ_A.slice(s, e)]), { cache }).logits; // (1, e−s, V)
              assert.ok(maxAbsDiff(out, ref.narrow(1, s, e - s)) < TOL, `positions ${s}..${e - 1}`);
            }
            assert.equal(cache.length, SEQ_A.length);
          } finally {
            cache.dispose();
          }
        }),
      );
    } finally {
      model.dispose();
    }
  });

  test(`${name}: a left-padded batch gives each row's unpadded logits`, () => {
    const model = make();
    try {
      torch.noGrad(() =>
        torch.tidy(() => {
          const a = SEQ_A.slice(0, 5); // padded with 3 on the left
          const b = SEQ_B.slice(0, 8);
          const batch = ids([[0, 0, 0, ...a], b]);
          const mask = ids([[0, 0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]]);
          const out = model.forward(batch, { attentionMask: mask }).logits; // (2, 8, V)
          assert.ok(maxAbsDiff(out.select(0, 0).narrow(0, 3, 5), full(model, a).select(0, 0)) < TOL, 'left-padded row');
          assert.ok(maxAbsDiff(out.select(0, 1), full(model, b).select(0, 0)) < TOL, 'full row');
        }),
      );
    } finally {
      model.dispose();
    }
  });

  test(`${name}: left-padded prefill then cached decoding equals unpadded recomputation`, () => {
    const model = make();
    try {
      torch.noGrad(() =>
        torch.tidy(() => {
          const P = 8;
          const a = SEQ_A.slice(0, 4); // 4 pads
          const b = SEQ_B.slice(0, P);
          const cache = model.createCache(2, SEQ_A.length + 4);
          try {
            let mask = ids([[0, 0, 0, 0, 1, 1, 1, 1], Array<number>(P).fill(1)]);
            const prefill = model.forward(ids([[0, 0, 0, 0, ...a], b]), { attentionMask: mask, cache }).logits;
            assert.ok(maxAbsDiff(prefill.select(0, 0).narrow(0, 4, 4), full(model, a).select(0, 0)) < TOL, 'prefill, padded row');
            const refA = full(model, SEQ_A.slice(0, 7)).select(0, 0); // (7, V)
            const refB = full(model, SEQ_B.slice(0, P + 3)).select(0, 0); // (11, V)
            for (let step = 0; step < 3; step++) {
              const next = ids([[SEQ_A[4 + step] as number], [SEQ_B[P + step] as number]]); // (2, 1)
              mask = torch.cat([mask, ids([[1], [1]])], 1); // (2, P + step + 1)
              const out = model.forward(next, { attentionMask: mask, cache }).logits; // (2, 1, V)
              assert.ok(maxAbsDiff(out.select(0, 0).select(0, 0), refA.select(0, 4 + step)) < TOL, `step ${step}, padded row`);
              assert.ok(maxAbsDiff(out.select(0, 1).select(0, 0), refB.select(0, P + step)) < TOL, `step ${step}, full row`);
            }
          } finally {
            cache.dispose();
          }
        }),
      );
    } finally {
      model.dispose();
    }
  });
}

test('gpt-neo: local attention sees i − window_size < j ≤ i, aligned to the end with a cache', () => {
  torch.tidy(() => {
    const m = buildLocalAttentionMask(null, 4, 4, 2).select(0, 0).select(0, 0).toArray(); // (T, Tk)
    assert.deepEqual(m, [
      [true, false, false, false],
      [true, true, false, false],
      [false, true, true, false],
      [false, false, true, true],
    ]);
    // 2 new queries after 3 cached positions: absolute positions 3 and 4
    const c = buildLocalAttentionMask(null, 2, 5, 2).select(0, 0).select(0, 0).toArray();
    assert.deepEqual(c, [
      [false, false, true, true, false],
      [false, false, false, true, true],
    ]);
    // padding removes keys on top of the window
    const p = buildLocalAttentionMask(ids([[0, 1, 1]]), 3, 3, 2).select(0, 0).select(0, 0).toArray(); // (T, Tk)
    assert.deepEqual(p, [
      [false, false, false],
      [false, true, false],
      [false, true, true],
    ]);
  });
  assert.deepEqual(expandAttentionTypes([[['global', 'local'], 2], [['local'], 1]]), ['global', 'local', 'global', 'local', 'local']);
});

test('gpt-neo: the window matters (a local layer differs from a global one once T > window_size)', () => {
  const local = tinyNeo({ window_size: 3 }, 1);
  const global = tinyNeo({ window_size: 32 }, 1);
  try {
    torch.noGrad(() =>
      torch.tidy(() => {
        const a = full(local, SEQ_A);
        const b = full(global, SEQ_A);
        assert.ok(maxAbsDiff(a.narrow(1, 0, 3), b.narrow(1, 0, 3)) < 1e-5, 'the first window_size positions see the same keys');
        assert.ok(maxAbsDiff(a, b) > 1e-2, 'later positions must differ');
      }),
    );
  } finally {
    local.dispose();
    global.dispose();
  }
});
