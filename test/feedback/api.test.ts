// The HTTP API: tokens on every call, admin-only routes, cross-site refusal, schema validation with
// clear 4xx messages, size limits, blind items, own-labels-only, and the export download.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PAIRWISE_ITEMS, RATING_ITEMS, client, jsonl, labelNext, testStudio } from './helpers.js';
import type { Client, NextItem } from './helpers.js';

let studio: Awaited<ReturnType<typeof testStudio>>;
let admin: Client;
let ada: Client;
let bob: Client;
let adaToken = '';

before(async () => {
  // A model layer that cannot be imported, to check what live generation says without one.
  studio = await testStudio({ generatorModule: new URL('./fixtures/no-such-generator.js', import.meta.url).href });
  admin = client(studio.url, studio.adminToken);
  const created = await admin.post<{ task: { name: string }; added: number }>('/api/admin/tasks', { task: { name: 'pw', kind: 'pairwise', perItem: 2 }, jsonl: jsonl(PAIRWISE_ITEMS) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.added, 3);
  await admin.post('/api/admin/tasks', { task: { name: 'rt', kind: 'rating', perItem: 1, dimensions: ['helpful', 'honest'] }, jsonl: jsonl(RATING_ITEMS) });
  const a = await admin.post<{ token: string; link: string }>('/api/admin/users', { name: 'Ada' });
  assert.equal(a.status, 201);
  assert.equal(a.body.link, `${studio.url}/#/signin/${a.body.token}`);
  adaToken = a.body.token;
  ada = client(studio.url, adaToken);
  bob = client(studio.url, (await admin.post<{ token: string }>('/api/admin/users', { name: 'Bob' })).body.token);
});

after(async () => {
  await studio.stop();
});

test('the admin token is kept in DIR/admin-token, readable by the owner only', () => {
  const file = join(studio.dir, 'admin-token');
  assert.equal(readFileSync(file, 'utf8').trim(), studio.adminToken);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test('every API call needs a valid token; admin routes need an admin', async () => {
  const anon = client(studio.url, null);
  for (const path of ['/api/me', '/api/tasks', '/api/tasks/pw/next', '/api/my/labels', '/api/admin/overview']) {
    const r = await anon.get(path);
    assert.equal(r.status, 401, path);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="rlhf-studio"');
    assert.match(JSON.stringify(r.body), /Authorization: Bearer/);
  }
  const forged = client(studio.url, `${adaToken.slice(0, -2)}xx`);
  assert.equal((await forged.get('/api/me')).status, 401);
  assert.equal((await client(studio.url, 'not-a-token').get('/api/me')).status, 401);
  const me = await ada.get<{ user: { name: string; role: string } }>('/api/me');
  assert.deepEqual(me.body.user.name, 'Ada');
  for (const path of ['/api/admin/overview', '/api/admin/users', '/api/admin/tasks/pw/stats', '/api/admin/tasks/pw/export?format=trl']) {
    const r = await ada.get(path);
    assert.equal(r.status, 403, path);
  }
  assert.equal((await ada.post('/api/admin/users', { name: 'Eve' })).status, 403);
});

test('cross-site requests are refused even with a valid token', async () => {
  const body = { itemId: 1, idempotencyKey: 'csrf-attempt-1', value: { choice: 'A' } };
  const evil = await ada.post('/api/tasks/pw/labels', body, { Origin: 'http://evil.example' });
  assert.equal(evil.status, 403);
  assert.match(JSON.stringify(evil.body), /Cross-site request refused/);
  assert.equal((await ada.post('/api/tasks/pw/labels', body, { 'Sec-Fetch-Site': 'cross-site' })).status, 403);
  assert.equal((await ada.post('/api/tasks/pw/labels', body, { Origin: 'null' })).status, 403);
  // A form-style post (what a cross-site <form> can send) is refused before it is read.
  const form = await ada.post('/api/tasks/pw/labels', 'choice=A', { 'Content-Type': 'application/x-www-form-urlencoded' });
  assert.equal(form.status, 415);
  const plain = await ada.post('/api/tasks/pw/labels', JSON.stringify(body), { 'Content-Type': 'text/plain' });
  assert.equal(plain.status, 415);
  // Same origin is fine (and reaches validation: item 1 was not given to Ada yet).
  const same = await ada.post('/api/tasks/pw/labels', body, { Origin: studio.url });
  assert.equal(same.status, 409);
});

test('malformed, invalid and oversized requests get a 4xx naming the problem', async () => {
  const bad = await ada.post('/api/tasks/pw/labels', '{"itemId": 1,', {});
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /not valid JSON/);
  const missing = await ada.post<{ error: { issues: { path: string; message: string }[] } }>('/api/tasks/pw/labels', { value: { choice: 'A' } });
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.body.error.issues.map((i) => i.path), ['itemId', 'idempotencyKey']);
  assert.match(missing.body.error.issues[0]!.message, /missing "itemId"/);
  const huge = await ada.post('/api/tasks/pw/labels', { itemId: 1, idempotencyKey: 'too-large-1', value: { choice: 'A', reason: 'x'.repeat(300_000) } });
  assert.equal(huge.status, 413);
  assert.match(JSON.stringify(huge.body), /too large/);
  const unknownTask = await ada.get<{ error: { message: string } }>('/api/tasks/nope/next');
  assert.equal(unknownTask.status, 404);
  assert.equal(unknownTask.body.error.message, 'No task named "nope". Tasks: pw, rt.');
  const route = await ada.get('/api/nothing-here');
  assert.equal(route.status, 404);
  const badImport = await admin.post<{ error: { lines: { line: number }[]; message: string } }>('/api/admin/tasks', { task: { name: 'broken', kind: 'pairwise' }, jsonl: '{"prompt":"a","responses":["x","y"]}\n{"responses":["x","y"]}\n' });
  assert.equal(badImport.status, 400);
  assert.deepEqual(badImport.body.error.lines, [{ line: 2, message: 'missing "prompt" (expected string)' }]);
  assert.equal((await admin.get('/api/admin/tasks/broken/stats')).status, 404, 'a failed import creates no task');
  const dup = await admin.post('/api/admin/tasks', { task: { name: 'pw', kind: 'pairwise' }, jsonl: '{"prompt":"a","responses":["x","y"]}' });
  assert.equal(dup.status, 409);
});

test('items are blind: letters and texts only, no model names; security headers are set', async () => {
  const r = await bob.get<NextItem>('/api/tasks/pw/next');
  assert.equal(r.status, 200);
  const text = JSON.stringify(r.body);
  assert.ok(!/"model"|sft|base/.test(text), text);
  assert.deepEqual(r.body.item!.responses.map((x) => x.letter), ['A', 'B']);
  assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const page = await fetch(`${studio.url}/`);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  assert.match(await page.text(), /<main id="main"/);
});

test('an annotator sees only their own labels; retries are idempotent; admins see everything', async () => {
  const first = await labelNext(ada, 'pw', () => ({ choice: 'A', reason: 'more specific' }));
  assert.equal(first.status, 200);
  const retry = await ada.post<{ replayed: boolean }>('/api/tasks/pw/labels', { itemId: first.item!.id, idempotencyKey: first.key, value: { choice: 'A', reason: 'more specific' } });
  assert.equal(retry.status, 200);
  assert.equal(retry.body.replayed, true);
  await labelNext(bob, 'pw', () => ({ choice: 'tie' }));
  const mine = await ada.get<{ labels: { task: string; value: { choice: string; reason: string } }[] }>('/api/my/labels');
  assert.equal(mine.body.labels.length, 1);
  assert.deepEqual(mine.body.labels[0]!.value, { choice: 'A', reason: 'more specific' }, 'shown as the letter Ada saw');
  const bobs = await bob.get<{ labels: unknown[] }>('/api/my/labels');
  assert.equal(bobs.body.labels.length, 1);
  const stats = await admin.get<{ progress: { labels: number; byUser: { name: string }[] } }>('/api/admin/tasks/pw/stats');
  assert.equal(stats.body.progress.labels, 2);
  assert.deepEqual(stats.body.progress.byUser.map((u) => u.name).sort(), ['Ada', 'Bob']);
  const raw = await admin.get('/api/admin/tasks/pw/export?format=raw');
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-disposition') ?? '', /attachment; filename="pw\.raw\.jsonl"/);
  const lines = raw.text.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => JSON.parse(l).task === 'pw'));
  assert.equal(JSON.parse(raw.headers.get('x-export-summary')!).labels, 2);
  assert.equal((await admin.get('/api/admin/tasks/pw/export?format=csv')).status, 400);
});

test('rating labels through HTTP, skipping, and tasks listing per person', async () => {
  const r = await labelNext(ada, 'rt', () => ({ scores: { helpful: 5, honest: 4 }, comment: 'good' }));
  assert.equal(r.status, 200);
  const wrong = await labelNext(ada, 'rt', () => ({ scores: { helpful: 5 } }));
  assert.equal(wrong.status, 400);
  const next = await ada.get<NextItem>('/api/tasks/rt/next');
  assert.equal(next.body.item!.id, wrong.item!.id, 'the refused item is still waiting');
  const skip = await ada.post('/api/tasks/rt/skip', { itemId: next.body.item!.id });
  assert.equal(skip.status, 200);
  const after = await ada.get<NextItem>('/api/tasks/rt/next');
  assert.equal(after.body.item, null);
  const tasks = await ada.get<{ tasks: { name: string; mine: number; remaining: number }[] }>('/api/tasks');
  assert.deepEqual(tasks.body.tasks.find((t) => t.name === 'rt'), { ...tasks.body.tasks.find((t) => t.name === 'rt'), mine: 1, remaining: 0 });
});

test('people: reset links, disable accounts, no self-disable', async () => {
  const c = await admin.post<{ user: { id: number }; token: string }>('/api/admin/users', { name: 'Cy' });
  const cy = client(studio.url, c.body.token);
  assert.equal((await cy.get('/api/me')).status, 200);
  const reset = await admin.post<{ token: string }>(`/api/admin/users/${c.body.user.id}/reset`, {});
  assert.equal((await cy.get('/api/me')).status, 401);
  const cy2 = client(studio.url, reset.body.token);
  assert.equal((await cy2.get('/api/me')).status, 200);
  await admin.post(`/api/admin/users/${c.body.user.id}/disable`, { disabled: true });
  assert.equal((await cy2.get('/api/me')).status, 401);
  const me = await admin.get<{ user: { id: number } }>('/api/me');
  assert.equal((await admin.post(`/api/admin/users/${me.body.user.id}/disable`, { disabled: true })).status, 409);
  assert.equal((await admin.post('/api/admin/users', { name: '' })).status, 400);
  assert.equal((await admin.post('/api/admin/users', { name: 'ada' })).status, 409);
});

test('live generation without the model layer: a clear 503, and no task is created', async () => {
  const r = await admin.post<{ error: { code: string; message: string } }>('/api/admin/generate', { task: { name: 'live', kind: 'pairwise' }, models: [studio.dir, studio.dir], prompts: ['hi'] });
  assert.equal(r.status, 503);
  assert.equal(r.body.error.code, 'generation_unavailable');
  assert.match(r.body.error.message, /^Live generation needs the model layer .*no-such-generator\.js.*\(rlhf studio import --task NAME FILE\.jsonl\)/);
  assert.equal((await admin.get('/api/admin/tasks/live/stats')).status, 404);
  // Everything else keeps working.
  assert.equal((await admin.get('/api/admin/overview')).status, 200);
});
