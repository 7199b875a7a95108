// `rlhf eval`: policies side by side under one reward — random / SFT / best-of-n / PPO — with KL to a
// reference, text metrics, robustness, the reward model's quality and a report; optionally the same pairs
// pushed into the feedback studio, and the people's verdicts read back as human win rates.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { trainerCommand } from './trainer-command.js';
import { UsageError } from './command.js';
import { Progress } from './progress.js';
import { makeDirs } from '../util/dirs.js';
import type { CausalLM } from '../models/types.js';
import type { ScalarHeadModel } from '../models/heads.js';
import { loadPretrained, loadScalarModel } from '../models/checkpoint.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { loadTokenizer } from '../tokenizers/load.js';
import { tokenizerFor } from '../generation/text.js';
import { DataError, REWARD_FORMATS, SFT_FORMATS, dollyPrompt, readDataset, readPrompts, readRecords } from '../data/index.js';
import { loadRewardFn } from '../trainers/common/reward-fn.js';
import { evaluatePolicies, type EvalInput, type EvalPolicy, type EvalResult, type PolicyEval } from '../eval/evaluate.js';
import { writeEvalReport } from '../eval/eval-report.js';
import { formatNumber } from '../eval/report.js';
import { resolveModel } from '../hub/resolve.js';
import { Store } from '../feedback/store.js';
import { parseTaskSpec, taskNameSchema } from '../feedback/schemas.js';
import type { ImportedItem } from '../feedback/schemas.js';
import type { PairwiseValue, Task } from '../feedback/types.js';

const PERTURB_KINDS = ['truncate', 'typos', 'shuffle'] as const;

export const evalConfig = z.object({
  policies: z.record(z.string(), z.string()).describe('NAME=DIR (a model), NAME=random or NAME=bestof:N:DIR, comma-separated; the first is the baseline'),
  prompts: z.string().optional().describe('prompts to answer (.txt one per line, or JSONL/CSV with prompt, instruction, messages, …)'),
  oodPrompts: z.string().optional().describe('a second, out-of-distribution prompt set: reward and length again'),
  rewardModel: z.string().optional().describe('reward model directory (scores prompt + response)'),
  rewardFn: z.string().optional().describe('or a reward module: default export (prompts, responses) => number[]'),
  refModel: z.string().optional().describe('reference model for KL (usually the SFT model); none: no KL'),
  references: z.string().optional().describe('reference answers for BLEU/ROUGE-L, aligned with --prompts; prompt/response or Dolly rows give the prompts too'),
  heldOut: z.string().optional().describe('held-out text for perplexity (text, prompt/completion or Dolly rows)'),
  rmData: z.string().optional().describe("labelled data to measure the reward on: labels, preference pairs or ratings"),
  out: z.string().describe('directory for report.html, charts/ and summary.json'),
  maxNewTokens: z.int().min(1).default(32).describe('most tokens per response (the random baseline draws exactly this many)'),
  temperature: z.number().min(0).default(0.7).describe('sampling temperature (0 = greedy); KL log-probs use the same'),
  seed: z.int().min(0).default(0).describe('seed of every sample: the same seed gives the same report'),
  maxPrompts: z.int().min(1).optional().describe('use only the first N prompts (and references)'),
  batchSize: z.int().min(1).default(16).describe('prompts per generation / scoring batch'),
  baseline: z.string().optional().describe('the policy win rates are against (default: the first of --policies)'),
  perturbations: z.array(z.enum(PERTURB_KINDS)).default([...PERTURB_KINDS]).describe("robustness curves: reward of the responses under these perturbations ('' for none)"),
  runs: z.record(z.string(), z.string()).optional().describe('training runs to plot, NAME=DIR (DIR/metrics.jsonl) or NAME=FILE.jsonl'),
  studio: z.string().optional().describe('a studio directory: push baseline-vs-policy pairs into it as a pairwise task'),
  studioTask: z.string().optional().describe('the studio task (created when missing; its labels give human win rates)'),
  title: z.string().optional().describe('title of the report'),
  quiet: z.boolean().default(false).describe('no progress bar'),
});
export type EvalConfig = z.infer<typeof evalConfig>;

const GROUPS = {
  'What to compare': ['policies', 'baseline', 'prompts', 'oodPrompts', 'maxPrompts'],
  Reward: ['rewardModel', 'rewardFn', 'rmData'],
  Metrics: ['refModel', 'references', 'heldOut', 'perturbations'],
  Sampling: ['maxNewTokens', 'temperature', 'seed', 'batchSize'],
  Report: ['out', 'title', 'runs', 'studio', 'studioTask', 'quiet'],
} as const;

// ----- policies, prompts and data ------------------------------------------------------------------------------

/** `--policies` values: DIR, random, bestof:N:DIR. */
export function parsePolicySpec(name: string, value: string): EvalPolicy {
  if (value === 'random') return { name, random: true };
  const m = /^bestof:(\d+):(.+)$/.exec(value);
  if (value.startsWith('bestof:') && !m) throw new UsageError(`--policies ${name}=${value}: best-of-n is written bestof:N:DIR (e.g. ${name}=bestof:8:out/sft)`);
  const dir = m ? (m[2] as string) : value;
  if (!existsSync(join(dir, 'config.json')) && !existsSync(join(dir, 'adapter_config.json'))) throw new UsageError(`--policies ${name}=${value}: ${dir} is not a model directory (no config.json) nor a LoRA adapter (no adapter_config.json)`);
  return m ? { name, dir, bestOfN: Number(m[1]) } : { name, dir };
}

/** A --policies value whose DIR is a Hub id (DIR, bestof:N:DIR) with the id replaced by its snapshot in the HF cache. */
async function resolvePolicyModel(value: string): Promise<string> {
  if (value === 'random') return value;
  const m = /^bestof:(\d+):(.+)$/.exec(value);
  return m ? `bestof:${m[1]}:${await resolveModel(m[2] as string)}` : resolveModel(value);
}

const REFERENCE_COLUMNS = ['reference', 'references', 'response', 'answer', 'output', 'completion', 'text'] as const;

/** Reads --references: the reference answers, and the prompts when the file has them (prompt column or Dolly). */
export function readReferences(file: string): { references: string[]; prompts: string[] | null } {
  const read = readRecords(file);
  const first = read.records[0]?.values ?? {};
  const column = REFERENCE_COLUMNS.find((c) => c in first && !(c === 'text' && 'prompt' in first));
  if (column === undefined) throw new DataError({ file }, `no reference column; columns found: ${read.columns.join(', ')}; references come from one of ${REFERENCE_COLUMNS.join(', ')}`);
  const str = (v: unknown, line: number, field: string): string => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0]; // several references: the first
    throw new DataError({ file, line, field }, `expected a string, got ${JSON.stringify(v)}`);
  };
  const references = read.records.map((r) => str(r.values[column], r.line, column));
  let prompts: string[] | null = null;
  if ('instruction' in first) prompts = read.records.map((r) => dollyPrompt(str(r.values.instruction, r.line, 'instruction'), typeof (r.values.context ?? r.values.input) === 'string' ? ((r.values.context ?? r.values.input) as string) : ''));
  else if ('prompt' in first) prompts = read.records.map((r) => str(r.values.prompt, r.line, 'prompt'));
  return { references, prompts };
}

/** Reads --held-out: plain text, or prompt + completion of prompt/completion and Dolly rows. */
export function readHeldOut(file: string): string[] {
  const ds = readDataset(file, { expectFormat: SFT_FORMATS });
  switch (ds.format) {
    case 'text': return ds.rows.map((r) => r.text);
    case 'dolly': return ds.rows.map((r) => r.prompt + r.completion);
    case 'prompt_completion': return ds.rows.map((r) => {
      if (r.chat) throw new DataError({ file, line: r.line }, 'conversational rows are not supported for --held-out; give plain text');
      return r.prompt + r.completion;
    });
    default: throw new DataError({ file }, `--held-out takes text, prompt/completion or Dolly rows, not ${ds.format}`);
  }
}

/** Reads --rm-data into EvalInput's rewardModelData (labels, pairs or ratings, as `rlhf reward` reads them). */
export function readRewardModelData(file: string): NonNullable<EvalInput['rewardModelData']> {
  const ds = readDataset(file, { expectFormat: REWARD_FORMATS });
  switch (ds.format) {
    case 'labels': return { labels: ds.rows.map((r) => ({ text: r.prompt + r.response, label: r.label })) };
    case 'preference': return {
      pairs: ds.rows.map((r) => {
        if (r.chat) throw new DataError({ file, line: r.line }, 'conversational pairs are not supported for --rm-data; give prompt/chosen/rejected strings');
        return { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected };
      }),
    };
    case 'ratings': return {
      ratings: ds.rows.map((r) => {
        const values = Object.values(r.scores);
        const score = 'score' in r.scores ? (r.scores.score as number) : values.reduce((a, b) => a + b, 0) / values.length; // several dimensions: their mean
        return { prompt: r.prompt, response: r.response, score };
      }),
    };
  }
}

// ----- the studio ----------------------------------------------------------------------------------------------

const STUDIO_INSTRUCTIONS = 'Which response answers the prompt better? Choose A or B; "tie" when they are equally good, "both bad" when neither is acceptable.';

/**
 * Pushes baseline-vs-policy pairs (one item per policy and prompt, responses [baseline, policy], each named by
 * its model; meta names policy and baseline) into a pairwise task, created when missing. Items already in the task
 * (same policy, baseline and prompt index) are left as they are, so a second run adds only new pairs and the
 * labels of the old ones keep counting.
 */
export function pushToStudio(store: Store, taskName: string, result: EvalResult, baseline: string): { task: Task; created: boolean; added: number } {
  let task = store.findTask(taskName);
  const created = task === null;
  task ??= store.createTask(parseTaskSpec({ name: taskName, kind: 'pairwise', title: `${taskName}: which response is better?`, instructions: STUDIO_INSTRUCTIONS }));
  if (task.kind !== 'pairwise') throw new UsageError(`studio task "${taskName}" is a ${task.kind} task; --studio-task needs a pairwise one (or a new name)`);
  const base = result.policies.find((p) => p.name === baseline);
  if (!base) throw new UsageError(`baseline "${baseline}" is not among the evaluated policies`);
  const have = new Set(store.items(task.id).map((it) => it.externalId));
  const items: ImportedItem[] = [];
  for (const p of result.policies) {
    if (p.name === baseline) continue;
    p.samples.forEach((s, i) => {
      const externalId = `${p.name} vs ${baseline} #${i}`;
      if (have.has(externalId)) return;
      items.push({
        externalId, prompt: s.prompt,
        responses: [{ text: (base.samples[i] as PolicyEval['samples'][number]).response, model: baseline }, { text: s.response, model: p.name }],
        meta: { policy: p.name, baseline, index: i, seed: result.settings.seed },
      });
    });
  }
  const added = items.length ? store.addItems(task.id, items) : 0;
  return { task, created, added };
}

/**
 * Human win rate of each policy against the baseline from a pairwise task's labels (on the items pushToStudio made
 * for this baseline): 1 when the person chose the policy's response, 0 for the baseline's, ½ for a tie or "both
 * bad". Policies without labels are absent.
 */
export function humanWinRates(store: Store, task: Task, baseline: string): Map<string, { rate: number; labels: number }> {
  const items = new Map(store.items(task.id).map((it) => [it.id, it]));
  const sums = new Map<string, { sum: number; n: number }>();
  for (const label of store.labels(task.id)) {
    const item = items.get(label.itemId);
    if (!item) continue;
    const policy = item.meta.policy;
    if (item.meta.baseline !== baseline || typeof policy !== 'string') continue; // pairs against another baseline, or imported by hand
    const choice = (label.value as PairwiseValue).choice;
    const winner = typeof choice === 'number' ? item.responses[choice]?.model : null;
    const score = winner === policy ? 1 : winner === baseline ? 0 : 0.5;
    const s = sums.get(policy) ?? { sum: 0, n: 0 };
    s.sum += score;
    s.n += 1;
    sums.set(policy, s);
  }
  return new Map([...sums].map(([k, s]) => [k, { rate: s.sum / s.n, labels: s.n }]));
}

// ----- the command ---------------------------------------------------------------------------------------------

/** The compact table printed to stdout. */
export function summaryTable(result: EvalResult): string {
  const human = result.policies.some((p) => p.humanWinRate !== undefined && p.humanWinRate !== null);
  const head = ['policy', 'reward', '±95%', 'win', ...(human ? ['human'] : []), 'KL', 'length', 'distinct-2'];
  const f = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : formatNumber(x));
  const rows = result.policies.map((p) => [
    p.name, f(p.reward.mean), f((p.reward.ci95[1] - p.reward.ci95[0]) / 2), p.winRate === null ? 'base' : f(p.winRate),
    ...(human ? [p.winRate === null ? 'base' : f(p.humanWinRate)] : []), f(p.kl?.mean), f(p.length.mean), f(p.distinct2),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
  const line = (r: string[]): string => r.map((x, c) => (c === 0 ? x.padEnd(widths[c] as number) : x.padStart(widths[c] as number))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

async function runEval(config: EvalConfig): Promise<number> {
  // 0. check the flags before loading anything
  const entries = Object.entries(config.policies);
  if (entries.length === 0) throw new UsageError('--policies needs at least one NAME=DIR (e.g. --policies sft=out/sft,ppo=out/ppo)');
  const policies: EvalPolicy[] = [];
  for (const [name, v] of entries) policies.push(parsePolicySpec(name, await resolvePolicyModel(String(v))));
  if ((config.rewardModel ? 1 : 0) + (config.rewardFn ? 1 : 0) !== 1) throw new UsageError('give one reward: --reward-model DIR (a trained reward model) or --reward-fn FILE.ts (a function of prompts and responses)');
  if ((config.studio === undefined) !== (config.studioTask === undefined)) throw new UsageError('--studio DIR and --studio-task NAME go together');
  if (config.studioTask !== undefined && !taskNameSchema.safeParse(config.studioTask).success) throw new UsageError(`--studio-task "${config.studioTask}": task names are 1–64 letters, digits, "_", "." or "-", starting with a letter or digit`);
  if (config.baseline !== undefined && !config.policies[config.baseline]) throw new UsageError(`--baseline ${config.baseline} is not one of --policies (${entries.map(([n]) => n).join(', ')})`);
  for (const [flag, dir] of [['--reward-model', config.rewardModel], ['--ref-model', config.refModel]] as const) {
    if (dir !== undefined && !existsSync(join(dir, 'config.json')) && !existsSync(join(dir, 'adapter_config.json'))) throw new UsageError(`${flag} ${dir} is not a model directory (no config.json) nor a LoRA adapter (no adapter_config.json)`);
  }
  makeDirs(config.out, '--out'); // now, not after minutes of sampling: a read-only or special --out fails first

  // 1. prompts (and references)
  const firstDir = policies.find((p) => p.dir)?.dir;
  const promptTokenizer: Tokenizer | undefined = firstDir ? loadTokenizer(firstDir) : undefined;
  const refs = config.references ? readReferences(config.references) : null;
  let prompts: string[];
  if (config.prompts) prompts = readPrompts(config.prompts, { tokenizer: promptTokenizer });
  else if (refs?.prompts) prompts = refs.prompts;
  else throw new UsageError('--prompts FILE is required (or --references FILE with prompt/response or Dolly rows, which gives the prompts)');
  let references = refs?.references;
  if (config.maxPrompts !== undefined) {
    prompts = prompts.slice(0, config.maxPrompts);
    references = references?.slice(0, config.maxPrompts);
  }
  if (references && references.length !== prompts.length) throw new UsageError(`--references has ${references.length} answers for ${prompts.length} prompts; give one per prompt (or use --max-prompts)`);
  const oodPrompts = config.oodPrompts ? readPrompts(config.oodPrompts, { tokenizer: promptTokenizer }) : undefined;
  const heldOutText = config.heldOut ? readHeldOut(config.heldOut) : undefined;
  const rewardModelData = config.rmData ? readRewardModelData(config.rmData) : undefined;

  // 2. reward and reference (the policies load one at a time inside evaluatePolicies)
  const owned: { dispose(): void }[] = [];
  try {
    let reward: EvalInput['reward'];
    if (config.rewardModel) {
      const r = await loadScalarModel(config.rewardModel);
      const model: ScalarHeadModel = r.model;
      owned.push(model);
      model.eval();
      model.requiresGrad_(false);
      reward = { model, tokenizer: tokenizerFor(config.rewardModel, model.config.vocab_size, r.tokenizer), name: config.rewardModel };
    } else reward = { fn: await loadRewardFn(config.rewardFn as string), name: config.rewardFn as string };
    let ref: { model: CausalLM } | null = null;
    if (config.refModel) {
      const r = await loadPretrained(config.refModel);
      owned.push(r.model);
      r.model.eval();
      r.model.requiresGrad_(false);
      ref = { model: r.model };
    }
    // the random baseline draws from the vocabulary of the first model directory (else the reward model's)
    const randomTok = promptTokenizer ?? (config.refModel ? loadTokenizer(config.refModel) : undefined);
    for (const p of policies) if (p.random && randomTok) p.tokenizer = randomTok;

    // 3. evaluate
    let bar: Progress | null = null;
    const result = await evaluatePolicies({
      policies, prompts, oodPrompts, reward, ref, references, heldOutText, rewardModelData,
      baseline: config.baseline, maxNewTokens: config.maxNewTokens, temperature: config.temperature, seed: config.seed, batchSize: config.batchSize,
      perturbations: config.perturbations.length ? { kinds: config.perturbations } : false,
      onProgress: config.quiet ? undefined : (done, total, label) => {
        bar ??= new Progress({ total, label: 'eval', stream: process.stderr });
        bar.update(done, { stage: label });
        if (done === total) bar.done();
      },
    });
    const baseline = config.baseline ?? (entries[0] as [string, string])[0];

    // 4. the studio: push the pairs, read the people's verdicts back
    let studioLine = '';
    if (config.studio && config.studioTask) {
      const store = Store.open(config.studio);
      try {
        const { task, created, added } = pushToStudio(store, config.studioTask, result, baseline);
        const rates = humanWinRates(store, task, baseline);
        for (const p of result.policies) if (p.name !== baseline) p.humanWinRate = rates.get(p.name)?.rate ?? null;
        const nLabels = [...rates.values()].reduce((s, r) => s + r.labels, 0);
        studioLine = `studio: task "${task.name}" in ${config.studio} — ${created ? 'created, ' : ''}${added} pairs added, ${nLabels} labels read back\n`;
      } finally {
        store.close();
      }
    }

    // 5. the report
    const runs = Object.entries(config.runs ?? {}).map(([name, p]) => {
      const path = String(p);
      return { name, metricsFile: existsSync(path) && statSync(path).isDirectory() ? join(path, 'metrics.jsonl') : path };
    });
    const { html } = await writeEvalReport(config.out, result, { title: config.title, runs });
    process.stdout.write(summaryTable(result));
    process.stdout.write(studioLine);
    process.stdout.write(`report: ${resolve(html)}\n`);
    return 0;
  } finally {
    for (const m of owned) m.dispose();
  }
}

export const evalCommand = trainerCommand({
  name: 'eval',
  summary: 'compare policies (random, SFT, best-of-n, PPO …) under a reward: win rates, KL, robustness, report',
  intro: `
Usage:
  rlhf eval --policies NAME=DIR,… (--reward-model DIR | --reward-fn FILE.ts) --prompts FILE --out DIR [options]

Samples one response per prompt from every policy (seeded: the same seed gives the same numbers), scores
them with the reward, and reports per policy: mean reward with a 95% CI, the win rate against the baseline
(prompt by prompt, ties ½), KL to --ref-model (k1: Σ_t log π − log π_ref on the sampled tokens, at the
sampling temperature), response length, distinct-1/2, BLEU and ROUGE-L (--references), perplexity
(--held-out), the same on --ood-prompts, and reward under perturbed responses. --rm-data measures the
reward itself (accuracy, calibration, correlation). OUT receives report.html, charts/ and summary.json.
Baselines: NAME=random draws --max-new-tokens uniformly random tokens; NAME=bestof:N:DIR keeps the
highest-reward of N samples (the first being DIR's own sample, so it never scores below DIR).`,
  outro: `
With --studio DIR --studio-task NAME the baseline-vs-policy pairs go into the feedback studio as a
pairwise task; once people have labelled them, running the same command again reads the labels back
and reports human win rates beside the reward's.

Examples
  rlhf eval --policies random=random,sft=out/sft,best-of-8=bestof:8:out/sft,ppo=out/ppo \\
            --reward-model out/rm --ref-model out/sft --prompts prompts.txt --out out/eval --runs ppo=out/ppo
  rlhf eval --policies sft=out/sft,ppo=out/ppo --reward-fn reward.ts --references dolly-test.jsonl --max-prompts 200 --out out/eval
  rlhf eval --policies sft=out/sft,ppo=out/ppo --reward-model out/rm --prompts p.txt --out out/eval --studio studio --studio-task sft-vs-ppo`,
  schema: evalConfig,
  groups: GROUPS,
  run: runEval,
});
