// Simulated annotators for the demo: people who compare two responses to a prompt and pick the
// more positive one — noisy, each with a bias of their own, sometimes disagreeing, sometimes
// calling it a tie. They label through the studio's own store (the same import, assignment,
// validation and export path as real people in `rlhf studio`), so what the reward model learns
// from is exactly what a team would export.
//
// Annotator j judges response r by a perceived score
//   s_j(r) = lexiconScore(r) + lengthBias_j · (words(r) − 8) / 8 + ε,   ε ~ N(0, noise_j²)
// and picks the first response when s_j(first) − s_j(second) > tieBand_j, the second when it is below
// −tieBand_j, else a tie — which an annotator with a habit of not calling ties turns into "the
// first one" with probability firstBias_j. Each judgement draws from its own seeded stream (annotator,
// item), so the labels are the same on every run whatever order the studio hands items out in or
// which side it shows each response on.
import type { Rng } from '../data/rng.js';
import { mixSeed, mulberry32 } from '../data/rng.js';
import { openDatabase } from '../feedback/db.js';
import { Store } from '../feedback/store.js';
import { parseItemsJsonl } from '../feedback/import-jsonl.js';
import { exportRows } from '../feedback/export.js';
import { taskStats, type TaskStats } from '../feedback/stats.js';
import type { Task } from '../feedback/types.js';
import { lexiconScore } from './reviews.js';

export interface Annotator {
  name: string;
  /** Standard deviation of the judgement noise (lexicon scores span about [−1, 1]). */
  noise: number;
  /** Preference for longer (> 0) or shorter (< 0) responses, in score units per 8 extra words. */
  lengthBias: number;
  /** Differences smaller than this are ties. */
  tieBand: number;
  /** Probability of picking the first response of the pair instead of calling a tie. */
  firstBias: number;
}

/** Five people who mostly agree on sentiment and differ in everything else. */
export const DEMO_ANNOTATORS: readonly Annotator[] = [
  { name: 'ada', noise: 0.15, lengthBias: 0, tieBand: 0.05, firstBias: 0 },
  { name: 'ben', noise: 0.3, lengthBias: 0.15, tieBand: 0.1, firstBias: 0 },
  { name: 'chloe', noise: 0.25, lengthBias: -0.1, tieBand: 0.05, firstBias: 0.3 },
  { name: 'dev', noise: 0.4, lengthBias: 0, tieBand: 0.15, firstBias: 0 },
  { name: 'eun', noise: 0.2, lengthBias: 0.05, tieBand: 0.05, firstBias: 0.6 },
];

function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** What annotator `a` picks between the first and the second response of a pair: 0, 1 or a tie. */
export function judge(a: Annotator, first: string, second: string, rng: Rng): 0 | 1 | 'tie' {
  const perceived = (r: string): number => lexiconScore(r) + (a.lengthBias * (r.trim().split(/\s+/).length - 8)) / 8 + a.noise * gaussian(rng);
  const d = perceived(first) - perceived(second);
  if (d > a.tieBand) return 0;
  if (d < -a.tieBand) return 1;
  return rng() < a.firstBias ? 0 : 'tie';
}

/** A pairwise task in a studio project (replaced when it exists), made through the studio's JSONL import. */
export function createPairwiseTask(store: Store, name: string, pairs: readonly { prompt: string; a: string; b: string; modelA?: string; modelB?: string }[], opts: { perItem: number; title: string; instructions: string }): Task {
  const old = store.findTask(name);
  if (old) store.deleteTask(old.id);
  const task = store.createTask({ name, kind: 'pairwise', title: opts.title, instructions: opts.instructions, perItem: opts.perItem, dimensions: [], leaseMinutes: 30 });
  // The same JSONL a person imports with `rlhf studio import`: {"prompt", "response_a", "response_b"}.
  const jsonl = pairs.map((p, i) => JSON.stringify({ id: i, prompt: p.prompt, response_a: p.a, response_b: p.b, model_a: p.modelA ?? 'sft', model_b: p.modelB ?? 'sft' })).join('\n');
  store.addItems(task.id, parseItemsJsonl(jsonl, 'pairwise', name));
  return store.getTask(name);
}

/** Puts before/after pairs into the demo's studio project for a person to judge with `rlhf studio`. */
export function addBeforeAfterTask(studioDir: string, pairs: readonly { prompt: string; a: string; b: string; modelA: string; modelB: string }[]): void {
  const store = new Store(openDatabase(studioDir));
  try {
    createPairwiseTask(store, 'before-after', pairs, { perItem: 1, title: 'Which continuation is more positive?', instructions: 'Two models continue the same prompt. Pick the more positive review, or tie.' });
  } finally {
    store.close();
  }
}

export interface AnnotationResult {
  /** TRL preference rows (prompt, chosen, rejected) as `rlhf studio export --format trl` writes them (majority of the labels per item). */
  rows: Record<string, unknown>[];
  labels: number;
  /** Fleiss' kappa and the studio's other statistics. */
  stats: TaskStats;
  /** Among exported pairs whose responses differ in lexicon score, the share whose chosen one scores higher. */
  agreementWithLexicon: number;
}

/**
 * Puts the pairs into a studio project at `studioDir` as a pairwise task, has the annotators
 * label every item `perItem` times, and exports the majority preferences.
 */
export function annotatePairs(studioDir: string, taskName: string, pairs: readonly { prompt: string; a: string; b: string }[], opts: { perItem?: number; seed?: number; annotators?: readonly Annotator[] } = {}): AnnotationResult {
  const annotators = opts.annotators ?? DEMO_ANNOTATORS;
  const perItem = opts.perItem ?? 3;
  const store = new Store(openDatabase(studioDir));
  try {
    const task = createPairwiseTask(store, taskName, pairs, { perItem, title: 'Which response is more positive?', instructions: 'Pick the more positive review continuation.' });
    const people = annotators.map((a) => ({ a, user: store.findUserByName(a.name) ?? store.createUser(a.name, 'annotator').user }));
    let labels = 0;
    // Round-robin: each person takes their next item until nobody has one left.
    for (let progress = true; progress; ) {
      progress = false;
      for (const [j, { a, user }] of people.entries()) {
        const next = store.nextAssignment(task, user.id);
        if (!next) continue;
        const [first, second] = next.item.responses.map((r) => r.text);
        const pick = judge(a, first ?? '', second ?? '', mulberry32(mixSeed(opts.seed ?? 0, j, next.item.position)));
        // The studio shows the pair in a random order; the label names what was on screen.
        const choice = pick === 'tie' ? 'tie' : next.shown[0] === pick ? 'A' : 'B';
        store.submitLabel(task, user.id, { itemId: next.item.id, idempotencyKey: `demo-${a.name}-${next.item.id}`, value: { choice } });
        labels++;
        progress = true;
      }
    }
    const { rows } = exportRows(store, store.getTask(taskName), { format: 'trl', aggregate: 'majority' });
    const decided = rows.filter((r) => lexiconScore(String(r.chosen)) !== lexiconScore(String(r.rejected)));
    const agree = decided.filter((r) => lexiconScore(String(r.chosen)) > lexiconScore(String(r.rejected))).length;
    return { rows, labels, stats: taskStats(store, store.getTask(taskName)), agreementWithLexicon: decided.length ? agree / decided.length : Number.NaN };
  } finally {
    store.close();
  }
}
