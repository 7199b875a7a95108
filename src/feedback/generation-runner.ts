// Live-generation tasks: an admin gives prompts and one or two model directories; the worker
// samples responses batch by batch and each finished batch becomes items (labelable at once).
//   pairwise  two models: A vs B per prompt;   one model: 2 samples per prompt
//   ranking   each model gives `samples` responses per prompt (2–10 in all)
//   rating    one item per prompt, model and sample
//   edit      one model's response is the draft to edit
// A job that was cut short (the server stopped) resumes where it was: positions already stored are skipped.
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ConflictError, InvalidInputError, StudioError } from './errors.js';
import type { GenerateOptions } from './generation-worker.js';
import { GenerationError, GenerationWorker } from './generation-worker.js';
import type { GenerationRequest, ImportedItem } from './schemas.js';
import { LIMITS, generationRequestSchema, parseOrThrow, parseTaskSpec } from './schemas.js';
import type { Store } from './store.js';
import type { GenerationSpec, Task, TaskKind } from './types.js';

export interface GenerationProgress {
  task: string;
  done: number;
  total: number;
}

/** Items a job makes per prompt, and responses per item. */
function shape(kind: TaskKind, spec: GenerationSpec): { itemsPerPrompt: number; responsesPerItem: number } {
  const slots = spec.models.length * spec.samples;
  return kind === 'rating' ? { itemsPerPrompt: slots, responsesPerItem: 1 } : { itemsPerPrompt: 1, responsesPerItem: slots };
}

/** Checks a generation request and turns it into the spec stored with the task. */
export function resolveGenerationSpec(input: unknown): { request: GenerationRequest; spec: GenerationSpec } {
  const request = parseOrThrow(generationRequestSchema, input, 'Invalid generation request');
  const kind = request.task.kind;
  const models = request.models.map((m) => resolve(m));
  for (const m of models) {
    if (!existsSync(m) || !statSync(m).isDirectory()) throw new InvalidInputError(`Model directory ${m} does not exist; give a directory with config.json and the weights (what save_pretrained writes).`);
  }
  const defaultSamples = kind === 'pairwise' ? (models.length === 2 ? 1 : 2) : kind === 'ranking' ? (models.length === 2 ? 2 : 4) : 1;
  const samples = request.samples ?? defaultSamples;
  const spec: GenerationSpec = {
    models,
    modelNames: request.modelNames ?? models.map((m) => basename(m)),
    prompts: request.prompts,
    samples,
    maxNewTokens: request.maxNewTokens,
    temperature: request.temperature,
    seed: request.seed,
    batchSize: request.batchSize,
  };
  if (request.topP !== undefined) spec.topP = request.topP;
  if (spec.modelNames.length !== models.length) throw new InvalidInputError('Give one model name per model directory.');
  const slots = models.length * samples;
  const bad =
    kind === 'pairwise' && slots !== 2 ? 'a pairwise task needs exactly 2 responses per prompt: two models with 1 sample, or one model with --samples 2'
    : kind === 'ranking' && (slots < 2 || slots > LIMITS.rankingMax) ? `a ranking task needs 2–${LIMITS.rankingMax} responses per prompt (models × samples)`
    : kind === 'edit' && slots !== 1 ? 'an edit task takes one model and 1 sample (its response is the draft)'
    : null;
  if (bad) throw new InvalidInputError(`Invalid generation request: ${bad}.`);
  if (request.prompts.length * shape(kind, spec).itemsPerPrompt > LIMITS.items) throw new InvalidInputError(`A task holds at most ${LIMITS.items} items.`);
  return { request, spec };
}

/** Runs (or resumes) the generation of a task's items and marks the task ready; on failure the caller decides the task's status. */
export async function runGenerationJob(store: Store, task: Task, worker: GenerationWorker, onProgress?: (p: GenerationProgress) => void): Promise<void> {
  const spec = task.config.generation;
  if (!spec) throw new InvalidInputError(`Task "${task.name}" is not a live-generation task.`);
  const { itemsPerPrompt } = shape(task.kind, spec);
  const total = spec.prompts.length * itemsPerPrompt;
  try {
    for (const dir of spec.models) await worker.load(dir);
    const have = store.itemPositions(task.id);
    const todo = spec.prompts.map((p, i) => ({ p, i })).filter(({ i }) => !have.has(i * itemsPerPrompt));
    onProgress?.({ task: task.name, done: total - todo.length * itemsPerPrompt, total });
    for (let b = 0; b < todo.length; b += spec.batchSize) {
      const batch = todo.slice(b, b + spec.batchSize);
      const prompts = batch.map((x) => x.p);
      // texts[m][s][q]: model m, sample s, prompt q of the batch.
      const texts: string[][][] = [];
      for (let m = 0; m < spec.models.length; m++) {
        texts.push([]);
        for (let s = 0; s < spec.samples; s++) {
          const opts: GenerateOptions = { maxNewTokens: spec.maxNewTokens, temperature: spec.temperature, seed: spec.seed + 1_000_003 * s + batch[0]!.i };
          if (spec.topP !== undefined) opts.topP = spec.topP;
          texts[m]!.push(await worker.generate(spec.models[m]!, prompts, opts));
        }
      }
      // Items of one prompt are stored together, at positions i·itemsPerPrompt + j.
      for (let q = 0; q < batch.length; q++) {
        const slots = spec.models.flatMap((_, m) => Array.from({ length: spec.samples }, (_, s) => ({ text: texts[m]![s]![q]!, model: spec.modelNames[m]! })));
        const meta = { generated: true, temperature: spec.temperature, max_new_tokens: spec.maxNewTokens };
        const items: ImportedItem[] = task.kind === 'rating'
          ? slots.map((r) => ({ externalId: null, prompt: batch[q]!.p, responses: [r], meta }))
          : [{ externalId: null, prompt: batch[q]!.p, responses: slots, meta }];
        store.addItems(task.id, items, batch[q]!.i * itemsPerPrompt);
      }
      onProgress?.({ task: task.name, done: total - (todo.length - b - batch.length) * itemsPerPrompt, total });
    }
    store.setTaskStatus(task.id, 'ready');
  } catch (err) {
    throw err instanceof StudioError ? err : new GenerationError(`generation for task "${task.name}" failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Owns the generation worker for a server: starts it on first use, runs one job at a time, and
 * resumes jobs left 'generating' by a previous run.
 */
export class GenerationService {
  private worker: Promise<GenerationWorker> | null = null;
  private closing = false;
  private queue: Promise<void> = Promise.resolve();
  private readonly store: Store;
  private readonly modulePath: string | undefined;
  private readonly onError: (task: string, err: unknown) => void;
  /** Progress of the jobs, by task name (the dashboard reads it). */
  readonly progress = new Map<string, GenerationProgress>();

  constructor(store: Store, opts: { modulePath?: string; onError?: (task: string, err: unknown) => void } = {}) {
    this.store = store;
    this.modulePath = opts.modulePath;
    this.onError = opts.onError ?? (() => {});
  }

  private getWorker(): Promise<GenerationWorker> {
    if (!this.worker) {
      this.worker = GenerationWorker.start(this.modulePath === undefined ? {} : { modulePath: this.modulePath });
      this.worker.catch(() => {
        this.worker = null; // try again next time (the model layer may have been built since)
      });
    }
    return this.worker;
  }

  /** Validates the request, checks the model layer loads, creates the task (status 'generating') and queues its job. */
  async create(input: unknown): Promise<Task> {
    const { request, spec } = resolveGenerationSpec(input);
    const taskSpec = parseTaskSpec(request.task);
    if (this.store.findTask(taskSpec.name)) throw new ConflictError(`A task named "${taskSpec.name}" already exists; pick another name.`);
    await this.getWorker();
    const task = this.store.createTask(taskSpec, { status: 'generating', generation: spec });
    this.enqueue(task);
    return task;
  }

  /** Resumes tasks a previous run left generating (only when the model layer loads). */
  resumeAll(): void {
    for (const t of this.store.listTasks()) if (t.status === 'generating') this.enqueue(t);
  }

  private enqueue(task: Task): void {
    const spec = task.config.generation!;
    this.progress.set(task.name, { task: task.name, done: this.store.itemCount(task.id), total: spec.prompts.length * shape(task.kind, spec).itemsPerPrompt });
    this.queue = this.queue.then(async () => {
      if (this.closing) return;
      try {
        const w = await this.getWorker();
        await runGenerationJob(this.store, task, w, (p) => this.progress.set(task.name, p));
      } catch (err) {
        // A job cut short by shutdown stays 'generating' and resumes on the next start.
        if (this.closing) return;
        this.store.setTaskStatus(task.id, 'failed', err instanceof Error ? err.message : String(err));
        this.onError(task.name, err);
      }
    });
  }

  /** Resolves when every queued job has finished. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Stops the worker; a running job is left 'generating' and resumes on the next start. */
  async close(): Promise<void> {
    this.closing = true;
    const w = this.worker;
    this.worker = null;
    if (w) await (await w.catch(() => null))?.close();
    await this.queue;
  }
}
