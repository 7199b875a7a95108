// Live generation with the real model layer (src/generation on libtorch) inside the studio's worker
// thread: a tiny random GPT-2 saved with save_pretrained's layout, model A vs model B.
// Skipped when the native addon is not built on this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { client, testStudio } from './helpers.js';

type Models = typeof import('../../src/models/index.js');
type Torch = typeof import('../../src/torch/index.js');
type Tokenizers = typeof import('../../src/tokenizers/index.js');

let libs: { models: Models; torch: Torch; tokenizers: Tokenizers } | null = null;
let why = '';
try {
  libs = { models: await import('../../src/models/index.js'), torch: await import('../../src/torch/index.js'), tokenizers: await import('../../src/tokenizers/index.js') };
} catch (err) {
  why = `model layer not available: ${(err as Error).message}`;
}

test('model A vs model B from tiny GPT-2 directories, generated in the worker thread', { skip: libs === null ? why : false, timeout: 120_000 }, async () => {
  const { models, torch, tokenizers } = libs!;
  const studio = await testStudio();
  try {
    const dirs: string[] = [];
    for (const [i, name] of ['tiny-a', 'tiny-b'].entries()) {
      torch.manualSeed(i + 1);
      const model = new models.GPT2LMHeadModel({ n_layer: 1, n_embd: 16, n_head: 2, vocab_size: 50257, n_positions: 64, initializer_range: 0.2, eos_token_id: 50256, bos_token_id: 50256 }).eval();
      const dir = join(studio.dir, name);
      await models.savePretrained(model, dir, { tokenizer: tokenizers.gpt2Tokenizer() });
      model.dispose();
      dirs.push(dir);
    }
    const admin = client(studio.url, studio.adminToken);
    const r = await admin.post('/api/admin/generate', { task: { name: 'live', kind: 'pairwise', perItem: 1 }, models: dirs, prompts: ['Hello, my name is', 'The weather today'], maxNewTokens: 6, temperature: 0.9, seed: 3 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await studio.generation.idle();
    const task = studio.store.getTask('live');
    assert.equal(task.status, 'ready', task.error ?? '');
    const items = studio.store.items(task.id);
    assert.equal(items.length, 2);
    for (const item of items) {
      assert.deepEqual(item.responses.map((x) => x.model), ['tiny-a', 'tiny-b']);
      for (const resp of item.responses) assert.equal(typeof resp.text, 'string');
    }
    assert.ok(items.some((i) => i.responses.some((x) => x.text.length > 0)), 'something was generated');
  } finally {
    await studio.stop();
  }
});
