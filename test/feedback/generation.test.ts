// Live generation through the worker thread, with a fake model layer: items appear batch by batch,
// the server keeps answering while the worker is busy, failures are reported, and jobs resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GenerationUnavailableError } from '../../src/feedback/errors.js';
import { GenerationWorker } from '../../src/feedback/generation-worker.js';
import { parseTaskSpec } from '../../src/feedback/schemas.js';
import { Store } from '../../src/feedback/store.js';
import { client, testStudio, tempDir } from './helpers.js';
import type { NextItem } from './helpers.js';

const FAKE = new URL('./fixtures/fake-generator.ts', import.meta.url).href;

function modelDir(root: string, name: string, cfg: Record<string, unknown> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ name, ...cfg }));
  return dir;
}

async function waitFor<T>(fn: () => Promise<T | null>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}

test('a missing model layer makes the worker fail to start with a clear message', async () => {
  await assert.rejects(
    GenerationWorker.start({ modulePath: new URL('./fixtures/no-such-module.js', import.meta.url).href }),
    (err: unknown) => err instanceof GenerationUnavailableError && /could not be loaded: .*no-such-module/.test(err.message) && err.status === 503,
  );
});

test('the worker runs the model layer off the main thread and returns its texts', async () => {
  const { dir, cleanup } = tempDir();
  const w = await GenerationWorker.start({ modulePath: FAKE });
  try {
    const m = modelDir(dir, 'tiny', { delay_ms: 0 });
    await w.load(m);
    assert.deepEqual(await w.generate(m, ['a', 'b'], { maxNewTokens: 8, temperature: 0.5, seed: 3 }), ['tiny answers "a" (seed 3, T=0.5, max 8)', 'tiny answers "b" (seed 3, T=0.5, max 8)']);
    await assert.rejects(w.load(modelDir(dir, 'broken', { fail_load: true })), /model\.safetensors is missing/);
  } finally {
    await w.close();
    cleanup();
  }
});

test('model A vs model B: items arrive batch by batch while the server keeps answering quickly', async () => {
  const studio = await testStudio({ generatorModule: FAKE });
  try {
    const admin = client(studio.url, studio.adminToken);
    const a = modelDir(studio.dir, 'model-a', { delay_ms: 250 });
    const b = modelDir(studio.dir, 'model-b', { delay_ms: 250 });
    const prompts = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
    const r = await admin.post<{ task: { status: string } }>('/api/admin/generate', { task: { name: 'live', kind: 'pairwise', perItem: 1 }, models: [a, b], prompts, batchSize: 2, temperature: 0.7, maxNewTokens: 16 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.task.status, 'generating');
    // 3 batches × 2 models × 250 ms of busy work in the worker ≈ 1.5 s. Meanwhile, requests are served.
    const latencies: number[] = [];
    let status = 'generating';
    let sawPartial = false;
    while (status === 'generating') {
      const t0 = performance.now();
      const s = await admin.get<{ task: { status: string }; progress: { items: number } }>('/api/admin/tasks/live/stats');
      latencies.push(performance.now() - t0);
      status = s.body.task.status;
      if (status === 'generating' && s.body.progress.items > 0 && s.body.progress.items < 6) sawPartial = true;
      await sleep(20);
    }
    assert.equal(status, 'ready');
    assert.ok(sawPartial, 'items became visible before generation finished');
    assert.ok(latencies.length >= 10, `polled ${latencies.length} times`);
    latencies.sort((x, y) => x - y);
    assert.ok(latencies.at(-1)! < 200, `max latency during generation ${latencies.at(-1)!.toFixed(1)} ms (a blocked event loop would take ≥ 250 ms)`);
    // The items: prompt i, response 0 from model A and response 1 from model B, labelable blind.
    const items = studio.store.items(studio.store.getTask('live').id);
    assert.equal(items.length, 6);
    assert.deepEqual(items.map((i) => i.prompt), prompts);
    assert.deepEqual(items[3]!.responses.map((x) => x.model), ['model-a', 'model-b']);
    assert.equal(items[3]!.responses[0]!.text, 'model-a answers "p3" (seed 2, T=0.7, max 16)');
    const next = await admin.get<NextItem>('/api/tasks/live/next');
    assert.ok(next.body.item);
    assert.ok(!JSON.stringify(next.body).includes('"model"'));
  } finally {
    await studio.stop();
  }
});

test('rating with one model and k samples; a model that fails to load marks the task failed', async () => {
  const studio = await testStudio({ generatorModule: FAKE });
  try {
    const admin = client(studio.url, studio.adminToken);
    const m = modelDir(studio.dir, 'solo', { delay_ms: 0 });
    const r = await admin.post('/api/admin/generate', { task: { name: 'rate', kind: 'rating' }, models: [m], prompts: ['x', 'y'], samples: 2 });
    assert.equal(r.status, 202);
    await studio.generation.idle();
    const items = studio.store.items(studio.store.getTask('rate').id);
    assert.equal(items.length, 4, '2 prompts × 2 samples, one response per item');
    assert.deepEqual(items.map((i) => i.prompt), ['x', 'x', 'y', 'y']);
    assert.notEqual(items[0]!.responses[0]!.text, items[1]!.responses[0]!.text, 'samples use different seeds');

    const bad = await admin.post('/api/admin/generate', { task: { name: 'bad', kind: 'pairwise' }, models: [m], prompts: ['x'], samples: 3 });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /a pairwise task needs exactly 2 responses per prompt/);
    const nodir = await admin.post('/api/admin/generate', { task: { name: 'bad', kind: 'edit' }, models: [join(studio.dir, 'nope')], prompts: ['x'] });
    assert.equal(nodir.status, 400);
    assert.match(JSON.stringify(nodir.body), /does not exist/);

    const broken = modelDir(studio.dir, 'broken', { fail_load: true });
    const f = await admin.post('/api/admin/generate', { task: { name: 'failing', kind: 'edit' }, models: [broken], prompts: ['x'] });
    assert.equal(f.status, 202);
    await studio.generation.idle();
    const task = studio.store.getTask('failing');
    assert.equal(task.status, 'failed');
    assert.match(task.error ?? '', /model\.safetensors is missing/);
  } finally {
    await studio.stop();
  }
});

test('a job cut short resumes on the next start and keeps the items already made', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const m = modelDir(dir, 'resumer', { delay_ms: 0 });
    const store = Store.open(dir);
    const task = store.createTask(parseTaskSpec({ name: 'half', kind: 'edit' }), {
      status: 'generating',
      generation: { models: [m], modelNames: ['resumer'], prompts: ['a', 'b', 'c'], samples: 1, maxNewTokens: 8, temperature: 1, seed: 0, batchSize: 1 },
    });
    store.addItems(task.id, [{ externalId: null, prompt: 'a', responses: [{ text: 'made before the crash', model: 'resumer' }], meta: {} }], 0);
    store.close();
    const { startStudio } = await import('../../src/feedback/server.js');
    const studio = await startStudio({ dir, port: 0, generatorModule: FAKE });
    try {
      const done = await waitFor(async () => (studio.store.getTask('half').status === 'ready' ? studio.store.items(task.id) : null));
      assert.deepEqual(done.map((i) => [i.position, i.responses[0]!.text.slice(0, 21)]), [[0, 'made before the crash'], [1, 'resumer answers "b" ('], [2, 'resumer answers "c" (']]);
    } finally {
      await studio.close();
    }
  } finally {
    cleanup();
  }
});
