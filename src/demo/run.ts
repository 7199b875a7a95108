// The demo behind `npm start` / `rlhf demo`: the whole RLHF story on a task that ships with the
// package, on a laptop CPU, in minutes, with nothing downloaded.
//   1. data: movie-review sentences with a known sentiment, made by a generator (reviews.ts)
//   2. a tokenizer (byte-level BPE trained on that text) and a small GPT-2 trained from scratch (SFT)
//   3. simulated annotators compare pairs of SFT samples in a studio project (annotators.ts)
//   4. a reward model learns their preferences
//   5. PPO optimises the SFT model against the reward model, KL-penalised to the SFT model
//   6. evaluation of random / SFT / best-of-n / PPO on held-out prompts, and a report
// `--task sst2 --data FILE` tells the same story on SST-2, its labels standing in for annotators.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { makeDirs } from '../util/dirs.js';
import { getNumThreads, manualSeed, setNumThreads } from '../torch/index.js';
import { GPT2LMHeadModel, GPT2_DEFAULTS, loadScalarModel, savePretrained } from '../models/index.js';
import { trainByteLevelBpe } from '../tokenizers/index.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { generateText } from '../generation/text.js';
import { readDataset, trainEvalSplit } from '../data/index.js';
import { sft } from '../trainers/sft/train.js';
import { trainRewardModel } from '../trainers/reward/train.js';
import { ppo } from '../trainers/ppo/train.js';
import { evaluatePolicies, type EvalResult } from '../eval/evaluate.js';
import { writeEvalReport } from '../eval/eval-report.js';
import { atomicWriteJson } from '../util/atomic.js';
import { TrainerError } from '../trainers/common/setup.js';
import { generateReviews, lexiconScore, oodReviewPrompts, reviewPrompts } from './reviews.js';
import { addBeforeAfterTask, annotatePairs } from './annotators.js';

export interface DemoOptions {
  /** Where everything goes (data, models, studio, report). */
  out: string;
  /** The reduced size CI runs (under 2 minutes). */
  quick: boolean;
  seed: number;
  task: 'reviews' | 'sst2';
  /** sst2: the SST-2 training file (sentence<TAB>label). */
  data?: string;
  /** Start over even when OUT holds an earlier run. */
  fresh?: boolean;
  log: (line: string) => void;
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
}

interface Sizes {
  nTrain: number; vocab: number; nLayer: number; nEmbd: number; nHead: number;
  sftEpochs: number; pairs: number; rmEpochs: number; ppoIters: number; ppoBatch: number; newTokens: number; evalPrompts: number; bestOfN: number;
}

const FULL: Sizes = { nTrain: 20000, vocab: 2000, nLayer: 4, nEmbd: 128, nHead: 4, sftEpochs: 3, pairs: 2000, rmEpochs: 3, ppoIters: 60, ppoBatch: 32, newTokens: 16, evalPrompts: 128, bestOfN: 4 };
const QUICK: Sizes = { nTrain: 12000, vocab: 1000, nLayer: 3, nEmbd: 128, nHead: 4, sftEpochs: 2, pairs: 1500, rmEpochs: 3, ppoIters: 30, ppoBatch: 16, newTokens: 12, evalPrompts: 64, bestOfN: 4 };

export interface DemoSummary {
  out: string;
  seconds: number;
  sft: { evalLoss: number; perplexity: number };
  annotation: { labels: number; pairs: number; fleissKappa: number | null; agreementWithLexicon: number } | null;
  rewardModel: Record<string, number>;
  ppo: { firstScore: number; lastScore: number; lastKl: number };
  eval: EvalResult;
  report: string;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * The demo's models are small (about a million parameters): their matrix products are too small for
 * a second thread to pay off, and OpenMP's spinning threads lose badly when anything else runs on a
 * 2-core machine (measured: an SFT step 43 ms on 1 thread, 53 ms on 2 when idle, 290 ms on 2 beside
 * another busy process). One thread, unless RLHF_NUM_THREADS says otherwise.
 */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const threads = getNumThreads();
  if (!process.env.RLHF_NUM_THREADS) setNumThreads(1);
  try {
    return await demoStages(o);
  } finally {
    setNumThreads(threads);
  }
}

/** What the demo writes into its --out: all it may delete when it starts again. */
const DEMO_OUTPUTS = new Set(['base', 'before-after.jsonl', 'data', 'demo-summary.json', 'ppo', 'report', 'reward', 'sft', 'studio']);

async function demoStages(o: DemoOptions): Promise<DemoSummary> {
  const t0 = performance.now();
  const z = o.quick ? QUICK : FULL;
  if (o.task === 'sst2' && (!o.data || !existsSync(o.data))) {
    throw new TrainerError(`--task sst2 needs --data FILE: SST-2's train.tsv (sentence<TAB>label)${o.data ? `; ${o.data} does not exist` : ''}.`);
  }
  const out = resolve(o.out);
  if (o.fresh && existsSync(out)) {
    // Clear only what an earlier demo wrote: `--out .` or `--out ~` must never delete a user's files.
    const foreign = statSync(out).isDirectory() ? readdirSync(out).filter((f) => !DEMO_OUTPUTS.has(f)) : [basename(out)];
    if (foreign.length) {
      throw new TrainerError(`--out ${o.out} holds ${foreign.length === 1 && foreign[0] === basename(out) ? 'a file, not a directory' : `files the demo did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`}; the demo replaces its --out, so give it a new or empty directory (default rlhf-demo).`);
    }
    await rm(out, { recursive: true, force: true });
  }
  makeDirs(out, '--out');
  const dir = (name: string): string => join(out, name);
  const stages = 6;
  const stage = (i: number, title: string): void => {
    const s = (performance.now() - t0) / 1000;
    o.log(`\n[${i}/${stages}] ${title}   (${Math.floor(s / 60)}m ${Math.round(s % 60)}s elapsed)`);
  };
  const progressStream = o.progressStream;
  manualSeed(o.seed);

  // 1. data
  stage(1, o.task === 'sst2' ? `SST-2 from ${o.data}` : 'making the task: movie-review sentences with a known sentiment');
  await mkdir(dir('data'), { recursive: true });
  let texts: string[];
  let labelled: { text: string; label: number }[] = [];
  let prompts: string[];
  let oodPrompts: string[];
  if (o.task === 'sst2') {
    const ds = readDataset(o.data as string, { columns: { text: 'sentence' }, expectFormat: ['labels'] as const });
    const rows = ds.rows.filter((r) => r.response.split(' ').length >= 4).slice(0, z.nTrain * 2);
    labelled = rows.map((r) => ({ text: r.response, label: r.label }));
    texts = labelled.map((r) => r.text);
    // Prompts: the first three words of sentences (the rest of the story is the model's).
    prompts = [...new Set(texts.map((t) => t.split(' ').slice(0, 3).join(' ')))].slice(0, z.evalPrompts + z.pairs + 2000);
    oodPrompts = oodReviewPrompts(200, o.seed);
  } else {
    const reviews = generateReviews(z.nTrain, o.seed);
    texts = reviews.map((r) => r.text);
    labelled = reviews.map((r) => ({ text: r.text, label: r.label }));
    prompts = reviewPrompts(z.pairs + z.evalPrompts + 400, o.seed + 1);
    oodPrompts = oodReviewPrompts(z.evalPrompts, o.seed + 2);
    o.log(`  ${texts.length} sentences, e.g. "${texts[0]}" / "${texts[4]}"`);
  }
  await writeFile(dir('data/train.jsonl'), texts.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
  await writeFile(dir('data/labels.jsonl'), labelled.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const evalPrompts = prompts.slice(0, z.evalPrompts);
  const pairPrompts = prompts.slice(z.evalPrompts, z.evalPrompts + z.pairs);
  const ppoPrompts = prompts.slice(z.evalPrompts + z.pairs);
  await writeFile(dir('data/prompts.txt'), ppoPrompts.join('\n') + '\n');

  // 2. tokenizer + SFT from scratch
  stage(2, `supervised fine-tuning: a ${z.nLayer}-layer, ${z.nEmbd}-wide GPT-2 from scratch`);
  const tokenizer: Tokenizer = trainByteLevelBpe(texts, { vocabSize: z.vocab, modelMaxLength: 64 });

  const eos = tokenizer.eosTokenId ?? 0;
  const base = new GPT2LMHeadModel({ ...GPT2_DEFAULTS, vocab_size: tokenizer.vocabSize, bos_token_id: eos, eos_token_id: eos, n_layer: z.nLayer, n_embd: z.nEmbd, n_head: z.nHead, n_positions: 64, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
  await savePretrained(base, dir('base'), { tokenizer });
  // With GPT-2's vocabulary the embedding / LM head alone would be 50,257 × C parameters.
  const body = base.numParameters() - tokenizer.vocabSize * z.nEmbd;
  o.log(`  byte-level BPE tokenizer trained on the text: ${tokenizer.vocabSize} tokens; ${(base.numParameters() / 1e6).toFixed(2)}M parameters (with GPT-2's 50,257 tokens the LM head alone would be ${((50257 * z.nEmbd) / body).toFixed(0)}× the rest of the model)`);
  base.dispose();
  const sftRun = await sft(
    { model: dir('base'), data: dir('data/train.jsonl'), out: dir('sft'), epochs: z.sftEpochs, lr: 2e-3, batchSize: 32, maxLength: 40, warmupSteps: 20, schedule: 'cosine', evalSplit: 0.02, saveEvery: 0, logEvery: 20, seed: o.seed, resume: false },
    { progressStream, onLog: (l) => o.log(`  ${l}`) },
  );
  const sftLoss = sftRun.eval['eval/loss'] as number;
  o.log(`  held-out loss ${sftLoss.toFixed(3)} (perplexity ${(sftRun.eval['eval/perplexity'] as number).toFixed(2)})`);
  const sftModel = sftRun.model;
  const sample = generateText(sftModel, tokenizer, pairPrompts.slice(0, 3), { maxNewTokens: z.newTokens, temperature: 1, seed: o.seed, eosTokenId: eos });
  sample.forEach((s, i) => o.log(`  sample: "${pairPrompts[i]}${s.text}"`));

  // 3. feedback
  let annotation: DemoSummary['annotation'] = null;
  let rmData: string;
  let rmKind: 'preference' | 'labels';
  if (o.task === 'sst2') {
    stage(3, 'feedback: SST-2\'s sentiment labels stand in for annotators');
    rmData = dir('data/labels.jsonl');
    rmKind = 'labels';
  } else {
    stage(3, `feedback: ${z.pairs} pairs of SFT samples, each compared by 3 of 5 simulated annotators in a studio project`);
    const a = generateText(sftModel, tokenizer, pairPrompts, { maxNewTokens: z.newTokens, temperature: 1, seed: o.seed + 10, eosTokenId: eos, batchSize: 64 });
    const b = generateText(sftModel, tokenizer, pairPrompts, { maxNewTokens: z.newTokens, temperature: 1, seed: o.seed + 11, eosTokenId: eos, batchSize: 64 });
    const pairs = pairPrompts.map((p, i) => ({ prompt: p, a: a[i]?.text ?? '', b: b[i]?.text ?? '' })).filter((p) => p.a.trim() && p.b.trim() && p.a !== p.b);
    const ann = annotatePairs(dir('studio'), 'demo-preferences', pairs, { perItem: 3, seed: o.seed });
    const fleiss = ann.stats.agreement.find((x) => x.measure.startsWith('Fleiss'))?.value ?? null;
    annotation = { labels: ann.labels, pairs: ann.rows.length, fleissKappa: fleiss, agreementWithLexicon: ann.agreementWithLexicon };
    o.log(`  ${ann.labels} labels; Fleiss' kappa ${fleiss === null ? 'n/a' : fleiss.toFixed(2)}; ${ann.rows.length} majority preferences exported (rlhf studio export --format trl), ${(100 * ann.agreementWithLexicon).toFixed(0)}% agree with the true sentiment`);
    rmData = dir('data/preferences.jsonl');
    await writeFile(rmData, ann.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    rmKind = 'preference';
  }

  // 4. reward model
  stage(4, `reward model: the SFT model plus a scalar head, trained on the ${rmKind === 'labels' ? 'labels' : 'preferences'}`);
  const rmRun = await trainRewardModel(
    { model: dir('sft'), data: rmData, out: dir('reward'), epochs: rmKind === 'labels' ? 1 : z.rmEpochs, maxSteps: rmKind === 'labels' ? 300 : 0, lr: 1e-3, batchSize: 16, maxLength: 40, evalSplit: 0.1, saveEvery: 0, warmupSteps: 10, seed: o.seed, resume: false, ...(rmKind === 'labels' ? { positiveLabel: '1' } : {}) },
    { progressStream, onLog: (l) => o.log(`  ${l}`) },
  );
  rmRun.model.dispose();
  const rmEval = rmRun.eval;
  o.log(`  held-out ${rmKind === 'labels' ? 'accuracy' : 'pairwise accuracy'} ${(rmEval['eval/accuracy'] as number).toFixed(3)}`);

  // 5. PPO
  stage(5, `PPO: ${z.ppoIters} iterations × ${z.ppoBatch} prompts against the reward model, KL-penalised to the SFT model`);
  const ppoRun = await ppo(
    { model: dir('sft'), rewardModel: dir('reward'), prompts: dir('data/prompts.txt'), out: dir('ppo'), batchSize: z.ppoBatch, maxSteps: z.ppoIters, maxNewTokens: z.newTokens, temperature: 1, lr: 2e-4, klCoef: 0.1, ppoEpochs: 4, numMiniBatches: 2, saveEvery: 0, sampleEvery: Math.max(1, Math.floor(z.ppoIters / 4)), seed: o.seed, resume: false, warmupSteps: 0, schedule: 'constant' },
    { progressStream, onLog: (l) => o.log(`  ${l}`) },
  );
  const scores = ppoRun.history.map((h) => h['objective/scores'] as number);
  const ppoStats = { firstScore: mean(scores.slice(0, 3)), lastScore: mean(scores.slice(-3)), lastKl: mean(ppoRun.history.slice(-3).map((h) => h['objective/kl'] as number)) };
  o.log(`  reward ${ppoStats.firstScore.toFixed(2)} → ${ppoStats.lastScore.toFixed(2)} at KL ${ppoStats.lastKl.toFixed(2)} nats per response`);

  // 6. evaluate and report
  stage(6, `evaluation on ${evalPrompts.length} held-out prompts (and ${oodPrompts.length} out of distribution): random, SFT, best-of-${z.bestOfN}, PPO`);
  const rewardModel = await loadScalarModel(dir('reward'));
  let result: EvalResult;
  try {
    result = await evaluatePolicies({
      policies: [
        { name: 'random', random: true, tokenizer },
        { name: 'SFT', model: sftModel, tokenizer },
        { name: `best-of-${z.bestOfN}`, model: sftModel, tokenizer, bestOfN: z.bestOfN },
        { name: 'PPO', model: ppoRun.policy, tokenizer },
      ],
      prompts: evalPrompts,
      oodPrompts,
      reward: { model: rewardModel.model, tokenizer: rewardModel.tokenizer ?? tokenizer },
      ref: { model: sftModel },
      scorers: { lexicon: (_p, r) => lexiconScore(r) },
      baseline: 'SFT',
      rewardModelData: { labels: trainEvalSplit(labelled, 0.05, o.seed).eval.slice(0, 400) },
      maxNewTokens: z.newTokens,
      temperature: 1,
      seed: o.seed + 100,
    });
  } finally {
    rewardModel.model.dispose();
  }
  await writeEvalReport(dir('report'), result, {
    title: 'rlhf demo: from a model trained from scratch to a more positive one',
    intro: `A ${z.nLayer}-layer GPT-2 trained from scratch on ${texts.length} ${o.task === 'sst2' ? 'SST-2 sentences' : 'generated movie-review sentences'}; a reward model from ${rmKind === 'labels' ? 'sentiment labels' : `${annotation?.labels ?? 0} simulated annotator judgements`}; PPO for ${z.ppoIters} iterations. The lexicon column is the generator's own sentiment score (−1 … 1), independent of the reward model.`,
    runs: [{ name: 'PPO', metricsFile: dir('ppo/metrics.jsonl') }, { name: 'SFT', metricsFile: dir('sft/metrics.jsonl') }, { name: 'reward model', metricsFile: dir('reward/metrics.jsonl') }],
  });

  // Before/after pairs for people to judge in the studio.
  const sftEval = result.policies.find((p) => p.name === 'SFT');
  const ppoEval = result.policies.find((p) => p.name === 'PPO');
  if (sftEval && ppoEval) {
    const pairs = sftEval.samples.map((s, i) => ({ prompt: s.prompt, a: s.response, b: ppoEval.samples[i]?.response ?? '', modelA: 'sft', modelB: 'ppo' }));
    await writeFile(dir('before-after.jsonl'), pairs.map((p) => JSON.stringify({ prompt: p.prompt, response_a: p.a, response_b: p.b, model_a: 'sft', model_b: 'ppo' })).join('\n') + '\n');
    addBeforeAfterTask(dir('studio'), pairs);
  }
  const summary: DemoSummary = {
    out, seconds: (performance.now() - t0) / 1000,
    sft: { evalLoss: sftLoss, perplexity: sftRun.eval['eval/perplexity'] as number },
    annotation, rewardModel: rmEval, ppo: ppoStats, eval: result, report: join(dir('report'), 'report.html'),
  };
  await atomicWriteJson(dir('demo-summary.json'), { ...summary, eval: undefined });
  sftModel.dispose();
  ppoRun.dispose();
  return summary;
}
