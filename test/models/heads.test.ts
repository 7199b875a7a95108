// The scalar head (reward and value models): the score is read at each row's last real token, so
// left padding, right padding and no padding give the same score; saved in transformers'
// GPT2ForSequenceClassification / GPTNeoForSequenceClassification layout; loadable from a causal LM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readSafetensorsHeader } from '../../src/torch/safetensors.js';
import { ScalarHeadModel, lastTokenIndex, loadScalarModel, savePretrained, loadPretrained } from '../../src/models/index.js';
import { tinyGPT2, tinyNeo, scramble, ids, maxAbsDiff, tempDir, V } from './helpers.js';

const tmp = tempDir();
after(tmp.cleanup);
const PAD = V - 1;
const REAL = [3, 14, 15, 9, 26]; // five real tokens

for (const [name, make] of [
  ['gpt2', () => ScalarHeadModel.fromCausalLM(tinyGPT2())],
  ['gpt-neo', () => ScalarHeadModel.fromCausalLM(tinyNeo())],
] as const) {
  test(`${name}: left-padded, right-padded and unpadded rows get the same score (the last real token)`, () => {
    const model = scramble(make()).eval();
    try {
      torch.noGrad(() =>
        torch.tidy(() => {
          const alone = model.forward(ids([REAL])).scores.item(); // (1)
          const batch = ids([[PAD, PAD, PAD, ...REAL], [...REAL, PAD, PAD, PAD], [...REAL, 1, 2, 3]]);
          const mask = ids([[0, 0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]]);
          const { scores, values } = model.forward(batch, { attentionMask: mask });
          assert.deepEqual(scores.shape, [3]);
          assert.deepEqual(values.shape, [3, 8]);
          const s = scores.toFlatArray();
          assert.ok(Math.abs((s[0] as number) - alone) < 1e-5, `left-padded ${s[0]} vs ${alone}`);
          assert.ok(Math.abs((s[1] as number) - alone) < 1e-5, `right-padded ${s[1]} vs ${alone}`);
          assert.ok(Math.abs((s[2] as number) - alone) > 1e-4, 'a longer sequence scores differently');
          // values are the head at every token; the score is the value at the last real token
          const v = values.toArray() as number[][];
          assert.equal(v[0]?.[7], s[0]);
          assert.equal(v[1]?.[4], s[1]);
          assert.equal(v[2]?.[7], s[2]);
        }),
      );
    } finally {
      model.dispose();
    }
  });
}

test('lastTokenIndex: the last 1 of each mask row, T − 1 without a mask', () => {
  torch.tidy(() => {
    assert.deepEqual(lastTokenIndex(ids([[0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]]), 3, 4).toFlatArray(), [3, 1, 3]);
    assert.deepEqual(lastTokenIndex(null, 2, 4).toFlatArray(), [3, 3]);
  });
});

test('fromCausalLM shares the body: hidden states equal the LM\'s', () => {
  const lm = tinyGPT2();
  const rm = ScalarHeadModel.fromCausalLM(lm);
  try {
    assert.equal(rm.transformer, lm.transformer);
    assert.deepEqual(rm.score.weight.shape, [1, 16]);
    assert.equal(rm.score.bias, null);
  } finally {
    rm.dispose(); // frees the shared body too
  }
});

test('gpt2: a reward model saves in GPT2ForSequenceClassification layout and loads back with the same scores', async () => {
  const model = scramble(ScalarHeadModel.fromCausalLM(tinyGPT2())).eval();
  const dir = join(tmp.dir, 'rm');
  try {
    await savePretrained(model, dir);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg['architectures'], ['GPT2ForSequenceClassification']);
    assert.equal(cfg['num_labels'], 1);
    assert.deepEqual(cfg['id2label'], { '0': 'LABEL_0' });
    assert.deepEqual(cfg['label2id'], { LABEL_0: 0 });
    assert.equal(cfg['pad_token_id'], V - 1, 'pad defaults to eos, as GPT-2 reward models use');
    const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
    assert.deepEqual(header.tensors.get('score.weight')?.shape, [1, 16]);
    assert.ok(!header.tensors.has('score.bias'));
    assert.ok(!header.tensors.has('lm_head.weight'));
    assert.ok(header.tensors.has('transformer.h.0.attn.c_attn.weight'));

    const loaded = await loadScalarModel(dir);
    try {
      assert.equal(loaded.scoreInitialized, false);
      assert.deepEqual(loaded.warnings, []);
      torch.noGrad(() =>
        torch.tidy(() => {
          const x = ids([REAL, [1, 2, 3, 4, 5]]);
          assert.equal(maxAbsDiff(model.forward(x).scores, loaded.model.eval().forward(x).scores), 0);
        }),
      );
    } finally {
      loaded.model.dispose();
    }
    // and as a causal LM (the score head is dropped, with a warning)
    const lm = await loadPretrained(dir);
    lm.model.dispose();
    assert.match(lm.warnings.join('\n'), /score head was not loaded/);
  } finally {
    model.dispose();
  }
});

test('gpt-neo: loading a reward model from a causal LM initialises the score head and says so', async () => {
  const lm = tinyNeo();
  const dir = join(tmp.dir, 'neo-lm');
  try {
    await savePretrained(lm, dir);
    const { model, scoreInitialized, warnings } = await loadScalarModel(dir);
    try {
      assert.equal(scoreInitialized, true);
      assert.match(warnings.join('\n'), /initialised N\(0, 0\.02\)/);
      const std = torch.tidy(() => model.score.weight.std().item());
      assert.ok(std > 0.005 && std < 0.05, `score.weight std ${std}`);
      torch.noGrad(() =>
        torch.tidy(() => {
          const x = ids([REAL]);
          assert.equal(maxAbsDiff(model.eval().transformer.forward(x), lm.forwardHidden(x)), 0, 'the body is the LM\'s');
        }),
      );
      const out = join(tmp.dir, 'neo-rm');
      await savePretrained(model, out);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(cfg['architectures'], ['GPTNeoForSequenceClassification']);
      assert.equal(cfg['num_labels'], 1);
    } finally {
      model.dispose();
    }
  } finally {
    lm.dispose();
  }
});
