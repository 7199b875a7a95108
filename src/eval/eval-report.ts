// The evaluation report of `rlhf eval`: an EvalResult (and the runs that trained the policies) as one
// report.html through writeReport — the classic "reward across baselines" bars first, then every metric per
// policy, training curves, robustness, the reward model's quality and side-by-side samples. summary.json is
// the EvalResult itself.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { EvalResult, PolicyEval } from './evaluate.js';
import type { ReportSection, TableSection } from './report.js';
import { formatNumber, writeReport } from './report.js';
import { barWithErrors, calibrationChart, expectedCalibrationError, lineChart, sensitivityChart } from './charts.js';
import type { VegaLiteSpec } from './charts.js';
import { readMetrics } from '../trainers/common/metrics-log.js';

export interface EvalReportOptions {
  title?: string;
  /** Training runs to plot: each run's metrics.jsonl; `keys` default to PPO's or SFT/RM's (see defaultRunKeys). */
  runs?: { name: string; metricsFile: string; keys?: string[] }[];
  /** A paragraph (the report's Markdown subset) shown before the settings. */
  intro?: string;
}

/** PPO's curves: reward, KL to the reference, and the two losses. */
export const PPO_RUN_KEYS = ['objective/scores', 'objective/kl', 'loss/policy', 'loss/value'] as const;
/** SFT's, the reward model's and DPO's: training loss and what their held-out evaluation logs. */
export const SUPERVISED_RUN_KEYS = ['loss', 'eval/loss', 'eval/perplexity', 'eval/accuracy', 'rewards/accuracies', 'rewards/margins'] as const;

/** Samples shown side by side: the first prompts, every policy's response to each. */
const SAMPLE_PROMPTS = 12;

/** The keys to plot from a run's rows: PPO's when the file has objective/scores, else the supervised ones it has. */
export function defaultRunKeys(rows: readonly { metrics: Record<string, number> }[]): string[] {
  const has = (k: string): boolean => rows.some((r) => k in r.metrics);
  const wanted: readonly string[] = has('objective/scores') ? PPO_RUN_KEYS : SUPERVISED_RUN_KEYS;
  return wanted.filter(has);
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const cell = (x: number | null | undefined): number | string => (x === null || x === undefined ? '—' : x);
const slug = (s: string): string => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase() || 'x';

/** A bar chart whose colours follow `names` (every policy), so a policy has the same colour in every chart. */
function policyColors(spec: VegaLiteSpec, names: readonly string[]): VegaLiteSpec {
  const s = structuredClone(spec) as unknown as { layer?: { encoding?: { color?: Record<string, unknown> } }[] };
  for (const layer of s.layer ?? []) if (layer.encoding?.color) layer.encoding.color.scale = { domain: [...names] };
  return s as unknown as VegaLiteSpec;
}

/** Writes report.html, charts/ and summary.json (= `result`) into `dir`. */
export async function writeEvalReport(dir: string, result: EvalResult, opts: EvalReportOptions = {}): Promise<{ html: string }> {
  const { policies, settings } = result;
  const sections: ReportSection[] = [];
  const baseline = policies.find((p) => p.winRate === null)?.name ?? policies[0]?.name ?? '';
  const scorerNames = [...new Set(policies.flatMap((p) => Object.keys(p.scorers)))];
  const rewardLabel = basename(settings.reward);
  const names = policies.map((p) => p.name);
  const hasHuman = policies.some((p) => p.humanWinRate !== undefined && p.humanWinRate !== null);

  // 1. settings
  const lines = [
    `- **${settings.prompts}** prompts${settings.oodPrompts ? `, **${settings.oodPrompts}** out-of-distribution prompts` : ''}; up to **${settings.maxNewTokens}** new tokens at temperature **${settings.temperature}**, seed **${settings.seed}**`,
    `- reward: \`${settings.reward}\`; win rates are against **${baseline}**, prompt by prompt, by reward (a tie counts ½)`,
    policies.some((p) => p.kl)
      ? `- KL to the reference: mean over responses of the ${settings.klEstimator} estimator Σ_t log π(y_t) − log π_ref(y_t) on the sampled tokens, in nats`
      : '- no reference model was given: no KL',
  ];
  sections.push({ kind: 'text', title: 'Setup', markdownish: `${opts.intro ? `${opts.intro.trim()}\n\n` : ''}${lines.join('\n')}` });

  // 2. reward across policies (the classic chart), win rates
  sections.push({
    kind: 'chart', id: 'reward', title: 'Reward across policies',
    caption: 'Mean reward per policy; error bars are 95% confidence intervals of the mean (normal approximation).',
    spec: policyColors(barWithErrors(policies.map((p) => ({ name: p.name, mean: p.reward.mean, lo: finite(p.reward.ci95[0]) ? p.reward.ci95[0] : p.reward.mean, hi: finite(p.reward.ci95[1]) ? p.reward.ci95[1] : p.reward.mean })), {
      title: 'Mean reward', yTitle: 'mean reward', subtitle: `${settings.prompts} prompts · reward: ${rewardLabel} · 95% CI`,
    }), names),
  });
  const contenders = policies.filter((p) => p.winRate !== null);
  if (contenders.length) {
    sections.push({
      kind: 'chart', id: 'win-rate', title: `Win rate against ${baseline}`,
      caption: 'Share of prompts where the policy\'s response gets the higher reward (ties ½); error bars: 95% CI, √(p(1−p)/n).',
      spec: policyColors(barWithErrors(contenders.map((p) => {
        const w = p.winRate as number;
        const half = 1.96 * Math.sqrt((w * (1 - w)) / Math.max(1, p.reward.n));
        return { name: p.name, mean: w, lo: Math.max(0, w - half), hi: Math.min(1, w + half) };
      }), { title: `Win rate vs ${baseline}`, yTitle: 'win rate (by reward)' }), names),
    });
  }

  // 3. every metric per policy
  sections.push(metricsTable(policies, scorerNames, hasHuman));

  // 4. out of distribution
  const ood = policies.filter((p) => p.ood);
  if (ood.length) {
    sections.push({
      kind: 'chart', id: 'reward-ood', title: 'Reward on out-of-distribution prompts',
      caption: 'The same policies on the second prompt set; error bars: 95% CI of the mean.',
      spec: policyColors(barWithErrors(ood.map((p) => {
        const r = (p.ood as NonNullable<PolicyEval['ood']>).reward;
        const half = finite(r.std) ? (1.96 * r.std) / Math.sqrt(r.n) : 0;
        return { name: p.name, mean: r.mean, lo: r.mean - half, hi: r.mean + half };
      }), { title: 'Mean reward, out of distribution', yTitle: 'mean reward', subtitle: `${settings.oodPrompts} prompts · reward: ${rewardLabel} · 95% CI` }), names),
    });
    sections.push({
      kind: 'table', title: 'Out-of-distribution metrics',
      columns: ['policy', 'reward', 'std', 'in-distribution reward', 'length', ...scorerNames],
      rows: ood.map((p) => {
        const o = p.ood as NonNullable<PolicyEval['ood']>;
        return [p.name, o.reward.mean, o.reward.std, p.reward.mean, o.length.mean, ...scorerNames.map((s) => cell(o.scorers[s]?.mean))];
      }),
    });
  }

  // 5. training curves from each run's metrics.jsonl
  sections.push(...trainingSections(opts.runs ?? []));

  // 6. robustness
  const kinds = [...new Set(policies.flatMap((p) => (p.sensitivity ?? []).map((s) => s.kind)))];
  for (const kind of kinds) {
    sections.push({
      kind: 'chart', id: `robustness-${slug(kind)}`, title: `Robustness: ${kind}`,
      caption: `Mean reward of each policy's responses damaged by '${kind}' at increasing strength (0 = as generated).`,
      spec: sensitivityChart(policies.flatMap((p) => (p.sensitivity ?? []).filter((s) => s.kind === kind).map((s) => ({ name: p.name, points: s.points }))), {
        title: `Reward under '${kind}'`,
      }),
    });
  }

  // 7. the reward model on labelled data
  const rm = result.rewardModel;
  if (rm?.labels?.calibration.length) {
    sections.push({
      kind: 'chart', id: 'calibration', title: 'Reward-model calibration',
      caption: 'σ(reward) as P(positive) against the observed share of positive labels, per probability bin (size = examples).',
      spec: calibrationChart(rm.labels.calibration),
    });
  }
  if (rm && (rm.labels || rm.pairs || rm.ratings)) {
    const rows: (string | number)[][] = [];
    if (rm.labels) {
      rows.push(['labels', 'accuracy', rm.labels.accuracy], ['labels', 'precision', rm.labels.precision], ['labels', 'recall', rm.labels.recall], ['labels', 'F1', rm.labels.f1]);
      rows.push(['labels', 'expected calibration error', expectedCalibrationError(rm.labels.calibration)]);
    }
    if (rm.pairs) rows.push(['pairs', 'accuracy (chosen > rejected)', rm.pairs.accuracy], ['pairs', 'mean margin', rm.pairs.margin]);
    if (rm.ratings) rows.push(['ratings', 'Pearson r', rm.ratings.pearson], ['ratings', 'Spearman ρ', rm.ratings.spearman]);
    sections.push({ kind: 'table', title: 'Reward-model quality', columns: ['data', 'metric', 'value'], rows });
  }

  // 8. side-by-side samples
  const n = Math.min(SAMPLE_PROMPTS, ...policies.map((p) => p.samples.length));
  if (n > 0 && policies.length) {
    sections.push({
      kind: 'samples', title: 'Samples',
      prompts: (policies[0] as PolicyEval).samples.slice(0, n).map((s) => s.prompt),
      policies: policies.map((p) => ({ name: p.name, responses: p.samples.slice(0, n).map((s) => s.response), rewards: p.samples.slice(0, n).map((s) => s.reward) })),
    });
  }

  const written = await writeReport(dir, {
    title: opts.title ?? 'Policy evaluation',
    subtitle: `${policies.map((p) => p.name).join(' · ')} — ${settings.prompts} prompts, reward: ${settings.reward}`,
    sections,
    summary: result,
  });
  return { html: written.html };
}

function metricsTable(policies: readonly PolicyEval[], scorerNames: readonly string[], hasHuman: boolean): TableSection {
  const has = (f: (p: PolicyEval) => unknown): boolean => policies.some((p) => f(p) !== undefined);
  const optional: [string, (p: PolicyEval) => number | undefined][] = [];
  if (has((p) => p.bleu)) optional.push(['BLEU', (p) => p.bleu]);
  if (has((p) => p.rougeL)) optional.push(['ROUGE-L', (p) => p.rougeL]);
  if (has((p) => p.perplexity)) optional.push(['perplexity', (p) => p.perplexity]);
  const columns = [
    'policy', 'reward', '95% CI', 'std', 'win rate', ...(hasHuman ? ['human win rate'] : []), 'KL (k1)', 'length', 'distinct-1', 'distinct-2',
    ...optional.map(([name]) => name), ...scorerNames,
  ];
  const rows = policies.map((p) => [
    p.name,
    p.reward.mean,
    `${formatNumber(p.reward.ci95[0])} … ${formatNumber(p.reward.ci95[1])}`,
    p.reward.std,
    p.winRate === null ? 'baseline' : p.winRate,
    ...(hasHuman ? [p.winRate === null ? 'baseline' : cell(p.humanWinRate)] : []),
    cell(p.kl?.mean),
    p.length.mean,
    p.distinct1,
    p.distinct2,
    ...optional.map(([, f]) => cell(f(p))),
    ...scorerNames.map((s) => cell(p.scorers[s]?.mean)),
  ]);
  return {
    kind: 'table', title: 'Metrics per policy', columns, rows,
    caption: 'Reward: mean over prompts. Length: response tokens (EOS included). distinct-n: unique n-grams / all n-grams over all responses. KL: nats per response. Scorer columns: their means.',
  };
}

/** One line chart per metric key, a line per run that logged it; a note for runs whose file is missing. */
function trainingSections(runs: NonNullable<EvalReportOptions['runs']>): ReportSection[] {
  if (!runs.length) return [];
  const missing: string[] = [];
  const series = new Map<string, { name: string; points: { x: number; y: number }[] }[]>();
  for (const run of runs) {
    if (!existsSync(run.metricsFile)) {
      missing.push(`- **${run.name}**: \`${run.metricsFile}\` does not exist`);
      continue;
    }
    const rows = readMetrics(run.metricsFile);
    for (const key of run.keys ?? defaultRunKeys(rows)) {
      const points = rows.filter((r) => finite(r.metrics[key])).map((r) => ({ x: r.step, y: r.metrics[key] as number }));
      if (!points.length) continue;
      const list = series.get(key) ?? [];
      list.push({ name: run.name, points });
      series.set(key, list);
    }
  }
  const out: ReportSection[] = [];
  const ids = new Set<string>();
  for (const [key, s] of series) {
    let id = `train-${slug(key)}`;
    for (let i = 2; ids.has(id); i++) id = `train-${slug(key)}-${i}`;
    ids.add(id);
    out.push({
      kind: 'chart', id, title: `Training: ${key}`,
      caption: `${key} over optimizer steps, from ${s.map((x) => x.name).join(', ')} (metrics.jsonl).`,
      spec: lineChart(s, { title: key, xTitle: 'step', yTitle: key }),
    });
  }
  if (missing.length) out.push({ kind: 'text', title: 'Training runs not found', markdownish: missing.join('\n') });
  return out;
}
