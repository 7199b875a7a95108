// Best-of-n (src/generation/best-of-n.ts): the argmax of a deterministic reward over candidates
// that are exactly generateText's samples with the candidate seeds; n = 1 is plain sampling; ties
// go to the earliest candidate; bad n or a bad reward answer is a named error. And `rlhf generate
// --best-of` from the command line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPretrained } from '../../src/models/index.js';
import type { CausalLM } from '../../src/models/index.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { setNumThreads } from '../../src/torch/index.js';
import { bestOfN, BestOfNError, candidateSeed, generateText, selectBestOfN } from '../../src/generation/index.js';
import { generate as generateCommand } from '../../src/cli/generate.js';
import { UsageError } from '../../src/cli/command.js';
import { evaluatePolicies } from '../../src/eval/evaluate.js';
import { PROMPTS, tempDir, tinyModel } from '../trainers/fixtures.js';

setNumThreads(1);
const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;
const root = tempDir('rlhf-best-of-n-');
let dir = '';
let model: CausalLM;
let tokenizer: Tokenizer;

/** A deterministic reward with spread: the number of letters 'e'. */
const countE = (_p: string[], r: string[]): number[] => r.map((x) => (x.match(/e/g) ?? []).length);
const OPTS = { maxNewTokens: 8, temperature: 1, seed: 11, batchSize: 3 } as const;

before(async () => {
  dir = await tinyModel(join(root, 'tiny'));
  ({ model, tokenizer } = (await loadPretrained(dir)) as { model: CausalLM; tokenizer: Tokenizer });
  model.eval();
});

after(() => {
  model.dispose();
  rmSync(root, { recursive: true, force: true });
});

test('best-of-n keeps the argmax of the reward over candidates that are generateText with the candidate seeds', async () => {
  const n = 5;
  const picks = await bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n, score: countE });
  // the candidates, sampled independently: round k is generateText seeded with candidateSeed(seed, k)
  const rounds = Array.from({ length: n }, (_, k) => generateText(model, tokenizer, PROMPTS, { ...OPTS, seed: candidateSeed(OPTS.seed, k) }));
  assert.equal(candidateSeed(OPTS.seed, 0), OPTS.seed);
  assert.notEqual(candidateSeed(OPTS.seed, 1), OPTS.seed);
  assert.equal(candidateSeed(null, 3), null);
  PROMPTS.forEach((_, i) => {
    const scores = rounds.map((r) => countE([], [r[i]!.text])[0]!);
    const max = Math.max(...scores);
    const argmax = scores.indexOf(max); // the first of equal maxima
    const p = picks[i]!;
    assert.deepEqual(p.scores, scores, `prompt ${i}: every candidate's score`);
    assert.equal(p.score, max);
    assert.equal(p.index, argmax);
    assert.equal(p.text, rounds[argmax]![i]!.text);
    assert.deepEqual(p.tokens, rounds[argmax]![i]!.tokens);
  });
  assert.ok(picks.some((p) => p.index > 0), 'some later candidate wins somewhere');
  assert.ok(new Set(rounds.map((r) => r[0]!.text)).size > 1, 'the candidate seeds give different samples');
});

test('best-of-1 is plain sampling with the same seed', async () => {
  const plain = generateText(model, tokenizer, PROMPTS, OPTS);
  const b1 = await bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n: 1, score: countE });
  assert.deepEqual(b1.map((r) => r.text), plain.map((r) => r.text));
  assert.deepEqual(b1.map((r) => r.tokens), plain.map((r) => r.tokens));
  assert.deepEqual(b1.map((r) => r.index), [0, 0, 0, 0]);
  // and best-of-n never falls below it, prompt by prompt
  const b4 = await bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n: 4, score: countE });
  b4.forEach((r, i) => assert.ok(r.score >= b1[i]!.score));
});

test("rlhf eval's best-of-n baseline is this rule: the same picks and rewards for the same seed", async () => {
  const r = await evaluatePolicies({ policies: [{ name: 'bo', model, tokenizer, bestOfN: 3 }], prompts: PROMPTS, reward: { fn: countE }, ...OPTS, perturbations: false });
  const lib = await bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n: 3, score: countE });
  assert.deepEqual(r.policies[0]!.samples.map((s) => [s.response, s.reward]), lib.map((x) => [x.text, x.score]));
});

test('selectBestOfN in closed form: rising scores pick the last round, falling ones the first, ties the earliest', async () => {
  const prompts = ['a', 'b', 'c'];
  // candidate k of prompt i is "i:k"; reward: prompt 0 → k, prompt 1 → −k, prompt 2 → 7 for every k
  const score = (_p: string[], ys: string[]): Float32Array => Float32Array.from(ys.map((y) => {
    const [i, k] = y.split(':').map(Number) as [number, number];
    return i === 0 ? k : i === 1 ? -k : 7;
  }));
  const rounds: number[] = [];
  const picks = await selectBestOfN(prompts, 4, (k) => prompts.map((_, i) => `${i}:${k}`), (c) => c, score, (k, n) => rounds.push(k * 10 + n));
  assert.deepEqual(picks.map((p) => [p.best, p.score, p.index]), [['0:3', 3, 3], ['1:0', -0, 0], ['2:0', 7, 0]]);
  assert.deepEqual(picks[0]!.scores, [0, 1, 2, 3]);
  assert.deepEqual(rounds, [4, 14, 24, 34]);
});

test('bad input: n < 1, a reward of the wrong length or NaN — named errors', async () => {
  await assert.rejects(bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n: 0, score: countE }), (e: unknown) => e instanceof BestOfNError && /n ≥ 1/.test(e.message));
  await assert.rejects(bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n: 2.5, score: countE }), BestOfNError);
  await assert.rejects(bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n: 2, score: () => [1] }), /returned 1 scores for 4 responses; it must return one number per response/);
  await assert.rejects(bestOfN(model, tokenizer, PROMPTS, { ...OPTS, n: 2, score: (_p, r) => r.map(() => Number.NaN) }), /returned NaN for response 0/);
});

test('rlhf generate --best-of: in process, bad input is a UsageError naming the flag and the fix', async () => {
  const run = (...args: string[]): Promise<number> => generateCommand.run(['--model', dir, '--prompt', 'the plot was', ...args]);
  await assert.rejects(run('--best-of', '3'), (e: unknown) => e instanceof UsageError && /--best-of 3 keeps the response a reward scores highest: give --reward-model DIR or --reward-fn FILE\.ts/.test(e.message));
  await assert.rejects(run('--best-of', '0', '--reward-fn', 'x.ts'), (e: unknown) => e instanceof UsageError && /--best-of: Too small.*>=1/.test(e.message));
  await assert.rejects(run('--best-of', '2', '--greedy', '--reward-fn', 'x.ts'), /--best-of needs sampled candidates/);
  assert.match(generateCommand.help, /--best-of N\s+best-of-n: sample N responses per prompt/);
  for (const flag of ['--reward-model', '--reward-fn', '--reward-weights']) assert.ok(generateCommand.help.includes(flag), flag);
});

test('rlhf generate --best-of from the command line: the best candidate and its score; candidate 1 is plain --seed sampling', () => {
  const fn = join(root, 'count-e.ts');
  writeFileSync(fn, `export default (_p: string[], r: string[]): number[] => r.map((x) => (x.match(/e/g) ?? []).length);\n`);
  const cli = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [BIN, 'generate', '--model', dir, '--prompt', 'the movie was', '--max-new-tokens', '8', '--seed', '5', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, RLHF_NUM_THREADS: '1' } });
  const best = cli('--best-of', '4', '--reward-fn', fn, '--json');
  assert.equal(best.status, 0, best.stderr);
  const r = JSON.parse(best.stdout.trim()) as { text: string; score: number; candidate: number; scores: number[] };
  assert.equal(r.scores.length, 4);
  assert.equal(r.score, Math.max(...r.scores));
  assert.equal(r.candidate, r.scores.indexOf(r.score) + 1);
  assert.equal(r.score, (r.text.match(/e/g) ?? []).length, 'the printed score is the reward of the printed text');
  const plain = cli('--json');
  assert.equal(plain.status, 0, plain.stderr);
  const p = JSON.parse(plain.stdout.trim()) as { text: string };
  assert.equal(r.scores[0], (p.text.match(/e/g) ?? []).length, 'candidate 1 is the plain sample of the same seed');
  assert.ok(r.score >= r.scores[0]!);
});
