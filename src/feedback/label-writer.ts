// Group commit for label submissions. Requests that arrive together (in the same turn of the event
// loop) are written in one transaction — one fsync with synchronous=FULL — each inside its own
// savepoint, so a bad submission fails alone. Every promise settles only after that transaction
// committed: a label is acknowledged only once it is on disk, and under load the cost of the fsync
// is shared instead of queueing one per request.
import { StudioError } from './errors.js';
import type { Store, SubmitResult } from './store.js';
import type { Task } from './types.js';

interface Job {
  task: Task;
  userId: number;
  body: unknown;
  /** Runs in the same transaction right after the label is written (the server hands out the next item here). */
  then: ((r: SubmitResult) => unknown) | undefined;
  resolve: (r: { result: SubmitResult; then: unknown }) => void;
  reject: (e: unknown) => void;
}

export class CommitError extends StudioError {
  override name = 'CommitError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, 'commit_failed', message, options);
  }
}

export class LabelWriter {
  private queue: Job[] = [];
  private scheduled = false;
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /**
   * Resolves once the label is committed (or was already stored under the same idempotency key).
   * `then`, when given, runs inside the same transaction after the label is written; its result
   * comes back with the label (and is committed with it).
   */
  submit<T = undefined>(task: Task, userId: number, body: unknown, then?: (r: SubmitResult) => T): Promise<{ result: SubmitResult; then: T }> {
    return new Promise((resolve, reject) => {
      this.queue.push({ task, userId, body, then, resolve: resolve as Job['resolve'], reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    const results: ({ ok: true; value: { result: SubmitResult; then: unknown } } | { ok: false; error: unknown })[] = [];
    try {
      this.store.db.transaction(() => {
        for (const j of jobs) {
          try {
            // A nested transaction (a savepoint): the label and whatever `then` writes stand or fall together.
            const value = this.store.db.transaction(() => {
              const result = this.store.submitLabel(j.task, j.userId, j.body);
              return { result, then: j.then?.(result) };
            })();
            results.push({ ok: true, value });
          } catch (error) {
            results.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (err) {
      const e = new CommitError(`The label could not be saved (${(err as Error).message}); nothing was stored. Send it again with the same idempotency key.`, { cause: err });
      for (const j of jobs) j.reject(e);
      return;
    }
    jobs.forEach((j, i) => {
      const r = results[i]!;
      if (r.ok) j.resolve(r.value);
      else j.reject(r.error);
    });
  }
}
