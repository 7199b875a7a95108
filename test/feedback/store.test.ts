// The store: assignment to k distinct annotators, leases, skipping, idempotent label writes,
// canonical values independent of display order, and tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, InvalidInputError } from '../../src/feedback/errors.js';
import { parseTaskSpec } from '../../src/feedback/schemas.js';
import { Store } from '../../src/feedback/store.js';
import type { PairwiseValue, RankingValue, Task } from '../../src/feedback/types.js';
import { tempDir } from './helpers.js';

function withStore(fn: (store: Store) => void): void {
  const { dir, cleanup } = tempDir();
  const store = Store.open(dir);
  try {
    fn(store);
  } finally {
    store.close();
    cleanup();
  }
}

function pairwiseTask(store: Store, n: number, perItem: number, leaseMinutes = 30): Task {
  const task = store.createTask(parseTaskSpec({ name: 't', kind: 'pairwise', perItem, leaseMinutes }));
  store.addItems(task.id, Array.from({ length: n }, (_, i) => ({ externalId: `x${i}`, prompt: `prompt ${i}`, responses: [{ text: `a${i}`, model: 'm1' }, { text: `b${i}`, model: 'm2' }], meta: {} })));
  return task;
}

let keyCounter = 0;
const key = (): string => `key-${(++keyCounter).toString().padStart(8, '0')}`;

test('the database is in WAL mode with synchronous=FULL', () => {
  withStore((store) => {
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('synchronous', { simple: true }), 2);
  });
});

test('each item goes to k distinct annotators and never twice to one', () => {
  withStore((store) => {
    const task = pairwiseTask(store, 5, 3);
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'].map((n) => store.createUser(n, 'annotator').user);
    // Round-robin until nobody gets anything: every item must end with exactly 3 labels by 3 people.
    let progress = true;
    while (progress) {
      progress = false;
      for (const u of users) {
        const a = store.nextAssignment(task, u.id);
        if (!a) continue;
        progress = true;
        store.submitLabel(task, u.id, { itemId: a.item.id, idempotencyKey: key(), value: { choice: 'A' } });
      }
    }
    const labels = store.labels(task.id);
    assert.equal(labels.length, 15);
    const byItem = new Map<number, number[]>();
    for (const l of labels) byItem.set(l.itemId, [...(byItem.get(l.itemId) ?? []), l.userId]);
    assert.equal(byItem.size, 5);
    for (const who of byItem.values()) {
      assert.equal(who.length, 3);
      assert.equal(new Set(who).size, 3);
    }
    assert.deepEqual(store.progress(task).complete, 5);
    for (const u of users) assert.equal(store.remainingFor(task, u.id), 0);
    assert.equal((store.db.prepare('SELECT open_items FROM tasks WHERE id = ?').get(task.id) as { open_items: number }).open_items, 0);
  });
});

test('an open item is offered again to the same person (reload) and reserved against others until its lease lapses', () => {
  withStore((store) => {
    let now = 1_000_000;
    store.now = () => now;
    const task = pairwiseTask(store, 2, 1, 10);
    const [a, b, c] = ['a', 'b', 'c'].map((n) => store.createUser(n, 'annotator').user);
    const first = store.nextAssignment(task, a!.id)!;
    assert.equal(store.nextAssignment(task, a!.id)!.item.id, first.item.id, 'reload shows the same item');
    assert.deepEqual(store.nextAssignment(task, a!.id)!.shown, first.shown, 'in the same order');
    const second = store.nextAssignment(task, b!.id)!;
    assert.notEqual(second.item.id, first.item.id);
    assert.equal(store.nextAssignment(task, c!.id), null, 'both items are reserved');
    now += 11 * 60_000; // a's and b's leases lapse
    const forC = store.nextAssignment(task, c!.id)!;
    assert.equal(forC.item.id, first.item.id);
    store.submitLabel(task, c!.id, { itemId: forC.item.id, idempotencyKey: key(), value: { choice: 'B' } });
    // a comes back: c labelled a's item meanwhile (k = 1), so a moves on to the item whose reservation by b lapsed.
    const again = store.nextAssignment(task, a!.id);
    assert.equal(again?.item.id, second.item.id);
  });
});

test('skipping: the item is not offered again to that person, but stays available to others', () => {
  withStore((store) => {
    const task = pairwiseTask(store, 2, 1);
    const [a, b] = ['a', 'b'].map((n) => store.createUser(n, 'annotator').user);
    const first = store.nextAssignment(task, a!.id)!;
    store.skip(task, first.item.id, a!.id);
    assert.notEqual(store.nextAssignment(task, a!.id)!.item.id, first.item.id);
    assert.equal(store.nextAssignment(task, b!.id)!.item.id, first.item.id);
    assert.throws(() => store.skip(task, first.item.id, a!.id), ConflictError);
  });
});

test('a retried submission (same idempotency key) returns the stored label and writes nothing', () => {
  withStore((store) => {
    const task = pairwiseTask(store, 2, 1);
    const u = store.createUser('a', 'annotator').user;
    const a = store.nextAssignment(task, u.id)!;
    const body = { itemId: a.item.id, idempotencyKey: 'retry-key-1', value: { choice: 'tie', reason: '  same  ' } };
    const first = store.submitLabel(task, u.id, body);
    const again = store.submitLabel(task, u.id, structuredClone(body));
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    assert.equal(again.label.id, first.label.id);
    assert.deepEqual(first.label.value, { choice: 'tie', reason: 'same' });
    assert.equal(store.labels(task.id).length, 1);
    assert.throws(() => store.submitLabel(task, u.id, { ...body, value: { choice: 'A' } }), /idempotency key was already used/);
    assert.throws(() => store.submitLabel(task, u.id, { ...body, idempotencyKey: 'another-key-2' }), /already labelled item/);
  });
});

test('labels are refused for items not given to you, and values are checked against the task', () => {
  withStore((store) => {
    const task = pairwiseTask(store, 2, 2);
    const [a, b] = ['a', 'b'].map((n) => store.createUser(n, 'annotator').user);
    const given = store.nextAssignment(task, a!.id)!;
    assert.throws(() => store.submitLabel(task, b!.id, { itemId: given.item.id, idempotencyKey: key(), value: { choice: 'A' } }), /was not given to you/);
    assert.throws(() => store.submitLabel(task, a!.id, { itemId: given.item.id, idempotencyKey: key(), value: { choice: 'C' } }), InvalidInputError);
    assert.throws(() => store.submitLabel(task, a!.id, { itemId: given.item.id, idempotencyKey: 'bad key!', value: { choice: 'A' } }), /idempotencyKey/);
    assert.throws(() => store.submitLabel(task, a!.id, { itemId: given.item.id, idempotencyKey: key(), value: { choice: 'A', extra: 1 } }), /unknown field "extra"/);
    assert.throws(() => store.submitLabel(task, a!.id, { itemId: given.item.id, idempotencyKey: key(), value: { choice: 'A', reason: 'x'.repeat(5000) } }), /at most 4000/);
  });
});

test('stored values name responses by index, whatever order they were shown in', () => {
  withStore((store) => {
    const task = pairwiseTask(store, 40, 1);
    const u = store.createUser('a', 'annotator').user;
    const orders = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const a = store.nextAssignment(task, u.id)!;
      orders.add(a.shown.join(','));
      const { label } = store.submitLabel(task, u.id, { itemId: a.item.id, idempotencyKey: key(), value: { choice: 'A' } });
      // "A" is whatever was shown first.
      assert.equal((label.value as PairwiseValue).choice, a.shown[0]);
      assert.deepEqual(label.shown, a.shown);
    }
    assert.deepEqual([...orders].sort(), ['0,1', '1,0'], 'both orders occur over 40 items');
  });
});

test('rating: every dimension is required, unknown ones refused; ranking: a permutation of the letters shown', () => {
  withStore((store) => {
    const rating = store.createTask(parseTaskSpec({ name: 'r', kind: 'rating', perItem: 1, dimensions: ['helpful', 'honest'] }));
    store.addItems(rating.id, [{ externalId: null, prompt: 'p', responses: [{ text: 'r', model: 'm' }], meta: {} }]);
    const ranking = store.createTask(parseTaskSpec({ name: 'k', kind: 'ranking', perItem: 1 }));
    store.addItems(ranking.id, [{ externalId: null, prompt: 'p', responses: ['x', 'y', 'z'].map((text) => ({ text, model: null })), meta: {} }]);
    const u = store.createUser('a', 'annotator').user;
    const r = store.nextAssignment(rating, u.id)!;
    assert.throws(() => store.submitLabel(rating, u.id, { itemId: r.item.id, idempotencyKey: key(), value: { scores: { helpful: 4 } } }), /missing "scores\.honest"/);
    assert.throws(() => store.submitLabel(rating, u.id, { itemId: r.item.id, idempotencyKey: key(), value: { scores: { helpful: 4, honest: 2, funny: 1 } } }), /unknown dimension "funny"/);
    assert.throws(() => store.submitLabel(rating, u.id, { itemId: r.item.id, idempotencyKey: key(), value: { scores: { helpful: 6, honest: 2 } } }), /"scores\.helpful"/);
    const ok = store.submitLabel(rating, u.id, { itemId: r.item.id, idempotencyKey: key(), value: { scores: { honest: 2, helpful: 5 }, comment: ' ' } });
    assert.deepEqual(ok.label.value, { scores: { helpful: 5, honest: 2 } });

    const k = store.nextAssignment(ranking, u.id)!;
    assert.throws(() => store.submitLabel(ranking, u.id, { itemId: k.item.id, idempotencyKey: key(), value: { ranking: ['A', 'B', 'B'] } }), /each of A, B, C exactly once/);
    assert.throws(() => store.submitLabel(ranking, u.id, { itemId: k.item.id, idempotencyKey: key(), value: { ranking: ['A', 'B'] } }), /each of A, B, C/);
    const done = store.submitLabel(ranking, u.id, { itemId: k.item.id, idempotencyKey: key(), value: { ranking: ['C', 'A', 'B'] } });
    assert.deepEqual((done.label.value as RankingValue).ranking, [k.shown[2], k.shown[0], k.shown[1]]);
  });
});

test('tokens: valid ones sign in; a wrong secret, a reset or a disabled account does not', () => {
  withStore((store) => {
    const { user, token } = store.createUser('Ada', 'annotator');
    assert.match(token, /^\d+\.[A-Za-z0-9_-]{43}$/);
    assert.equal(store.authenticate(token)?.name, 'Ada');
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    assert.equal(store.authenticate(wrong), null);
    assert.equal(store.authenticate(`999.${token.split('.')[1]}`), null);
    assert.equal(store.authenticate('garbage'), null);
    const fresh = store.resetToken(user.id);
    assert.equal(store.authenticate(token), null);
    assert.equal(store.authenticate(fresh)?.id, user.id);
    store.setDisabled(user.id, true);
    assert.equal(store.authenticate(fresh), null);
    assert.throws(() => store.createUser('ada', 'annotator'), /already exists/, 'names are case-insensitive');
    // Only the hash is stored.
    const row = store.db.prepare('SELECT token_hash FROM users WHERE id = ?').get(user.id) as { token_hash: Buffer };
    assert.equal(row.token_hash.length, 32);
    assert.ok(!row.token_hash.toString('latin1').includes(fresh.split('.')[1]!));
  });
});
