// `rlhf init` smoke tests: it writes a loadable model directory with the GPT-2 tokenizer, says what
// it wrote, and rejects bad values with a usage error (exit code 2).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { rlhf } from '../cli/in-process.js';
import { loadPretrained } from '../../src/models/index.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('rlhf-init-');
after(tmp.cleanup);


const SMALL = ['--n-layer', '2', '--n-embd', '32', '--n-head', '2', '--n-positions', '64'];

test('rlhf init --arch gpt2 writes a model directory that loads, with the GPT-2 tokenizer', async () => {
  const dir = join(tmp.dir, 'gpt2');
  const r = await rlhf(['init', ...SMALL, '--seed', '3', '--out', dir]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /parameters/);
  assert.match(r.out, /model\.safetensors/);
  for (const f of ['config.json', 'model.safetensors', 'generation_config.json', 'tokenizer.json', 'vocab.json', 'merges.txt']) assert.ok(existsSync(join(dir, f)), f);
  const { model, config, tokenizer } = await loadPretrained(dir);
  try {
    assert.equal(config.model_type, 'gpt2');
    assert.equal(config.n_layer, 2);
    assert.equal(config.n_embd, 32);
    assert.equal(config.n_positions, 64);
    assert.equal(config.vocab_size, 50257);
    assert.ok(tokenizer);
    assert.equal(tokenizer.modelMaxLength, 64, 'the tokenizer truncates to n_positions');
    const x = torch.tensor([tokenizer.encode('Hello world')], { dtype: 'int64' });
    const logits = torch.noGrad(() => model.eval().forward(x).logits);
    assert.deepEqual(logits.shape, [1, 2, 50257]);
    logits.dispose();
    // the same seed gives the same weights
    const again = join(tmp.dir, 'gpt2-again');
    assert.equal((await rlhf(['init', ...SMALL, '--seed', '3', '--out', again])).code, 0);
    assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(again, 'model.safetensors'))));
  } finally {
    model.dispose();
  }
});

test('rlhf init --arch gpt-neo with --window-size and --dtype bfloat16', async () => {
  const dir = join(tmp.dir, 'neo');
  const r = await rlhf(['init', '--arch', 'gpt-neo', ...SMALL, '--n-layer', '3', '--window-size', '16', '--dtype', 'bfloat16', '--out', dir]);
  assert.equal(r.code, 0, r.err);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(cfg['architectures'], ['GPTNeoForCausalLM']);
  assert.deepEqual(cfg['attention_layers'], ['global', 'local', 'global']);
  assert.equal(cfg['window_size'], 16);
  assert.equal(cfg['torch_dtype'], 'bfloat16');
  const { model } = await loadPretrained(dir, { dtype: 'auto', tokenizer: false });
  assert.equal(model.parameters()[0]?.dtype, 'bfloat16');
  model.dispose();
});

test('rlhf init rejects bad values with a clear message and exit code 2', async () => {
  const out = join(tmp.dir, 'bad');
  const cases: [string[], RegExp][] = [
    [['--n-embd', '30', '--n-head', '4'], /not divisible by --n-head 4/],
    [['--n-layer', '0'], /--n-layer: Too small: expected number to be >=1/],
    [['--n-layer', '1.5'], /--n-layer: Invalid input: expected int/],
    [['--arch', 'falcon'], /--arch: Invalid option: expected one of "gpt2"\|"gpt-neo"\|"llama"\|"mistral"\|"qwen2"/],
    [['--arch', 'llama', '--n-kv-head', '3'], /--n-kv-head 3 does not divide --n-head 4/],
    [['--arch', 'llama', '--window-size', '8'], /Llama has no sliding window/],
    [['--n-kv-head', '2'], /--n-kv-head is for --arch llama, mistral or qwen2/],
    [['--arch', 'llama', '--vocab', 'none'], /--vocab none needs --vocab-size/],
    [['--arch', 'llama', '--vocab-size', '100'], /--vocab-size 100 is smaller than the tokenizer's 50257/],
    [['--window-size', '8'], /--window-size is for --arch gpt-neo/],
    [['--dtype', 'float8'], /--dtype: Invalid option: expected one of "float32"\|"bfloat16"/],
    [['--bogus'], /unknown option --bogus/],
  ];
  for (const [args, re] of cases) {
    const r = await rlhf(['init', ...args, '--out', out]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
  const r = await rlhf(['init', ...SMALL]);
  assert.equal(r.code, 2);
  assert.match(r.err, /--out is required/);
  const full = await rlhf(['init', ...SMALL, '--out', join(tmp.dir, 'gpt2')]); // written by the first test
  assert.equal(full.code, 2);
  assert.match(full.err, /not empty.*--force/);
  const help = await rlhf(['init', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--window-size W +gpt-neo: how far local attention looks back/);
  assert.match(help.out, /--preset NAME/);
  assert.match(help.out, /--n-layer N +transformer blocks \(default 4\)/);
});

test('rlhf init --arch llama|mistral|qwen2: RMSNorm, RoPE, GQA models that load; --preset smollm2-135m is the shape of SmolLM2-135M', async () => {
  const tiny = ['--n-layer', '2', '--n-embd', '32', '--n-head', '4', '--n-kv-head', '2', '--n-positions', '64'];
  const cases: [string, string[], Record<string, unknown>][] = [
    ['llama', ['--vocab', 'none', '--vocab-size', '512', '--rope-theta', '500000', '--no-tie-word-embeddings'], { architectures: ['LlamaForCausalLM'], num_key_value_heads: 2, rope_theta: 500000, tie_word_embeddings: false, intermediate_size: 128, vocab_size: 512, hidden_act: 'silu' }],
    ['mistral', ['--vocab', 'none', '--vocab-size', '512', '--window-size', '16'], { architectures: ['MistralForCausalLM'], sliding_window: 16, tie_word_embeddings: true }],
    ['qwen2', ['--window-size', '16', '--max-window-layers', '1'], { architectures: ['Qwen2ForCausalLM'], use_sliding_window: true, sliding_window: 16, max_window_layers: 1, vocab_size: 50257 }],
  ];
  for (const [arch, extra, want] of cases) {
    const dir = join(tmp.dir, arch);
    const r = await rlhf(['init', '--arch', arch, ...tiny, ...extra, '--out', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /2 k\/v heads/);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.deepEqual(cfg[k], v, `${arch}: ${k}`);
    assert.equal(existsSync(join(dir, 'tokenizer.json')), !extra.includes('none'), `${arch}: tokenizer files`);
    const { model, config } = await loadPretrained(dir);
    try {
      assert.equal(config.model_type, arch);
      const x = torch.tensor([[1, 2, 3]], { dtype: 'int64' });
      const logits = torch.noGrad(() => model.eval().forward(x).logits);
      assert.deepEqual(logits.shape, [1, 3, cfg['vocab_size']]);
      logits.dispose();
      x.dispose();
    } finally {
      model.dispose();
    }
  }
  // the preset's shape, made small along the flags that override it
  const dir = join(tmp.dir, 'smol');
  const r = await rlhf(['init', '--preset', 'smollm2-135m', '--n-layer', '1', '--vocab-size', '256', '--out', dir]);
  assert.equal(r.code, 0, r.err);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const smol = { model_type: 'llama', hidden_size: 576, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536, rope_theta: 100000, rms_norm_eps: 1e-5, tie_word_embeddings: true, max_position_embeddings: 8192, num_hidden_layers: 1, vocab_size: 256, head_dim: 64 };
  for (const [k, v] of Object.entries(smol)) assert.deepEqual(cfg[k], v, k);
  // a preset with GPT-2's tokenizer: the preset's 49152 tokens grow to the tokenizer's 50257 (no --vocab-size needed)
  const gpt2 = join(tmp.dir, 'smol-gpt2');
  const g = await rlhf(['init', '--preset', 'smollm2-135m', '--n-layer', '1', '--n-embd', '64', '--n-head', '2', '--n-kv-head', '1', '--n-inner', '64', '--vocab', 'gpt2', '--out', gpt2]);
  assert.equal(g.code, 0, g.err);
  assert.match(g.out, /vocabulary 50257 \(the tokenizer's; the preset's is 49152\)/);
  assert.equal((JSON.parse(readFileSync(join(gpt2, 'config.json'), 'utf8')) as Record<string, unknown>).vocab_size, 50257);
  assert.ok(existsSync(join(gpt2, 'tokenizer.json')));
  const small = await rlhf(['init', '--preset', 'smollm2-135m', '--n-layer', '1', '--vocab', 'gpt2', '--vocab-size', '50000', '--out', join(tmp.dir, 'smol-small')]);
  assert.equal(small.code, 2, 'an explicit --vocab-size below the tokenizer stays an error');
  assert.match(small.err, /--vocab-size 50000 is smaller than the tokenizer's 50257 tokens/);
});
