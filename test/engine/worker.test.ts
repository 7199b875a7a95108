// The addon in worker_threads: it loads in several workers at once (context-aware), workers
// compute the same results as the main thread, and the main event loop keeps running while a
// worker computes — how a server keeps a model off its event loop.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as torch from '../../src/torch/index.js';
import type { WorkerReply, WorkerRequest } from './fixtures/worker.js';
import { assertClose, rng } from './helpers.js';

const WORKER = new URL('./fixtures/worker.ts', import.meta.url);
// A worker does not inherit the main thread's tsx loader, and `execArgv: ['--import', 'tsx']` does not
// reach a .ts entry point on Node 20 (ERR_UNKNOWN_FILE_EXTENSION), so a two-line bootstrap registers
// tsx in the worker and then imports the TypeScript file.
const TSX_API = import.meta.resolve('tsx/esm/api');
const BOOTSTRAP = `import(${JSON.stringify(TSX_API)}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER.href)}); })`;

type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never; // per member of the union

/** A worker running fixtures/worker.ts through tsx, with a promise-per-request interface. */
class EngineWorker {
  readonly worker = new Worker(BOOTSTRAP, { eval: true });
  readonly ready: Promise<Extract<WorkerReply, { type: 'ready' }>>;
  #pending = new Map<number, (r: WorkerReply) => void>();
  #next = 0;
  constructor() {
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('error', reject);
      this.worker.on('message', (r: WorkerReply) => {
        if (r.type === 'ready') resolve(r);
        else this.#pending.get(r.id)?.(r);
      });
    });
  }
  /** Sends a job and resolves with its reply, which must be of type `expect`. */
  request<T extends WorkerReply['type']>(req: WithoutId<WorkerRequest>, expect: T): Promise<Extract<WorkerReply, { type: T }>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (r) => (r.type === expect ? resolve(r as Extract<WorkerReply, { type: T }>) : reject(new Error(`worker replied ${r.type}, expected ${expect}`))));
      this.worker.postMessage({ ...req, id });
    });
  }
  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

function randomMatrix(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * n }, () => 2 * r() - 1);
}

describe('worker_threads', () => {
  test('the addon loads in two workers at once; both compute matmuls concurrently that match the main thread', async () => {
    const w1 = new EngineWorker();
    const w2 = new EngineWorker();
    try {
      const [r1, r2] = await Promise.all([w1.ready, w2.ready]);
      assert.notEqual(r1.threadId, r2.threadId);
      assert.equal(r1.torchVersion, torch.buildInfo().torchVersion);
      const n = 64;
      const jobs = [0, 1, 2, 3].map((k) => ({ a: randomMatrix(n, 10 + k), b: randomMatrix(n, 20 + k) }));
      // Two jobs per worker, all in flight at the same time.
      const results = await Promise.all(jobs.map((j, k) => (k % 2 === 0 ? w1 : w2).request({ type: 'matmul', a: j.a, b: j.b, n }, 'result')));
      for (const [k, j] of jobs.entries()) {
        const expected = torch.tidy(() => torch.tensor(j.a, { shape: [n, n] }).matmul(torch.tensor(j.b, { shape: [n, n] })).toFlatArray());
        const got = (results[k] as { data: Float32Array }).data;
        assert.ok(got instanceof Float32Array);
        assertClose(Array.from(got), expected, { atol: 1e-5, rtol: 1e-5, msg: `job ${k}` });
      }
    } finally {
      await Promise.all([w1.terminate(), w2.terminate()]);
    }
  });

  test('the main event loop keeps ticking while a worker runs a long computation', async () => {
    const w = new EngineWorker();
    try {
      await w.ready;
      const ticks: number[] = [];
      const timer = setInterval(() => ticks.push(performance.now()), 10);
      const t0 = performance.now();
      const done = await w.request({ type: 'busy', ms: 1000 }, 'done');
      const elapsed = performance.now() - t0;
      clearInterval(timer);
      assert.ok(done.iterations > 5, `the worker computed (${done.iterations} iterations)`);
      assert.ok(done.ms >= 1000 && elapsed >= 1000);
      // A blocked loop would tick 0 times during the computation; a free one about 100 times.
      assert.ok(ticks.length >= 20, `only ${ticks.length} ticks in ${elapsed.toFixed(0)} ms`);
      const gaps = ticks.slice(1).map((t, i) => t - (ticks[i] as number));
      assert.ok(Math.max(...gaps) < 500, `longest pause of the main loop: ${Math.max(...gaps).toFixed(0)} ms`);
    } finally {
      await w.terminate();
    }
  });

  test('tensors a worker leaves alive are freed when it exits; a new worker loads the addon again', async () => {
    const before = torch.memory().liveTensors; // process-wide count
    const w = new EngineWorker();
    await w.ready;
    const held = await w.request({ type: 'hold', count: 50 }, 'held');
    assert.equal(held.count, 50);
    assert.ok(torch.memory().liveTensors >= before + 50);
    await w.terminate();
    assert.equal(torch.memory().liveTensors, before, 'the worker\'s tensors were released with its environment');
    const again = new EngineWorker();
    try {
      await again.ready;
      const n = 2;
      const r = await again.request({ type: 'matmul', a: new Float32Array([1, 2, 3, 4]), b: new Float32Array([1, 0, 0, 1]), n }, 'result');
      assert.deepEqual(Array.from(r.data), [1, 2, 3, 4]);
    } finally {
      await again.terminate();
    }
  });
});
