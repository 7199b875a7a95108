// "It learns" on tiny tasks: each trainer, through its TypeScript API, end to end, on a 2-layer
// GPT-2 trained from scratch. Sizes are chosen so the whole file runs in about a minute on 2 cores.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { sft, trainRewardModel, ppo, dpo, scoreTexts } from '../../src/trainers/index.js';
import { loadScalarModel } from '../../src/models/index.js';
import { memory } from '../../src/torch/index.js';
import { tempDir, tinyModel, writeJsonl, sentences, PROMPTS, POSITIVE_WORDS } from './fixtures.js';

const root = tempDir();
let sftDir = '';

before(async () => {
  // One SFT model the later tests start from: it has learnt the sentence shape.
  const base = await tinyModel(join(root, 'base'));
  const data = writeJsonl(join(root, 'text.jsonl'), sentences(64).map((s) => ({ text: s.text })));
  sftDir = join(root, 'sft');
  const r = await sft({ model: base, data, out: sftDir, epochs: 40, lr: 5e-3, batchSize: 16, maxLength: 16, evalSplit: 0, saveEvery: 0, warmupSteps: 2 });
  r.model.dispose();
});

test('SFT: the loss falls far below its start and the model directory is complete', () => {
  const lines = readFileSync(join(sftDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss: number; step: number });
  const first = lines[0]?.loss as number;
  const last = lines[lines.length - 1]?.loss as number;
  assert.ok(first > 4, `initial loss ${first} should be near ln(V) ≈ 5.7`);
  assert.ok(last < 1.0, `final loss ${last}`);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'rlhf_config.json']) assert.ok(existsSync(join(sftDir, f)), f);
  assert.ok(readFileSync(join(sftDir, 'rlhf_config.json'), 'utf8').includes('"lr": 0.005'));
});

test('SFT: prompt/completion data puts the loss on the completion only and still learns', async () => {
  const data = writeJsonl(join(root, 'pc.jsonl'), sentences(32).map((s) => ({ prompt: s.text.split(' was ')[0] + ' was', completion: ' ' + s.text.split(' was ')[1] })));
  const r = await sft({ model: sftDir, data, out: join(root, 'sft-pc'), epochs: 4, lr: 2e-3, batchSize: 8, evalSplit: 0.1, saveEvery: 0 });
  assert.ok(Number.isFinite(r.eval['eval/loss']), 'eval loss');
  assert.ok((r.eval['eval/perplexity'] as number) < 20, `perplexity ${r.eval['eval/perplexity']}`);
  r.model.dispose();
});

test('reward model: > 95% pairwise accuracy on separable preferences; saved in the sequence-classification layout', async () => {
  const pairs = Array.from({ length: 96 }, (_, i) => ({
    prompt: PROMPTS[i % 4],
    chosen: ` ${POSITIVE_WORDS[i % 4]} .`,
    rejected: ` ${['bad', 'dull', 'awful', 'boring'][(i >> 2) % 4]} .`,
  }));
  const data = writeJsonl(join(root, 'prefs.jsonl'), pairs);
  const out = join(root, 'rm-pref');
  const r = await trainRewardModel({ model: sftDir, data, out, epochs: 4, lr: 2e-3, batchSize: 8, evalSplit: 0.25, saveEvery: 0 });
  assert.equal(r.kind, 'preference');
  assert.ok((r.eval['eval/accuracy'] as number) > 0.95, `held-out pairwise accuracy ${r.eval['eval/accuracy']}`);
  assert.ok((r.eval['eval/margin'] as number) > 0);
  r.model.dispose();
  const { model, tokenizer } = await loadScalarModel(out);
  assert.deepEqual(model.score.weight.shape, [1, 32]);
  const [good, bad] = scoreTexts(model, tokenizer!, ['the plot was', 'the plot was'], [' lovely .', ' awful .']);
  assert.ok((good as number) > (bad as number));
  model.dispose();
});

test('reward model: labels by binary cross-entropy (σ(reward) = P(positive)) and ratings by regression', async () => {
  const labels = writeJsonl(join(root, 'labels.jsonl'), sentences(96).map((s) => ({ text: s.text, label: s.label ? 'pos' : 'neg' })));
  const lr = await trainRewardModel({ model: sftDir, data: labels, out: join(root, 'rm-labels'), epochs: 4, lr: 2e-3, batchSize: 8, evalSplit: 0.25, saveEvery: 0, positiveLabel: 'pos' });
  assert.equal(lr.kind, 'labels');
  assert.ok((lr.eval['eval/accuracy'] as number) >= 0.95, `label accuracy ${lr.eval['eval/accuracy']}`);
  assert.ok((lr.eval['eval/f1'] as number) >= 0.95);
  lr.model.dispose();

  // Two dimensions: "sentiment" follows the label, "length" is noise-free but constant per noun.
  const rows = sentences(96).map((s, i) => ({ prompt: '', response: s.text, sentiment: s.label ? 5 : 1, clarity: 1 + ((i >> 3) % 4) }));
  const ratings = writeJsonl(join(root, 'ratings.jsonl'), rows);
  const out = join(root, 'rm-ratings');
  const rr = await trainRewardModel({ model: sftDir, data: ratings, out, epochs: 6, lr: 2e-3, batchSize: 8, evalSplit: 0.25, saveEvery: 0, dimensionWeights: { sentiment: 3, clarity: 1 } });
  assert.equal(rr.kind, 'ratings');
  assert.ok((rr.eval['eval/pearson/sentiment'] as number) > 0.9, `pearson ${rr.eval['eval/pearson/sentiment']}`);
  const heads = JSON.parse(readFileSync(join(out, 'rating_heads.json'), 'utf8')) as { dimensions: string[]; weights: number[] };
  assert.deepEqual(heads.dimensions.slice().sort(), ['clarity', 'sentiment']);
  assert.deepEqual(heads.weights.slice().sort(), [0.25, 0.75]);
  rr.model.dispose();
});

test('PPO with a programmatic reward raises the score within a few dozen iterations, KL bounded; first minibatch: ratio 1, approx-KL 0, clip fraction 0', async () => {
  const prompts = writeJsonl(join(root, 'prompts.jsonl'), Array.from({ length: 16 }, (_, i) => ({ prompt: PROMPTS[i % 4] })));
  const firsts: Record<string, number>[] = [];
  const live: number[] = [];
  const r = await ppo(
    { model: sftDir, prompts, out: join(root, 'ppo'), rewardFn: null, batchSize: 8, maxNewTokens: 4, maxSteps: 24, lr: 3e-3, klCoef: 0.02, ppoEpochs: 2, numMiniBatches: 2, saveEvery: 0, temperature: 1 },
    {
      rewardFn: (_p, responses) => responses.map((t) => (/great/.test(t) ? 1 : 0)),
      onMinibatch: ({ epoch, minibatch, stats }) => {
        if (epoch === 0 && minibatch === 0) firsts.push(stats);
      },
      onIteration: () => live.push(memory().liveTensors),
    },
  );
  const scores = r.history.map((h) => h['objective/scores'] as number);
  const early = scores.slice(0, 4).reduce((a, b) => a + b, 0) / 4;
  const late = scores.slice(-4).reduce((a, b) => a + b, 0) / 4;
  assert.ok(late > early + 0.3 && late > 0.6, `score ${early.toFixed(2)} → ${late.toFixed(2)}`);
  const kl = r.history.map((h) => h['objective/kl'] as number);
  assert.ok(Math.max(...kl) < 10, `KL stayed bounded (max ${Math.max(...kl)})`);
  assert.equal(kl[0], 0, 'KL at the first iteration is 0: policy = reference');
  for (const s of firsts) {
    assert.ok(Math.abs((s['policy/ratio'] as number) - 1) < 1e-6, `ratio ${s['policy/ratio']}`);
    assert.ok((s['policy/approx_kl'] as number) < 1e-10, `approx_kl ${s['policy/approx_kl']}`);
    assert.equal(s['policy/clipfrac'], 0);
  }
  for (const key of ['objective/non_score_reward', 'policy/entropy_avg', 'val/explained_variance', 'loss/value', 'response/length', 'time/generation', 'time/scoring', 'time/training']) {
    assert.ok(key in (r.history[0] as object), key);
  }
  assert.equal(new Set(live.slice(2)).size, 1, `live tensors flat across iterations: ${live.join(',')}`);
  r.dispose();
});

test('DPO raises the chosen-minus-rejected margin; IPO and conservative DPO run', async () => {
  const pairs = Array.from({ length: 48 }, (_, i) => ({ prompt: PROMPTS[i % 4], chosen: ` ${POSITIVE_WORDS[i % 4]} .`, rejected: ` ${['bad', 'dull', 'awful', 'boring'][(i >> 2) % 4]} .` }));
  const data = writeJsonl(join(root, 'dpo.jsonl'), pairs);
  const r = await dpo({ model: sftDir, data, out: join(root, "dpo"), epochs: 10, lr: 2e-3, batchSize: 8, evalSplit: 0.2, saveEvery: 0, logEvery: 1 });
  const margins = r.history.map((h) => h['rewards/margins'] as number);
  assert.ok(Math.abs(margins[0] as number) < 0.05, `first margin ${margins[0]} (policy = reference)`);
  assert.ok((margins[margins.length - 1] as number) > 1, `final margin ${margins[margins.length - 1]}`);
  assert.ok((r.eval['eval/rewards/accuracies'] as number) > 0.9);
  r.model.dispose();
  for (const extra of [{ lossType: 'ipo' as const }, { labelSmoothing: 0.1 }]) {
    const v = await dpo({ model: sftDir, data, out: join(root, `dpo-${Object.keys(extra)[0]}`), maxSteps: 4, lr: 2e-3, batchSize: 8, evalSplit: 0, saveEvery: 0, ...extra });
    assert.ok(v.history.every((h) => Number.isFinite(h.loss)));
    v.model.dispose();
  }
});

test('PPO does not leak: live tensors flat over 200 iterations, resident memory bounded', async () => {
  const prompts = writeJsonl(join(root, 'prompts-leak.jsonl'), PROMPTS.map((p) => ({ prompt: p })));
  const live: number[] = [];
  const rss: number[] = [];
  const r = await ppo(
    { model: sftDir, prompts, out: join(root, 'ppo-leak'), batchSize: 2, maxNewTokens: 3, maxSteps: 200, ppoEpochs: 1, saveEvery: 0, logEvery: 50, lr: 1e-4 },
    {
      rewardFn: (_p, responses) => responses.map((t) => t.length / 10),
      onIteration: () => {
        live.push(memory().liveTensors);
        rss.push(process.memoryUsage().rss);
      },
    },
  );
  assert.equal(live.length, 200);
  assert.equal(Math.max(...live.slice(5)), Math.min(...live.slice(5)), `live tensors ${Math.min(...live.slice(5))}..${Math.max(...live.slice(5))}`);
  const growthMb = ((rss[199] as number) - (rss[20] as number)) / 2 ** 20;
  assert.ok(growthMb < 40, `RSS grew ${growthMb.toFixed(1)} MB over 180 iterations`);
  r.dispose();
});
