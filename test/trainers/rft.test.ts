// Rejection-sampling fine-tuning (src/trainers/rft): the selection rule in closed form; "it learns"
// (a programmatic reward — the number of letters 'e' — rises round after round on a tiny GPT-2);
// a threshold nobody passes leaves the policy untouched; exact resume after an interrupted round;
// with --lora-r only the adapters train and OUT is a PEFT adapter; and `rlhf rft` from the command line: --help from the schema, a round end to end, bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad, setNumThreads, tensor, tidy } from '../../src/torch/index.js';
import { readSafetensorsHeader } from '../../src/torch/safetensors.js';
import { loadPretrained } from '../../src/models/index.js';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { rft, rftConfig, selectKept, readMetrics, TrainerError, type RFTConfigInput } from '../../src/trainers/index.js';
import { rft as rftCommand } from '../../src/cli/rft.js';
import { UsageError } from '../../src/cli/command.js';
import { PROMPTS, tempDir, tinyModel } from './fixtures.js';

setNumThreads(1);
const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;
const root = tempDir('rlhf-rft-');
let model = '';
let prompts = '';
let rewardFile = '';

/** The reward: how many letters 'e' a response has. */
const countE = (_p: string[], r: string[]): number[] => r.map((x) => (x.match(/e/g) ?? []).length);
const base = (out: string, over: Partial<RFTConfigInput> = {}): RFTConfigInput => ({
  model, prompts, out: join(root, out), rounds: 3, bestOf: 4, maxNewTokens: 8, lr: 1e-2, epochs: 2, batchSize: 8, ...over,
});

before(async () => {
  model = await tinyModel(join(root, 'tiny'));
  prompts = join(root, 'prompts.txt');
  writeFileSync(prompts, Array.from({ length: 16 }, (_, i) => `${PROMPTS[i % 4]}${i >= 4 ? ` ${['so', 'very', 'not'][(i >> 2) - 1]}` : ''}`).join('\n') + '\n');
  rewardFile = join(root, 'count-e.ts');
  writeFileSync(rewardFile, `export default (_p: string[], r: string[]): number[] => r.map((x) => (x.match(/e/g) ?? []).length);\n`);
});

after(() => rmSync(root, { recursive: true, force: true }));

test('selectKept: the threshold τ and the top fraction f, ties by prompt order', () => {
  const s = [3, 1, 4, 1, 5, 9, 2, 6];
  assert.deepEqual(selectKept(s, { minReward: null, topFraction: 1 }), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(selectKept(s, { minReward: 4, topFraction: 1 }), [2, 4, 5, 7]);
  assert.deepEqual(selectKept(s, { minReward: null, topFraction: 0.25 }), [5, 7]); // ⌈0.25·8⌉ = 2: 9 and 6
  assert.deepEqual(selectKept(s, { minReward: null, topFraction: 0.3 }), [4, 5, 7]); // ⌈2.4⌉ = 3
  assert.deepEqual(selectKept(s, { minReward: 6, topFraction: 0.5 }), [5, 7]);
  assert.deepEqual(selectKept([1, 1, 1, 1], { minReward: null, topFraction: 0.5 }), [0, 1]);
  assert.deepEqual(selectKept([], { minReward: 0, topFraction: 1 }), []);
});

test('it learns: the reward of the samples rises round after round; the kept ones are the best of n', async () => {
  const rounds: number[] = [];
  const r = await rft(base('learn', { rounds: 5 }), { rewardFn: countE, onRound: (k) => rounds.push(k) });
  assert.deepEqual(rounds, [1, 2, 3, 4, 5]);
  const sampled = r.history.map((h) => h['samples/reward_mean'] as number);
  assert.ok(sampled[4]! > sampled[0]! + 1, `mean reward of the samples by round: ${sampled.map((x) => x.toFixed(2)).join(', ')}`);
  assert.ok(sampled[4]! > 3 * sampled[0]!, `${sampled}`);
  for (const h of r.history) {
    assert.equal(h['kept/count'], 16);
    assert.equal(h['kept/reward_mean'], h['best/reward_mean']);
    assert.ok((h['kept/reward_mean'] as number) >= (h['samples/reward_mean'] as number));
    assert.equal(h['rewards/countE/mean'], h['samples/reward_mean']);
    assert.equal(h['train/steps'], 4, '16 pairs, batches of 8, 2 epochs');
  }
  // the files: the policy, one metrics line per round, what each round trained on, a checkpoint per round
  const out = join(root, 'learn');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'rlhf_config.json', 'rounds/round-005/metrics.jsonl']) assert.ok(existsSync(join(out, f)), f);
  assert.deepEqual(readMetrics(join(out, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4, 5]);
  const kept = readFileSync(join(out, 'rounds/round-001/kept.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; completion: string; reward: number; candidate: number });
  assert.equal(kept.length, 16);
  assert.equal(kept[0]!.prompt, 'the movie was');
  for (const k of kept) {
    assert.equal(k.reward, countE([], [k.completion])[0]);
    assert.ok(k.candidate >= 1 && k.candidate <= 4);
  }
  assert.ok(existsSync(join(out, 'checkpoints/step-000005/policy.safetensors')));
  r.model.dispose();
});

test('a threshold nobody reaches keeps nothing: no fine-tuning, the policy is unchanged; the top fraction keeps ⌈f·P⌉', async () => {
  const r = await rft(base('none', { rounds: 1, minReward: 1000 }), { rewardFn: countE });
  assert.equal(r.history[0]!['kept/count'], 0);
  assert.equal(r.history[0]!['train/steps'], 0);
  const { model: original } = await loadPretrained(model);
  const a = original.stateDict();
  for (const [k, t] of r.model.stateDict()) assert.deepEqual(t.toFlatArray(), a.get(k)!.toFlatArray(), k);
  original.dispose();
  r.model.dispose();
  const top = await rft(base('top', { rounds: 1, topFraction: 0.25, promptsPerRound: 8 }), { rewardFn: countE });
  assert.equal(top.history[0]!.prompts, 8);
  assert.equal(top.history[0]!['kept/count'], 2);
  assert.ok((top.history[0]!['kept/reward_mean'] as number) >= (top.history[0]!['best/reward_mean'] as number));
  top.model.dispose();
});

test('resume: an interrupted round is redone exactly — the same records and weights as a run never stopped', async () => {
  const strip = (h: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith('time/')));
  const a = await rft(base('a'), { rewardFn: countE });
  const b1 = await rft(base('b', { rounds: 2 }), { rewardFn: countE });
  b1.model.dispose();
  // round 3 died half-way: a metrics line and a fine-tuning log of it, but no checkpoint
  const outB = join(root, 'b');
  appendFileSync(join(outB, 'metrics.jsonl'), JSON.stringify({ step: 3, time: new Date().toISOString(), round: 3, 'train/loss': 123 }) + '\n');
  mkdirSync(join(outB, 'rounds/round-003'), { recursive: true });
  writeFileSync(join(outB, 'rounds/round-003/metrics.jsonl'), '{"step":1,"time":"x","loss":99}\n');
  await assert.rejects(rft(base('b'), { rewardFn: countE }), (e: unknown) => e instanceof TrainerError && /--resume/.test(e.message), 'a new run refuses an old one\'s checkpoints');
  const b = await rft(base('b', { resume: true }), { rewardFn: countE });
  assert.equal(b.history.length, 1, 'only round 3 ran');
  assert.deepEqual(strip(b.history[0]!), strip(a.history[2]!));
  assert.deepEqual(readMetrics(join(outB, 'metrics.jsonl')).map((m) => strip(m.metrics)), a.history.map(strip));
  assert.equal(readMetrics(join(outB, 'rounds/round-003/metrics.jsonl')).length, 4, 'the stale fine-tuning log was replaced');
  const wa = a.model.stateDict();
  for (const [k, t] of b.model.stateDict()) assert.deepEqual(t.toFlatArray(), wa.get(k)!.toFlatArray(), k);
  a.model.dispose();
  b.model.dispose();
});

test('LoRA: a round with --lora-r 4 trains only the adapters; checkpoints and OUT hold the adapter (PEFT), which loads back as the policy', async () => {
  const out = join(root, 'lora');
  const lines: string[] = [];
  const r = await rft(base('lora', { rounds: 2, loraR: 4, loraAlpha: 8, loraDropout: 0 }), { rewardFn: countE, onLog: (l) => lines.push(l) });
  assert.match(lines.join('\n'), /lora: r 4, α 8 on 2 layers \(c_attn\); trainable parameters 1,024 of [\d,]+ \(/);
  assert.ok(r.history.every((h) => h['train/steps'] === 4 && Number.isFinite(h['train/loss'] as number)), JSON.stringify(r.history));
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'tokenizer.json', 'rlhf_config.json']) assert.ok(existsSync(join(out, f)), f);
  for (const f of ['config.json', 'model.safetensors']) assert.ok(!existsSync(join(out, f)), `${f} must not be in an adapter directory`);
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual({ r: cfg.r, alpha: cfg.lora_alpha, targets: cfg.target_modules, task: cfg.task_type, base: cfg.base_model_name_or_path }, { r: 4, alpha: 8, targets: ['c_attn'], task: 'CAUSAL_LM', base: model });
  const keys = [...(await readSafetensorsHeader(join(out, 'adapter_model.safetensors'))).tensors.keys()].sort();
  assert.deepEqual(keys, [0, 1].flatMap((l) => ['A', 'B'].map((ab) => `base_model.model.transformer.h.${l}.attn.c_attn.lora_${ab}.weight`)));
  assert.deepEqual(readdirSync(join(out, 'checkpoints/step-000002')).sort(), ['adapter.safetensors', 'rng.safetensors', 'trainer_state.json']);
  // only the adapted weights moved (the returned policy has the adapter merged in), and OUT loads back as it
  const { model: original } = await loadPretrained(model);
  const before = new Map(original.namedParameters());
  for (const [name, p] of r.model.namedParameters()) {
    const moved = tidy(() => p.sub(before.get(name)!).abs().max().item()) > 0;
    assert.equal(moved, /\.c_attn\.weight$/.test(name), `${name} ${moved ? 'moved' : 'did not move'}`);
  }
  const loaded = await loadPretrained(out);
  const ids = [[5, 9, 30, 2, 44, 7]];
  const logits = (m: typeof r.model): number[] => {
    m.eval();
    return tidy(() => noGrad(() => m.forward(tensor(ids, { dtype: 'int64' })).logits.toFlatArray()));
  };
  const a = logits(r.model);
  const diff = logits(loaded.model).reduce((d, x, i) => Math.max(d, Math.abs(x - (a[i] as number))), 0);
  assert.ok(diff < 1e-5, `OUT loaded vs trained: ${diff}`);
  for (const m of [original, loaded.model, r.model]) m.dispose();
  // resume from the adapter checkpoint of round 1: round 2 again, the same adapter
  const cut = await rft(base('lora-resume', { rounds: 1, loraR: 4, loraAlpha: 8, loraDropout: 0 }), { rewardFn: countE });
  cut.model.dispose();
  rmSync(join(root, 'lora-resume', 'rlhf_config.json'));
  const resumed = await rft(base('lora-resume', { rounds: 2, loraR: 4, loraAlpha: 8, loraDropout: 0, resume: true }), { rewardFn: countE });
  assert.equal(resumed.history.length, 1);
  assert.equal(resumed.history[0]!['train/loss'], r.history[1]!['train/loss']);
  assert.deepEqual(readFileSync(join(root, 'lora-resume', 'adapter_model.safetensors')), readFileSync(join(out, 'adapter_model.safetensors')));
  resumed.model.dispose();
});

test('bad input: no reward, n < 1 — named errors before any model loads', async () => {
  await assert.rejects(rft(base('x')), (e: unknown) => e instanceof TrainerError && /needs a reward to rank the samples by: --reward-model DIR .* or --reward-fn FILE\.ts/.test(e.message));
  assert.throws(() => rftConfig.parse(base('x', { bestOf: 0 })), /bestOf/);
  assert.ok(!existsSync(join(root, 'x')), 'nothing written');
});

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, RLHF_NUM_THREADS: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('rlhf rft: --help from the schema names RAFT, expert iteration and ReST; two rounds end to end; bad input exits 2 with one line', async () => {
  const help = rftCommand.help; // what `rlhf rft --help` prints
  for (const f of fieldsOf(rftConfig)) assert.ok(help.includes(f.flag), `rft --help lacks ${f.flag}`);
  assert.match(help, /RAFT/);
  assert.match(help, /expert iteration/);
  assert.match(help, /ReST/);
  assert.match(help, /--best-of N\s+n: responses sampled per prompt/);
  assert.match(help, /--config FILE\.yaml/);

  const out = join(root, 'cli');
  const r = cli('rft', '--model', model, '--reward-fn', rewardFile, '--prompts', prompts, '--out', out, '--rounds', '2', '--best-of', '2', '--max-new-tokens', '6', '--lr', '1e-2', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /round 1\/2: reward of samples [\d.]+, of kept [\d.]+ \(16\/16 kept\)/);
  assert.match(r.stdout, /rft: done — last round: reward of samples [\d.]+, kept 16; policy in /);
  assert.deepEqual(readMetrics(join(out, 'metrics.jsonl')).map((m) => m.metrics['kept/count']), [16, 16]);
  assert.ok(existsSync(join(out, 'model.safetensors')));

  const noReward = cli('rft', '--model', model, '--prompts', prompts, '--out', join(root, 'cli2'));
  assert.equal(noReward.status, 2);
  assert.match(noReward.stderr, /^rlhf rft: rejection sampling needs a reward .*--reward-model DIR .*--reward-fn FILE\.ts/);
  assert.equal(noReward.stderr.trim().split('\n').length, 1);
  await assert.rejects(rftCommand.run(['--model', model, '--reward-fn', rewardFile, '--prompts', prompts, '--out', join(root, 'cli3'), '--best-of', '0']),
    (e: unknown) => e instanceof UsageError && /--best-of: Too small.*>=1 \(got 0\)/.test(e.message));
});
