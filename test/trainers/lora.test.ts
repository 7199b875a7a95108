// LoRA in the trainers (--lora-r N; src/trainers/common/lora.ts): SFT learns with only the adapters
// training and resumes exactly from adapter-only checkpoints; OUT is a PEFT adapter that loads back
// as the trained model; DPO, PPO, GRPO, RLOO and REINFORCE++ take the policy with its adapters off
// as the reference; the reward model trains its score head whole beside the adapters; `rlhf
// merge-lora` writes the merged model; bad settings are named errors. A 2-layer GPT-2
// (tests/trainers/fixtures.ts), a few steps each.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { sft, dpo, ppo, grpo, rloo, reinforcePP, trainRewardModel, type GRPOConfigInput, type OnlineTrainerOptions } from '../../src/trainers/index.js';
import { loadPretrained, loadScalarModel } from '../../src/models/index.js';
import type { CausalLM } from '../../src/models/index.js';
import { applyLora } from '../../src/nn/lora.js';
import { readSafetensorsFile, readSafetensorsHeader } from '../../src/torch/safetensors.js';
import { adapterDisabledReference, applyLoraFromConfig } from '../../src/trainers/common/lora.js';
import { sftConfig } from '../../src/trainers/sft/config.js';
import { frozenLogprobs } from '../../src/trainers/common/preference.js';
import { main } from '../../src/cli/index.js';
import { assertLoraOut, tempDir, tinyModel, writeJsonl, sentences, PROMPTS, POSITIVE_WORDS } from './fixtures.js';

const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;
const root = tempDir('rlhf-lora-');
let base = '';
let text = '';
let reviews = '';
let prefs = '';
const LORA = { loraR: 8, loraAlpha: 16, loraTargets: ['c_attn', 'c_fc'] };
const NOUNS = ['movie', 'plot', 'film', 'cast'];
const NEGATIVE_WORDS = ['bad', 'dull', 'awful', 'boring'];

function rlhf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, RLHF_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function logitsOf(model: CausalLM): torch.Tensor {
  model.eval();
  return torch.tidy(() => torch.noGrad(() => model.forward(torch.tensor([[5, 9, 30, 2, 44, 7]], { dtype: 'int64' })).logits));
}

const maxDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());

before(async () => {
  // The base the adapters go on: a tiny GPT-2 pretrained (fully) on "the <noun> was <adjective> .",
  // positive adjectives after movie/plot, negative after film/cast — so that its frozen LM head
  // (tied to the embedding) tells positive words from negative ones, which adapters cannot teach it.
  const random = await tinyModel(join(root, 'random'));
  const rows = sentences(64).map((_, i) => `the ${NOUNS[i % 4]} was ${(i % 4 < 2 ? POSITIVE_WORDS : NEGATIVE_WORDS)[(i >> 2) % 4]} .`);
  text = writeJsonl(join(root, 'text.jsonl'), rows.map((t) => ({ text: t })));
  base = join(root, 'base');
  (await sft({ model: random, data: text, out: base, epochs: 30, lr: 5e-3, batchSize: 16, maxLength: 16, evalSplit: 0, saveEvery: 0, warmupSteps: 2 })).model.dispose();
  // What LoRA SFT learns on top: the same words in a new order (a new word's embedding, frozen, could not be learnt).
  reviews = writeJsonl(join(root, 'reviews.jsonl'), rows.map((t) => ({ text: t.replace(/^the (\w+) was (\w+) \.$/, '$2 was the $1 .') })));
  prefs = writeJsonl(join(root, 'prefs.jsonl'), Array.from({ length: 48 }, (_, i) => ({ prompt: PROMPTS[i % 4], chosen: ` ${POSITIVE_WORDS[i % 4]} .`, rejected: ` ${NEGATIVE_WORDS[(i >> 2) % 4]} .` })));
});

test('LoRA SFT learns with only the adapters training; OUT is a PEFT adapter that loads back as the trained model', async () => {
  const out = join(root, 'sft');
  const lines: string[] = [];
  const r = await sft({ model: base, data: reviews, out, ...LORA, lr: 1e-2, maxSteps: 32, batchSize: 16, maxLength: 16, evalSplit: 0, saveEvery: 8, logEvery: 1, warmupSteps: 2 }, { onLog: (l) => lines.push(l) });
  const losses = r.history.map((h) => h.loss as number);
  const first = losses[0] as number;
  const last = losses[losses.length - 1] as number;
  assert.ok(last < 0.6 * first, `loss ${first.toFixed(2)} → ${last.toFixed(2)}`);
  assert.match(lines.join('\n'), /lora: r 8, α 16 on 4 layers \(c_attn,c_fc\); trainable parameters 4,608 of [\d,]+ \(/);

  // OUT: the adapter (PEFT's files), the tokenizer, the run config — no whole model to hide it
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'tokenizer.json', 'rlhf_config.json']) assert.ok(existsSync(join(out, f)), f);
  for (const f of ['config.json', 'model.safetensors']) assert.ok(!existsSync(join(out, f)), `${f} must not be in an adapter directory`);
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual({ r: cfg.r, alpha: cfg.lora_alpha, targets: cfg.target_modules, fifo: cfg.fan_in_fan_out, task: cfg.task_type, base: cfg.base_model_name_or_path, dropout: cfg.lora_dropout },
    { r: 8, alpha: 16, targets: ['c_attn', 'c_fc'], fifo: true, task: 'CAUSAL_LM', base, dropout: 0.05 });
  const keys = [...(await readSafetensorsHeader(join(out, 'adapter_model.safetensors'))).tensors.keys()];
  assert.equal(keys.length, 8);
  assert.ok(keys.every((k) => /^base_model\.model\.transformer\.h\.[01]\.(attn\.c_attn|mlp\.c_fc)\.lora_[AB]\.weight$/.test(k)), keys.join());

  // checkpoints hold the adapter, not the frozen base
  const ckpts = readdirSync(join(out, 'checkpoints'));
  assert.deepEqual(ckpts, ['step-000016', 'step-000024']);
  const files = readdirSync(join(out, 'checkpoints', 'step-000024')).sort();
  assert.deepEqual(files, ['adapter.safetensors', 'optimizer-main.safetensors', 'rng.safetensors', 'trainer_state.json']);
  assert.ok(statSync(join(out, 'checkpoints', 'step-000024', 'adapter.safetensors')).size < 20_000);

  // the returned model is the adapter merged in; loading OUT (base + adapter) gives the same model
  const trained = logitsOf(r.model);
  const loaded = await loadPretrained(out);
  assert.equal(loaded.adapter?.base, base);
  assert.ok(loaded.tokenizer, 'the tokenizer comes with the adapter');
  const d = maxDiff(logitsOf(loaded.model), trained);
  assert.ok(d < 1e-5, `OUT loaded vs trained: ${d}`);
  // only the adapted weights moved
  const orig = (await loadPretrained(base)).model;
  const ow = new Map(orig.namedParameters());
  for (const [name, p] of r.model.namedParameters()) {
    const moved = maxDiff(p, ow.get(name) as torch.Tensor) > 0;
    assert.equal(moved, /\.(c_attn|c_fc)\.weight$/.test(name), `${name} ${moved ? 'moved' : 'did not move'}`);
  }
  for (const m of [r.model, loaded.model, orig]) m.dispose();
});

test('LoRA SFT resumed from an adapter checkpoint continues with the same losses', async () => {
  const out = join(root, 'sft-resume');
  const o = { model: base, data: reviews, out, ...LORA, loraDropout: 0.1, lr: 1e-2, maxSteps: 6, batchSize: 16, maxLength: 16, evalSplit: 0, saveEvery: 3, logEvery: 1 };
  const full = await sft(o);
  full.model.dispose();
  const again = await sft({ ...o, resume: true }); // from step-000003
  assert.deepEqual(again.history.map((h) => h.loss), full.history.slice(3).map((h) => h.loss));
  again.model.dispose();
});

test('the reference of a LoRA policy is the policy with its adapters off: the base exactly, no copy, nothing owned', async () => {
  const { model } = await loadPretrained(base);
  const baseLogits = logitsOf(model);
  const lora = applyLoraFromConfig(model, sftConfig.parse({ model: base, data: text, out: root, loraR: 4, loraTargets: ['c_attn'] }));
  assert.ok(lora);
  torch.noGrad(() => {
    for (const l of lora.layers.values()) l.lora_B.weight.normal_(0, 0.5);
  });
  const ref = adapterDisabledReference(model, lora);
  model.train(); // the reference runs without dropout whatever the policy's mode
  assert.equal(maxDiff(logitsOf(ref), baseLogits), 0);
  assert.equal(model.training, true, "the reference's eval() leaves the policy's mode alone");
  model.eval();
  assert.ok(maxDiff(logitsOf(model), baseLogits) > 1e-2, 'the policy is adapted');
  assert.equal(ref.parameters().length, model.parameters().length, 'the same tensors: no copy');
  assert.equal(ref.outputEmbeddings(), model.outputEmbeddings());
  const rows = [{ promptIds: [5, 9], responseIds: [30, 2, 44] }];
  const viaRef = frozenLogprobs(ref, rows, { batchSize: 1, dtype: 'float32', pad: 0 });
  const viaBase = lora.disableAdapters(() => frozenLogprobs(model, rows, { batchSize: 1, dtype: 'float32', pad: 0 }));
  assert.deepEqual(viaRef, viaBase);
  ref.dispose();
  assert.ok(!model.outputEmbeddings().isDisposed, "disposing the reference leaves the policy's weights alone");
  lora.dispose();
  model.dispose();
});

test('LoRA DPO (reference = adapters off) raises the margin from 0', async () => {
  const out = join(root, 'dpo');
  const r = await dpo({ model: base, data: prefs, out, ...LORA, loraDropout: 0, epochs: 10, lr: 1e-2, batchSize: 8, evalSplit: 0.2, saveEvery: 0, logEvery: 1 });
  const margins = r.history.map((h) => h['rewards/margins'] as number);
  assert.ok(Math.abs(margins[0] as number) < 1e-6, `first margin ${margins[0]}: policy = reference at init (B = 0)`);
  assert.ok((margins[margins.length - 1] as number) > 0.8, `final margin ${margins[margins.length - 1]}`);
  assert.ok((r.eval['eval/rewards/accuracies'] as number) > 0.9, `held-out accuracy ${r.eval['eval/rewards/accuracies']}`);
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')));
  r.model.dispose();
});

test('LoRA reward model: adapters plus the score head trained whole (modules_to_save); the adapter reloads as the same reward model', async () => {
  const out = join(root, 'rm');
  const r = await trainRewardModel({ model: base, data: prefs, out, ...LORA, epochs: 4, lr: 1e-2, batchSize: 8, evalSplit: 0.25, saveEvery: 0, loraSaveMerged: true });
  assert.ok((r.eval['eval/accuracy'] as number) > 0.9, `held-out pairwise accuracy ${r.eval['eval/accuracy']}`);
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.task_type, 'SEQ_CLS');
  assert.deepEqual(cfg.modules_to_save, ['classifier', 'score']);
  const st = await readSafetensorsFile(join(out, 'adapter_model.safetensors'));
  assert.deepEqual(st.tensors.get('base_model.model.score.weight')?.shape, [1, 32]);
  const ids = torch.tensor([[5, 9, 30, 2], [7, 7, 1, 3]], { dtype: 'int64' });
  const score = (m: { forward: (x: torch.Tensor) => { scores: torch.Tensor } }): number[] => torch.tidy(() => torch.noGrad(() => m.forward(ids).scores.toFlatArray()));
  r.model.eval();
  const want = score(r.model);
  for (const dir of [out, join(out, 'merged')]) {
    const back = await loadScalarModel(dir);
    back.model.eval();
    assert.equal(back.scoreInitialized, false, `${dir}: the score head comes with it`);
    score(back.model).forEach((s, i) => assert.ok(Math.abs(s - (want[i] as number)) < 1e-5, `${dir}: score ${s} vs ${want[i]}`));
    back.model.dispose();
  }
  ids.dispose();
  r.model.dispose();
});

test('LoRA PPO: the reference is the policy with its adapters off (KL 0, ratio 1 at the start); the adapter is saved', async () => {
  const prompts = writeJsonl(join(root, 'prompts.jsonl'), Array.from({ length: 8 }, (_, i) => ({ prompt: PROMPTS[i % 4] })));
  const out = join(root, 'ppo');
  const firsts: Record<string, number>[] = [];
  const r = await ppo(
    { model: base, prompts, out, ...LORA, loraDropout: 0, batchSize: 4, maxNewTokens: 4, maxSteps: 2, ppoEpochs: 1, lr: 1e-2, saveEvery: 0, temperature: 1 },
    {
      rewardFn: (_p, responses) => responses.map((t) => t.length / 10),
      onMinibatch: ({ epoch, minibatch, stats }) => {
        if (epoch === 0 && minibatch === 0) firsts.push(stats);
      },
    },
  );
  assert.equal(r.history[0]?.['objective/kl'], 0, 'policy = reference at init');
  assert.ok(Math.abs((firsts[0]?.['policy/ratio'] as number) - 1) < 1e-6);
  assert.ok(r.history.every((h) => Number.isFinite(h['loss/policy'] as number)));
  assert.ok(existsSync(join(out, 'adapter_model.safetensors')) && !existsSync(join(out, 'model.safetensors')));
  assert.ok(existsSync(join(out, 'value_model', 'model.safetensors')), 'the value model trains whole');
  r.dispose();
});

// GRPO (k3 KL in the loss), RLOO (sequence KL in the reward), REINFORCE++ (token KL in the reward):
// β > 0, so each needs π_ref, which is the policy with its adapters off.
type Common = Pick<GRPOConfigInput, 'model' | 'prompts' | 'out' | 'loraR' | 'loraDropout' | 'batchSize' | 'maxSteps' | 'lr' | 'saveEvery' | 'temperature'>;
const ONLINE = [
  { name: 'GRPO', kl: 'kl', train: (c: Common, o: OnlineTrainerOptions) => grpo({ numGenerations: 4, maxCompletionLength: 4, beta: 0.04, ...c }, o) },
  { name: 'RLOO', kl: 'kl', train: (c: Common, o: OnlineTrainerOptions) => rloo({ numGenerations: 4, maxCompletionLength: 4, beta: 0.05, ...c }, o) },
  { name: 'REINFORCE++', kl: 'objective/kl', train: (c: Common, o: OnlineTrainerOptions) => reinforcePP({ samplesPerPrompt: 4, maxNewTokens: 4, klCoef: 0.05, ...c }, o) },
];
for (const { name, kl, train } of ONLINE) {
  test(`LoRA ${name}: only the adapters train (adapter-only checkpoints), the reference is the policy with its adapters off (KL 0 at the start), OUT is a PEFT adapter`, async () => {
    const prompts = writeJsonl(join(root, 'prompts.jsonl'), Array.from({ length: 8 }, (_, i) => ({ prompt: PROMPTS[i % 4] })));
    const out = join(root, name.toLowerCase());
    const lines: string[] = [];
    const r = await train({ model: base, prompts, out, loraR: 4, loraDropout: 0, batchSize: 2, maxSteps: 2, lr: 1e-2, saveEvery: 1, temperature: 1 }, {
      rewardFns: [(_p, responses) => responses.map((t) => t.length / 10)],
      onLog: (l) => lines.push(l),
    });
    assert.match(lines.join('\n'), /lora: r 4, α 32 on 2 layers \(c_attn\)/);
    const first = r.history[0]?.[kl] as number;
    assert.ok(Math.abs(first) < 1e-6, `${kl} at the first iteration ${first}: policy = reference at init (B = 0)`);
    assert.deepEqual(readdirSync(join(out, 'checkpoints', 'step-000001')).sort(), ['adapter.safetensors', 'optimizer-main.safetensors', 'rng.safetensors', 'trainer_state.json']);
    await assertLoraOut(out, r.policy, base, 4);
    r.dispose();
  });
}

test('rlhf merge-lora writes the merged model', async () => {
  const adapter = join(root, 'sft');
  const merged = join(root, 'merged');
  const m = rlhf('merge-lora', adapter, '--out', merged);
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stdout, /merge-lora: .*\(r 8, α 16, c_attn,c_fc\) merged into .*base → .*merged/);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(merged, f)), f);
  const a = await loadPretrained(merged);
  const b = await loadPretrained(adapter);
  assert.ok(maxDiff(logitsOf(a.model), logitsOf(b.model)) < 1e-6);
  a.model.dispose();
  b.model.dispose();
});

test('bad LoRA settings and inputs are named errors (exit 2 from the command line)', async () => {
  const run = async (...argv: string[]): Promise<{ code: number; stderr: string }> => {
    let stderr = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array): boolean => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
    try {
      return { code: await main(argv), stderr };
    } finally {
      process.stderr.write = write;
    }
  };
  const noAdapter = await run('merge-lora', base, '--out', join(root, 'x'));
  assert.equal(noAdapter.code, 2);
  assert.match(noAdapter.stderr, /has no adapter_config\.json: it is not a LoRA adapter directory/);
  const negative = await run('sft', '--model', base, '--data', text, '--out', join(root, 'bad'), '--lora-r', '-1');
  assert.equal(negative.code, 2);
  assert.match(negative.stderr, /--lora-r: .*>=0.*\(got -1\)/);
  const wrong = await run('sft', '--model', base, '--data', text, '--out', join(root, 'bad2'), '--lora-r', '4', '--lora-targets', 'q_proj,v_proj', '--max-steps', '1', '--quiet');
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /rlhf sft: LoRA target modules \(q_proj, v_proj\) match no layer of the model; its Linear\/Conv1D layers are: c_attn \(transformer\.h\.0\.attn\.c_attn, ×2\)/);
  await assert.rejects(sft({ model: base, data: text, out: join(root, 'bad3'), loraTargets: ['c_attn'] }), /--lora-targets needs LoRA on: pass --lora-r N/);
  await assert.rejects(sft({ model: base, data: text, out: join(root, 'bad4'), loraR: 4, loraTargets: ['c_attn'], loraTargetRegex: '.*c_fc' }), /--lora-targets and --lora-target-regex both choose/);
});
