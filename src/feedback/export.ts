// Turns a task's labels into the datasets the trainers read (docs/studio.md has the exact shapes):
//   trl      {"prompt", "chosen", "rejected"}                          TRL's preference format
//   pairs    {"input_text", "candidate_0", "candidate_1", "choice"}    choice 0 or 1 (0.5 for a tie with --ties include)
//   ratings  {"prompt", "response", "model", <dimension>: score, …, "n_ratings"}
//   sft      {"prompt", "completion"}                                  TRL's prompt–completion format
//   raw      every label with who, when, what was shown, and the canonical value
// Ties and "both bad" carry no preference, so the preference formats leave them out (pairs can keep
// ties as 0.5); the summary says how many rows each rule dropped.
import { writeFileSync, renameSync } from 'node:fs';
import { InvalidInputError } from './errors.js';
import type { Store } from './store.js';
import type { EditValue, Item, Label, PairwiseValue, RankingValue, RatingValue, Task, TaskKind } from './types.js';

export const EXPORT_FORMATS = ['trl', 'pairs', 'ratings', 'sft', 'raw'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  format: ExportFormat;
  /** majority: one row per item (per pair of responses) where more than half the labels agree; none: one row per label. */
  aggregate?: 'majority' | 'none';
  /** pairs only: keep ties as choice 0.5 (default: drop them). */
  ties?: 'drop' | 'include';
}

export interface ExportSummary {
  format: ExportFormat;
  task: string;
  labels: number;
  rows: number;
  /** Why judgments did not become rows: tie, both_bad, no_majority, unlabelled. */
  dropped: Record<string, number>;
}

const FORMAT_KINDS: Record<ExportFormat, TaskKind[]> = {
  trl: ['pairwise', 'ranking'],
  pairs: ['pairwise', 'ranking'],
  ratings: ['rating'],
  sft: ['edit'],
  raw: ['pairwise', 'rating', 'ranking', 'edit'],
};

const SUGGEST: Record<TaskKind, string> = { pairwise: 'trl or pairs', ranking: 'trl or pairs', rating: 'ratings', edit: 'sft' };

/** A judgment about one pair of responses (canonical indices i < j). */
type PairVote = 'i' | 'j' | 'tie' | 'both_bad';

/** Per-label pair judgments: a pairwise label gives one, a ranking of k gives k(k−1)/2. */
function pairVotes(kind: TaskKind, l: Label): { i: number; j: number; vote: PairVote }[] {
  if (kind === 'pairwise') {
    const c = (l.value as PairwiseValue).choice;
    return [{ i: 0, j: 1, vote: c === 0 ? 'i' : c === 1 ? 'j' : c }];
  }
  const r = (l.value as RankingValue).ranking;
  const out: { i: number; j: number; vote: PairVote }[] = [];
  for (let p = 0; p < r.length; p++) {
    for (let q = p + 1; q < r.length; q++) {
      const [better, worse] = [r[p]!, r[q]!];
      out.push(better < worse ? { i: better, j: worse, vote: 'i' } : { i: worse, j: better, vote: 'j' });
    }
  }
  return out;
}

/** The majority vote: more than half of all judgments of that pair must agree. */
function majority(votes: PairVote[]): PairVote | 'no_majority' {
  const counts = new Map<PairVote, number>();
  for (const v of votes) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const [v, n] of counts) if (n * 2 > votes.length) return v;
  return 'no_majority';
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Builds the export rows for a task. Throws InvalidInputError when the format does not fit the task kind. */
export function exportRows(store: Store, task: Task, opts: ExportOptions): { rows: Record<string, unknown>[]; summary: ExportSummary } {
  const { format } = opts;
  const aggregate = opts.aggregate ?? 'majority';
  if (!FORMAT_KINDS[format].includes(task.kind)) {
    throw new InvalidInputError(`--format ${format} does not fit task "${task.name}", which is a ${task.kind} task; use --format ${SUGGEST[task.kind]} (or raw).`);
  }
  const items = store.items(task.id);
  const labels = store.labels(task.id);
  const byItem = new Map<number, Label[]>();
  for (const l of labels) {
    let list = byItem.get(l.itemId);
    if (!list) byItem.set(l.itemId, (list = []));
    list.push(l);
  }
  const users = new Map(store.listUsers().map((u) => [u.id, u.name]));
  const rows: Record<string, unknown>[] = [];
  const dropped: Record<string, number> = {};
  const drop = (why: string, n = 1): void => {
    dropped[why] = (dropped[why] ?? 0) + n;
  };

  for (const item of items) {
    const ls = byItem.get(item.id) ?? [];
    if (ls.length === 0) {
      if (format !== 'raw') drop('unlabelled');
      continue;
    }
    switch (format) {
      case 'trl':
      case 'pairs':
        preferenceRows(task, item, ls, format, aggregate, opts.ties ?? 'drop', rows, drop);
        break;
      case 'ratings':
        ratingRows(task, item, ls, aggregate, users, rows);
        break;
      case 'sft':
        for (const l of ls) rows.push({ prompt: item.prompt, completion: (l.value as EditValue).text });
        break;
      case 'raw':
        for (const l of ls) {
          rows.push({
            task: task.name,
            kind: task.kind,
            item_id: item.id,
            id: item.externalId,
            prompt: item.prompt,
            responses: item.responses.map((r) => ({ text: r.text, model: r.model })),
            annotator: users.get(l.userId) ?? `#${l.userId}`,
            value: l.value,
            shown: l.shown,
            created_at: new Date(l.createdAt).toISOString(),
            duration_ms: l.durationMs,
            meta: item.meta,
          });
        }
        break;
    }
  }
  return { rows, summary: { format, task: task.name, labels: labels.length, rows: rows.length, dropped } };
}

function preferenceRows(
  task: Task,
  item: Item,
  ls: Label[],
  format: 'trl' | 'pairs',
  aggregate: 'majority' | 'none',
  ties: 'drop' | 'include',
  rows: Record<string, unknown>[],
  drop: (why: string) => void,
): void {
  // Collect the judgments of each response pair (i < j), then decide per pair or per label.
  const byPair = new Map<string, { i: number; j: number; votes: PairVote[] }>();
  for (const l of ls) {
    for (const v of pairVotes(task.kind, l)) {
      const key = `${v.i},${v.j}`;
      let e = byPair.get(key);
      if (!e) byPair.set(key, (e = { i: v.i, j: v.j, votes: [] }));
      e.votes.push(v.vote);
    }
  }
  const pairs = [...byPair.values()].sort((a, b) => a.i - b.i || a.j - b.j);
  for (const { i, j, votes } of pairs) {
    const decisions = aggregate === 'majority' ? [majority(votes)] : votes;
    for (const d of decisions) {
      const [ri, rj] = [item.responses[i]!.text, item.responses[j]!.text];
      if (d === 'no_majority' || d === 'both_bad') {
        drop(d);
      } else if (d === 'tie') {
        if (format === 'pairs' && ties === 'include') rows.push({ input_text: item.prompt, candidate_0: ri, candidate_1: rj, choice: 0.5 });
        else drop('tie');
      } else if (format === 'trl') {
        rows.push({ prompt: item.prompt, chosen: d === 'i' ? ri : rj, rejected: d === 'i' ? rj : ri });
      } else {
        rows.push({ input_text: item.prompt, candidate_0: ri, candidate_1: rj, choice: d === 'i' ? 0 : 1 });
      }
    }
  }
}

function ratingRows(task: Task, item: Item, ls: Label[], aggregate: 'majority' | 'none', users: Map<number, string>, rows: Record<string, unknown>[]): void {
  const base = { prompt: item.prompt, response: item.responses[0]!.text, model: item.responses[0]!.model };
  if (aggregate === 'none') {
    for (const l of ls) {
      const v = l.value as RatingValue;
      const row: Record<string, unknown> = { ...base, ...v.scores, annotator: users.get(l.userId) ?? `#${l.userId}` };
      if (v.comment) row.comment = v.comment;
      rows.push(row);
    }
    return;
  }
  const row: Record<string, unknown> = { ...base };
  for (const d of task.config.dimensions) row[d] = round(ls.reduce((a, l) => a + (l.value as RatingValue).scores[d]!, 0) / ls.length);
  row.n_ratings = ls.length;
  rows.push(row);
}

export function toJsonl(rows: Record<string, unknown>[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** Writes rows as JSONL to `path` atomically (a temporary file renamed into place). */
export function writeJsonl(path: string, rows: Record<string, unknown>[]): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, toJsonl(rows));
  renameSync(tmp, path);
}
