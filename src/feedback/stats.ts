// What the dashboard shows for a task: progress per annotator, agreement, mean rating per dimension
// per model, and win rates between models. Pure functions of the task's items and labels.
import { agreementWord, cohensKappa, fleissKappa, krippendorffAlpha } from './agreement.js';
import type { Store, TaskProgress } from './store.js';
import type { EditValue, Item, Label, PairwiseValue, RankingValue, RatingValue, Task } from './types.js';

export interface Agreement {
  /** Name of the coefficient, e.g. "Fleiss' kappa". */
  measure: string;
  /** The rating dimension it is about (rating tasks), else absent. */
  dimension?: string;
  value: number | null;
  /** Landis & Koch reading for kappas, a reliability reading for alpha. */
  reading: string;
  /** Items that had at least two labels and so entered the coefficient. */
  items: number;
}

export interface PairAgreement {
  a: string;
  b: string;
  /** Items both labelled. */
  shared: number;
  kappa: number | null;
}

export interface WinRate {
  model: string;
  opponent: string;
  wins: number;
  losses: number;
  ties: number;
  bothBad: number;
  /** (wins + ties/2) / (wins + losses + ties); null when they never met in a decided comparison. */
  winRate: number | null;
}

export interface DimensionMeans {
  dimension: string;
  /** One entry per model (unknown model: "(unnamed)"). */
  byModel: { model: string; mean: number; sd: number; n: number }[];
  /** Krippendorff's alpha (interval) across annotators for this dimension. */
  alpha: number | null;
}

export interface TaskStats {
  task: { name: string; kind: Task['kind']; title: string; status: Task['status']; perItem: number; error: string | null };
  progress: TaskProgress;
  agreement: Agreement[];
  pairAgreement: PairAgreement[];
  /** Pairwise: how often each outcome was picked; ranking: how often each response index ranked first. */
  outcomes: Record<string, number>;
  /** Pairwise: the share of decided comparisons won by the response shown on the left ("A"); 0.5 means no position bias. */
  leftWinShare: number | null;
  winRates: WinRate[];
  ratings: DimensionMeans[];
  /** Ranking: mean position (1 = best) per model. */
  meanRank: { model: string; meanRank: number; n: number }[];
  /** Edit: how many demonstrations changed the draft, and their mean length. */
  edits: { total: number; edited: number; meanChars: number } | null;
}

const UNNAMED = '(unnamed)';

function alphaReading(a: number | null): string {
  if (a === null) return 'not enough overlap';
  if (a >= 0.8) return 'reliable';
  if (a >= 0.667) return 'tentative';
  return 'unreliable';
}

function groupByItem(labels: Label[]): Map<number, Label[]> {
  const m = new Map<number, Label[]>();
  for (const l of labels) {
    let list = m.get(l.itemId);
    if (!list) m.set(l.itemId, (list = []));
    list.push(l);
  }
  return m;
}

/** Cohen's kappa for every pair of annotators who labelled at least two items in common. */
function pairwiseCohen<T>(labels: Label[], category: (l: Label) => T, names: Map<number, string>): PairAgreement[] {
  const byUser = new Map<number, Map<number, T>>();
  for (const l of labels) {
    let m = byUser.get(l.userId);
    if (!m) byUser.set(l.userId, (m = new Map()));
    m.set(l.itemId, category(l));
  }
  const users = [...byUser.keys()].sort((a, b) => a - b);
  const out: PairAgreement[] = [];
  for (let i = 0; i < users.length; i++) {
    for (let j = i + 1; j < users.length; j++) {
      const a = byUser.get(users[i]!)!;
      const b = byUser.get(users[j]!)!;
      const pairs: [T, T][] = [];
      for (const [item, ca] of a) if (b.has(item)) pairs.push([ca, b.get(item)!]);
      if (pairs.length >= 2) out.push({ a: names.get(users[i]!) ?? `#${users[i]}`, b: names.get(users[j]!) ?? `#${users[j]}`, shared: pairs.length, kappa: cohensKappa(pairs) });
    }
  }
  return out.sort((x, y) => y.shared - x.shared);
}

type Tally = { wins: number; losses: number; ties: number; bothBad: number };

function winRates(results: { a: string; b: string; outcome: 'a' | 'b' | 'tie' | 'both_bad' }[]): WinRate[] {
  const t = new Map<string, Tally>();
  const get = (m: string, o: string): Tally => {
    const key = JSON.stringify([m, o]);
    let e = t.get(key);
    if (!e) t.set(key, (e = { wins: 0, losses: 0, ties: 0, bothBad: 0 }));
    return e;
  };
  for (const r of results) {
    const ab = get(r.a, r.b);
    const ba = get(r.b, r.a);
    if (r.outcome === 'a') (ab.wins++, ba.losses++);
    else if (r.outcome === 'b') (ab.losses++, ba.wins++);
    else if (r.outcome === 'tie') (ab.ties++, ba.ties++);
    else (ab.bothBad++, ba.bothBad++);
  }
  return [...t.entries()]
    .map(([key, e]) => {
      const [model, opponent] = JSON.parse(key) as [string, string];
      const decided = e.wins + e.losses + e.ties;
      return { model, opponent, ...e, winRate: decided ? (e.wins + e.ties / 2) / decided : null };
    })
    .sort((x, y) => x.model.localeCompare(y.model) || x.opponent.localeCompare(y.opponent));
}

function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd };
}

export function taskStats(store: Store, task: Task): TaskStats {
  const items = new Map<number, Item>(store.items(task.id).map((i) => [i.id, i]));
  const labels = store.labels(task.id);
  const names = new Map(store.listUsers().map((u) => [u.id, u.name]));
  const byItem = groupByItem(labels);
  const model = (item: Item, idx: number): string => item.responses[idx]?.model ?? UNNAMED;
  const stats: TaskStats = {
    task: { name: task.name, kind: task.kind, title: task.title, status: task.status, perItem: task.config.perItem, error: task.error },
    progress: store.progress(task),
    agreement: [],
    pairAgreement: [],
    outcomes: {},
    leftWinShare: null,
    winRates: [],
    ratings: [],
    meanRank: [],
    edits: null,
  };
  const multi = [...byItem.values()].filter((ls) => ls.length >= 2);

  if (task.kind === 'pairwise') {
    const cats = ['0', '1', 'tie', 'both_bad'];
    const cat = (l: Label): string => String((l.value as PairwiseValue).choice);
    for (const c of cats) stats.outcomes[c] = 0;
    let left = 0;
    let decided = 0;
    const results: { a: string; b: string; outcome: 'a' | 'b' | 'tie' | 'both_bad' }[] = [];
    for (const l of labels) {
      const v = l.value as PairwiseValue;
      stats.outcomes[cat(l)]!++;
      if (typeof v.choice === 'number') {
        decided++;
        if (l.shown[0] === v.choice) left++;
      }
      const item = items.get(l.itemId)!;
      const [a, b] = [model(item, 0), model(item, 1)];
      if (a !== b) results.push({ a, b, outcome: v.choice === 0 ? 'a' : v.choice === 1 ? 'b' : v.choice });
    }
    stats.leftWinShare = decided ? left / decided : null;
    stats.winRates = winRates(results);
    const fleiss = fleissKappa(multi.map((ls) => cats.map((c) => ls.filter((l) => cat(l) === c).length)));
    stats.agreement.push({ measure: "Fleiss' kappa", value: fleiss, reading: agreementWord(fleiss), items: multi.length });
    const alpha = krippendorffAlpha(multi.map((ls) => ls.map(cat)), 'nominal');
    stats.agreement.push({ measure: "Krippendorff's alpha (nominal)", value: alpha, reading: alphaReading(alpha), items: multi.length });
    stats.pairAgreement = pairwiseCohen(labels, cat, names);
    const kappas = stats.pairAgreement.map((p) => p.kappa).filter((k): k is number => k !== null);
    if (kappas.length) {
      const mean = kappas.reduce((a, b) => a + b, 0) / kappas.length;
      stats.agreement.push({ measure: "Cohen's kappa (mean over annotator pairs)", value: mean, reading: agreementWord(mean), items: multi.length });
    }
  }

  if (task.kind === 'rating') {
    for (const d of task.config.dimensions) {
      const per = new Map<string, number[]>();
      for (const l of labels) {
        const m = model(items.get(l.itemId)!, 0);
        let xs = per.get(m);
        if (!xs) per.set(m, (xs = []));
        xs.push((l.value as RatingValue).scores[d]!);
      }
      const alpha = krippendorffAlpha(multi.map((ls) => ls.map((l) => (l.value as RatingValue).scores[d]!)), 'interval');
      stats.ratings.push({
        dimension: d,
        byModel: [...per.entries()].map(([m, xs]) => ({ model: m, ...meanSd(xs), n: xs.length })).sort((a, b) => a.model.localeCompare(b.model)),
        alpha,
      });
      stats.agreement.push({ measure: "Krippendorff's alpha (interval)", dimension: d, value: alpha, reading: alphaReading(alpha), items: multi.length });
    }
  }

  if (task.kind === 'ranking') {
    const results: { a: string; b: string; outcome: 'a' | 'b' }[] = [];
    const ranks = new Map<string, number[]>();
    const units = new Map<string, number[]>();
    for (const l of labels) {
      const item = items.get(l.itemId)!;
      const r = (l.value as RankingValue).ranking;
      const first = String(r[0]);
      stats.outcomes[first] = (stats.outcomes[first] ?? 0) + 1;
      r.forEach((idx, pos) => {
        const m = model(item, idx);
        let xs = ranks.get(m);
        if (!xs) ranks.set(m, (xs = []));
        xs.push(pos + 1);
        const key = `${l.itemId}:${idx}`;
        let u = units.get(key);
        if (!u) units.set(key, (u = []));
        u.push(pos + 1);
        for (let q = pos + 1; q < r.length; q++) {
          const other = model(item, r[q]!);
          if (other !== m) results.push({ a: m, b: other, outcome: 'a' });
        }
      });
    }
    stats.winRates = winRates(results);
    stats.meanRank = [...ranks.entries()].map(([m, xs]) => ({ model: m, meanRank: meanSd(xs).mean, n: xs.length })).sort((a, b) => a.meanRank - b.meanRank);
    const alpha = krippendorffAlpha([...units.values()], 'ordinal');
    stats.agreement.push({ measure: "Krippendorff's alpha (ordinal, rank positions)", value: alpha, reading: alphaReading(alpha), items: multi.length });
  }

  if (task.kind === 'edit') {
    const vs = labels.map((l) => l.value as EditValue);
    stats.edits = { total: vs.length, edited: vs.filter((v) => v.edited).length, meanChars: vs.length ? vs.reduce((a, v) => a + v.text.length, 0) / vs.length : 0 };
  }
  return stats;
}
