// Exports: exact rows of every format, majority vs per-label, ties and "both bad", and stats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportRows, writeJsonl } from '../../src/feedback/export.js';
import { parseTaskSpec } from '../../src/feedback/schemas.js';
import { taskStats } from '../../src/feedback/stats.js';
import { Store } from '../../src/feedback/store.js';
import type { Task } from '../../src/feedback/types.js';
import { tempDir } from './helpers.js';

let n = 0;
/** Labels item `itemIdx` of `task` as `user`, with the value given in canonical terms (display order forced to identity). */
function label(store: Store, task: Task, userName: string, itemIdx: number, value: unknown): void {
  const user = store.findUserByName(userName) ?? store.createUser(userName, 'annotator').user;
  const item = store.items(task.id)[itemIdx]!;
  // Give the item to the user with the identity display order, so letters equal canonical indices.
  const shown = item.responses.map((_, i) => i);
  store.db.prepare("INSERT INTO assignments (task_id, item_id, user_id, shown, state, created_at, expires_at) VALUES (?, ?, ?, ?, 'open', 0, 9e15)").run(task.id, item.id, user.id, JSON.stringify(shown));
  store.submitLabel(task, user.id, { itemId: item.id, idempotencyKey: `k-${(++n).toString().padStart(8, '0')}`, value });
}

function setup(fn: (store: Store, dir: string) => void): void {
  const { dir, cleanup } = tempDir();
  const store = Store.open(dir);
  try {
    fn(store, dir);
  } finally {
    store.close();
    cleanup();
  }
}

function pairwise(store: Store): Task {
  const task = store.createTask(parseTaskSpec({ name: 'pw', kind: 'pairwise', perItem: 3 }));
  store.addItems(task.id, [
    { externalId: 'a', prompt: 'P0', responses: [{ text: 'good0', model: 'sft' }, { text: 'bad0', model: 'base' }], meta: {} },
    { externalId: 'b', prompt: 'P1', responses: [{ text: 'x1', model: 'base' }, { text: 'y1', model: 'sft' }], meta: {} },
    { externalId: 'c', prompt: 'P2', responses: [{ text: 'x2', model: 'sft' }, { text: 'y2', model: 'base' }], meta: {} },
    { externalId: 'd', prompt: 'P3', responses: [{ text: 'x3', model: 'sft' }, { text: 'y3', model: 'base' }], meta: {} },
    { externalId: 'e', prompt: 'P4', responses: [{ text: 'x4', model: 'sft' }, { text: 'y4', model: 'base' }], meta: {} },
  ]);
  // P0: A, A, tie → A has 2 of 3 (majority).  P1: B, B, B.  P2: tie, tie, A → tie majority.
  // P3: both_bad, both_bad, A → both_bad majority.  P4: A, B, tie → no majority.
  label(store, task, 'u1', 0, { choice: 'A' });
  label(store, task, 'u2', 0, { choice: 'A', reason: 'clearer' });
  label(store, task, 'u3', 0, { choice: 'tie' });
  for (const u of ['u1', 'u2', 'u3']) label(store, task, u, 1, { choice: 'B' });
  label(store, task, 'u1', 2, { choice: 'tie' });
  label(store, task, 'u2', 2, { choice: 'tie' });
  label(store, task, 'u3', 2, { choice: 'A' });
  label(store, task, 'u1', 3, { choice: 'both_bad' });
  label(store, task, 'u2', 3, { choice: 'both_bad' });
  label(store, task, 'u3', 3, { choice: 'A' });
  label(store, task, 'u1', 4, { choice: 'A' });
  label(store, task, 'u2', 4, { choice: 'B' });
  label(store, task, 'u3', 4, { choice: 'tie' });
  return task;
}

test('trl: majority per item; ties, both-bad and splits are left out and counted', () => {
  setup((store) => {
    const task = pairwise(store);
    const { rows, summary } = exportRows(store, task, { format: 'trl' });
    assert.deepEqual(rows, [
      { prompt: 'P0', chosen: 'good0', rejected: 'bad0' },
      { prompt: 'P1', chosen: 'y1', rejected: 'x1' },
    ]);
    assert.deepEqual(summary, { format: 'trl', task: 'pw', labels: 15, rows: 2, dropped: { tie: 1, both_bad: 1, no_majority: 1 } });
  });
});

test('trl per label: one row per decided judgment', () => {
  setup((store) => {
    const task = pairwise(store);
    const { rows, summary } = exportRows(store, task, { format: 'trl', aggregate: 'none' });
    assert.equal(rows.length, 9); // A,A (P0) + B,B,B (P1) + A (P2) + A (P3) + A,B (P4)
    assert.deepEqual(summary.dropped, { tie: 4, both_bad: 2 });
  });
});

test('pairs: choice 0/1 in the imported order; ties kept as 0.5 only when asked', () => {
  setup((store) => {
    const task = pairwise(store);
    const dropTies = exportRows(store, task, { format: 'pairs' }).rows;
    assert.deepEqual(dropTies, [
      { input_text: 'P0', candidate_0: 'good0', candidate_1: 'bad0', choice: 0 },
      { input_text: 'P1', candidate_0: 'x1', candidate_1: 'y1', choice: 1 },
    ]);
    const withTies = exportRows(store, task, { format: 'pairs', ties: 'include' }).rows;
    assert.deepEqual(withTies[2], { input_text: 'P2', candidate_0: 'x2', candidate_1: 'y2', choice: 0.5 });
    assert.equal(withTies.length, 3);
  });
});

test('ranking → every pair of responses, majority per pair', () => {
  setup((store) => {
    const task = store.createTask(parseTaskSpec({ name: 'rk', kind: 'ranking', perItem: 2 }));
    store.addItems(task.id, [{ externalId: null, prompt: 'Q', responses: [{ text: 'r0', model: 'm' }, { text: 'r1', model: 'm' }, { text: 'r2', model: 'n' }], meta: {} }]);
    label(store, task, 'u1', 0, { ranking: ['C', 'A', 'B'] }); // r2 > r0 > r1
    label(store, task, 'u2', 0, { ranking: ['A', 'C', 'B'] }); // r0 > r2 > r1
    const { rows, summary } = exportRows(store, task, { format: 'trl' });
    // (r0, r1): both say r0 → row; (r0, r2): split → dropped; (r1, r2): both say r2 → row.
    assert.deepEqual(rows, [
      { prompt: 'Q', chosen: 'r0', rejected: 'r1' },
      { prompt: 'Q', chosen: 'r2', rejected: 'r1' },
    ]);
    assert.deepEqual(summary.dropped, { no_majority: 1 });
    assert.equal(exportRows(store, task, { format: 'trl', aggregate: 'none' }).rows.length, 6);
    const stats = taskStats(store, task);
    assert.deepEqual(stats.meanRank.map((m) => [m.model, m.meanRank]), [['n', 1.5], ['m', 2.25]]);
  });
});

test('ratings: mean per dimension per response (HelpSteer-style columns), or one row per label', () => {
  setup((store) => {
    const task = store.createTask(parseTaskSpec({ name: 'rt', kind: 'rating', perItem: 2, dimensions: ['helpful', 'safe'] }));
    store.addItems(task.id, [
      { externalId: null, prompt: 'A?', responses: [{ text: 'ra', model: 'sft' }], meta: {} },
      { externalId: null, prompt: 'B?', responses: [{ text: 'rb', model: 'base' }], meta: {} },
    ]);
    label(store, task, 'u1', 0, { scores: { helpful: 4, safe: 5 } });
    label(store, task, 'u2', 0, { scores: { helpful: 5, safe: 5 }, comment: 'nice' });
    label(store, task, 'u1', 1, { scores: { helpful: 2, safe: 4 } });
    assert.deepEqual(exportRows(store, task, { format: 'ratings' }).rows, [
      { prompt: 'A?', response: 'ra', model: 'sft', helpful: 4.5, safe: 5, n_ratings: 2 },
      { prompt: 'B?', response: 'rb', model: 'base', helpful: 2, safe: 4, n_ratings: 1 },
    ]);
    assert.deepEqual(exportRows(store, task, { format: 'ratings', aggregate: 'none' }).rows[1], { prompt: 'A?', response: 'ra', model: 'sft', helpful: 5, safe: 5, annotator: 'u2', comment: 'nice' });
    const stats = taskStats(store, task);
    const helpful = stats.ratings.find((d) => d.dimension === 'helpful')!;
    assert.deepEqual(helpful.byModel.map((m) => [m.model, m.mean, m.n]), [['base', 2, 1], ['sft', 4.5, 2]]);
  });
});

test('sft: prompt/completion from each written demonstration', () => {
  setup((store, dir) => {
    const task = store.createTask(parseTaskSpec({ name: 'ed', kind: 'edit', perItem: 2 }));
    store.addItems(task.id, [{ externalId: null, prompt: 'Say hi', responses: [{ text: 'hi', model: null }], meta: {} }]);
    label(store, task, 'u1', 0, { text: 'Hello there!' });
    label(store, task, 'u2', 0, { text: 'hi' });
    const { rows } = exportRows(store, task, { format: 'sft' });
    assert.deepEqual(rows, [{ prompt: 'Say hi', completion: 'Hello there!' }, { prompt: 'Say hi', completion: 'hi' }]);
    const file = join(dir, 'sft.jsonl');
    writeJsonl(file, rows);
    assert.equal(readFileSync(file, 'utf8'), '{"prompt":"Say hi","completion":"Hello there!"}\n{"prompt":"Say hi","completion":"hi"}\n');
    assert.deepEqual(taskStats(store, task).edits, { total: 2, edited: 1, meanChars: 7 });
  });
});

test('raw keeps everything; a format that does not fit the task names the right one', () => {
  setup((store) => {
    const task = pairwise(store);
    const raw = exportRows(store, task, { format: 'raw' }).rows;
    assert.equal(raw.length, 15);
    assert.equal(raw[1]!.annotator, 'u2');
    assert.deepEqual(raw[1]!.value, { choice: 0, reason: 'clearer' });
    assert.equal(raw[1]!.id, 'a');
    assert.match(String(raw[0]!.created_at), /^\d{4}-\d\d-\d\dT/);
    assert.throws(() => exportRows(store, task, { format: 'sft' }), /--format sft does not fit task "pw", which is a pairwise task; use --format trl or pairs/);
  });
});

test('pairwise stats: outcomes, win rates between models with ties as halves, agreement', () => {
  setup((store) => {
    const task = pairwise(store);
    const s = taskStats(store, task);
    assert.deepEqual(s.outcomes, { '0': 5, '1': 4, tie: 4, both_bad: 2 });
    const sftVsBase = s.winRates.find((w) => w.model === 'sft' && w.opponent === 'base')!;
    // sft is response 0 in P0, P2, P3, P4 and response 1 in P1.
    // wins: P0 A,A; P1 B,B,B; P2 A; P3 A; P4 A = 8. losses: P4 B = 1. ties: P0, P2×2, P4 = 4. both bad: 2.
    assert.deepEqual({ w: sftVsBase.wins, l: sftVsBase.losses, t: sftVsBase.ties, bb: sftVsBase.bothBad }, { w: 8, l: 1, t: 4, bb: 2 });
    assert.equal(sftVsBase.winRate, (8 + 2) / 13);
    assert.equal(s.winRates.find((w) => w.model === 'base')!.winRate, (1 + 2) / 13);
    const fleiss = s.agreement.find((a) => a.measure === "Fleiss' kappa")!;
    // Per-item counts over [0, 1, tie, both_bad]: P0 [2,0,1,0] P1 [0,3,0,0] P2 [1,0,2,0] P3 [1,0,0,2] P4 [1,1,1,0].
    // P_i = (Σn² − 3)/6: 1/3, 1, 1/3, 1/3, 0 → P̄ = 0.4; p = [5,4,4,2]/15 → P̄e = 61/225; κ = (0.4 − 61/225)/(1 − 61/225).
    assert.ok(Math.abs(fleiss.value! - (0.4 - 61 / 225) / (1 - 61 / 225)) < 1e-12);
    assert.equal(fleiss.items, 5);
    assert.equal(s.pairAgreement.length, 3);
  });
});
