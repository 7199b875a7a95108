// LoRA (src/nn/lora.ts) and PEFT's adapter format (src/nn/lora-peft.ts): the adapted model equals
// the base at init (B = 0) and with the adapters disabled; merging gives the adapted logits;
// gradients of A and B against central differences in float64; only the adapters train; targets
// match as PEFT matches them; adapters round-trip and read PEFT's files (test/fixtures/peft-lora,
// written by hand in PEFT 0.13.2's layout, with the logits of an independent reference).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { applyLora, LoraError, matchesTarget, type LoraModel } from '../../src/nn/lora.js';
import { Module } from '../../src/nn/module.js';
import { Linear } from '../../src/nn/layers.js';
import { AdamW } from '../../src/optim/adamw.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, loadAdapter, peftStateDict, readAdapterConfig, saveAdapter } from '../../src/nn/lora-peft.js';
import { readSafetensorsFile } from '../../src/torch/safetensors.js';
import { loadPretrained, loadScalarModel, CheckpointError } from '../../src/models/index.js';
import type { CausalLM } from '../../src/models/index.js';
import { LlamaForCausalLM } from '../../src/models/llama.js';
import { ids, maxAbsDiff, tempDir, tinyGPT2, tinyNeo } from '../models/helpers.js';

const FIXTURES = new URL('../fixtures/peft-lora/', import.meta.url).pathname;
const PARITY = new URL('../fixtures/parity/', import.meta.url).pathname;
const INPUT = [[1, 5, 9, 2, 7, 3], [4, 4, 8, 0, 6, 1]];

/** Linear → tanh → Linear: LoRA on nn.Linear outside a transformer. */
class MLP extends Module {
  fc1 = this.registerModule('fc1', new Linear(6, 5));
  fc2 = this.registerModule('fc2', new Linear(5, 4));
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).tanh());
  }
}

function logits(model: CausalLM, rows: number[][] = INPUT): Tensor {
  return torch.tidy(() => torch.noGrad(() => model.forward(ids(rows)).logits));
}

/** Gives every lora_B random values (a trained adapter): B = 0 would make every test below trivial. */
function randomizeB(lora: LoraModel, std = 0.3): void {
  torch.noGrad(() => {
    for (const layer of lora.layers.values()) layer.lora_B.weight.normal_(0, std);
  });
}

describe('the adapted model', () => {
  test('equals the base exactly at init (B = 0), in eval and in train mode with dropout, and LoRA freezes the base', () => {
    const noDropout = { resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }; // the base's own dropout would differ run to run
    for (const make of [() => tinyGPT2(noDropout), () => tinyNeo({ resid_dropout: 0, embed_dropout: 0, attention_dropout: 0 })]) {
      const model = make();
      const base = logits(model);
      const lora = applyLora(model, { r: 4, loraAlpha: 8, loraDropout: 0.5, targetModules: 'all-linear' });
      assert.ok(lora.layers.size >= 8, `${lora.layers.size} layers adapted`);
      assert.equal(maxAbsDiff(logits(model), base), 0);
      model.train();
      torch.manualSeed(3);
      assert.equal(maxAbsDiff(logits(model), base), 0, 'B = 0: the dropped-out adapter input changes nothing');
      model.eval();
      assert.ok(model.parameters().every((p) => !p.requiresGrad), 'every base parameter is frozen');
      assert.ok(lora.trainableParameters().every((p) => p.requiresGrad));
      lora.dispose();
      assert.ok(model.parameters().every((p) => p.requiresGrad), 'unloading gives the base its requires-grad flags back');
      assert.equal(maxAbsDiff(logits(model), base), 0);
      model.dispose();
    }
  });

  test('with the adapters disabled computes the base exactly; enabled, something else', () => {
    const model = tinyGPT2();
    const base = logits(model);
    const lora = applyLora(model, { r: 2, loraAlpha: 4, targetModules: ['c_attn', 'c_fc'] });
    randomizeB(lora);
    const adapted = logits(model);
    assert.ok(maxAbsDiff(adapted, base) > 1e-2, 'a trained adapter changes the logits');
    assert.equal(lora.disableAdapters(() => maxAbsDiff(logits(model), base)), 0);
    assert.equal(lora.adaptersEnabled, true, 're-enabled afterwards');
    assert.equal(maxAbsDiff(logits(model), adapted), 0);
    lora.dispose();
    model.dispose();
  });

  test('merged weights (W += s·B·A, transposed for Conv1D) give the adapted logits, and rsLoRA scales by α/√r', () => {
    for (const [make, targets] of [[() => tinyGPT2(), ['c_attn', 'c_proj', 'c_fc']], [() => tinyNeo(), ['q_proj', 'v_proj', 'out_proj', 'c_fc']]] as const) {
      for (const useRslora of [false, true]) {
        const model = make();
        const lora = applyLora(model, { r: 4, loraAlpha: 16, targetModules: targets, useRslora });
        const layer = [...lora.layers.values()][0];
        assert.equal(layer?.scaling, useRslora ? 16 / 2 : 16 / 4);
        randomizeB(lora);
        const adapted = logits(model);
        lora.mergeAndUnload();
        const merged = logits(model);
        const d = maxAbsDiff(merged, adapted);
        assert.ok(d < 1e-5, `merged vs adapted: max |diff| ${d}`);
        assert.ok(!Object.prototype.hasOwnProperty.call(layer?.target, 'forward'), 'the layer computes with its own forward again');
        model.dispose();
      }
    }
  });

  test('gradients of A and B match central differences in float64 (Conv1D and Linear targets)', () => {
    // GPT-2 for Conv1D; a two-layer MLP for Linear (GPT-Neo computes attention in float32, too coarse for differences).
    const gpt2 = (): { model: Module; loss: () => Tensor; dispose: () => void } => {
      const model = tinyGPT2({ n_embd: 8, n_head: 2, vocab_size: 12 });
      model.to('float64');
      const input = ids([[1, 5, 9, 2], [4, 4, 8, 0]]);
      const w = torch.randn([2, 4, 12], { dtype: 'float64' });
      return { model, loss: () => model.forward(input).logits.mul(w).sum(), dispose: () => (input.dispose(), w.dispose(), model.dispose()) };
    };
    const mlp = (): { model: Module; loss: () => Tensor; dispose: () => void } => {
      const model = new MLP().to('float64');
      const x = torch.randn([3, 6], { dtype: 'float64' });
      const w = torch.randn([3, 4], { dtype: 'float64' });
      return { model, loss: () => model.forward(x).mul(w).sum(), dispose: () => (x.dispose(), w.dispose(), model.dispose()) };
    };
    for (const [make, targets] of [[gpt2, ['c_attn', 'mlp.c_proj']], [mlp, ['fc1', 'fc2']]] as const) {
      const { model, loss, dispose } = make();
      const lora = applyLora(model, { r: 2, loraAlpha: 3, targetModules: targets });
      lora.to('float64');
      randomizeB(lora, 0.5);
      torch.tidy(() => loss().backward());
      let checked = 0;
      for (const [name, p] of lora.namedParameters()) {
        const g = (p.grad as Tensor).toFlatArray();
        const n = p.numel;
        const flat = p.view(n);
        for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 7))) {
          const at = (x: number): number => torch.noGrad(() => torch.tidy(() => {
            flat.narrow(0, i, 1).fill_(x);
            return loss().item();
          }));
          const x0 = torch.noGrad(() => flat.narrow(0, i, 1).item());
          const eps = 1e-6;
          const fd = (at(x0 + eps) - at(x0 - eps)) / (2 * eps);
          at(x0);
          const ad = g[i] as number;
          assert.ok(Math.abs(fd - ad) <= 1e-6 * Math.max(1, Math.abs(fd)), `${name}[${i}]: autograd ${ad}, central difference ${fd}`);
          checked++;
        }
      }
      assert.ok(checked >= 16, `${checked} entries checked`);
      assert.ok(model.parameters().every((p) => p.grad === null), 'no base parameter gets a gradient');
      lora.dispose();
      dispose();
    }
  });

  test('training steps with dropout keep the live-tensor count flat (the adapters free what they create)', () => {
    const model = tinyGPT2().train();
    const lora = applyLora(model, { r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: 'all-linear' });
    const opt = new AdamW(lora.trainableParameters(), { lr: 1e-3 });
    const input = ids(INPUT);
    const live: number[] = [];
    for (let i = 0; i < 5; i++) {
      torch.tidy(() => {
        model.forward(input).logits.square().mean().backward();
        opt.step();
        opt.zeroGrad();
      });
      live.push(torch.memory().liveTensors);
    }
    assert.equal(new Set(live.slice(1)).size, 1, `live tensors ${live.join(', ')}`);
    opt.dispose();
    input.dispose();
    lora.dispose();
    model.dispose();
  });

  test('only the adapters (and the modules saved whole) get gradients and count as trainable', () => {
    const model = tinyGPT2();
    const lora = applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['c_attn'], modulesToSave: ['ln_f'] });
    const names = [...lora.stateDict().keys()].sort();
    assert.deepEqual(names, [
      'transformer.h.0.attn.c_attn.lora_A.weight', 'transformer.h.0.attn.c_attn.lora_B.weight',
      'transformer.h.1.attn.c_attn.lora_A.weight', 'transformer.h.1.attn.c_attn.lora_B.weight',
      'transformer.ln_f.bias', 'transformer.ln_f.weight',
    ]);
    torch.tidy(() => model.forward(ids(INPUT)).logits.square().mean().backward());
    const trainable = new Set(lora.trainableParameters());
    for (const [name, p] of model.namedParameters()) {
      if (name.startsWith('transformer.ln_f.')) assert.ok(p.grad !== null && trainable.has(p), `${name} is saved whole: trained`);
      else assert.equal(p.grad, null, `${name} is frozen`);
    }
    for (const [name, p] of lora.namedParameters()) assert.ok(p.grad !== null, `${name} has a gradient`);
    const C = 16;
    const counts = lora.parameterCounts();
    assert.equal(counts.trainable, 2 * (4 * C + 3 * C * 4) + 2 * C); // per layer A (4, 16) + B (48, 4); ln_f weight and bias
    assert.equal(counts.total, model.numParameters() + 2 * (4 * C + 3 * C * 4));
    lora.dispose();
    model.dispose();
  });
});

describe('the Llama family (src/models/llama.ts: nn.Linear projections with HF names)', () => {
  test('all-linear adapts q,k,v,o,gate,up,down_proj (not the untied lm_head); merged = adapted; PEFT key names', async () => {
    torch.manualSeed(0);
    const model = new LlamaForCausalLM({ model_type: 'llama', vocab_size: 50, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, bos_token_id: 1, eos_token_id: 2, tie_word_embeddings: false }).eval();
    const base = logits(model);
    const lora = applyLora(model, { r: 4, loraAlpha: 8, targetModules: 'all-linear' });
    assert.deepEqual(lora.config.targetModules, ['down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj']);
    assert.equal(lora.config.fanInFanOut, false);
    assert.equal(lora.layers.size, 14);
    assert.equal(maxAbsDiff(logits(model), base), 0, 'B = 0');
    randomizeB(lora);
    const adapted = logits(model);
    assert.ok(maxAbsDiff(adapted, base) > 1e-2);
    const keys = [...peftStateDict(lora).keys()];
    assert.ok(keys.includes('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'), keys[0]);
    assert.ok(keys.includes('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight'));
    lora.mergeAndUnload();
    assert.ok(maxAbsDiff(logits(model), adapted) < 1e-5);
    model.dispose();
  });
});

describe('target modules (as PEFT matches them)', () => {
  test('a name matches the full name or its last components; a string is a regular expression matched whole', () => {
    assert.equal(matchesTarget('transformer.h.0.attn.c_attn', ['c_attn']), true);
    assert.equal(matchesTarget('transformer.h.0.attn.c_attn', ['attn.c_attn']), true);
    assert.equal(matchesTarget('transformer.h.0.attn.c_attn', ['attn']), false);
    assert.equal(matchesTarget('transformer.h.0.attn.xc_attn', ['c_attn']), false);
    assert.equal(matchesTarget('transformer.h.0.mlp.c_proj', ['transformer.h.0.mlp.c_proj']), true);
    assert.equal(matchesTarget('transformer.h.1.mlp.c_fc', '.*\\.h\\.1\\.mlp\\.c_fc'), true);
    assert.equal(matchesTarget('transformer.h.1.mlp.c_fc', 'h\\.1\\.mlp\\.c_fc'), false, 'fullmatch, not search');
    assert.equal(matchesTarget('transformer.h.11.mlp.c_fc', '.*\\.h\\.1\\.mlp\\.c_fc'), false);
  });

  test('c_proj adapts both GPT-2 projections of that name; all-linear every layer but the LM head', () => {
    const model = tinyGPT2({ tie_word_embeddings: false });
    const lora = applyLora(model, { r: 2, loraAlpha: 2, targetModules: ['c_proj'] });
    assert.deepEqual([...lora.layers.keys()], ['transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_proj', 'transformer.h.1.attn.c_proj', 'transformer.h.1.mlp.c_proj']);
    assert.equal(lora.config.fanInFanOut, true);
    lora.dispose();
    const all = applyLora(model, { r: 2, loraAlpha: 2, targetModules: 'all-linear' });
    assert.deepEqual(all.config.targetModules, ['c_attn', 'c_fc', 'c_proj'], 'expanded to the last names, as PEFT saves it');
    assert.ok(![...all.layers.keys()].includes('lm_head'));
    all.dispose();
    model.dispose();
  });

  test('errors name the fix: nothing matched (listing the layers), r < 1, a non-linear module, the LM head', () => {
    const model = tinyGPT2({ tie_word_embeddings: false });
    assert.throws(() => applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['q_proj', 'v_proj'] }), (e: Error) => {
      assert.ok(e instanceof LoraError);
      assert.match(e.message, /\(q_proj, v_proj\) match no layer/);
      assert.match(e.message, /c_attn \(transformer\.h\.0\.attn\.c_attn, ×2\), c_proj \(transformer\.h\.0\.attn\.c_proj, ×4\), c_fc/);
      return true;
    });
    assert.throws(() => applyLora(model, { r: -1, loraAlpha: 8, targetModules: ['c_attn'] }), /rank r must be a whole number ≥ 1 \(got -1\)/);
    assert.throws(() => applyLora(model, { r: 0, loraAlpha: 8, targetModules: ['c_attn'] }), /--lora-r 0/);
    assert.throws(() => applyLora(model, { r: 4, loraAlpha: 0, targetModules: ['c_attn'] }), /alpha must be a positive number/);
    assert.throws(() => applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['attn'] }), /transformer\.h\.0\.attn is a GPT2Attention; LoRA adapts Linear and Conv1D layers/);
    assert.throws(() => applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['lm_head'] }), /is the output layer/);
    assert.throws(() => applyLora(model, { r: 4, loraAlpha: 8, targetModules: '(' }), /not a valid regular expression/);
    assert.ok(model.parameters().every((p) => p.requiresGrad), 'a failed applyLora leaves the model as it was');
    const lora = applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['c_attn'] });
    assert.throws(() => applyLora(model, { r: 4, loraAlpha: 8, targetModules: ['c_attn'] }), /already carries a LoRA adapter/);
    lora.dispose();
    model.dispose();
  });
});

describe("PEFT's format", () => {
  const fixtureConfig = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(FIXTURES, name, ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;

  test('adapter_config.json has exactly the fields and values PEFT writes; the weights PEFT\'s key names', async () => {
    const { dir, cleanup } = tempDir('rlhf-lora-');
    try {
      const { model } = await loadPretrained(join(PARITY, 'gpt2-base'));
      const lora = applyLora(model, { r: 4, loraAlpha: 8, loraDropout: 0.05, targetModules: ['c_attn', 'c_proj'] });
      await saveAdapter(lora, dir, { baseModelNameOrPath: 'test/fixtures/parity/gpt2-base', taskType: 'CAUSAL_LM' });
      const text = readFileSync(join(dir, ADAPTER_CONFIG_FILE), 'utf8');
      const ours = JSON.parse(text) as Record<string, unknown>;
      const peft = fixtureConfig('gpt2-causal');
      assert.deepEqual(Object.keys(ours), Object.keys(peft), 'the same fields, sorted as sort_keys=True sorts them');
      assert.deepEqual({ ...ours, target_modules: null }, { ...peft, target_modules: null });
      assert.deepEqual([...(ours.target_modules as string[])].sort(), [...(peft.target_modules as string[])].sort(), 'target_modules: the same set');
      assert.equal(text, JSON.stringify(JSON.parse(text), null, 2), 'indent 2, no trailing newline, as json.dumps(indent=2)');
      const mine = await readSafetensorsFile(join(dir, ADAPTER_WEIGHTS_FILE));
      const theirs = await readSafetensorsFile(join(FIXTURES, 'gpt2-causal', ADAPTER_WEIGHTS_FILE));
      assert.deepEqual([...mine.tensors.keys()].sort(), [...theirs.tensors.keys()].sort());
      for (const [k, t] of theirs.tensors) {
        assert.deepEqual(mine.tensors.get(k)?.shape, t.shape, k);
        assert.equal(mine.tensors.get(k)?.dtype, 'F32', k);
      }
      assert.deepEqual(mine.metadata, { format: 'pt' });
      assert.ok([...mine.tensors.keys()].every((k) => /^base_model\.model\.transformer\.h\.\d\.(attn|mlp)\.(c_attn|c_proj)\.lora_[AB]\.weight$/.test(k)), 'no adapter name in the keys');
      lora.dispose();
      model.dispose();
    } finally {
      cleanup();
    }
  });

  test('a reward model\'s adapter: task_type SEQ_CLS, modules_to_save ["classifier", "score"], score.weight saved', async () => {
    const { dir, cleanup } = tempDir('rlhf-lora-');
    try {
      const { model } = await loadScalarModel(join(PARITY, 'gpt2-reward'));
      const lora = applyLora(model, { r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: ['c_attn'], modulesToSave: ['classifier', 'score'] });
      await saveAdapter(lora, dir, { baseModelNameOrPath: 'test/fixtures/parity/gpt2-reward', taskType: 'SEQ_CLS' });
      assert.deepEqual(JSON.parse(readFileSync(join(dir, ADAPTER_CONFIG_FILE), 'utf8')), fixtureConfig('gpt2-seqcls'));
      assert.deepEqual([...peftStateDict(lora).keys()].sort(), [...(await readSafetensorsFile(join(FIXTURES, 'gpt2-seqcls', ADAPTER_WEIGHTS_FILE))).tensors.keys()].sort());
      lora.dispose();
      model.dispose();
    } finally {
      cleanup();
    }
  });

  interface Expected {
    cases: { name: string; kind: 'causal' | 'scalar'; base: string; adapted: string[]; scaling: number; inputs: { name: string; input_ids: number[][]; attention_mask: number[][] | null; logits?: (number[] | null)[][]; scores?: number[] }[] }[];
  }
  const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

  for (const c of expected.cases) {
    test(`reads what PEFT writes: ${c.name} gives the reference's ${c.kind === 'causal' ? 'logits' : 'scores'} (loaded as a model directory, merged)`, async () => {
      const loaded = c.kind === 'causal' ? await loadPretrained(join(FIXTURES, c.name)) : await loadScalarModel(join(FIXTURES, c.name));
      loaded.model.eval();
      assert.ok(loaded.adapter, 'the load says an adapter was applied');
      assert.equal(loaded.adapter.config.lora.r, fixtureConfig(c.name).r);
      if (c.kind === 'scalar') assert.equal((loaded as Awaited<ReturnType<typeof loadScalarModel>>).scoreInitialized, false, 'the score head came from the adapter');
      for (const inp of c.inputs) {
        torch.tidy(() => {
          const x = torch.tensor(inp.input_ids, { dtype: 'int64' });
          const mask = inp.attention_mask ? torch.tensor(inp.attention_mask, { dtype: 'int64' }) : null;
          let worst = 0;
          if (c.kind === 'causal') {
            const out = (loaded.model as CausalLM).forward(x, { attentionMask: mask }).logits.toArray() as number[][][];
            inp.logits?.forEach((row, b) => row.forEach((v, t) => v?.forEach((e, j) => (worst = Math.max(worst, Math.abs(e - (out[b]?.[t]?.[j] as number)))))));
          } else {
            const out = (loaded.model as Awaited<ReturnType<typeof loadScalarModel>>['model']).forward(x, { attentionMask: mask }).scores.toFlatArray();
            inp.scores?.forEach((e, b) => (worst = Math.max(worst, Math.abs(e - (out[b] as number)))));
          }
          assert.ok(worst < 1e-4, `${c.name} ${inp.name}: max |diff| ${worst}`);
        });
      }
      loaded.model.dispose();
    });
  }

  test('unmerged: loadAdapter applies the fixture to a loaded base; disabling it gives the base back', async () => {
    const { model } = await loadPretrained(join(PARITY, 'neo-global-local'));
    model.eval();
    const base = logits(model, [[1, 2, 3, 4]]);
    const { lora, config } = await loadAdapter(model, join(FIXTURES, 'neo-causal'));
    assert.equal(config.fanInFanOut, false);
    assert.deepEqual([...lora.layers.keys()].sort(), expected.cases.find((c) => c.name === 'neo-causal')?.adapted);
    assert.ok(maxAbsDiff(logits(model, [[1, 2, 3, 4]]), base) > 1e-2);
    assert.equal(lora.disableAdapters(() => maxAbsDiff(logits(model, [[1, 2, 3, 4]]), base)), 0);
    lora.dispose();
    model.dispose();
  });

  test('round trip: save, load onto a fresh base, the same logits', async () => {
    const { dir, cleanup } = tempDir('rlhf-lora-');
    try {
      const a = tinyGPT2();
      const lora = applyLora(a, { r: 3, loraAlpha: 6, targetModules: '.*\\.h\\.[01]\\.(attn\\.c_attn|mlp\\.c_fc)', useRslora: true });
      randomizeB(lora);
      const adapted = logits(a);
      await saveAdapter(lora, dir, { baseModelNameOrPath: null, taskType: 'CAUSAL_LM' });
      const b = tinyGPT2(); // the same base (same seed)
      const { lora: back } = await loadAdapter(b, dir);
      assert.equal(maxAbsDiff(logits(b), adapted), 0);
      assert.deepEqual(back.config, lora.config);
      back.dispose();
      lora.dispose();
      a.dispose();
      b.dispose();
    } finally {
      cleanup();
    }
  });

  test('bad adapters: named fields, missing keys, no base, DoRA', async () => {
    const { dir, cleanup } = tempDir('rlhf-lora-');
    const { writeFileSync, copyFileSync, mkdirSync } = await import('node:fs');
    try {
      const write = (sub: string, over: Record<string, unknown>): string => {
        const d = join(dir, sub);
        mkdirSync(d, { recursive: true });
        writeFileSync(join(d, ADAPTER_CONFIG_FILE), JSON.stringify({ ...fixtureConfig('gpt2-causal'), ...over }));
        copyFileSync(join(FIXTURES, 'gpt2-causal', ADAPTER_WEIGHTS_FILE), join(d, ADAPTER_WEIGHTS_FILE));
        return d;
      };
      await assert.rejects(readAdapterConfig(write('r', { r: 0 })), /field "r" must be a whole number ≥ 1 \(got 0\)/);
      await assert.rejects(readAdapterConfig(write('dora', { use_dora: true })), /field "use_dora" is true: a DoRA adapter/);
      await assert.rejects(readAdapterConfig(write('ia3', { peft_type: 'IA3' })), /"peft_type" is "IA3"; rlhf reads LoRA adapters/);
      await assert.rejects(loadPretrained(write('nobase', { base_model_name_or_path: './models/missing-gpt2' })), (e: Error) => e instanceof CheckpointError && /"\.\/models\/missing-gpt2" .*is not a directory here; pass the base model directory with --base DIR/.test(e.message));
      const ok = await loadPretrained(write('withbase', { base_model_name_or_path: 'nowhere' }), { base: join(PARITY, 'gpt2-base') });
      ok.model.dispose();
      // the adapter of other layers: r differs, and keys have no place
      await assert.rejects(loadPretrained(write('wrong', { target_modules: ['c_fc'] })), /missing \(4\).*\n.*with no place in the model \(12\)/s);
      const { model } = await loadPretrained(join(PARITY, 'gpt2-base'));
      await assert.rejects(loadAdapter(model, write('rank', { r: 8 })), /of the wrong shape/);
      assert.ok(model.parameters().every((p) => p.requiresGrad), 'a failed load leaves the base as it was');
      assert.ok(!Object.prototype.hasOwnProperty.call(model.namedModules().find(([n]) => n === 'transformer.h.0.attn.c_attn')?.[1], 'forward'));
      model.dispose();
    } finally {
      cleanup();
    }
  });
});
