// Model directories: save → load round trips (identical logits), the files and tensor names/shapes
// transformers expects, sharding, dtypes, and clear errors for what does not fit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { readSafetensorsHeader, readSafetensorsFile, writeSafetensorsFile } from '../../src/torch/safetensors.js';
import { gpt2Tokenizer } from '../../src/tokenizers/index.js';
import { loadPretrained, savePretrained, CheckpointError, ConfigError, parseConfig } from '../../src/models/index.js';
import type { CausalLM } from '../../src/models/index.js';
import { tinyGPT2, tinyNeo, ids, maxAbsDiff, tempDir, V } from './helpers.js';

const tmp = tempDir();
after(tmp.cleanup);
let n = 0;
const fresh = (): string => join(tmp.dir, `m${n++}`);
const readJson = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
const X = (): torch.Tensor => ids([[1, 5, 9, 14, 2, 33, 7], [4, 4, 8, 15, 16, 23, 42]]);

function sameLogits(a: CausalLM, b: CausalLM): number {
  return torch.noGrad(() => torch.tidy(() => maxAbsDiff(a.forward(X()).logits, b.forward(X()).logits)));
}

test('gpt2: save → load gives identical logits; files, keys and shapes as transformers writes them', async () => {
  const model = tinyGPT2();
  const dir = fresh();
  const tok = gpt2Tokenizer();
  const files = await savePretrained(model, dir, { tokenizer: tok });
  for (const f of ['config.json', 'model.safetensors', 'generation_config.json', 'tokenizer.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json']) {
    assert.ok(existsSync(join(dir, f)), `${f} missing`);
    assert.ok(files.includes(f), `${f} not reported`);
  }
  const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
  const shape = (k: string): number[] | undefined => header.tensors.get(k)?.shape;
  assert.deepEqual(shape('transformer.h.0.attn.c_attn.weight'), [16, 48], 'Conv1D c_attn is (in, out) = [n_embd, 3·n_embd]');
  assert.deepEqual(shape('transformer.h.0.attn.c_proj.weight'), [16, 16]);
  assert.deepEqual(shape('transformer.h.1.mlp.c_fc.weight'), [16, 64], 'Conv1D c_fc is [n_embd, 4·n_embd]');
  assert.deepEqual(shape('transformer.h.1.mlp.c_proj.weight'), [64, 16]);
  assert.deepEqual(shape('transformer.wte.weight'), [V, 16]);
  assert.equal(header.tensors.get('transformer.wte.weight')?.dtype, 'F32');
  assert.equal(header.metadata['format'], 'pt', 'transformers checks __metadata__.format');
  assert.ok(!header.tensors.has('lm_head.weight'), 'a tied head is not saved');
  assert.ok([...header.tensors.keys()].every((k) => k.startsWith('transformer.')));
  assert.ok(![...header.tensors.keys()].some((k) => /\.attn\.(bias|masked_bias)$/.test(k)), 'no mask buffers');
  assert.equal(header.tensors.size, model.stateDict().size);

  const cfg = readJson(join(dir, 'config.json'));
  assert.deepEqual(cfg['architectures'], ['GPT2LMHeadModel']);
  assert.equal(cfg['model_type'], 'gpt2');
  assert.equal(cfg['torch_dtype'], 'float32');
  assert.equal(typeof cfg['transformers_version'], 'string');
  for (const k of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'n_inner', 'activation_function', 'layer_norm_epsilon', 'scale_attn_weights', 'scale_attn_by_inverse_layer_idx', 'reorder_and_upcast_attn', 'resid_pdrop', 'embd_pdrop', 'attn_pdrop', 'initializer_range', 'bos_token_id', 'eos_token_id', 'tie_word_embeddings', 'use_cache']) {
    assert.ok(k in cfg, `config.json lacks ${k}`);
  }
  assert.ok(!('extra' in cfg));
  const gen = readJson(join(dir, 'generation_config.json'));
  assert.equal(gen['_from_model_config'], true);
  assert.equal(gen['eos_token_id'], V - 1);

  const loaded = await loadPretrained(dir);
  try {
    loaded.model.eval();
    assert.equal(sameLogits(model, loaded.model), 0);
    assert.deepEqual(loaded.warnings, []);
    assert.ok(loaded.tokenizer, 'tokenizer loaded');
    assert.deepEqual(loaded.tokenizer.encode('Hello world'), tok.encode('Hello world'));
    assert.equal(loaded.generationConfig?.['eos_token_id'], V - 1);
    assert.equal(loaded.config.n_embd, 16);
    const p = loaded.model.parameters()[0] as torch.Tensor;
    assert.ok(p.requiresGrad && p.isLeaf, 'loaded parameters are trainable leaves');
  } finally {
    loaded.model.dispose();
    model.dispose();
  }
});

test('gpt-neo: save → load round trip; nn.Linear layout, separate q/k/v without bias, attention_layers written', async () => {
  const model = tinyNeo({ intermediate_size: 24 });
  const dir = fresh();
  await savePretrained(model, dir);
  const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
  const keys = [...header.tensors.keys()];
  assert.deepEqual(header.tensors.get('transformer.h.0.attn.attention.q_proj.weight')?.shape, [16, 16]);
  assert.ok(!keys.includes('transformer.h.0.attn.attention.q_proj.bias'), 'q/k/v have no bias');
  assert.deepEqual(header.tensors.get('transformer.h.0.attn.attention.out_proj.bias')?.shape, [16]);
  assert.deepEqual(header.tensors.get('transformer.h.2.mlp.c_fc.weight')?.shape, [24, 16], 'nn.Linear: (out, in)');
  assert.deepEqual(header.tensors.get('transformer.h.2.mlp.c_proj.weight')?.shape, [16, 24]);
  assert.ok(!keys.includes('lm_head.weight'));
  const cfg = readJson(join(dir, 'config.json'));
  assert.deepEqual(cfg['architectures'], ['GPTNeoForCausalLM']);
  assert.deepEqual(cfg['attention_layers'], ['global', 'local', 'local']);
  assert.deepEqual(cfg['attention_types'], [[['global', 'local'], 1], [['local'], 1]]);
  assert.equal(cfg['window_size'], 3);
  assert.equal(cfg['hidden_size'], 16);
  for (const alias of ['n_embd', 'n_layer', 'n_head', 'n_positions']) assert.ok(!(alias in cfg), `${alias} is rlhf's alias, not a GPTNeoConfig field`);
  const loaded = await loadPretrained(dir);
  try {
    assert.equal(sameLogits(model, loaded.model.eval()), 0);
  } finally {
    loaded.model.dispose();
    model.dispose();
  }
});

test('sharded save (tiny maxShardBytes) loads back; a later single-file save replaces the shards', async () => {
  const model = tinyGPT2({ tie_word_embeddings: false });
  const dir = fresh();
  try {
    await savePretrained(model, dir, { maxShardBytes: 4096 });
    const shards = readdirSync(dir).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    assert.ok(shards.length > 3, `expected several shards, got ${shards.length}`);
    assert.ok(existsSync(join(dir, 'model.safetensors.index.json')));
    assert.ok(!existsSync(join(dir, 'model.safetensors')));
    const index = readJson(join(dir, 'model.safetensors.index.json'));
    assert.ok('lm_head.weight' in (index['weight_map'] as Record<string, string>), 'an untied head is saved');
    const a = await loadPretrained(dir);
    assert.equal(sameLogits(model, a.model.eval()), 0);
    a.model.dispose();

    await savePretrained(model, dir);
    assert.ok(existsSync(join(dir, 'model.safetensors')));
    assert.ok(!existsSync(join(dir, 'model.safetensors.index.json')));
    const b = await loadPretrained(dir);
    assert.equal(sameLogits(model, b.model.eval()), 0);
    b.model.dispose();
  } finally {
    model.dispose();
  }
});

test('dtypes: a bf16 model saves as BF16 with torch_dtype bfloat16; load converts on request or keeps it with "auto"', async () => {
  const model = tinyGPT2();
  const dir = fresh();
  try {
    torch.noGrad(() => model.to('bfloat16'));
    await savePretrained(model, dir);
    assert.equal(readJson(join(dir, 'config.json'))['torch_dtype'], 'bfloat16');
    const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
    assert.equal(header.tensors.get('transformer.wte.weight')?.dtype, 'BF16');
    const f32 = await loadPretrained(dir);
    assert.equal(f32.model.parameters()[0]?.dtype, 'float32', 'float32 by default, as transformers');
    const auto = await loadPretrained(dir, { dtype: 'auto' });
    assert.equal(auto.model.parameters()[0]?.dtype, 'bfloat16');
    assert.equal(sameLogits(model, auto.model.eval()), 0);
    f32.model.dispose();
    auto.model.dispose();
  } finally {
    model.dispose();
  }
});

// ----- errors ------------------------------------------------------------------------------

async function savedGPT2(): Promise<string> {
  const model = tinyGPT2();
  const dir = fresh();
  await savePretrained(model, dir);
  model.dispose();
  return dir;
}

async function editWeights(dir: string, edit: (t: Map<string, import('../../src/torch/safetensors.js').RawTensor>) => void): Promise<void> {
  const file = join(dir, 'model.safetensors');
  const { tensors } = await readSafetensorsFile(file);
  edit(tensors);
  await writeSafetensorsFile(file, tensors);
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
  const c = readJson(join(dir, 'config.json'));
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
}

test('errors: missing and unexpected keys are listed with the directory', async () => {
  const dir = await savedGPT2();
  await editWeights(dir, (t) => {
    const x = t.get('transformer.h.1.ln_2.bias');
    t.delete('transformer.h.1.ln_2.bias');
    if (x) t.set('transformer.h.7.ln_2.bias', x);
  });
  await assert.rejects(loadPretrained(dir), (err: Error) => {
    assert.ok(err instanceof CheckpointError, err.name);
    assert.ok(err.message.startsWith(dir), err.message);
    assert.match(err.message, /missing keys \(1\): transformer\.h\.1\.ln_2\.bias/);
    assert.match(err.message, /unexpected keys \(1\): transformer\.h\.7\.ln_2\.bias/);
    return true;
  });
});

test('errors: wrong shapes name the tensor and both shapes', async () => {
  const dir = await savedGPT2();
  editConfig(dir, (c) => {
    c['vocab_size'] = V + 10;
  });
  await assert.rejects(loadPretrained(dir), (err: Error) => {
    assert.ok(err instanceof CheckpointError);
    assert.match(err.message, /wrong shapes \(1\): transformer\.wte\.weight: checkpoint \[50, 16\] vs model \[60, 16\]/);
    assert.match(err.message, /config\.json/);
    return true;
  });
});

test('errors: unknown model_type lists the supported ones; bad fields name config.json and the field', async () => {
  const dir = await savedGPT2();
  editConfig(dir, (c) => {
    c['model_type'] = 'falcon';
  });
  await assert.rejects(loadPretrained(dir), (err: Error) => err instanceof ConfigError && /"model_type" is "falcon".*gpt2, gpt_neo, llama, mistral, qwen2/.test(err.message) && err.message.includes(join(dir, 'config.json')));

  const bad = (c: Record<string, unknown>, field: string, re: RegExp): void => {
    assert.throws(() => parseConfig(c, 'x/config.json'), (err: Error) => {
      assert.ok(err instanceof ConfigError, err.message);
      assert.equal(err.field, field);
      assert.match(err.message, re);
      assert.ok(err.message.startsWith('x/config.json: field'), err.message);
      return true;
    });
  };
  bad({ model_type: 'gpt2', n_embd: 'abc' }, 'n_embd', /positive integer.*"abc"/);
  bad({ model_type: 'gpt2', n_embd: 64, n_head: 5 }, 'n_head', /does not divide n_embd \(64\)/);
  bad({ model_type: 'gpt2', activation_function: 'mish' }, 'activation_function', /gelu_new/);
  bad({ model_type: 'gpt2', layer_norm_epsilon: 0 }, 'layer_norm_epsilon', /> 0/);
  bad({ model_type: 'gpt2', attn_pdrop: 1.5 }, 'attn_pdrop', /probability/);
  bad({ model_type: 'gpt_neo', num_layers: 3, attention_types: [[['global', 'local'], 1]] }, 'attention_types', /describes 2 layers, but num_layers is 3/);
  bad({ model_type: 'gpt_neo', num_layers: 2, attention_types: [[['global', 'sliding'], 1]] }, 'attention_types.0.0.1', /"global" or "local"/);
  bad({ n_embd: 8 }, 'model_type', /missing/);

  // transformers' defaults fill what config.json leaves out (GPT-2's original config has no scale_attn_weights)
  const { config } = parseConfig({ model_type: 'gpt2', n_embd: 64, n_head: 4, n_ctx: 1024 });
  assert.equal(config.model_type === 'gpt2' && config.scale_attn_weights, true);
  assert.deepEqual(config.model_type === 'gpt2' && config.extra, { n_ctx: 1024 });
});

test('errors: a missing directory, a directory without config.json or weights, invalid JSON', async () => {
  const nowhere = join(tmp.dir, 'does-not-exist');
  await assert.rejects(loadPretrained(nowhere), (err: Error) => err instanceof CheckpointError && err.message.startsWith(nowhere) && /no such directory/.test(err.message));
  const empty = fresh();
  mkdirSync(empty);
  await assert.rejects(loadPretrained(empty), (err: Error) => err instanceof CheckpointError && /no config\.json/.test(err.message));
  const noWeights = await savedGPT2();
  rmSync(join(noWeights, 'model.safetensors'));
  writeFileSync(join(noWeights, 'pytorch_model.bin'), '');
  await assert.rejects(loadPretrained(noWeights), (err: Error) => err instanceof CheckpointError && /no model\.safetensors/.test(err.message) && /pytorch_model\.bin/.test(err.message));
  const badJson = await savedGPT2();
  writeFileSync(join(badJson, 'config.json'), '{"model_type": "gpt2",');
  await assert.rejects(loadPretrained(badJson), (err: Error) => err instanceof ConfigError && /not valid JSON/.test(err.message));
});

test('lm_head.weight: ignored with a warning when it differs from the tied wte; a score head is dropped from a causal LM', async () => {
  const dir = await savedGPT2();
  await editWeights(dir, (t) => {
    const wte = t.get('transformer.wte.weight') as import('../../src/torch/safetensors.js').RawTensor;
    const data = new Float32Array(wte.data.slice().buffer);
    data[0] = (data[0] as number) + 1;
    t.set('lm_head.weight', { dtype: 'F32', shape: wte.shape, data: new Uint8Array(data.buffer) });
    t.set('score.weight', { dtype: 'F32', shape: [1, 16], data: new Uint8Array(64) });
  });
  const { model, warnings } = await loadPretrained(dir);
  model.dispose();
  assert.equal(warnings.length, 2, warnings.join('\n'));
  assert.match(warnings.join('\n'), /lm_head\.weight differs from transformer\.wte\.weight/);
  assert.match(warnings.join('\n'), /score head was not loaded/);
});
