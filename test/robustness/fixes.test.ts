// The known problems of issue 12 ("nothing silent, nothing hangs"), each with a test of its fix.
// The CLI-facing ones (a closed pipe, a too-long prompt, --out on /proc or a read-only filesystem,
// permissions, stdin prompts, seeds) are cases of cli.test.ts; library.test.ts has the tensor and
// loader ones for every corpus entry. These are the ones that need a setup of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/torch/index.js';
import { loadPretrained, savePretrained } from '../../src/models/index.js';
import { GPT2LMHeadModel, GPT2_DEFAULTS } from '../../src/models/index.js';
import { generate, generateText, NonFiniteLogitsError } from '../../src/generation/index.js';
import { loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import { makeDirs, removeEmptyCreatedDirs, OutputDirError } from '../../src/util/dirs.js';
import { buildCorpus } from './corpus.js';
import { rlhfEntry } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const c = await buildCorpus();
test.after(() => c.cleanup());

function node(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, RLHF_NUM_THREADS: '1', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a synchronous loop that forgets tidy() stays bounded: dropped tensors are freed without the event loop, referenced ones never', () => {
  // 1,500 AdamW steps without tidy(), then 100,000 dropped small tensors, then 1.5 GB of dropped 1 MB
  // tensors — all without yielding. Before: every one of them stayed alive until the loop ended.
  const r = node(['test/robustness/fixtures/leaky-loop.ts', '1500']);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout) as { first: number; last: number; kept: number[]; peakLive: number; peakBytes: number; liveTensors: number; bytes: number };
  assert.deepEqual(m.kept, [1, 2, 3], 'a tensor still referenced is never freed');
  assert.ok(m.last < m.first / 10, `the loop still trains: loss ${m.first} → ${m.last}`);
  assert.ok(m.peakLive < 45_000, `live tensors peaked at ${m.peakLive} (unbounded: > 110,000)`);
  assert.ok(m.peakBytes < 900 * 2 ** 20, `tensor bytes peaked at ${(m.peakBytes / 2 ** 20).toFixed(0)} MB (unbounded: > 1,500 MB)`);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('RLHF_UNDISPOSED_TENSORS'));
  assert.equal(warnings.length, 1, `one warning, once:\n${r.stderr}`);
  assert.match(warnings[0] as string, /dropped without dispose\(\) outside any tidy\(\) scope.*Wrap each step of a loop in torch\.tidy/);
});

test('a tidy() loop keeps live tensors exactly flat: nothing is left for the reclamation', () => {
  const before = torch.memory().liveTensors;
  const x = torch.ones([4]);
  for (let i = 0; i < 30_000; i++) torch.tidy(() => void x.add(1).mul(2));
  x.dispose();
  assert.equal(torch.memory().liveTensors, before);
});

test('NaN weights: loading refuses them by name; generation from non-finite logits fails at the step, naming the model', async () => {
  await assert.rejects(loadPretrained(c.models['st-nan-weights'] as string), /st-nan-weights: \d+ weight tensor\(s\) hold NaN or infinite values/);
  const { model } = await loadPretrained(c.models['st-nan-weights'] as string, { allowNonFinite: true });
  try {
    const ids = torch.tensor([[1, 2, 3]], { dtype: 'int64' });
    assert.throws(
      () => generate(model, { inputIds: ids }, { maxNewTokens: 4, seed: 0 }),
      (e: unknown) => e instanceof NonFiniteLogitsError && e.step === 0 && e.row === 0 && /GPT2LMHeadModel \(gpt2\)/.test(e.message) && /generation step 0/.test(e.message),
    );
    assert.throws(() => generate(model, { inputIds: ids }, { maxNewTokens: 4, greedy: true }), NonFiniteLogitsError, 'greedy too: argmax of NaN is not an answer');
    ids.dispose();
  } finally {
    model.dispose();
  }
});

test('non-finite logits from a temperature so small that logits / T overflow: the error says so', async () => {
  const { model, tokenizer } = await loadPretrained(c.good);
  try {
    assert.throws(() => generateText(model, tokenizer!, ['the movie was'], { maxNewTokens: 3, temperature: 1e-45, seed: 0 }), (e: unknown) => e instanceof NonFiniteLogitsError && /temperature 1e-45 is so small/.test(e.message) && /--greedy/.test(e.message));
    // A healthy model at a normal temperature is unaffected: finite log-probs, no error.
    const [r] = generateText(model, tokenizer!, ['the movie was'], { maxNewTokens: 5, temperature: 0.7, seed: 0, eosTokenId: null });
    assert.equal(r?.tokens.length, 5);
    assert.ok(r?.logprobs.every((lp) => Number.isFinite(lp) && lp <= 0));
  } finally {
    model.dispose();
  }
});

test('a float tensor relabelled I32 (same bytes, same shapes) is refused: weights must be floating point', async () => {
  await assert.rejects(loadPretrained(c.models['st-f32-relabelled-i32'] as string), (e: Error) => e.name === 'CheckpointError' && /\(I32 in model\.safetensors\)/.test(e.message) && /F32, F16 or BF16/.test(e.message));
});

test('a vocabulary that lacks bytes maps them to unk_token as transformers does; the tokenizer saves and reloads with it; the model generates', async () => {
  const dir = c.models['vocab-lacks-bytes'] as string;
  const tok = loadTokenizer(dir);
  // transformers' GPT2Tokenizer on these files: "lower newer" → [0, 1, 2, 15, 10, 9, 3, 2, 15]; "é" is
  // two bytes, neither in the vocabulary → two <|endoftext|> (20, the unk_token of tokenizer_config.json)
  assert.deepEqual(tok.encode('lower newer'), [0, 1, 2, 15, 10, 9, 3, 2, 15]);
  assert.deepEqual(tok.encode('lé'), [0, 20, 20]);
  const out = join(c.root, 'out', 'resaved-tokenizer');
  saveTokenizer(tok, out);
  const json = JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')) as { model: { unk_token: string | null } };
  assert.equal(json.model.unk_token, '<|endoftext|>', 'tokenizer.json names what a missing byte becomes');
  assert.deepEqual(loadTokenizer(out).encode('lé'), [0, 20, 20]);
  const { model } = await loadPretrained(dir);
  try {
    const [r] = generateText(model, tok, ['lower newer, café!'], { maxNewTokens: 3, seed: 0, eosTokenId: null });
    assert.equal(r?.tokens.length, 3);
  } finally {
    model.dispose();
  }
});

test('bench-models keeps the rows it measured when one model fails, names the failure, exits 2', () => {
  const r = node([...rlhfEntry(), 'bench-models', c.good, c.models['st-truncated'] as string, c.models['vocab-lacks-bytes'] as string, '--new-tokens', '2', '--prompt-tokens', '4', '--json']);
  assert.equal(r.code, 2, r.stderr);
  const rows = JSON.parse(r.stdout) as { dir: string; perplexity: number }[];
  assert.deepEqual(rows.map((x) => x.dir.split('/').pop()), ['good', 'vocab-lacks-bytes'], 'both good models measured, before and after the broken one');
  assert.ok(rows.every((x) => Number.isFinite(x.perplexity) && x.perplexity > 1));
  assert.match(r.stderr, /^rlhf bench-models: 1 of 3 models could not be measured and are left out of the table: .*st-truncated.*re-download or re-save it$/m);
});

test('RLHF_NUM_THREADS sets BLAS threads too (OpenBLAS/MKL read them at load), unless they are set', () => {
  const script = `import { readdirSync } from 'node:fs'; const t = await import('./src/torch/index.ts'); const a = t.randn([256, 256]); a.matmul(a).dispose();
process.stdout.write(JSON.stringify({ openblas: process.env.OPENBLAS_NUM_THREADS ?? null, mkl: process.env.MKL_NUM_THREADS ?? null, torch: t.getNumThreads(), tasks: readdirSync('/proc/self/task').length }));`;
  const run = (env: Record<string, string>): { openblas: string | null; mkl: string | null; torch: number; tasks: number } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RLHF_NUM_THREADS: '', OPENBLAS_NUM_THREADS: '', MKL_NUM_THREADS: '', OMP_NUM_THREADS: '', ...env } });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { openblas: string | null; mkl: string | null; torch: number; tasks: number };
  };
  const one = run({ RLHF_NUM_THREADS: '1' });
  assert.equal(one.torch, 1);
  assert.equal(one.openblas, '1');
  assert.equal(one.mkl, '1');
  // the same threads as pinning OpenBLAS by hand: no BLAS pool of its own beside libtorch's
  const pinned = run({ RLHF_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' });
  assert.equal(one.tasks, pinned.tasks);
  // the user's own setting wins
  const own = run({ RLHF_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '2' });
  assert.equal(own.openblas, '2');
});

test('Ctrl-C during an atomic write: the process dies by the signal and leaves neither the target nor its temp file', () => {
  const dir = join(c.root, 'out', 'interrupted-write');
  makeDirs(dir);
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/robustness/fixtures/interrupted-write.ts', join(dir, 'model.safetensors')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, 'SIGINT', `ended by ${r.signal ?? `exit code ${r.status}`}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(dir), [], 'no partial file');
});

test('output directories: /proc, a file in the way and a missing parent say why; a failed command takes back what it created', () => {
  assert.throws(() => makeDirs('/proc/rlhf-x/y', '--out'), (e: unknown) => e instanceof OutputDirError && /cannot create --out \/proc\/rlhf-x\/y: \/proc does not allow new directories \(a special filesystem/.test(e.message));
  assert.throws(() => makeDirs(join(c.models['a-file'] as string, 'sub'), '--out'), (e: unknown) => e instanceof OutputDirError && /a-file\.bin is a file, not a directory/.test(e.message));
  const base = join(c.root, 'out', 'created');
  assert.equal(makeDirs(join(base, 'a', 'b')), base, 'the topmost directory it made');
  assert.equal(makeDirs(join(base, 'a', 'b')), null, 'nothing new the second time');
  const kept = join(c.root, 'out', 'created-with-a-file');
  makeDirs(kept);
  spawnSync('touch', [join(kept, 'checkpoint')]);
  const removed = removeEmptyCreatedDirs();
  assert.ok(removed.includes(base) && !removed.includes(kept), `removed ${removed.join(', ')}`);
  assert.ok(readdirSync(join(c.root, 'out')).includes('created-with-a-file'));
});

test('README: commands are `npx rlhf …`, the Quickstart is exactly two commands, the first session writes into ignored directories', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```(?:sh|bash)[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  const bare = blocks.flatMap((b) => b.split('\n')).filter((l) => /^\s*rlhf\s/.test(l));
  assert.deepEqual(bare, [], 'rlhf is not on PATH in a checkout: write npx rlhf');
  const quick = /## Quickstart[\s\S]*?```sh[^\n]*\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.deepEqual(quick.trim().split('\n'), ['npm install && npm start', 'npm test']);
  const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n');
  for (const dir of ['/tiny/', '/studio-data/']) assert.ok(ignored.includes(dir), `.gitignore lists ${dir}`);
  assert.match(readme, /RLHF_NUM_THREADS/);
  assert.match(readme, /torch\.tidy/);
});

// Keep the model class import used: the corpus builds with it, and a tiny model here proves that
// savePretrained of a healthy model round-trips without tripping the new load checks.
test('a healthy model saved and loaded again passes every new load check', async () => {
  torch.manualSeed(1);
  const m = new GPT2LMHeadModel({ ...GPT2_DEFAULTS, vocab_size: 32, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 16 });
  const dir = join(c.root, 'out', 'healthy');
  await savePretrained(m, dir);
  const { model } = await loadPretrained(dir);
  assert.equal(model.numParameters(), m.numParameters());
  model.dispose();
  m.dispose();
});
