// Load benchmark for `rlhf studio`: 50 concurrent annotators submit 5,000 pairwise labels to a
// studio running in a child process on 127.0.0.1 (loopback only), each doing what the web app does:
// POST a label, whose reply carries the next item (one GET to start). Bounded: stops after 5,000 labels or 120 s, whichever first.
// Prints one JSON object; p50_ms/p99_ms are the label submissions' latencies (the acknowledged,
// fsync'ed write, which also returns the next item), next_* the first item fetch of each annotator.
//   node --import tsx bench/studio-load.ts        (npm run bench:studio)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTaskSpec } from '../src/feedback/schemas.js';
import { Store } from '../src/feedback/store.js';

const LABELS = Number(process.env.STUDIO_BENCH_LABELS ?? 5000);
const CONCURRENCY = Number(process.env.STUDIO_BENCH_CONCURRENCY ?? 50);
const THINK_MS = Number(process.env.STUDIO_BENCH_THINK_MS ?? 0);
const DEADLINE_MS = 120_000;
const REQUEST_TIMEOUT_MS = 10_000;

const root = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rlhf-studio-bench-'));

// 1. A pairwise task with one item per label (k = 1) and 50 annotators.
const store = Store.open(dir);
const task = store.createTask(parseTaskSpec({ name: 'load', kind: 'pairwise', perItem: 1 }));
store.addItems(task.id, Array.from({ length: LABELS }, (_, i) => ({
  externalId: null,
  prompt: `Prompt ${i}: explain why the sky is blue in two sentences.`,
  responses: [{ text: `Rayleigh scattering favours short wavelengths (${i}).`, model: 'a' }, { text: `Because it reflects the ocean (${i}).`, model: 'b' }],
  meta: {},
})));
const tokens = Array.from({ length: CONCURRENCY }, (_, i) => store.createUser(`annotator-${i}`, 'annotator').token);
store.close();

// 2. The server, in its own process.
const entry = `import { studio } from ${JSON.stringify(new URL('../src/cli/studio.ts', import.meta.url).href)}; process.exitCode = await studio.run(process.argv.slice(1));`;
const server = spawn(process.execPath, [...(process.env.STUDIO_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.STUDIO_BENCH_PROFILE}`] : []), '--import', 'tsx', '--input-type=module', '-e', entry, 'serve', '--dir', dir, '--port', '0', '--host', '127.0.0.1'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise<URL>((resolve, reject) => {
  let out = '';
  const t = setTimeout(() => reject(new Error(`studio did not start:\n${out}`)), 30_000);
  server.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /open\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) {
      clearTimeout(t);
      resolve(new URL(m[1]!));
    }
  });
  server.once('exit', (code) => reject(new Error(`studio exited (${code}):\n${out}`)));
});
if (base.hostname !== '127.0.0.1') throw new Error('the benchmark only talks to 127.0.0.1');

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function call(method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (data !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(data));
    }
    const req = request({ host: '127.0.0.1', port: Number(base.port), path, method, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(data);
  });
}

// 3. The annotators: next → label, until 5,000 labels were sent or the deadline passed.
const submitMs: number[] = [];
const nextMs: number[] = [];
let sent = 0;
let stored = 0;
let errors = 0;
const started = performance.now();
const deadline = Date.now() + DEADLINE_MS;
async function annotator(token: string, n: number): Promise<void> {
  // Like the web app: fetch the first item, then each submission's reply carries the next one.
  let item: { id: number } | null = null;
  try {
    const t0 = performance.now();
    const first = await call('GET', '/api/tasks/load/next', token);
    nextMs.push(performance.now() - t0);
    item = first.json.item as { id: number } | null;
  } catch {
    errors++;
  }
  while (item && sent < LABELS && Date.now() < deadline) {
    sent++;
    if (THINK_MS > 0) await new Promise((r) => setTimeout(r, -Math.log(1 - Math.random()) * THINK_MS));
    try {
      const t0 = performance.now();
      const r = await call('POST', '/api/tasks/load/labels', token, { itemId: item.id, idempotencyKey: randomUUID(), durationMs: 1000, value: { choice: n % 2 ? 'A' : 'B' } });
      submitMs.push(performance.now() - t0);
      if (r.status === 200) stored++;
      else errors++;
      item = ((r.json.next as { item: { id: number } | null } | undefined)?.item) ?? null;
    } catch {
      errors++;
      return;
    }
  }
}
/** The same loop against a do-nothing Hono server in its own process. */
async function baseline(): Promise<{ throughput_per_s: number; p50_ms: number; p99_ms: number }> {
  const noop = `import { serve } from '@hono/node-server'; import { Hono } from 'hono';
    const app = new Hono();
    app.post('*', async (c) => { await new Promise((r) => { c.env.incoming.on('data', () => {}); c.env.incoming.on('end', r); }); return c.json({ next: { item: { id: 1 } } }); });
    serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (i) => console.log('open http://127.0.0.1:' + i.port));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', noop], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<URL>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /open (http:\/\/127\.0\.0\.1:\d+)/.exec(d.toString());
      if (m) resolve(new URL(m[1]!));
    });
    child.once('exit', (code) => reject(new Error(`baseline server exited (${code})`)));
  });
  const agent2 = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const lat: number[] = [];
  let n = 0;
  const t0 = performance.now();
  const one = (): Promise<void> => new Promise((resolve, reject) => {
    const data = JSON.stringify({ itemId: 1, idempotencyKey: randomUUID(), value: { choice: 'A' } });
    const t = performance.now();
    const req = request({ host: '127.0.0.1', port: Number(url.port), path: '/labels', method: 'POST', agent: agent2, timeout: REQUEST_TIMEOUT_MS, headers: { 'Content-Type': 'application/json', 'Content-Length': String(data.length) } }, (res) => {
      res.resume();
      res.on('end', () => {
        lat.push(performance.now() - t);
        resolve();
      });
    });
    req.on('error', reject);
    req.end(data);
  });
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (n < LABELS && Date.now() < deadline) {
      n++;
      if (THINK_MS > 0) await new Promise((r) => setTimeout(r, -Math.log(1 - Math.random()) * THINK_MS));
      await one();
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  agent2.destroy();
  child.kill('SIGTERM');
  return { throughput_per_s: Math.round((lat.length / wall) * 10) / 10, p50_ms: pct(lat, 50), p99_ms: pct(lat, 99) };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100 : NaN;
}

try {
  await Promise.all(tokens.map((t, n) => annotator(t, n)));
  const wall = (performance.now() - started) / 1000;
  const check = Store.open(dir);
  const inDb = (check.db.prepare('SELECT COUNT(*) AS n FROM labels').get() as { n: number }).n;
  check.close();
  process.stdout.write(`${JSON.stringify({
    name: 'studio-load',
    labels: stored,
    concurrency: CONCURRENCY,
    errors: errors + (inDb === stored ? 0 : Math.abs(inDb - stored)),
    throughput_per_s: Math.round((stored / wall) * 10) / 10,
    p50_ms: pct(submitMs, 50),
    p99_ms: pct(submitMs, 99),
    next_p50_ms: pct(nextMs, 50),
    next_p99_ms: pct(nextMs, 99),
    wall_s: Math.round(wall * 100) / 100,
    think_ms: THINK_MS,
    labels_in_db: inDb,
    durability: 'WAL, synchronous=FULL, group commit',
    cpus: cpus().length,
    baseline_noop: await baseline(),
  })}\n`);
} finally {
  agent.destroy();
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
  rmSync(dir, { recursive: true, force: true });
}
