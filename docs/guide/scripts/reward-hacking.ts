// Chapter 5's experiment: PPO on the demo's task with the KL penalty (β = 0.1, the demo's) and
// without it (β = 0), everything else the same.
//   npx rlhf demo                                            # once: rlhf-demo/sft and rlhf-demo/reward
//   node --import tsx docs/guide/scripts/reward-hacking.ts [--demo rlhf-demo] [--iters 60] [--out DIR] [--rerun]
// Both runs start from DEMO/sft and optimise against DEMO/reward with the demo's PPO settings;
// then random tokens, SFT, best-of-4 and both policies are evaluated on the demo's held-out prompts:
// the reward model's score, the generator's sentiment lexicon (a second opinion the policy never
// saw), KL to SFT, distinct-2 and length. Writes docs/guide/img/reward-hacking.png (reward and KL
// per iteration), docs/guide/img/reward-vs-lexicon.png (chapter 7), docs/guide/data/reward-hacking.json
// and docs/guide/data/heldout-prompts.txt, and prints the chapters' tables and samples as Markdown.
// A finished run with the same settings is reused (see below); the β = 0 run takes a few minutes on
// 2 cores (RLHF_NUM_THREADS=1), the evaluation another one or two.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setNumThreads } from '../../../src/torch/index.js';
import { loadPretrained, loadScalarModel } from '../../../src/models/index.js';
import { ppo, readMetrics } from '../../../src/trainers/index.js';
import { evaluatePolicies } from '../../../src/eval/evaluate.js';
import { barWithErrors, lineChart, renderChart, type VegaLiteSpec } from '../../../src/eval/charts.js';
import { lexiconScore, reviewPrompts } from '../../../src/demo/reviews.js';

const { values: args } = parseArgs({ options: { demo: { type: 'string', default: 'rlhf-demo' }, iters: { type: 'string', default: '60' }, out: { type: 'string', default: '/tmp/rlhf-guide-reward-hacking' }, seed: { type: 'string', default: '0' }, rerun: { type: 'boolean', default: false } } });
const demo = args.demo as string;
const iters = Number(args.iters);
const seed = Number(args.seed);
const guide = new URL('..', import.meta.url).pathname;
if (!process.env.RLHF_NUM_THREADS) setNumThreads(1);

// The demo's held-out prompts (src/demo/run.ts: the first 128 of reviewPrompts(2000 + 128 + 400, seed + 1)).
const heldOut = reviewPrompts(2000 + 128 + 400, seed + 1).slice(0, 128);

// A finished run with the same settings is reused, not run again: one already in --out, or the
// demo's own PPO run (DEMO/ppo), which has the β = 0.1 run's settings and seed (its numbers differ
// in the last digits: float rounding is not the same in another process). --rerun runs both again.
const runs = [
  { name: 'PPO, β = 0.1', klCoef: 0.1, dir: join(args.out as string, 'beta-0.1') },
  { name: 'PPO, β = 0', klCoef: 0, dir: join(args.out as string, 'beta-0') },
];
const histories: Record<string, Record<string, number>[]> = {};
const seconds: Record<string, number> = {};
const finished = (dir: string, klCoef: number): boolean => {
  if (args.rerun || !existsSync(join(dir, 'rlhf_config.json'))) return false;
  const c = JSON.parse(readFileSync(join(dir, 'rlhf_config.json'), 'utf8')) as { klCoef: number; maxSteps: number; seed: number };
  return c.klCoef === klCoef && c.maxSteps === iters && c.seed === seed;
};
for (const r of runs) {
  const done = [r.dir, join(demo, 'ppo')].find((d) => finished(d, r.klCoef));
  if (done) {
    r.dir = done;
    histories[r.name] = readMetrics(join(done, 'metrics.jsonl')).map((row) => row.metrics);
    console.error(`${r.name}: reusing the finished run in ${done}`);
    continue;
  }
  const t0 = performance.now();
  // The demo's PPO settings (src/demo/run.ts, stage 5), β aside.
  const res = await ppo({
    model: join(demo, 'sft'), rewardModel: join(demo, 'reward'), prompts: join(demo, 'data/prompts.txt'), out: r.dir,
    batchSize: 32, maxSteps: iters, maxNewTokens: 16, temperature: 1, lr: 2e-4, klCoef: r.klCoef, ppoEpochs: 4, numMiniBatches: 2,
    saveEvery: 0, sampleEvery: 0, seed, warmupSteps: 0, schedule: 'constant',
  }, { onIteration: (it, rec) => { if (it % 10 === 0) console.error(`${r.name}: iteration ${it}, score ${rec['objective/scores']?.toFixed(2)}, KL ${rec['objective/kl']?.toFixed(2)}`); } });
  histories[r.name] = res.history;
  seconds[r.name] = (performance.now() - t0) / 1000;
  res.dispose();
}

const sft = await loadPretrained(join(demo, 'sft'));
const rm = await loadScalarModel(join(demo, 'reward'));
const policies = await Promise.all(runs.map(async (r) => ({ name: r.name, model: (await loadPretrained(r.dir)).model })));
const result = await evaluatePolicies({
  policies: [
    { name: 'random tokens', random: true, tokenizer: sft.tokenizer! },
    { name: 'SFT', model: sft.model, tokenizer: sft.tokenizer! },
    { name: 'best-of-4', model: sft.model, tokenizer: sft.tokenizer!, bestOfN: 4 },
    ...policies.map((p) => ({ ...p, tokenizer: sft.tokenizer! })),
  ],
  prompts: heldOut,
  reward: { model: rm.model, tokenizer: rm.tokenizer ?? sft.tokenizer! },
  ref: { model: sft.model },
  scorers: { lexicon: (_p, r) => lexiconScore(r) },
  baseline: 'SFT',
  maxNewTokens: 16,
  temperature: 1,
  seed: seed + 100,
  perturbations: false,
});

// The picture: reward-model score and KL per iteration, both runs.
const series = (key: string) => runs.map((r) => ({ name: r.name, points: (histories[r.name] ?? []).map((h, i) => ({ x: i + 1, y: h[key] as number })) }));
const panel = (spec: VegaLiteSpec): Record<string, unknown> => {
  const { $schema: _s, ...rest } = spec as unknown as Record<string, unknown>;
  return { ...rest, width: 400, height: 240 };
};
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  hconcat: [
    panel(lineChart(series('objective/scores'), { title: 'Reward-model score', subtitle: 'mean over the batch, per iteration', xTitle: 'PPO iteration', yTitle: 'score' })),
    panel(lineChart(series('objective/kl'), { title: 'KL to the SFT model', subtitle: 'nats per response (k1)', xTitle: 'PPO iteration', yTitle: 'KL', yZero: true })),
  ],
} as unknown as VegaLiteSpec;
mkdirSync(join(guide, 'img'), { recursive: true });
mkdirSync(join(guide, 'data'), { recursive: true });
writeFileSync(join(guide, 'img', 'reward-hacking.png'), (await renderChart(spec)).png);

// Chapter 7's picture: the reward model's opinion, the lexicon's, and what neither measures —
// how varied the text is (distinct-2) — per policy, with 95% CIs of the means.
const ci = (s: { mean: number; std: number; n: number }) => ({ mean: s.mean, lo: s.mean - (1.96 * s.std) / Math.sqrt(s.n), hi: s.mean + (1.96 * s.std) / Math.sqrt(s.n) });
const bars = (pick: (p: (typeof result.policies)[number]) => { mean: number; lo: number; hi: number }) => result.policies.filter((p) => !p.name.startsWith('random')).map((p) => ({ name: p.name, ...pick(p) }));
const narrow = (spec: VegaLiteSpec): Record<string, unknown> => ({ ...panel(spec), width: 300 });
const opinions = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  hconcat: [
    narrow(barWithErrors(bars((p) => ci(p.reward)), { title: "The reward model's opinion", subtitle: 'what PPO maximised', yTitle: 'reward-model score' })),
    narrow(barWithErrors(bars((p) => ci(p.scorers.lexicon!)), { title: "The lexicon's opinion", subtitle: 'positive minus negative words, never optimised', yTitle: 'lexicon score (−1 … 1)' })),
    narrow(barWithErrors(bars((p) => ({ mean: p.distinct2, lo: p.distinct2, hi: p.distinct2 })), { title: 'What neither measures', subtitle: 'variety: distinct bigrams / all bigrams', yTitle: 'distinct-2' })),
  ],
} as unknown as VegaLiteSpec;
writeFileSync(join(guide, 'img', 'reward-vs-lexicon.png'), (await renderChart(opinions)).png);
writeFileSync(join(guide, 'data', 'heldout-prompts.txt'), `${heldOut.join('\n')}\n`);

const rows = result.policies.map((p) => ({
  policy: p.name, reward: p.reward.mean, lexicon: p.scorers.lexicon?.mean ?? Number.NaN, winRate: p.winRate, kl: p.kl?.mean ?? 0,
  distinct2: p.distinct2, length: p.length.mean,
}));
const samples = heldOut.slice(0, 8).map((prompt, i) => ({ prompt, ...Object.fromEntries(result.policies.map((p) => [p.name, p.samples[i]?.response ?? ''])) }));
const curves = Object.fromEntries(Object.entries(histories).map(([name, h]) => [name, h.map((x) => ({ score: x['objective/scores'], kl: x['objective/kl'], length: x['response/length'] }))]));
writeFileSync(join(guide, 'data', 'reward-hacking.json'), `${JSON.stringify({ iters, seed, seconds, rows, samples, curves }, null, 1)}\n`);

const f = (x: number | null, d = 2): string => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));
console.log('| policy | reward model | lexicon (−1 … 1) | win rate vs SFT | KL to SFT | distinct-2 | length |\n|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.policy} | ${f(r.reward)} | ${f(r.lexicon)} | ${r.winRate === null ? '—' : `${(100 * r.winRate).toFixed(0)}%`} | ${f(r.kl)} | ${f(r.distinct2)} | ${f(r.length, 1)} |`);
console.log(`\n| prompt | ${result.policies.map((p) => p.name).join(' | ')} |\n|---|${result.policies.map(() => '---').join('|')}|`);
for (const s of samples) console.log(`| ${s.prompt} | ${result.policies.map((p) => (s as Record<string, string>)[p.name]?.replace(/\|/g, '\\|') ?? '').join(' | ')} |`);
console.log(`\nseconds: ${JSON.stringify(seconds)}`);
