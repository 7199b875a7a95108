// Live generation runs in a worker thread so that sampling (seconds of CPU) never blocks the
// server's request handling. The worker dynamically imports the model layer, a module exporting
//
//   loadForGeneration(dir: string): Promise<{
//     generate(prompts: string[], opts: { maxNewTokens: number; temperature: number; topP?: number; seed?: number }): Promise<string[]>;
//     dispose(): void;
//   }>
//
// (src/generation/index.ts by default; tests pass a fake module's path). When that import fails,
// starting the worker fails with GenerationUnavailableError and the rest of the studio is unaffected.
//
// This file is both sides: imported normally it exports GenerationWorker; loaded as the worker's
// entry it serves requests from the parent.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { GenerationUnavailableError, StudioError } from './errors.js';

export interface GenerateOptions {
  maxNewTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
}

export interface Generator {
  generate(prompts: string[], opts: GenerateOptions): Promise<string[]>;
  dispose(): void;
}

export type LoadForGeneration = (dir: string) => Promise<Generator>;

/** Where the model layer's `loadForGeneration` lives (as a file: URL), resolved from this file. */
export const DEFAULT_GENERATOR_MODULE = new URL('../generation/index.js', import.meta.url).href;

const WORKER_ROLE = 'rlhf-studio-generation';

type Request =
  | { id: number; op: 'load'; dir: string }
  | { id: number; op: 'generate'; dir: string; prompts: string[]; opts: GenerateOptions }
  | { id: number; op: 'dispose'; dir: string };
type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;
type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
type Hello = { id: 0; ok: true; result: 'ready' } | { id: 0; ok: false; error: string };

export class GenerationError extends StudioError {
  override name = 'GenerationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(500, 'generation_failed', message, options);
  }
}

/** A worker thread owning loaded models; requests are answered in order. */
export class GenerationWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited: Error | null = null;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new GenerationError(m.error));
    });
    const fail = (err: Error): void => {
      this.exited = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new GenerationError(`the generation worker crashed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => fail(new GenerationError(`the generation worker exited (code ${code})`)));
  }

  /**
   * Starts the worker and waits until it has imported the model layer from `modulePath`
   * (default: src/generation). Rejects with GenerationUnavailableError when that import fails.
   */
  static async start(opts: { modulePath?: string } = {}): Promise<GenerationWorker> {
    const modulePath = opts.modulePath ?? DEFAULT_GENERATOR_MODULE;
    const self = new URL(import.meta.url);
    const data = { role: WORKER_ROLE, modulePath };
    // Under tsx (running from src/*.ts) a worker does not inherit the TypeScript loader: register it first.
    const worker = self.pathname.endsWith('.ts')
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(self.href)}); })`, { eval: true, workerData: data })
      : new Worker(self, { workerData: data });
    const hello = await new Promise<Hello>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }).catch((err: unknown) => ({ id: 0 as const, ok: false as const, error: err instanceof Error ? err.message : String(err) }));
    if (!hello.ok) {
      await worker.terminate();
      throw new GenerationUnavailableError(
        `Live generation needs the model layer (loadForGeneration in ${modulePath}), which could not be loaded: ${hello.error}. ` +
          'Build or install it, or import ready-made responses from a JSONL file instead (rlhf studio import --task NAME FILE.jsonl).',
      );
    }
    return new GenerationWorker(worker);
  }

  private call(req: RequestBody): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  /** Loads a model directory (once; later calls reuse it). */
  async load(dir: string): Promise<void> {
    await this.call({ op: 'load', dir });
  }

  async generate(dir: string, prompts: string[], opts: GenerateOptions): Promise<string[]> {
    const out = (await this.call({ op: 'generate', dir, prompts, opts })) as string[];
    if (!Array.isArray(out) || out.length !== prompts.length || out.some((s) => typeof s !== 'string')) {
      throw new GenerationError(`the model in ${dir} returned ${Array.isArray(out) ? out.length : 'no'} texts for ${prompts.length} prompts`);
    }
    return out;
  }

  /** Frees every loaded model and stops the thread. */
  async close(): Promise<void> {
    if (this.exited) return;
    await this.worker.terminate();
  }
}

// ---- the worker side ----------------------------------------------------------------------------

async function serve(): Promise<void> {
  const port = parentPort!;
  const { modulePath } = workerData as { modulePath: string };
  let load: LoadForGeneration;
  try {
    const mod = (await import(modulePath)) as { loadForGeneration?: unknown };
    if (typeof mod.loadForGeneration !== 'function') throw new Error(`${modulePath} does not export a function loadForGeneration`);
    load = mod.loadForGeneration as LoadForGeneration;
  } catch (err) {
    port.postMessage({ id: 0, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Hello);
    return;
  }
  const models = new Map<string, Generator>();
  const loaded = async (dir: string): Promise<Generator> => {
    let g = models.get(dir);
    if (!g) {
      g = await load(dir);
      models.set(dir, g);
    }
    return g;
  };
  // One request at a time: the model owns the thread's compute anyway.
  let chain = Promise.resolve();
  port.on('message', (req: Request) => {
    chain = chain.then(async () => {
      try {
        let result: unknown = null;
        if (req.op === 'load') await loaded(req.dir);
        else if (req.op === 'generate') result = await (await loaded(req.dir)).generate(req.prompts, req.opts);
        else {
          models.get(req.dir)?.dispose();
          models.delete(req.dir);
        }
        port.postMessage({ id: req.id, ok: true, result } satisfies Reply);
      } catch (err) {
        port.postMessage({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Reply);
      }
    });
  });
  port.postMessage({ id: 0, ok: true, result: 'ready' } satisfies Hello);
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === WORKER_ROLE) void serve();
