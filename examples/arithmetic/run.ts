// The arithmetic example, end to end on a laptop CPU in a few minutes:
//   1. make 2-digit addition problems ("23+48=" → "71"): a training set and a held-out set
//   2. a character-level tokenizer and a 4-layer GPT-2 from scratch
//   3. SFT briefly on prompt/completion pairs: the model learns the format and part of the sums
//   4. measure exact-answer accuracy on the held-out problems (greedy, and sampled at T = 1)
//   5. GRPO with the exact-answer reward (exact-answer.ts): 8 samples per prompt, each judged against its group
//   6. measure again; write accuracy.json and a chart of the training reward
//
//   node --import tsx examples/arithmetic/run.ts [--out DIR] [--quick] [--seed N]
// --quick: a smaller run (about a minute) that still shows the rise.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed, noGrad, setNumThreads } from '../../src/torch/index.js';
import { GPT2LMHeadModel, GPT2_DEFAULTS, loadPretrained, savePretrained } from '../../src/models/index.js';
import { trainByteLevelBpe } from '../../src/tokenizers/index.js';
import { generate } from '../../src/generation/index.js';
import { padLeft } from '../../src/data/index.js';
import { grpo, sft } from '../../src/trainers/index.js';
import { lineChart, renderChart } from '../../src/eval/charts.js';
import { makeProblems, type Problem } from './task.js';
import exactAnswer from './exact-answer.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | null => {
  const i = argv.indexOf(name);
  return i >= 0 ? (argv[i + 1] ?? null) : null;
};
const quick = argv.includes('--quick');
const seed = Number(flag('--seed') ?? 0);
const out = flag('--out') ?? join(tmpdir(), 'rlhf-arithmetic');
const REWARD_FILE = fileURLToPath(new URL('./exact-answer.ts', import.meta.url));
const size = quick
  ? { train: 4000, heldOut: 200, sftEpochs: 5, grpoIterations: 80 }
  : { train: 4000, heldOut: 400, sftEpochs: 5, grpoIterations: 200 };
if (process.env.RLHF_NUM_THREADS) setNumThreads(Number(process.env.RLHF_NUM_THREADS));
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const progressStream = process.stderr.isTTY ? process.stderr : undefined;

/** Exact-answer accuracy of the model in `dir` on `problems`: greedy, and sampled at T = 1. */
async function accuracy(dir: string, problems: readonly Problem[]): Promise<{ greedy: number; sampled: number }> {
  const { model, tokenizer } = await loadPretrained(dir);
  const tok = tokenizer!;
  const pad = tok.padTokenId ?? (tok.eosTokenId as number);
  const prompts = problems.map((p) => p.prompt);
  const score = (greedy: boolean): number => {
    let correct = 0;
    for (let i = 0; i < prompts.length; i += 100) {
      const chunk = prompts.slice(i, i + 100);
      const q = padLeft(chunk.map((p) => tok.encode(p)), pad);
      const g = noGrad(() => generate(model, q, { maxNewTokens: 5, greedy, temperature: 1, eosTokenId: tok.eosTokenId, padTokenId: pad, seed: seed + 7 + i }));
      for (const t of [q.inputIds, q.attentionMask, g.sequences, g.responseMask]) t.dispose();
      const texts = g.responseIds.map((r) => tok.decode(r, { skipSpecialTokens: true }));
      correct += exactAnswer(chunk, texts).reduce((a, b) => a + b, 0);
    }
    return correct / prompts.length;
  };
  const r = { greedy: score(true), sampled: score(false) };
  model.dispose();
  return r;
}

const t0 = performance.now();
const seconds = (): string => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
say(`arithmetic example → ${out}${quick ? ' (quick)' : ''}`);

// 1. problems: training prompts and held-out prompts that never appear in training
const train = makeProblems(size.train, seed * 2 + 1);
const heldOut = makeProblems(size.heldOut, seed * 2 + 2, { exclude: new Set(train.map((p) => p.prompt)) });
const jsonl = (file: string, rows: readonly unknown[]): string => {
  writeFileSync(join(out, file), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return join(out, file);
};
const sftData = jsonl('train.jsonl', train.map((p) => ({ prompt: p.prompt, completion: p.answer })));
const promptsFile = jsonl('prompts.jsonl', train.map((p) => ({ prompt: p.prompt })));

// 2. a character-level tokenizer (256 bytes + EOS: every digit is a token) and a fresh 4-layer GPT-2
manualSeed(seed);
const tokenizer = trainByteLevelBpe(train.map((p) => p.prompt + p.answer), { vocabSize: 257, modelMaxLength: 32 });
const eos = tokenizer.eosTokenId as number;
const base = new GPT2LMHeadModel({ ...GPT2_DEFAULTS, vocab_size: tokenizer.vocabSize, bos_token_id: eos, eos_token_id: eos, n_layer: 4, n_embd: 128, n_head: 4, n_positions: 32, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
await savePretrained(base, join(out, 'base'), { tokenizer });
base.dispose();

// 3. SFT, briefly: loss on the answer (and its EOS) only
say(`[${seconds()}] SFT on ${train.length} problems, ${size.sftEpochs} epochs`);
const s = await sft({ model: join(out, 'base'), data: sftData, out: join(out, 'sft'), epochs: size.sftEpochs, lr: 1e-3, schedule: 'constant', batchSize: 32, maxLength: 16, evalSplit: 0, saveEvery: 0, warmupSteps: 20, seed }, { progressStream });
s.model.dispose();

// 4. accuracy before GRPO
const before = await accuracy(join(out, 'sft'), heldOut);
say(`[${seconds()}] after SFT: held-out exact-answer accuracy ${(100 * before.greedy).toFixed(1)}% greedy, ${(100 * before.sampled).toFixed(1)}% sampled (T = 1)`);

// 5. GRPO against the exact-answer reward
say(`[${seconds()}] GRPO: ${size.grpoIterations} iterations of 16 prompts × 8 samples`);
const curve: { x: number; y: number }[] = [];
const g = await grpo(
  {
    model: join(out, 'sft'), rewardFn: [REWARD_FILE], prompts: promptsFile, out: join(out, 'grpo'),
    batchSize: 16, numGenerations: 8, maxCompletionLength: 5, temperature: 1, lr: 3e-4, maxSteps: size.grpoIterations,
    saveEvery: 0, logEvery: 10, sampleEvery: 0, seed,
  },
  { progressStream, onIteration: (it, rec) => curve.push({ x: it, y: rec['rewards/exact-answer/mean'] as number }) },
);
g.dispose();

// 6. accuracy after GRPO, the numbers and the chart
const after = await accuracy(join(out, 'grpo'), heldOut);
say(`[${seconds()}] after GRPO: held-out exact-answer accuracy ${(100 * after.greedy).toFixed(1)}% greedy, ${(100 * after.sampled).toFixed(1)}% sampled (T = 1)`);
const mean = (xs: { y: number }[]): number => xs.reduce((a, b) => a + b.y, 0) / Math.max(1, xs.length);
const result = {
  heldOut: heldOut.length, sftEpochs: size.sftEpochs, grpoIterations: size.grpoIterations,
  before, after,
  trainingReward: { first10: mean(curve.slice(0, 10)), last10: mean(curve.slice(-10)) },
  seconds: (performance.now() - t0) / 1000,
};
writeFileSync(join(out, 'accuracy.json'), JSON.stringify(result, null, 2) + '\n');
const chart = await renderChart(
  lineChart([
    { name: 'per iteration', points: curve },
    { name: '10-iteration mean', points: curve.map((p, i) => ({ x: p.x, y: mean(curve.slice(Math.max(0, i - 9), i + 1)) })) },
  ], {
    title: 'GRPO on 2-digit addition', subtitle: `held-out greedy accuracy ${(100 * before.greedy).toFixed(1)}% → ${(100 * after.greedy).toFixed(1)}%`,
    xTitle: 'GRPO iteration', yTitle: 'exact answers among the samples (T = 1)', yZero: true,
  }),
);
writeFileSync(join(out, 'reward.svg'), chart.svg);
writeFileSync(join(out, 'reward.png'), chart.png);
say('');
say('                      greedy   sampled (T = 1)');
say(`  SFT               ${(100 * before.greedy).toFixed(1).padStart(6)}%   ${(100 * before.sampled).toFixed(1).padStart(6)}%`);
say(`  SFT + GRPO        ${(100 * after.greedy).toFixed(1).padStart(6)}%   ${(100 * after.sampled).toFixed(1).padStart(6)}%`);
say(`  training reward (share of exact answers among samples): ${result.trainingReward.first10.toFixed(3)} (first 10 iterations) → ${result.trainingReward.last10.toFixed(3)} (last 10)`);
say(`  ${result.seconds.toFixed(0)} s; ${join(out, 'accuracy.json')}, ${join(out, 'reward.png')}`);
