// evaluatePolicies on a tiny GPT-2: determinism for a seed, closed-form cases (win rate of a policy against
// itself is ½, its KL to itself 0, the random baseline's length is maxNewTokens, best-of-n never below the
// plain policy, robustness at strength 0 equals the plain reward), the reward model path, the reward's
// quality on a hand-made case, and model ownership (the caller's models stay alive, loaded ones are freed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadPretrained, loadScalarModel } from '../../src/models/index.js';
import type { CausalLM, ScalarHeadModel } from '../../src/models/index.js';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.js';
import { memory, tensor } from '../../src/torch/index.js';
import { scoreTexts } from '../../src/trainers/reward/score.js';
import { EvalError, evaluatePolicies, randomVocabulary, sampleRandom, type EvalInput } from '../../src/eval/evaluate.js';
import { PROMPTS, tempDir, tinyModel } from '../trainers/fixtures.js';

const root = tempDir('rlhf-eval-');
let dir = '';
let model: CausalLM;
let otherModel: CausalLM;
let tokenizer: Tokenizer;
let rm: ScalarHeadModel;
let rmTok: Tokenizer;

/** A deterministic reward with some spread: how many letters 'e' the response has. */
const countE = (_prompts: string[], responses: string[]): number[] => responses.map((r) => (r.match(/e/g) ?? []).length);
const prompts = [...PROMPTS, ...PROMPTS.map((p) => `${p} not`)];
const base = (over: Partial<EvalInput> = {}): EvalInput => ({
  policies: [{ name: 'sft', model, tokenizer }],
  prompts, reward: { fn: countE }, maxNewTokens: 8, temperature: 1, seed: 3, batchSize: 3, perturbations: false,
  ...over,
});

before(async () => {
  dir = await tinyModel(join(root, 'tiny'));
  const otherDir = await tinyModel(join(root, 'other'), { seed: 1 });
  ({ model, tokenizer } = (await loadPretrained(dir)) as { model: CausalLM; tokenizer: Tokenizer });
  ({ model: otherModel } = await loadPretrained(otherDir));
  ({ model: rm, tokenizer: rmTok } = (await loadScalarModel(dir)) as { model: ScalarHeadModel; tokenizer: Tokenizer });
});

after(() => {
  for (const m of [model, otherModel, rm]) m.dispose();
  rmSync(root, { recursive: true, force: true });
});

test('the same seed gives the same result; a loaded directory samples exactly as the model passed in', async () => {
  const input = base({ policies: [{ name: 'sft', model, tokenizer }, { name: 'disk', dir }], ref: { model }, scorers: { chars: (_p, r) => r.length } });
  const a = await evaluatePolicies(input);
  const b = await evaluatePolicies(input);
  assert.deepEqual(a, b);
  const [sft, disk] = a.policies;
  assert.equal(sft!.samples.length, prompts.length);
  assert.deepEqual(disk!.samples, sft!.samples);
  assert.deepEqual(sft!.samples.map((s) => s.prompt), prompts);
  const c = await evaluatePolicies({ ...input, seed: 4 });
  assert.notDeepEqual(c.policies[0]!.samples.map((s) => s.response), sft!.samples.map((s) => s.response), 'another seed, other samples');
  assert.deepEqual(a.settings, { prompts: prompts.length, oodPrompts: 0, maxNewTokens: 8, temperature: 1, seed: 3, klEstimator: 'k1', reward: 'reward function' });
  assert.equal(sft!.scorers.chars!.mean, sft!.samples.reduce((s, x) => s + x.response.length, 0) / prompts.length);
  const [lo, hi] = sft!.reward.ci95;
  assert.ok(Math.abs((lo + hi) / 2 - sft!.reward.mean) < 1e-12);
  assert.ok(Math.abs((hi - lo) / 2 - (1.96 * sft!.reward.std) / Math.sqrt(prompts.length)) < 1e-12);
});

test('a policy against itself: win rate ½ (every prompt a tie), KL 0; against another model KL is not 0', async () => {
  const r = await evaluatePolicies(base({ policies: [{ name: 'a', model, tokenizer }, { name: 'b', model, tokenizer }, { name: 'c', model: otherModel, tokenizer }], ref: { model } }));
  const [a, b, c] = r.policies;
  assert.equal(a!.winRate, null, 'the baseline has no win rate');
  assert.equal(b!.winRate, 0.5);
  assert.deepEqual(b!.samples, a!.samples);
  assert.deepEqual(a!.kl, { mean: 0, estimator: 'k1' });
  assert.deepEqual(b!.kl, { mean: 0, estimator: 'k1' });
  assert.ok(Number.isFinite(c!.kl!.mean) && c!.kl!.mean !== 0, `KL of another model: ${c!.kl!.mean}`);
  assert.equal((await evaluatePolicies(base())).policies[0]!.kl, null, 'no reference, no KL');
  const vsB = await evaluatePolicies(base({ policies: [{ name: 'a', model, tokenizer }, { name: 'b', model, tokenizer }], baseline: 'b' }));
  assert.deepEqual(vsB.policies.map((p) => p.winRate), [0.5, null]);
});

test('the random baseline: exactly maxNewTokens uniform non-special tokens, seeded; its length summary says so', async () => {
  const vocab = randomVocabulary(tokenizer);
  assert.equal(vocab.length, tokenizer.vocabSize - tokenizer.allSpecialIds.size);
  const s1 = sampleRandom(tokenizer, vocab, prompts, { maxNewTokens: 7, seed: 5, maxPrompt: 50 });
  const s2 = sampleRandom(tokenizer, vocab, prompts, { maxNewTokens: 7, seed: 5, maxPrompt: 50 });
  assert.deepEqual(s1, s2);
  for (const s of s1) {
    assert.equal(s.responseIds.length, 7);
    for (const id of s.responseIds) assert.ok(!tokenizer.allSpecialIds.has(id) && id >= 0 && id < tokenizer.vocabSize);
    assert.equal(s.text, tokenizer.decode(s.responseIds, { skipSpecialTokens: true }));
  }
  const r = await evaluatePolicies(base({ policies: [{ name: 'sft', model, tokenizer }, { name: 'random', random: true }], maxNewTokens: 7, ref: { model } }));
  const random = r.policies[1]!;
  assert.deepEqual([random.length.n, random.length.min, random.length.mean, random.length.max, random.length.std], [prompts.length, 7, 7, 7, 0]);
  assert.ok(Number.isFinite(random.kl!.mean), 'k1 of uniform sampling against the reference');
  assert.equal(random.perplexity, undefined);
  const again = await evaluatePolicies(base({ policies: [{ name: 'random', random: true, tokenizer }], maxNewTokens: 7 }));
  assert.deepEqual(again.policies[0]!.samples, random.samples, 'the random baseline is seeded, wherever it stands');
});

test('best-of-n includes the plain sample: never below the plain policy, prompt by prompt; best-of-1 is the plain policy', async () => {
  const r = await evaluatePolicies(base({ policies: [{ name: 'plain', model, tokenizer }, { name: 'best-of-4', model, tokenizer, bestOfN: 4 }, { name: 'best-of-1', model, tokenizer, bestOfN: 1 }] }));
  const [plain, bo, b1] = r.policies;
  plain!.samples.forEach((s, i) => assert.ok(bo!.samples[i]!.reward >= s.reward, `prompt ${i}`));
  assert.ok(bo!.reward.mean >= plain!.reward.mean);
  assert.ok(bo!.winRate! >= 0.5);
  assert.ok(bo!.reward.mean > plain!.reward.mean, 'four tries find more e\'s on these prompts');
  assert.deepEqual(b1!.samples, plain!.samples);
});

test('robustness: at strength 0 each curve is the unperturbed mean reward; truncating everything leaves an empty response', async () => {
  const r = await evaluatePolicies(base({ perturbations: { strengths: [0, 0.5, 1] } }));
  const p = r.policies[0]!;
  assert.deepEqual(p.sensitivity!.map((s) => s.kind), ['truncate', 'typos', 'shuffle']);
  for (const s of p.sensitivity!) {
    assert.deepEqual(s.points.map((x) => x.strength), [0, 0.5, 1]);
    assert.equal(s.points[0]!.reward, p.reward.mean);
  }
  assert.equal(p.sensitivity![0]!.points[2]!.reward, 0, "truncate at 1 gives '' (no e)");
  const shuffle = p.sensitivity![2]!;
  for (const x of shuffle.points) assert.equal(x.reward, p.reward.mean, 'shuffling words keeps every letter');
  // under a reward model too: the responses rescored at strength 0 give the plain mean exactly
  const withRm = (await evaluatePolicies(base({ reward: { model: rm, tokenizer: rmTok }, perturbations: { kinds: ['typos'], strengths: [0, 1] } }))).policies[0]!;
  assert.equal(withRm.sensitivity![0]!.points[0]!.reward, withRm.reward.mean);
  assert.notEqual(withRm.sensitivity![0]!.points[1]!.reward, withRm.reward.mean, 'a typo in every word changes the score');
});

test('a reward model scores through scoreTexts; the other metrics: OOD, references, perplexity', async () => {
  const oodPrompts = ['hello there', 'what is'];
  const r = await evaluatePolicies(base({
    reward: { model: rm, tokenizer: rmTok }, oodPrompts, references: prompts.map((p) => `${p} great .`), heldOutText: ['the movie was great .', 'the plot was dull .'],
    scorers: { one: () => 1 },
  }));
  const p = r.policies[0]!;
  assert.equal(r.settings.reward, 'reward model');
  assert.deepEqual(p.samples.map((s) => s.reward), scoreTexts(rm, rmTok, prompts, p.samples.map((s) => s.response), 3));
  assert.equal(p.ood!.reward.n, 2);
  assert.deepEqual(p.ood!.scorers.one, { n: 2, mean: 1, std: 0, min: 1, q25: 1, median: 1, q75: 1, max: 1 });
  assert.ok(p.bleu! >= 0 && p.bleu! <= 1 && p.rougeL! >= 0 && p.rougeL! <= 1);
  // an untrained model is close to uniform over its vocabulary: perplexity ≈ V
  const V = model.config.vocab_size;
  assert.ok(p.perplexity! > 0.8 * V && p.perplexity! < 1.25 * V, `perplexity ${p.perplexity} vs V = ${V}`);
});

test('reward quality on a hand case: labels (accuracy, P/R/F1, calibration), pairs and ratings', async () => {
  const r = await evaluatePolicies(base({
    rewardModelData: {
      // rewards 3, 0, 2, 0 → predicted 1, 0, 1, 0 against labels 1, 0, 0, 1; σ(r) = .953, .5, .881, .5
      labels: [{ text: 'eee', label: 1 }, { text: 'x', label: 0 }, { text: 'ee', label: 0 }, { text: '', label: 1 }],
      pairs: [{ prompt: 'p', chosen: 'ee', rejected: 'e' }, { prompt: 'p', chosen: 'a', rejected: 'e' }],
      ratings: [{ prompt: '', response: 'e', score: 1 }, { prompt: '', response: 'eeee', score: 3 }, { prompt: '', response: 'ee', score: 2 }],
    },
  }));
  const q = r.rewardModel!;
  assert.deepEqual([q.labels!.accuracy, q.labels!.precision, q.labels!.recall, q.labels!.f1], [0.5, 0.5, 0.5, 0.5]);
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  assert.deepEqual(q.labels!.calibration, [
    { predicted: 0.5, observed: 0.5, count: 2 },
    { predicted: sig(2), observed: 0, count: 1 },
    { predicted: sig(3), observed: 1, count: 1 },
  ]);
  assert.deepEqual(q.pairs, { accuracy: 0.5, margin: 0 });
  assert.equal(q.ratings!.spearman, 1);
  assert.ok(q.ratings!.pearson > 0.98 && q.ratings!.pearson < 1);
});

test("the caller's models stay usable and in their mode; models loaded from a directory are freed", async () => {
  model.train();
  const before = memory().liveTensors;
  await evaluatePolicies(base({ policies: [{ name: 'sft', model, tokenizer }, { name: 'disk', dir }, { name: 'bo', dir, bestOfN: 2 }], ref: { model }, heldOutText: ['the movie was great .'], perturbations: {} }));
  assert.equal(memory().liveTensors, before, 'no tensor left behind');
  assert.equal(model.training, true, 'training mode restored');
  model.eval();
  const ids = tensor([[1, 2, 3]], { dtype: 'int64' });
  const { logits } = model.forward(ids);
  assert.deepEqual(logits.shape, [1, 3, model.config.vocab_size]);
  logits.dispose();
  ids.dispose();
});

test('bad input is named: duplicate names, no model, an unknown baseline, references of the wrong length', async () => {
  const bad = async (over: Partial<EvalInput>, re: RegExp): Promise<void> => {
    await assert.rejects(evaluatePolicies(base(over)), (err: Error) => err instanceof EvalError && re.test(err.message));
  };
  await bad({ policies: [{ name: 'a', model, tokenizer }, { name: 'a', dir }] }, /two policies are named "a"/);
  await bad({ policies: [{ name: 'a' }] }, /policy "a": pass exactly one of model or dir/);
  await bad({ policies: [{ name: 'a', model, dir }] }, /not both/);
  await bad({ baseline: 'nope' }, /baseline "nope" is not one of the policies \(sft\)/);
  await bad({ references: ['x'] }, /1 references for 8 prompts/);
  await bad({ prompts: [] }, /no prompts/);
  await bad({ policies: [{ name: 'a', model, tokenizer, bestOfN: 0 }] }, /bestOfN must be a positive integer/);
});
