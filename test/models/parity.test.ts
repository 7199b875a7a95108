// Parity with transformers' GPT-2 and GPT-Neo: the checkpoints in test/fixtures/parity (written in
// the Hugging Face layout by make_parity.py, which also runs an independent PyTorch reference of
// transformers' forward passes) load through loadPretrained / loadScalarModel and give the same
// logits and scores, max |diff| < 1e-4 in float32. Every config switch is covered: each case lists
// the switches it sets, and make_parity.py checks that flipping each one changes the logits.
//
// Regenerate the fixtures with: /usr/bin/python3 test/fixtures/parity/make_parity.py
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { loadPretrained, loadScalarModel } from '../../src/models/index.js';

const DIR = new URL('../fixtures/parity/', import.meta.url).pathname;
const ATOL = 1e-4;

type Row = (number[] | null)[];
interface Input {
  name: string;
  input_ids: number[][];
  attention_mask: number[][] | null;
  logits?: Row[];
  scores?: number[];
  values?: (number | null)[][];
}
interface Case {
  name: string;
  kind: 'causal' | 'scalar';
  dir: string;
  switches: string[];
  inputs: Input[];
}

const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] };

/** Largest |actual − expected| over the entries expected is not null for (padding positions are null). */
function maxDiff(actual: number[], expectedRows: (number | null | number[])[], width: number): number {
  let m = 0;
  expectedRows.forEach((row, i) => {
    if (row === null) return;
    const vals = Array.isArray(row) ? row : [row];
    vals.forEach((v, j) => {
      m = Math.max(m, Math.abs((actual[i * width + j] as number) - v));
    });
  });
  return m;
}

function inputsOf(inp: Input): { ids: torch.Tensor; mask: torch.Tensor | null } {
  return {
    ids: torch.tensor(inp.input_ids, { dtype: 'int64' }),
    mask: inp.attention_mask === null ? null : torch.tensor(inp.attention_mask, { dtype: 'int64' }),
  };
}

test('the fixtures cover every config switch of the issue', () => {
  const all = new Set(expected.cases.flatMap((c) => c.switches));
  for (const s of ['scale_attn_weights', 'scale_attn_by_inverse_layer_idx', 'activation_function', 'layer_norm_epsilon', 'tie_word_embeddings', 'window_size']) {
    assert.ok(all.has(s), `no parity case sets ${s}`);
  }
  const configs = expected.cases.map((c) => JSON.parse(readFileSync(join(DIR, c.dir, 'config.json'), 'utf8')) as Record<string, unknown>);
  assert.ok(configs.some((c) => typeof c['n_inner'] === 'number'), 'no case sets n_inner');
  assert.ok(configs.some((c) => typeof c['intermediate_size'] === 'number'), 'no case sets intermediate_size');
});

for (const c of expected.cases) {
  test(`parity with transformers: ${c.name} (${c.kind}${c.switches.length ? `; ${c.switches.join(', ')}` : ''})`, async () => {
    if (c.kind === 'causal') {
      const { model, warnings } = await loadPretrained(join(DIR, c.dir), { tokenizer: false });
      try {
        model.eval();
        assert.deepEqual(warnings, []);
        for (const inp of c.inputs) {
          torch.tidy(() => {
            const { ids, mask } = inputsOf(inp);
            const logits = torch.noGrad(() => model.forward(ids, { attentionMask: mask }).logits); // (B, T, V)
            const [B, T, V] = logits.shape as [number, number, number];
            const flat = logits.toFlatArray();
            for (let b = 0; b < B; b++) {
              const rows = (inp.logits as Row[])[b] as Row;
              const d = maxDiff(flat.slice(b * T * V, (b + 1) * T * V), rows, V);
              assert.ok(d < ATOL, `${c.name}/${inp.name} row ${b}: max |logits − transformers| = ${d.toExponential(2)} ≥ ${ATOL}`);
            }
          });
        }
      } finally {
        model.dispose();
      }
    } else {
      const { model, scoreInitialized } = await loadScalarModel(join(DIR, c.dir), { tokenizer: false });
      try {
        model.eval();
        assert.equal(scoreInitialized, false);
        for (const inp of c.inputs) {
          torch.tidy(() => {
            const { ids, mask } = inputsOf(inp);
            const { scores, values } = torch.noGrad(() => model.forward(ids, { attentionMask: mask }));
            const ds = maxDiff(scores.toFlatArray(), inp.scores as number[], 1);
            assert.ok(ds < ATOL, `${c.name}/${inp.name}: max |scores − transformers| = ${ds.toExponential(2)}`);
            const T = values.size(1);
            const dv = maxDiff(values.toFlatArray(), (inp.values as (number | null)[][]).flat(), 1);
            assert.ok(dv < ATOL, `${c.name}/${inp.name}: max |values − reference| = ${dv.toExponential(2)} (T ${T})`);
          });
        }
      } finally {
        model.dispose();
      }
    }
  });
}
