// Crash safety: the server is killed with SIGKILL in the middle of a burst of submissions, then
// restarted. Every acknowledged label must be there, unchanged, and retrying every submission
// (acknowledged or not) with its idempotency key must not duplicate anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseTaskSpec } from '../../src/feedback/schemas.js';
import { Store } from '../../src/feedback/store.js';
import { client, tempDir } from './helpers.js';
import type { NextItem } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./fixtures/studio-entry.ts', import.meta.url));

/** Starts `rlhf studio` in a child process and resolves with its URL once it listens. */
function startChild(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, '--dir', dir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`studio did not start in 20 s:\n${out}\n${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /open\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`studio exited (${code}) before listening:\n${out}\n${err}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

interface Attempt { token: string; task: string; body: { itemId: number; idempotencyKey: string; value: { choice: string } }; acked: boolean }

test('SIGKILL during a burst: every acknowledged label survives, retries never duplicate', { timeout: 90_000 }, async () => {
  const { dir, cleanup } = tempDir();
  const children: ChildProcess[] = [];
  try {
    // 1. A task with enough items and eight annotators, made before the server starts.
    const store = Store.open(dir);
    const task = store.createTask(parseTaskSpec({ name: 'burst', kind: 'pairwise', perItem: 1 }));
    store.addItems(task.id, Array.from({ length: 600 }, (_, i) => ({ externalId: null, prompt: `prompt ${i}`, responses: [{ text: `a${i}`, model: 'm1' }, { text: `b${i}`, model: 'm2' }], meta: {} })));
    const tokens = Array.from({ length: 8 }, (_, i) => store.createUser(`annotator-${i}`, 'annotator').token);
    store.close();

    // 2. Start the server and fire: eight annotators label as fast as they can.
    const first = await startChild(dir);
    children.push(first.child);
    const attempts: Attempt[] = [];
    let acked = 0;
    let killed = false;
    const choices = ['A', 'B', 'tie', 'both_bad'];
    const annotator = async (token: string, n: number): Promise<void> => {
      const c = client(first.url, token);
      for (let i = 0; !killed; i++) {
        let next;
        try {
          next = await c.get<NextItem>('/api/tasks/burst/next');
        } catch {
          return; // the server is gone
        }
        if (!next.body.item) return;
        const attempt: Attempt = { token, task: 'burst', body: { itemId: next.body.item.id, idempotencyKey: randomUUID(), value: { choice: choices[(n + i) % 4]! } }, acked: false };
        attempts.push(attempt);
        try {
          const r = await c.post('/api/tasks/burst/labels', attempt.body);
          if (r.status === 200) {
            attempt.acked = true;
            acked++;
          } else {
            throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.body)}`);
          }
        } catch (err) {
          if (!killed) throw err;
          return;
        }
        if (acked >= 150 && !killed) {
          // 3. Kill it mid-burst: the other seven have requests in flight right now.
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(tokens.map((t, n) => annotator(t, n)));
    await exited(first.child);
    assert.equal(first.child.signalCode, 'SIGKILL');
    const ackedAttempts = attempts.filter((a) => a.acked);
    assert.ok(ackedAttempts.length >= 150, `${ackedAttempts.length} acknowledged`);
    assert.ok(attempts.length > ackedAttempts.length, 'some submissions were in flight when the server died');

    // 4. Restart and check: every acknowledged label is stored with the value that was sent.
    const second = await startChild(dir);
    children.push(second.child);
    const check = Store.open(dir);
    try {
      const rows = check.db.prepare('SELECT idempotency_key AS k, item_id AS item, value, shown FROM labels').all() as { k: string; item: number; value: string; shown: string }[];
      const byKey = new Map(rows.map((r) => [r.k, r]));
      for (const a of ackedAttempts) {
        const row = byKey.get(a.body.idempotencyKey);
        assert.ok(row, `acknowledged label ${a.body.idempotencyKey} is missing`);
        assert.equal(row.item, a.body.itemId);
        const shown = JSON.parse(row.shown) as number[];
        const choice = a.body.value.choice;
        const expected = choice === 'A' ? shown[0] : choice === 'B' ? shown[1] : choice;
        assert.deepEqual(JSON.parse(row.value), { choice: expected });
      }
      assert.ok(rows.length <= attempts.length);
      assert.equal(check.db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      check.close();
    }

    // 5. Clients retry everything they sent (acknowledged or not) with the same keys: no duplicates.
    for (const a of attempts) {
      const r = await client(second.url, a.token).post<{ replayed: boolean }>('/api/tasks/burst/labels', a.body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (a.acked) assert.equal(r.body.replayed, true);
    }
    second.child.kill('SIGTERM');
    await exited(second.child);
    const final = Store.open(dir);
    try {
      const n = (final.db.prepare('SELECT COUNT(*) AS n FROM labels').get() as { n: number }).n;
      assert.equal(n, attempts.length, 'one label per submission, none twice');
      const dupes = final.db.prepare('SELECT item_id, user_id, COUNT(*) AS n FROM labels GROUP BY item_id, user_id HAVING n > 1').all();
      assert.deepEqual(dupes, []);
      const counts = final.db.prepare('SELECT COUNT(*) AS n FROM items WHERE label_count != (SELECT COUNT(*) FROM labels l WHERE l.item_id = items.id)').get() as { n: number };
      assert.equal(counts.n, 0, 'item counters match the labels');
      const open = final.db.prepare('SELECT open_items AS o, (SELECT COUNT(*) FROM items WHERE task_id = tasks.id AND label_count < 1) AS real FROM tasks').get() as { o: number; real: number };
      assert.equal(open.o, open.real, "the task's open-item counter matches");
    } finally {
      final.close();
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    cleanup();
  }
});
