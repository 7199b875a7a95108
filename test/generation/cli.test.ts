// `rlhf generate` (in a child process), `rlhf bench-models` and loadForGeneration on a tiny model directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { savePretrained } from '../../src/models/checkpoint.js';
import { gpt2Tokenizer } from '../../src/tokenizers/index.js';
import { generate, generateConfig } from '../../src/cli/generate.js';
import { resolveConfig } from '../../src/config/schema-cli.js';
import { SAMPLING_DEFAULTS } from '../../src/generation/config.js';
import { generationRequestSchema } from '../../src/feedback/schemas.js';
import { UsageError } from '../../src/cli/command.js';
import { benchModel, benchModels, DEFAULT_TEXT, formatTable, perplexity } from '../../src/cli/bench-models.js';
import { generateText, loadForGeneration } from '../../src/generation/index.js';
import { tinyModel, fullLogProbs } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./fixtures/cli-entry.ts', import.meta.url));

function rlhf(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const root = mkdtempSync(join(tmpdir(), 'rlhf-gen-cli-'));
const dir = join(root, 'tiny');
const model = tinyModel(3, { vocab_size: 50257, eos_token_id: 50256, bos_token_id: 50256, n_embd: 16, n_head: 2, n_positions: 64, initializer_range: 0.2 });
await savePretrained(model, dir, { tokenizer: gpt2Tokenizer() });
test.after(() => rmSync(root, { recursive: true, force: true }));

const SAMPLING = ['--max-new-tokens', '6', '--seed', '7', '--temperature', '0.8', '--top-p', '0.9', '--no-eos'];

test('generate --json prints text, prompt tokens, tokens and their log-probs; streaming with the same seed prints the same text', () => {
  const r = rlhf(['generate', '--model', dir, '--prompt', 'Hello world', '--json', ...SAMPLING]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const out = JSON.parse(lines[0] as string) as { text: string; prompt_tokens: number[]; tokens: number[]; logprobs: number[] };
  assert.deepEqual(Object.keys(out), ['text', 'prompt_tokens', 'tokens', 'logprobs']);
  const tok = gpt2Tokenizer();
  assert.deepEqual(out.prompt_tokens, tok.encode('Hello world'));
  assert.equal(out.tokens.length, 6);
  assert.equal(out.text, tok.decode(out.tokens, { skipSpecialTokens: true }));
  // log softmax(logits / T) of each sampled token under the saved model
  const lp = fullLogProbs(model, [...out.prompt_tokens, ...out.tokens], 0.8);
  out.tokens.forEach((t, i) => assert.ok(Math.abs((lp[out.prompt_tokens.length - 1 + i] as number[])[t]! - out.logprobs[i]!) < 1e-4));

  const streamed = rlhf(['generate', '--model', dir, '--prompt', 'Hello world', ...SAMPLING]);
  assert.equal(streamed.code, 0, streamed.stderr);
  assert.equal(streamed.stdout, `Hello world${out.text}\n`);
  assert.match(streamed.stderr, /prompt tokens/);
});

test('generate --prompts FILE.jsonl --json prints one JSON line per prompt', () => {
  const file = join(root, 'prompts.jsonl');
  writeFileSync(file, '{"prompt": "one"}\n\n{"prompt": "two three"}\n{"prompt": ""}\n');
  const c = rlhf(['generate', '--model', dir, '--prompts', file, '--max-new-tokens', '3', '--json', '--seed', '1', '--batch-size', '2']);
  assert.equal(c.code, 0, c.stderr);
  const rows = c.stdout.trim().split('\n').map((l) => JSON.parse(l) as { prompt_tokens: number[]; tokens: number[] });
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[1]!.prompt_tokens, gpt2Tokenizer().encode('two three'));
  for (const row of rows) assert.ok(row.tokens.length >= 1 && row.tokens.length <= 3);
});

test('generate explains bad input: missing model dir, bad JSONL line, bad flags', async () => {
  const fails = async (argv: string[], re: RegExp) => assert.rejects(generate.run(argv), (e: unknown) => e instanceof UsageError && re.test(e.message));
  await fails(['--model', join(root, 'nope'), '--prompt', 'x'], /does not exist; create one with 'rlhf init/);
  await fails(['--prompt', 'x'], /--model is required/);
  await fails(['--model', dir], /give --prompt TEXT or --prompts FILE.jsonl/);
  const file = join(root, 'bad.jsonl');
  writeFileSync(file, '{"prompt": "ok"}\n{"text": "no prompt"}\n');
  await fails(['--model', dir, '--prompts', file], /bad\.jsonl:2: expected an object with a string "prompt"/);
  writeFileSync(file, '{"prompt": "ok"}\n\n{"prompt": "x",\n');
  await fails(['--model', dir, '--prompts', file], /bad\.jsonl:3: not valid JSON/);
  await fails(['--model', dir, '--prompt', 'x', '--top-p', '2'], /--top-p: Too big: expected number to be <=1 \(got 2\)/);
  await fails(['--model', dir, '--prompt', 'x', '--greedy', '--temperature', '0.5'], /--greedy .* cannot be combined/);
  await fails(['--model', dir, '--prompt', 'x', '--dtype', 'fp8'], /--dtype: Invalid option: expected one of "float32"\|"bfloat16"/);
  await fails(['--model', dir, '--prompt', 'x', '--bogus'], /unknown option --bogus/);
  await fails(['--model', dir, '--prompt', 'x', 'extra'], /unexpected argument 'extra'/);
  assert.match(generate.help, /--max-new-tokens N +most tokens to generate per prompt \(default 64\)/);
});

test('generate options come from one schema: the library, CLI and studio share the sampling defaults; --stop repeats; --config FILE.yaml', () => {
  assert.equal(SAMPLING_DEFAULTS.maxNewTokens, 64);
  const base = ['--model', dir, '--prompt', 'x'];
  const { config } = resolveConfig(generateConfig, base);
  for (const k of Object.keys(SAMPLING_DEFAULTS) as (keyof typeof SAMPLING_DEFAULTS)[]) assert.equal(config[k], SAMPLING_DEFAULTS[k], k);
  assert.equal(generationRequestSchema.parse({ task: { name: 't', kind: 'pairwise' }, models: ['m'], prompts: ['p'] }).maxNewTokens, SAMPLING_DEFAULTS.maxNewTokens);
  // each --stop is one stop string, commas and newlines kept
  assert.deepEqual(resolveConfig(generateConfig, [...base, '--stop', 'a, b', '--stop', '\n']).config.stop, ['a, b', '\n']);
  const file = join(root, 'gen.yaml');
  writeFileSync(file, 'max_new_tokens: 5\ntop-p: 0.5\nstop: ["Q:", "\\n"]\n');
  const fromFile = resolveConfig(generateConfig, ['--config', file, ...base, '--max-new-tokens', '7']).config;
  assert.deepEqual([fromFile.maxNewTokens, fromFile.topP, fromFile.stop], [7, 0.5, ['Q:', '\n']]);
});

test('bench-models measures a model directory; perplexity with sliding windows scores every token once', async () => {
  const r = await benchModel(dir, DEFAULT_TEXT, { dtype: 'float32', promptTokens: 16, newTokens: 4 });
  assert.equal(r.model, 'tiny');
  assert.equal(r.parameters, model.numParameters());
  assert.equal(r.weight_bytes, model.numParameters() * 4);
  assert.ok(r.load_ms > 0 && r.prompt_tokens_per_s > 0 && r.generation_tokens_per_s > 0);
  const ids = gpt2Tokenizer().encode(DEFAULT_TEXT);
  assert.ok(ids.length > 64); // longer than n_positions: sliding windows
  assert.equal(r.perplexity_tokens, ids.length - 1);
  assert.ok(Number.isFinite(r.perplexity) && r.perplexity > 1);
  // one window covering everything: exp of the mean next-token NLL
  const short = ids.slice(0, 40);
  const lp = fullLogProbs(model, short);
  const nll = -short.slice(1).reduce((a, t, i) => a + (lp[i] as number[])[t]!, 0) / (short.length - 1);
  const p = perplexity(model, short, 64);
  assert.equal(p.tokens, 39);
  assert.ok(Math.abs(Math.log(p.perplexity) - nll) < 1e-4);
  // windows of 16 moved by 8 score the same tokens
  assert.equal(perplexity(model, short, 16).tokens, 39);
  const table = formatTable([r, { ...r, model: 'another-model' }]);
  const lines = table.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.ok(lines.every((l) => l.length === (lines[0] as string).length), 'columns are aligned');
  await assert.rejects(benchModels.run([]), /at least one model directory/);
});

test('loadForGeneration (the studio worker contract) loads a directory and generates text', async () => {
  const g = await loadForGeneration(dir);
  const opts = { maxNewTokens: 4, temperature: 0.8, topP: 0.95, seed: 1 };
  const a = await g.generate(['Hello there', 'Hi'], opts);
  assert.equal(a.length, 2);
  assert.ok(a.every((s) => typeof s === 'string'));
  assert.deepEqual(await g.generate(['Hello there', 'Hi'], opts), a);
  const [greedy] = await g.generate(['Hello there'], { maxNewTokens: 4, temperature: 0 });
  const [ref] = generateText(model, gpt2Tokenizer(), ['Hello there'], { greedy: true, maxNewTokens: 4 });
  assert.equal(greedy, ref!.text);
  g.dispose();
  await assert.rejects(g.generate(['x'], opts), /disposed/);
});
