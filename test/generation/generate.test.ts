// generate(): the KV cache against full recomputation, batching against one-by-one, log-probs
// against a fresh forward, seeds, bf16, and no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, memory, tensor } from '../../src/torch/index.js';
import { generate, GenerationConfigError, prepareForInference } from '../../src/generation/index.js';
import type { GenerateOptions } from '../../src/generation/index.js';
import type { CausalLM } from '../../src/models/types.js';
import { fullLogProbs, greedyByRecomputation, leftPad, tinyModel } from './helpers.js';
import { Conv1D } from '../../src/models/gpt2.js';
import { GPTNeoForCausalLM, resolveGPTNeoConfig } from '../../src/models/gpt-neo.js';

const model = tinyModel(0);
const PROMPTS = [[5, 17, 3], [40, 2, 9, 11, 77, 8, 1], [60, 61, 62, 63, 64]];

function one(m: CausalLM, prompt: number[], opts: GenerateOptions) {
  const { inputIds, attentionMask } = leftPad([prompt]);
  const out = generate(m, { inputIds, attentionMask }, opts);
  out.sequences.dispose(); out.responseMask.dispose();
  inputIds.dispose();
  attentionMask.dispose();
  return out;
}

function batched(m: CausalLM, prompts: number[][], opts: GenerateOptions) {
  const { inputIds, attentionMask } = leftPad(prompts);
  const out = generate(m, { inputIds, attentionMask }, opts);
  inputIds.dispose();
  attentionMask.dispose();
  return out;
}

test('greedy generation with the KV cache equals full recomputation, token for token', () => {
  for (const prompt of PROMPTS) {
    const out = one(model, prompt, { greedy: true, maxNewTokens: 24, eosTokenId: null });
    const ref = greedyByRecomputation(model, prompt, 24);
    assert.deepEqual(out.responseIds[0], ref);
    assert.equal(out.finishReason[0], 'length');
  }
  // with a repetition penalty: the same as applying the processor to the whole sequence each step
  for (const prompt of PROMPTS) {
    const out = one(model, prompt, { greedy: true, maxNewTokens: 24, eosTokenId: null, repetitionPenalty: 1.8 });
    assert.deepEqual(out.responseIds[0], greedyByRecomputation(model, prompt, 24, 1.8));
  }
  // the outputs are varied (a collapsed model would make the test vacuous)
  assert.ok(new Set(greedyByRecomputation(model, PROMPTS[1] as number[], 24)).size > 3);
});

test('batched left-padded generation equals one-by-one (greedy, repetition penalty, top-k = 1 sampling)', () => {
  const settings: GenerateOptions[] = [
    { greedy: true, maxNewTokens: 20, eosTokenId: null },
    { greedy: true, maxNewTokens: 20, eosTokenId: null, repetitionPenalty: 1.5 },
    { temperature: 0.7, topK: 1, maxNewTokens: 20, eosTokenId: null, seed: 3 },
  ];
  for (const opts of settings) {
    const all = batched(model, PROMPTS, opts);
    const T = Math.max(...PROMPTS.map((p) => p.length));
    assert.deepEqual(all.sequences.shape, [3, T + 20]);
    const seq = all.sequences.toArray() as number[][];
    all.sequences.dispose(); all.responseMask.dispose();
    PROMPTS.forEach((p, b) => {
      const single = one(model, p, opts);
      assert.deepEqual(all.responseIds[b], single.responseIds[0], `row ${b}, ${JSON.stringify(opts)}`);
      assert.deepEqual((seq[b] as number[]).slice(T), single.responseIds[0]);
      assert.deepEqual((seq[b] as number[]).slice(T - p.length, T), p);
      for (let i = 0; i < 20; i++) assert.ok(Math.abs((all.logprobs[b] as number[])[i]! - (single.logprobs[0] as number[])[i]!) < 1e-4);
    });
  }
});

test('log-probs equal log_softmax(logits / T) of a full forward over prompt + response', () => {
  for (const opts of [
    { temperature: 0.7, topP: 0.9, topK: 20, repetitionPenalty: 1.2, seed: 5 },
    { greedy: true },
    { temperature: 1.3, seed: 6 },
  ] as GenerateOptions[]) {
    const out = batched(model, PROMPTS, { ...opts, maxNewTokens: 16, eosTokenId: null });
    out.sequences.dispose(); out.responseMask.dispose();
    const T = opts.greedy ? 1 : (opts.temperature as number);
    let maxDiff = 0;
    PROMPTS.forEach((p, b) => {
      const resp = out.responseIds[b] as number[];
      const lp = fullLogProbs(model, [...p, ...resp], T);
      resp.forEach((tok, i) => {
        const expected = (lp[p.length - 1 + i] as number[])[tok] as number;
        maxDiff = Math.max(maxDiff, Math.abs(expected - (out.logprobs[b] as number[])[i]!));
      });
    });
    assert.ok(maxDiff < 1e-4, `max |logprob diff| ${maxDiff} with ${JSON.stringify(opts)}`);
  }
});

test('the same seed gives the same tokens; a different seed different ones', () => {
  const opts = { temperature: 1, maxNewTokens: 24, eosTokenId: null };
  const a = batched(model, PROMPTS, { ...opts, seed: 11 });
  const b = batched(model, PROMPTS, { ...opts, seed: 11 });
  const c = batched(model, PROMPTS, { ...opts, seed: 12 });
  for (const o of [a, b, c]) {
    o.sequences.dispose();
    o.responseMask.dispose();
  }
  assert.deepEqual(a.responseIds, b.responseIds);
  assert.deepEqual(a.logprobs, b.logprobs);
  assert.notDeepEqual(a.responseIds, c.responseIds);
});

test('EOS stops each row on its own; the response keeps the EOS; other rows are unaffected', () => {
  const free = batched(model, PROMPTS, { greedy: true, maxNewTokens: 20, eosTokenId: null });
  free.sequences.dispose(); free.responseMask.dispose();
  const row0 = free.responseIds[0] as number[];
  const eos = row0[4] as number; // row 0 stops at its first occurrence of this token
  const stopAt = row0.indexOf(eos);
  const out = batched(model, PROMPTS, { greedy: true, maxNewTokens: 20, eosTokenId: [eos], padTokenId: 0 });
  assert.deepEqual(out.responseIds[0], row0.slice(0, stopAt + 1));
  assert.equal(out.finishReason[0], 'eos');
  assert.equal(out.logprobs[0]!.length, stopAt + 1);
  for (const b of [1, 2]) {
    const r = free.responseIds[b] as number[];
    const at = r.indexOf(eos);
    assert.deepEqual(out.responseIds[b], at >= 0 ? r.slice(0, at + 1) : r);
    assert.equal(out.finishReason[b], at >= 0 ? 'eos' : 'length');
  }
  // after its EOS, a row is padded in `sequences`
  const seq = out.sequences.toArray() as number[][];
  const T = Math.max(...PROMPTS.map((p) => p.length));
  const padded = (seq[0] as number[]).slice(T + stopAt + 1);
  assert.ok(padded.every((x) => x === 0), `row 0 after EOS: ${padded}`);
  out.sequences.dispose(); out.responseMask.dispose();
});

test('generation stops early when every row is done', () => {
  const free = batched(model, [PROMPTS[0] as number[]], { greedy: true, maxNewTokens: 10, eosTokenId: null });
  free.sequences.dispose(); free.responseMask.dispose();
  const eos = (free.responseIds[0] as number[])[2] as number;
  const out = batched(model, [PROMPTS[0] as number[]], { greedy: true, maxNewTokens: 10, eosTokenId: eos });
  const n = (free.responseIds[0] as number[]).indexOf(eos) + 1;
  assert.equal(out.timings.steps, n);
  assert.equal(out.sequences.size(1), (PROMPTS[0] as number[]).length + n);
  out.sequences.dispose(); out.responseMask.dispose();
});

test('bf16 generation runs on a bf16 copy and leaves the float32 weights untouched', () => {
  const before = model.parameters().map((p) => p.dtype);
  const w = model.transformer.h[0]!.attn.c_attn.weight;
  const sample = w.narrow(0, 0, 1).toFlatArray();
  const out = batched(model, PROMPTS, { greedy: true, maxNewTokens: 12, eosTokenId: null, dtype: 'bfloat16' });
  out.sequences.dispose(); out.responseMask.dispose();
  assert.deepEqual(model.parameters().map((p) => p.dtype), before);
  assert.deepEqual(w.narrow(0, 0, 1).toFlatArray(), sample);
  assert.ok(out.timings.castMs > 0);
  // bf16 greedy mostly agrees with fp32 greedy on its first tokens; the log-probs are close
  const fp32 = batched(model, PROMPTS, { greedy: true, maxNewTokens: 12, eosTokenId: null });
  fp32.sequences.dispose(); fp32.responseMask.dispose();
  assert.equal(out.responseIds[1]![0], fp32.responseIds[1]![0]);
  assert.ok(Math.abs(out.logprobs[1]![0]! - fp32.logprobs[1]![0]!) < 0.1);
});

test('the column-major weight copy gives the same tokens and leaves the model as it was', () => {
  const w = model.transformer.h[1]!.mlp.c_fc.weight;
  const before = w.toFlatArray();
  const fast = batched(model, PROMPTS, { greedy: true, maxNewTokens: 12, eosTokenId: null, relayoutWeights: true });
  const plain = batched(model, PROMPTS, { greedy: true, maxNewTokens: 12, eosTokenId: null, relayoutWeights: false });
  fast.sequences.dispose(); fast.responseMask.dispose();
  plain.sequences.dispose(); plain.responseMask.dispose();
  assert.ok(fast.timings.castMs > 0 && plain.timings.castMs === 0);
  assert.deepEqual(fast.responseIds, plain.responseIds);
  fast.logprobs.forEach((r, b) => r.forEach((x, i) => assert.ok(Math.abs(x - plain.logprobs[b]![i]!) < 1e-5)));
  assert.ok(w.isContiguous);
  assert.deepEqual(w.shape, [32, 128]);
  assert.deepEqual(w.toFlatArray(), before);
});

test('prepareForInference lays the weights out once: same outputs, nothing copied per call', () => {
  const m = tinyModel(0).train();
  const ref = batched(model, PROMPTS, { greedy: true, maxNewTokens: 20, eosTokenId: null });
  ref.sequences.dispose(); ref.responseMask.dispose();
  prepareForInference(m);
  assert.equal(m.training, false);
  const convs = m.namedModules().map(([, x]) => x).filter((x): x is Conv1D => x instanceof Conv1D);
  assert.ok(convs.length > 0 && convs.every((c) => !c.weight.isContiguous && c.weight.strides[0] === 1));
  const out = batched(m, PROMPTS, { greedy: true, maxNewTokens: 20, eosTokenId: null });
  out.sequences.dispose(); out.responseMask.dispose();
  assert.equal(out.timings.castMs, 0);
  assert.deepEqual(out.responseIds, ref.responseIds);
  m.dispose();
});

test('live tensors stay flat across a long generation and nothing leaks', () => {
  const { inputIds, attentionMask } = leftPad(PROMPTS);
  const start = memory().liveTensors;
  const counts: number[] = [];
  const out = generate(model, { inputIds, attentionMask }, {
    temperature: 0.9, topK: 40, topP: 0.95, repetitionPenalty: 1.1, maxNewTokens: 120, eosTokenId: null, seed: 1,
    onToken: (e) => { if (e.row === 0) counts.push(memory().liveTensors); },
  });
  assert.equal(counts.length, 120);
  assert.equal(Math.min(...counts), Math.max(...counts), `live tensors varied across steps: ${Math.min(...counts)}..${Math.max(...counts)}`);
  out.sequences.dispose(); out.responseMask.dispose();
  assert.equal(memory().liveTensors, start);
  inputIds.dispose();
  attentionMask.dispose();
});

test('bad inputs and options fail with messages that say what to do', () => {
  const ids = tensor([[1, 2, 3]], { dtype: 'int64' });
  assert.throws(() => generate(model, { inputIds: ids }, { maxNewTokens: 0 }), /maxNewTokens must be a positive integer/);
  assert.throws(() => generate(model, { inputIds: ids }, { topP: 1.5 }), /topP must be in \(0, 1\]/);
  assert.throws(() => generate(model, { inputIds: ids }, { maxNewTokens: 300 }), (e: unknown) => e instanceof GenerationConfigError && /n_positions \(256\); lower maxNewTokens to 253/.test(e.message));
  assert.throws(() => generate(model, { inputIds: ids, attentionMask: tensor([[1, 1, 0]], { dtype: 'int64' }) }), /left-padded.*paddingSide: 'left'/);
  assert.throws(() => generate(model, { inputIds: ids }, { eosTokenId: 1000 }), /eosTokenId 1000 is not a token id/);
  assert.throws(() => generate(model, { inputIds: ids }, { stopStrings: ['x'] }), /stopStrings need a tokenizer/);
  ids.dispose();
});

test('GPT-Neo (local attention, window 4): cached = recomputed, batched = one by one', () => {
  manualSeed(0);
  const cfg = resolveGPTNeoConfig({
    vocab_size: 97, hidden_size: 32, num_layers: 2, num_heads: 4, max_position_embeddings: 128, window_size: 4,
    attention_types: [[['global', 'local'], 1]], initializer_range: 0.3, eos_token_id: 96, bos_token_id: 96,
  });
  const neo = new GPTNeoForCausalLM(cfg).eval();
  const opts = { greedy: true, maxNewTokens: 16, eosTokenId: null };
  const all = batched(neo, PROMPTS, opts);
  all.sequences.dispose(); all.responseMask.dispose();
  PROMPTS.forEach((p, b) => {
    const ref = greedyByRecomputation(neo, p, 16);
    assert.deepEqual(one(neo, p, opts).responseIds[0], ref);
    assert.deepEqual(all.responseIds[b], ref);
  });
  neo.dispose();
});

test('responseMask and responseLengths tell a real EOS from the padding after it (which is often the EOS id too)', () => {
  // EOS = the first greedy token of row 0, so row 0 stops at once and is padded with that same id.
  const probe = batched(model, PROMPTS, { greedy: true, maxNewTokens: 1, eosTokenId: null });
  const eos = probe.responseIds[0]![0]!;
  probe.sequences.dispose(); probe.responseMask.dispose();
  const out = batched(model, PROMPTS, { greedy: true, maxNewTokens: 6, eosTokenId: eos, padTokenId: eos });
  assert.deepEqual(out.responseLengths, out.responseIds.map((r) => r.length));
  assert.equal(out.responseLengths[0], 1);
  const steps = out.timings.steps;
  assert.deepEqual(out.responseMask.shape, [PROMPTS.length, steps]);
  const mask = out.responseMask.toArray() as number[][];
  mask.forEach((row, b) => assert.deepEqual(row, Array.from({ length: steps }, (_, t) => (t < out.responseLengths[b]! ? 1 : 0))));
  out.sequences.dispose(); out.responseMask.dispose();
});

test('rollouts seeded per PPO iteration differ from one iteration to the next, and repeat on a rerun', async () => {
  const { rolloutSeed } = await import('../../src/trainers/ppo/train.js');
  const sample = (it: number) => batched(model, PROMPTS, { temperature: 1, maxNewTokens: 8, eosTokenId: null, seed: rolloutSeed(42, it) });
  const [a, b, again] = [sample(0), sample(1), sample(0)];
  for (const o of [a, b, again]) {
    o.sequences.dispose();
    o.responseMask.dispose();
  }
  assert.notDeepEqual(a.responseIds, b.responseIds);
  assert.deepEqual(a.responseIds, again.responseIds);
});
