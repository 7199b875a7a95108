// The Llama family (Llama, Mistral, Qwen2): parity with an independent PyTorch reference of
// transformers' forward passes for every config switch — plain, left-padded, and through the KV cache
// as generation runs (test/fixtures/llama-parity, written by make_llama_parity.py) — max |diff| < 1e-4
// in float32; bf16 weights loaded as bf16; reward heads; config errors; rotary frequencies in closed
// form; left-padded batched generation; training (gradients everywhere, padding_idx); checkpoint round
// trips; and chat templates (Qwen2's ChatML, Llama 3's headers) through SFT.
//
// Regenerate the fixtures with: /usr/bin/python3 test/fixtures/llama-parity/make_llama_parity.py
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import {
  ConfigError,
  LlamaForCausalLM,
  ScalarHeadModel,
  copyModel,
  layerWindow,
  loadPretrained,
  loadScalarModel,
  parseConfig,
  ropeInverseFrequencies,
  savePretrained,
  type LlamaConfig,
} from '../../src/models/index.js';
import { generate } from '../../src/generation/index.js';
import { AdamW } from '../../src/optim/index.js';
import { trainByteLevelBpe } from '../../src/tokenizers/train-bpe.js';
import { tokenizeSft } from '../../src/data/index.js';
import { sft } from '../../src/trainers/sft/train.js';
import { ids, maxAbsDiff, tempDir } from './helpers.js';

torch.setNumThreads(1); // tiny models: a second thread only adds contention

const DIR = new URL('../fixtures/llama-parity/', import.meta.url).pathname;
const ATOL = 1e-4;
const tmp = tempDir('rlhf-llama-');
after(tmp.cleanup);

type Row = (number[] | null)[];
interface Input {
  name: string;
  input_ids: number[][];
  attention_mask: number[][] | null;
  logits?: Row[];
  logits_bf16?: Row[];
  scores?: number[];
  values?: (number | null)[][];
}
interface Cached {
  prompt_ids: number[][];
  prompt_mask: number[][];
  step_ids: number[][];
  prefill_logits: Row[];
  step_logits: number[][][];
}
interface Case {
  name: string;
  kind: 'causal' | 'scalar';
  dir: string;
  switches: string[];
  inputs: Input[];
  cached?: Cached;
}

const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] };
const configOf = (c: Case): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, c.dir, 'config.json'), 'utf8')) as Record<string, unknown>;

/** Largest |actual − expected| over the (B, T, V) logits where expected is not null (padding). */
function maxDiff(logits: torch.Tensor, rows: Row[]): number {
  const [B, T, V] = logits.shape as [number, number, number];
  const flat = logits.float().toFlatArray();
  let m = 0;
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const r = (rows[b] as Row)[t];
      if (!r) continue;
      for (let v = 0; v < V; v++) m = Math.max(m, Math.abs((flat[(b * T + t) * V + v] as number) - (r[v] as number)));
    }
  return m;
}

test('the fixtures cover every config switch of the issue', () => {
  const switches = new Set(expected.cases.flatMap((c) => c.switches));
  for (const s of ['rope_theta', 'rope_scaling', 'rms_norm_eps', 'attention_bias', 'mlp_bias', 'tie_word_embeddings', 'sliding_window', 'use_sliding_window', 'max_window_layers']) {
    assert.ok(switches.has(s), `no parity case flips ${s}`);
  }
  const configs = expected.cases.map(configOf);
  const ropeTypes = new Set(configs.map((c) => { const r = c['rope_scaling'] as Record<string, unknown> | undefined; return r ? (r['rope_type'] ?? r['type']) : 'default'; }));
  for (const t of ['default', 'linear', 'dynamic', 'llama3']) assert.ok(ropeTypes.has(t), `no case with rope_scaling ${t}`);
  for (const t of ['llama', 'mistral', 'qwen2']) assert.ok(configs.some((c) => c['model_type'] === t), `no ${t} case`);
  assert.ok(configs.some((c) => (c['num_key_value_heads'] as number) < (c['num_attention_heads'] as number)), 'no grouped-query case');
  assert.ok(configs.some((c) => c['num_key_value_heads'] === 1), 'no multi-query case');
  assert.ok(configs.some((c) => typeof c['head_dim'] === 'number' && c['head_dim'] !== (c['hidden_size'] as number) / (c['num_attention_heads'] as number)), 'no case with its own head_dim');
  assert.ok(configs.some((c) => c['torch_dtype'] === 'bfloat16'), 'no bf16 file');
  assert.ok(expected.cases.some((c) => c.kind === 'scalar'), 'no sequence-classification case');
});

for (const c of expected.cases) {
  test(`parity with transformers: ${c.name} (${c.kind}${c.switches.length ? `; ${c.switches.join(', ')}` : ''})`, async (t) => {
    if (c.kind === 'scalar') {
      const { model, scoreInitialized, warnings } = await loadScalarModel(join(DIR, c.dir), { tokenizer: false });
      try {
        model.eval();
        assert.equal(scoreInitialized, false);
        assert.deepEqual(warnings, []);
        let worst = 0;
        for (const inp of c.inputs) {
          torch.tidy(() => {
            const mask = inp.attention_mask && ids(inp.attention_mask);
            const { scores, values } = torch.noGrad(() => model.forward(ids(inp.input_ids), { attentionMask: mask }));
            const s = scores.toFlatArray();
            const v = values.toArray() as number[][];
            (inp.scores as number[]).forEach((e, b) => (worst = Math.max(worst, Math.abs((s[b] as number) - e))));
            (inp.values as (number | null)[][]).forEach((row, b) => row.forEach((e, i) => e !== null && (worst = Math.max(worst, Math.abs((v[b] as number[])[i]! - e)))));
          });
        }
        t.diagnostic(`max |Δ score/value| ${worst.toExponential(2)}`);
        assert.ok(worst < ATOL, `${c.name}: max |scores − reference| = ${worst.toExponential(2)}`);
      } finally {
        model.dispose();
      }
      return;
    }
    const { model, warnings } = await loadPretrained(join(DIR, c.dir), { tokenizer: false });
    const report: string[] = [];
    try {
      model.eval();
      assert.deepEqual(warnings, []);
      for (const inp of c.inputs) {
        const d = torch.noGrad(() => torch.tidy(() => maxDiff(model.forward(ids(inp.input_ids), { attentionMask: inp.attention_mask && ids(inp.attention_mask) }).logits, inp.logits as Row[])));
        report.push(`${inp.name} ${d.toExponential(2)}`);
        assert.ok(d < ATOL, `${c.name}/${inp.name}: max |logits − reference| = ${d.toExponential(2)}`);
      }
      // generation's path: a left-padded prefill into the cache, then one token per row per step
      const k = c.cached as Cached;
      const cache = model.createCache(2, 8);
      try {
        let mask = ids(k.prompt_mask);
        let d = torch.noGrad(() => torch.tidy(() => maxDiff(model.forward(ids(k.prompt_ids), { attentionMask: mask, cache }).logits, k.prefill_logits)));
        for (let s = 0; s < 3; s++) {
          const next = mask;
          mask = torch.cat([mask, ids([[1], [1]])], 1);
          next.dispose();
          const stepIds = k.step_ids.map((r) => [r[s] as number]);
          const rows = (k.step_logits[s] as number[][]).map((r) => [r]);
          d = Math.max(d, torch.noGrad(() => torch.tidy(() => maxDiff(model.forward(ids(stepIds), { attentionMask: mask, cache }).logits, rows))));
        }
        mask.dispose();
        report.push(`cached ${d.toExponential(2)}`);
        assert.ok(d < ATOL, `${c.name}/cached: max |logits − reference| = ${d.toExponential(2)}`);
      } finally {
        cache.dispose();
      }
    } finally {
      model.dispose();
    }
    // bf16 weights loaded as bf16 (dtype 'auto' reads torch_dtype), computing in bf16
    if (c.inputs[0]?.logits_bf16) {
      const { model: m16 } = await loadPretrained(join(DIR, c.dir), { tokenizer: false, dtype: 'auto' });
      try {
        assert.ok(m16.parameters().every((p) => p.dtype === 'bfloat16'));
        for (const inp of c.inputs) {
          // bf16 keeps 8 bits of mantissa: allow 2% of the largest logit (the reference's own bf16 forward is ~1% from its float32 one)
          const scale = Math.max(...(inp.logits as Row[]).flat().flatMap((r) => (r ? r.map(Math.abs) : [])));
          const d = torch.noGrad(() => torch.tidy(() => maxDiff(m16.eval().forward(ids(inp.input_ids), { attentionMask: inp.attention_mask && ids(inp.attention_mask) }).logits, inp.logits_bf16 as Row[])));
          report.push(`bf16 ${inp.name} ${d.toExponential(2)} (logits up to ${scale.toFixed(1)})`);
          assert.ok(d < 0.02 * scale, `${c.name}/${inp.name}: bf16 logits differ from the reference's bf16 forward by ${d}`);
        }
      } finally {
        m16.dispose();
      }
    }
    t.diagnostic(`max |Δ logit|: ${report.join(', ')}`);
  });
}

// ---- a tiny model of each family, scrambled so attention is sharp ----------------------------------

const V = 40;
function tiny(cfg: Partial<LlamaConfig> & { model_type: LlamaConfig['model_type'] }, seed = 0): LlamaForCausalLM {
  torch.manualSeed(seed);
  const m = new LlamaForCausalLM({ vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, bos_token_id: 1, eos_token_id: 2, ...cfg });
  torch.noGrad(() => {
    for (const [name, p] of m.namedParameters()) {
      p.normal_(0, 0.5);
      if (/norm\.weight$/.test(name)) p.add_(1);
    }
  });
  return m.eval();
}

test('config.json: family defaults, eos lists, rope_parameters, and errors that name the field', () => {
  const { config } = parseConfig({ model_type: 'llama', hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, intermediate_size: 128, vocab_size: 100 });
  const c = config as LlamaConfig;
  assert.equal(c.num_key_value_heads, 4, 'llama: num_key_value_heads defaults to num_attention_heads');
  assert.equal(c.head_dim, 16);
  assert.equal(c.rms_norm_eps, 1e-6);
  assert.equal(c.tie_word_embeddings, false);
  assert.equal(c.n_embd, 64);
  const q = parseConfig({ model_type: 'qwen2', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, eos_token_id: [7, 9], bos_token_id: null }).config as LlamaConfig;
  assert.equal(q.eos_token_id, 7);
  assert.deepEqual(q.eos_token_ids, [7, 9]);
  assert.equal(q.bos_token_id, 151643, 'a null bos takes the family default');
  const v5 = parseConfig({ model_type: 'llama', hidden_size: 64, num_attention_heads: 4, rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 5000 } }).config as LlamaConfig;
  assert.equal(v5.rope_theta, 5000);
  assert.deepEqual(v5.rope_scaling, { rope_type: 'linear', factor: 2 });
  const bad = (json: Record<string, unknown>, field: string, re: RegExp): void => {
    assert.throws(() => parseConfig(json, 'x/config.json'), (err: Error) => err instanceof ConfigError && err.field === field && re.test(err.message), `${field}: ${JSON.stringify(json)}`);
  };
  bad({ model_type: 'llama', num_attention_heads: 4, num_key_value_heads: 3 }, 'num_key_value_heads', /does not divide num_attention_heads \(4\)/);
  bad({ model_type: 'llama', hidden_size: 12, num_attention_heads: 4 }, 'num_attention_heads', /head_dim 3.*even/);
  bad({ model_type: 'llama', rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'rope_scaling.rope_type', /linear, dynamic, llama3/);
  bad({ model_type: 'llama', rope_scaling: { type: 'linear' } }, 'rope_scaling.factor', /factor > 0/);
  bad({ model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, 'rope_scaling.low_freq_factor', /low_freq_factor/);
  bad({ model_type: 'mistral', partial_rotary_factor: 0.5 }, 'partial_rotary_factor', /partial rotary/);
  bad({ model_type: 'qwen2', num_hidden_layers: 2, layer_types: ['full_attention'] }, 'layer_types', /1 layers but num_hidden_layers is 2/);
  bad({ model_type: 'qwen2', rms_norm_eps: 0 }, 'rms_norm_eps', /> 0/);
  // Qwen2's sliding layers: from max_window_layers, only with use_sliding_window
  const w = (cfg: Record<string, unknown>): (number | null)[] => {
    const p = parseConfig({ model_type: 'qwen2', num_hidden_layers: 3, hidden_size: 16, num_attention_heads: 2, num_key_value_heads: 2, ...cfg }).config as LlamaConfig;
    return [0, 1, 2].map((i) => layerWindow(p, i));
  };
  assert.deepEqual(w({ sliding_window: 8, max_window_layers: 1 }), [null, null, null]);
  assert.deepEqual(w({ use_sliding_window: true, sliding_window: 8, max_window_layers: 1 }), [null, 8, 8]);
  assert.deepEqual(w({ use_sliding_window: true, sliding_window: 8, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'] }), [8, null, 8]);
});

test('rotary frequencies in closed form: default, linear, dynamic (NTK), llama3 bands', () => {
  const base = { ...(parseConfig({ model_type: 'llama', hidden_size: 32, num_attention_heads: 4 }).config as LlamaConfig), max_position_embeddings: 16 };
  const close = (a: Float32Array, b: number[]): void => b.forEach((x, i) => assert.ok(Math.abs((a[i] as number) - x) <= 1e-6 * Math.abs(x), `${a[i]} vs ${x}`));
  close(ropeInverseFrequencies(base, 0), [1, 0.1, 0.01, 0.001]); // 1/10000^(2i/8)
  close(ropeInverseFrequencies({ ...base, rope_scaling: { type: 'linear', factor: 4 } }, 0), [0.25, 0.025, 0.0025, 0.00025]);
  const dyn = { ...base, rope_scaling: { rope_type: 'dynamic', factor: 2 } };
  close(ropeInverseFrequencies(dyn, 16), [1, 0.1, 0.01, 0.001]); // within max_position_embeddings: unchanged
  const theta = 10000 * (2 * 32 / 16 - 1) ** (8 / 6); // θ·(factor·L/max − (factor − 1))^(d/(d−2)), L = 32
  close(ropeInverseFrequencies(dyn, 32), [0, 1, 2, 3].map((i) => 1 / theta ** ((2 * i) / 8)));
  // llama3, original 64, low 1, high 4: wavelengths 2π, 20π, 200π, 2000π → kept, interpolated, ÷8, ÷8
  const l3 = ropeInverseFrequencies({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }, 0);
  const s = (64 / (20 * Math.PI) - 1) / 3;
  close(l3, [1, (1 - s) * 0.1 / 8 + s * 0.1, 0.01 / 8, 0.001 / 8]);
});

test('left-padded batched generation gives each row what it gets alone, with log-probs of the full forward', () => {
  for (const cfg of [{ model_type: 'qwen2', use_sliding_window: true, sliding_window: 4, max_window_layers: 1 }, { model_type: 'llama', num_key_value_heads: 1 }] as const) {
    const model = tiny(cfg, 3);
    const cache = model.createCache(3, 10);
    assert.deepEqual(cache.k[0]!.shape, [3, model.config.num_key_value_heads, 10, 4], 'the cache holds the k/v heads only');
    cache.dispose();
    const prompts = [[5, 9, 13], [7, 3, 21, 30, 11, 6], [8]];
    const T = 6;
    const inputIds = ids(prompts.map((p) => [...Array<number>(T - p.length).fill(0), ...p]));
    const attentionMask = ids(prompts.map((p) => [...Array<number>(T - p.length).fill(0), ...Array<number>(p.length).fill(1)]));
    const batch = generate(model, { inputIds, attentionMask }, { greedy: true, maxNewTokens: 8, eosTokenId: null });
    prompts.forEach((p, b) => {
      const alone = generate(model, { inputIds: ids([p]) }, { greedy: true, maxNewTokens: 8, eosTokenId: null });
      assert.deepEqual(batch.responseIds[b], alone.responseIds[0], `${cfg.model_type} row ${b}`);
      // teacher-forced log-probs of the whole unpadded sequence, no cache
      const seq = [...p, ...(alone.responseIds[0] as number[])];
      const lp = torch.noGrad(() => torch.tidy(() => model.forward(ids([seq])).logits.squeeze(0).logSoftmax(-1).toArray() as number[][]));
      (batch.logprobs[b] as number[]).forEach((x, i) => assert.ok(Math.abs(x - (lp[p.length - 1 + i] as number[])[seq[p.length + i] as number]!) < 1e-4, `${cfg.model_type} row ${b} step ${i}`));
      alone.sequences.dispose();
      alone.responseMask.dispose();
    });
    // bf16 rollouts run on a bf16 copy and leave the float32 weights as they were
    const before = model.model.layers[0]!.self_attn.q_proj.weight.toFlatArray();
    const b16 = generate(model, { inputIds, attentionMask }, { greedy: true, maxNewTokens: 4, eosTokenId: null, dtype: 'bfloat16' });
    assert.deepEqual(model.model.layers[0]!.self_attn.q_proj.weight.toFlatArray(), before);
    assert.equal(model.parameters()[0]?.dtype, 'float32');
    for (const o of [batch, b16]) (o.sequences.dispose(), o.responseMask.dispose());
    inputIds.dispose();
    attentionMask.dispose();
    model.dispose();
  }
});

test('padding_idx: the pad row starts at zero, and building the model leaves no tensor behind but its parameters', () => {
  torch.reclaimDropped();
  const before = torch.memory().liveTensors;
  const model = new LlamaForCausalLM({ model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, bos_token_id: 1, eos_token_id: 2, pad_token_id: 3 });
  const emb = model.namedParameters().find(([n]) => n === 'model.embed_tokens.weight')![1];
  assert.deepEqual(torch.tidy(() => emb.narrow(0, 3, 1).abs().sum().item()), 0);
  assert.ok(torch.tidy(() => emb.narrow(0, 4, 1).abs().sum().item()) > 0);
  assert.equal(torch.memory().liveTensors - before, model.parameters().length + model.namedBuffers().length);
  assert.equal(torch.reclaimDropped(), 0, 'no tensor was dropped without dispose()');
  model.dispose();
});

test('training: every parameter gets a gradient, the padding_idx row none; a few AdamW steps fit a batch', () => {
  const model = tiny({ model_type: 'qwen2', pad_token_id: 0, use_sliding_window: true, sliding_window: 3, max_window_layers: 1 }).train();
  const x = ids([[0, 0, 5, 9, 13, 17, 21], [4, 8, 12, 16, 20, 24, 28]]);
  const mask = ids([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]]);
  const loss = (): torch.Tensor => {
    const logits = model.forward(x.narrow(1, 0, 6), { attentionMask: mask.narrow(1, 0, 6) }).logits; // (2, 6, V)
    return torch.F.crossEntropy(logits.reshape(-1, V), x.narrow(1, 1, 6).reshape(-1));
  };
  torch.tidy(() => loss().backward());
  for (const [name, p] of model.namedParameters()) {
    const g = p.grad;
    assert.ok(g, `${name} has no gradient`);
    if (name === 'model.embed_tokens.weight') {
      assert.equal(torch.tidy(() => g.narrow(0, 0, 1).abs().sum().item()), 0, 'the padding_idx row gets no gradient');
    } else assert.ok(torch.tidy(() => g.abs().sum().item()) > 0, `${name}'s gradient is zero`);
  }
  model.zeroGrad();
  const opt = new AdamW(model.parameters(), { lr: 1e-2 });
  const first = torch.tidy(() => loss().item());
  let last = first;
  for (let i = 0; i < 15; i++) {
    last = torch.tidy(() => {
      const l = loss();
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l.item();
    });
  }
  assert.ok(last < first * 0.7, `loss ${first} → ${last}`);
  x.dispose();
  mask.dispose();
  model.dispose();
});

test('checkpoints: save → load round trip, config.json as transformers writes it, reward heads, copies', async () => {
  const { model } = await loadPretrained(join(DIR, 'qwen2-window-layers'), { tokenizer: false });
  const out = join(tmp.dir, 'qwen2');
  await savePretrained(model, out);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(cfg['architectures'], ['Qwen2ForCausalLM']);
  assert.equal(cfg['model_type'], 'qwen2');
  assert.deepEqual(cfg['eos_token_id'], [2, 3], 'an eos list is written back as a list');
  for (const [k, v] of Object.entries({ use_sliding_window: true, sliding_window: 3, max_window_layers: 1, num_key_value_heads: 2, head_dim: 4, rope_theta: 1000000, tie_word_embeddings: true })) assert.deepEqual(cfg[k], v, k);
  assert.ok(!('attention_bias' in cfg) && !('n_embd' in cfg), 'only Qwen2Config fields');
  const gen = JSON.parse(readFileSync(join(out, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(gen['eos_token_id'], [2, 3]);
  const { model: again } = await loadPretrained(out, { tokenizer: false });
  const x = ids([[5, 9, 13, 17, 21, 25, 29, 33]]);
  torch.noGrad(() => torch.tidy(() => assert.equal(maxAbsDiff(model.eval().forward(x).logits, again.eval().forward(x).logits), 0)));
  // a copy (PPO's reference) computes the same, in its own storage
  const copy = copyModel(model);
  torch.noGrad(() => torch.tidy(() => assert.equal(maxAbsDiff(model.forward(x).logits, copy.forward(x).logits), 0)));
  assert.notEqual(copy.outputEmbeddings(), model.outputEmbeddings());
  // a reward model on the causal LM's body: model.* + score.weight, loadable as a scalar model
  const rm = ScalarHeadModel.fromCausalLM(model);
  assert.equal(rm.body, model.baseModel());
  assert.ok([...rm.stateDict().keys()].every((k) => k.startsWith('model.') || k === 'score.weight'));
  const rmDir = join(tmp.dir, 'qwen2-rm');
  await savePretrained(rm, rmDir);
  assert.deepEqual((JSON.parse(readFileSync(join(rmDir, 'config.json'), 'utf8')) as Record<string, unknown>)['architectures'], ['Qwen2ForSequenceClassification']);
  const { model: rm2, scoreInitialized } = await loadScalarModel(rmDir, { tokenizer: false });
  assert.equal(scoreInitialized, false);
  torch.noGrad(() => torch.tidy(() => assert.equal(maxAbsDiff(rm.eval().forward(x).values, rm2.eval().forward(x).values), 0)));
  const fromLM = await loadScalarModel(out, { tokenizer: false });
  assert.equal(fromLM.scoreInitialized, true);
  for (const m of [again, copy, rm2, fromLM.model, model]) m.dispose();
  x.dispose();
});

// ---- chat templates of these families through SFT ---------------------------------------------

// Qwen2-Instruct's template (ChatML with a default system turn) and Llama 3 Instruct's.
const QWEN2_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const LLAMA3_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

test('chat templates: Qwen2 ChatML and Llama 3 headers render, mask assistant turns, and train a qwen2 with SFT', async () => {
  const texts = ['the cat sat on the mat', 'a dog ran in the park', 'hello there, how are you?', 'name a colour: blue', 'what is two plus two? four'];
  const conv = [
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Blue.' },
    { role: 'user', content: 'And another?' },
    { role: 'assistant', content: 'Red.' },
  ];
  const spans = (tok: ReturnType<typeof trainByteLevelBpe>, ex: { inputIds: number[]; lossMask: number[] }): string[] => {
    const out: string[] = [];
    let cur: number[] = [];
    ex.inputIds.forEach((id, i) => {
      if (ex.lossMask[i]) cur.push(id);
      else if (cur.length) (out.push(tok.decode(cur)), (cur = []));
    });
    if (cur.length) out.push(tok.decode(cur));
    return out;
  };
  const qwen = trainByteLevelBpe(texts, { vocabSize: 300, specialTokens: ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] }).withOptions({ chatTemplate: QWEN2_TEMPLATE });
  const [q] = tokenizeSft([{ line: 1, messages: conv }], qwen);
  assert.equal(qwen.decode(q!.inputIds), '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\nBlue.<|im_end|>\n<|im_start|>user\nAnd another?<|im_end|>\n<|im_start|>assistant\nRed.<|im_end|>\n');
  assert.equal(q!.inputIds.filter((id) => id === qwen.encode('<|im_start|>', { addSpecialTokens: false })[0]).length, 5, '<|im_start|> is one token');
  assert.deepEqual(spans(qwen, q!), ['Blue.<|im_end|>\n', 'Red.<|im_end|>\n']);

  const llama = trainByteLevelBpe(texts, { vocabSize: 300, specialTokens: ['<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'] }).withOptions({ chatTemplate: LLAMA3_TEMPLATE });
  const [l] = tokenizeSft([{ line: 1, messages: conv }], llama);
  assert.equal(llama.decode(l!.inputIds), '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nBlue.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd another?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nRed.<|eot_id|>');
  assert.deepEqual(spans(llama, l!), ['Blue.<|eot_id|>', 'Red.<|eot_id|>']);

  // a tiny Qwen2 with this tokenizer, trained a few steps on `messages` rows by the SFT trainer
  const modelDir = join(tmp.dir, 'qwen2-chat');
  const eos = qwen.encode('<|im_end|>', { addSpecialTokens: false })[0] as number;
  const model = tiny({ model_type: 'qwen2', vocab_size: qwen.vocabSize, eos_token_id: eos, bos_token_id: eos, max_position_embeddings: 256 }); // the rendering is ~150 byte-level tokens
  await savePretrained(model, modelDir, { tokenizer: qwen });
  model.dispose();
  const data = join(tmp.dir, 'chat.jsonl');
  writeFileSync(data, Array.from({ length: 8 }, () => JSON.stringify({ messages: conv })).join('\n') + '\n');
  const r = await sft({ model: modelDir, data, out: join(tmp.dir, 'qwen2-sft'), maxSteps: 6, batchSize: 4, lr: 1e-2, quiet: true, logEvery: 1 });
  const losses = r.history.map((h) => h['loss']).filter((x): x is number => typeof x === 'number');
  assert.ok(r.history.every((h) => (h['tokens'] as number) > 0), 'every batch has labelled (assistant) tokens');
  assert.ok(losses.length >= 2 && (losses.at(-1) as number) < (losses[0] as number), `SFT loss ${losses.join(' → ')}`);
  assert.equal(r.tokenizer.applyChatTemplate(conv.slice(0, 1), { addGenerationPrompt: true }).endsWith('<|im_start|>assistant\n'), true, 'the saved tokenizer keeps the template');
  r.model.dispose();
});
