// The studio's store: tasks, items, people, assignments and labels in one SQLite file.
//
// Assignment: an item goes to at most `perItem` (k) distinct annotators and never twice to one
// (UNIQUE(item_id, user_id) on assignments and on labels). Handing out an item reserves it for
// `leaseMinutes`; a reservation that lapses frees its slot for someone else. A label is written in
// one IMMEDIATE transaction together with its assignment and the item's counter; the method returns
// only after that transaction committed, so whoever acknowledges it (the HTTP server) never
// acknowledges a label that could be lost. Each submission carries a client-made idempotency key:
// a retry with the same key returns the label already stored instead of writing a second one.
import { createHash, randomInt } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { DB } from './db.js';
import { openDatabase } from './db.js';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js';
import { canonicalValue } from './label-values.js';
import type { ImportedItem, TaskSpec } from './schemas.js';
import { LIMITS, submissionEnvelopeSchema, parseOrThrow } from './schemas.js';
import { formatToken, hashSecret, newSecret, parseToken, secretMatches } from './tokens.js';
import type { GenerationSpec, Item, Label, LabelValue, ResponseRow, Role, Task, TaskKind, TaskStatus, User } from './types.js';

interface TaskRow { id: number; name: string; kind: TaskKind; title: string; instructions: string; config: string; status: TaskStatus; error: string | null; created_at: number }
interface ItemRow { id: number; task_id: number; position: number; external_id: string | null; prompt: string; meta: string }
interface UserRow { id: number; name: string; role: Role; token_hash: Buffer; disabled: number; created_at: number }
interface AssignmentRow { id: number; item_id: number; user_id: number; shown: string; state: string; expires_at: number }
interface LabelRow { id: number; task_id: number; item_id: number; user_id: number; value: string; shown: string; idempotency_key: string; request_hash: string; duration_ms: number | null; created_at: number }

/** An item handed to an annotator: the item and the order its responses are shown in. */
export interface Assignment {
  item: Item;
  /** shown[j] is the index of the response displayed as letter j (A, B, …). */
  shown: number[];
  expiresAt: number;
}

export interface SubmitResult {
  label: Label;
  /** True when this was a retry of a submission already stored (same idempotency key). */
  replayed: boolean;
}

export interface TaskProgress {
  items: number;
  /** Items that have their k labels. */
  complete: number;
  labels: number;
  /** Labels per annotator name. */
  byUser: { userId: number; name: string; labels: number; medianMs: number | null; lastAt: number | null }[];
}

function toTask(r: TaskRow): Task {
  return { id: r.id, name: r.name, kind: r.kind, title: r.title, instructions: r.instructions, config: JSON.parse(r.config) as Task['config'], status: r.status, error: r.error, createdAt: r.created_at };
}
function toUser(r: UserRow): User {
  return { id: r.id, name: r.name, role: r.role, disabled: r.disabled !== 0, createdAt: r.created_at };
}
function toLabel(r: LabelRow): Label {
  return { id: r.id, taskId: r.task_id, itemId: r.item_id, userId: r.user_id, value: JSON.parse(r.value) as LabelValue, shown: JSON.parse(r.shown) as number[], createdAt: r.created_at, durationMs: r.duration_ms, idempotencyKey: r.idempotency_key };
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates with a CSPRNG). */
function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export class Store {
  readonly db: DB;
  /** Clock, injectable for tests of lease expiry. */
  now: () => number = Date.now;
  private readonly statements = new Map<string, Statement>();

  constructor(db: DB) {
    this.db = db;
  }

  static open(dir: string): Store {
    return new Store(openDatabase(dir));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A prepared statement, prepared once per SQL text. */
  private sql(source: string): Statement {
    let st = this.statements.get(source);
    if (!st) this.statements.set(source, (st = this.db.prepare(source)));
    return st;
  }

  // ---- meta ------------------------------------------------------------------------------------

  getMeta(key: string): string | null {
    const r = this.sql('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.sql('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  // ---- tasks and items -------------------------------------------------------------------------

  createTask(spec: TaskSpec, opts: { status?: TaskStatus; generation?: GenerationSpec } = {}): Task {
    if (this.findTask(spec.name)) throw new ConflictError(`A task named "${spec.name}" already exists; pick another name, or import into it to add items.`);
    const config: Task['config'] = { perItem: spec.perItem, dimensions: spec.dimensions, leaseMinutes: spec.leaseMinutes };
    if (opts.generation) config.generation = opts.generation;
    const info = this.sql('INSERT INTO tasks (name, kind, title, instructions, config, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(spec.name, spec.kind, spec.title ?? spec.name, spec.instructions, JSON.stringify(config), opts.status ?? 'ready', this.now());
    return this.getTaskById(Number(info.lastInsertRowid));
  }

  findTask(name: string): Task | null {
    const r = this.sql('SELECT * FROM tasks WHERE name = ?').get(name) as TaskRow | undefined;
    return r ? toTask(r) : null;
  }

  getTask(name: string): Task {
    const t = this.findTask(name);
    if (!t) {
      const names = this.listTasks().map((x) => x.name);
      throw new NotFoundError(`No task named "${name}". ${names.length ? `Tasks: ${names.join(', ')}.` : 'There are no tasks yet; create one with `rlhf studio import`.'}`);
    }
    return t;
  }

  getTaskById(id: number): Task {
    const r = this.sql('SELECT * FROM tasks WHERE id = ?').get(id) as TaskRow | undefined;
    if (!r) throw new NotFoundError(`No task with id ${id}.`);
    return toTask(r);
  }

  listTasks(): Task[] {
    return (this.sql('SELECT * FROM tasks ORDER BY created_at, id').all() as TaskRow[]).map(toTask);
  }

  setTaskStatus(taskId: number, status: TaskStatus, error: string | null = null): void {
    this.sql('UPDATE tasks SET status = ?, error = ? WHERE id = ?').run(status, error, taskId);
  }

  deleteTask(taskId: number): void {
    this.db.transaction(() => {
      this.sql('DELETE FROM labels WHERE task_id = ?').run(taskId);
      this.sql('DELETE FROM assignments WHERE task_id = ?').run(taskId);
      this.sql('DELETE FROM responses WHERE item_id IN (SELECT id FROM items WHERE task_id = ?)').run(taskId);
      this.sql('DELETE FROM items WHERE task_id = ?').run(taskId);
      this.sql('DELETE FROM tasks WHERE id = ?').run(taskId);
    }).immediate();
  }

  /** Appends items to a task in one transaction (all or nothing); returns how many were added. */
  addItems(taskId: number, items: ImportedItem[], startPosition?: number): number {
    const insItem = this.sql('INSERT INTO items (task_id, position, external_id, prompt, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    const insResp = this.sql('INSERT INTO responses (item_id, idx, text, model) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      const count = this.itemCount(taskId);
      if (count + items.length > LIMITS.items) throw new InvalidInputError(`A task holds at most ${LIMITS.items} items; this one has ${count} and the import adds ${items.length}.`);
      let pos = startPosition ?? ((this.sql('SELECT MAX(position) AS m FROM items WHERE task_id = ?').get(taskId) as { m: number | null }).m ?? -1) + 1;
      const now = this.now();
      for (const it of items) {
        const info = insItem.run(taskId, pos++, it.externalId, it.prompt, JSON.stringify(it.meta), now);
        const itemId = Number(info.lastInsertRowid);
        it.responses.forEach((r, idx) => insResp.run(itemId, idx, r.text, r.model));
      }
      this.sql('UPDATE tasks SET open_items = open_items + ? WHERE id = ?').run(items.length, taskId);
    }).immediate();
    return items.length;
  }

  itemCount(taskId: number): number {
    return (this.sql('SELECT COUNT(*) AS n FROM items WHERE task_id = ?').get(taskId) as { n: number }).n;
  }

  /** Positions already present (a resumed generation job skips these). */
  itemPositions(taskId: number): Set<number> {
    return new Set((this.sql('SELECT position FROM items WHERE task_id = ?').all(taskId) as { position: number }[]).map((r) => r.position));
  }

  getItem(itemId: number): Item {
    const r = this.sql('SELECT id, task_id, position, external_id, prompt, meta FROM items WHERE id = ?').get(itemId) as ItemRow | undefined;
    if (!r) throw new NotFoundError(`No item with id ${itemId}.`);
    const responses = this.sql('SELECT id, idx, text, model FROM responses WHERE item_id = ? ORDER BY idx').all(itemId) as ResponseRow[];
    return { id: r.id, taskId: r.task_id, position: r.position, externalId: r.external_id, prompt: r.prompt, meta: JSON.parse(r.meta) as Record<string, unknown>, responses };
  }

  /** Every item of a task with its responses, in position order (for exports and the dashboard). */
  items(taskId: number): Item[] {
    const rows = this.sql('SELECT id, task_id, position, external_id, prompt, meta FROM items WHERE task_id = ? ORDER BY position').all(taskId) as ItemRow[];
    const resp = this.sql('SELECT r.item_id AS item_id, r.id AS id, r.idx AS idx, r.text AS text, r.model AS model FROM responses r JOIN items i ON i.id = r.item_id WHERE i.task_id = ? ORDER BY r.item_id, r.idx')
      .all(taskId) as (ResponseRow & { item_id: number })[];
    const byItem = new Map<number, ResponseRow[]>();
    for (const r of resp) {
      let list = byItem.get(r.item_id);
      if (!list) byItem.set(r.item_id, (list = []));
      list.push({ id: r.id, idx: r.idx, text: r.text, model: r.model });
    }
    return rows.map((r) => ({ id: r.id, taskId: r.task_id, position: r.position, externalId: r.external_id, prompt: r.prompt, meta: JSON.parse(r.meta) as Record<string, unknown>, responses: byItem.get(r.id) ?? [] }));
  }

  // ---- people ----------------------------------------------------------------------------------

  /** Creates a person and returns their sign-in token (shown once; only its hash is stored). */
  createUser(name: string, role: Role): { user: User; token: string } {
    const exists = this.sql('SELECT id FROM users WHERE name = ?').get(name);
    if (exists) throw new ConflictError(`Someone named "${name}" already exists; pick another name, or reset their link instead.`);
    const secret = newSecret();
    const info = this.sql('INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)').run(name, role, hashSecret(secret), this.now());
    const id = Number(info.lastInsertRowid);
    return { user: this.getUser(id), token: formatToken(id, secret) };
  }

  /** Replaces a person's token (the old link stops working) and returns the new one. */
  resetToken(userId: number): string {
    this.getUser(userId);
    const secret = newSecret();
    this.sql('UPDATE users SET token_hash = ? WHERE id = ?').run(hashSecret(secret), userId);
    return formatToken(userId, secret);
  }

  setDisabled(userId: number, disabled: boolean): void {
    this.getUser(userId);
    this.sql('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, userId);
  }

  getUser(id: number): User {
    const r = this.sql('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    if (!r) throw new NotFoundError(`No person with id ${id}.`);
    return toUser(r);
  }

  findUserByName(name: string): User | null {
    const r = this.sql('SELECT * FROM users WHERE name = ?').get(name) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  listUsers(): User[] {
    return (this.sql('SELECT * FROM users ORDER BY id').all() as UserRow[]).map(toUser);
  }

  /** The active person a token belongs to, or null. The secret is compared in constant time. */
  authenticate(token: string): User | null {
    const parsed = parseToken(token);
    if (!parsed) return null;
    const r = this.sql('SELECT * FROM users WHERE id = ?').get(parsed.userId) as UserRow | undefined;
    // Compare against a dummy digest when the id is unknown so both paths cost the same.
    const ok = secretMatches(parsed.secret, r?.token_hash ?? Buffer.alloc(32));
    return r && ok && r.disabled === 0 ? toUser(r) : null;
  }

  // ---- assignment ------------------------------------------------------------------------------

  /** The item this person should label next in a task (their open one if any), or null when none is left for them. */
  nextAssignment(task: Task, userId: number): Assignment | null {
    const k = task.config.perItem;
    const lease = task.config.leaseMinutes * 60_000;
    // A reservation is not worth an fsync: losing one to a power cut only frees the item early.
    // Commits in WAL mode with synchronous=NORMAL still survive the process being killed.
    if (this.db.inTransaction) return this.reserve(task, userId, k, lease); // part of a caller's transaction (group commit)
    this.sql('PRAGMA synchronous = NORMAL').run();
    try {
      return this.reserve(task, userId, k, lease);
    } finally {
      this.sql('PRAGMA synchronous = FULL').run();
    }
  }

  private reserve(task: Task, userId: number, k: number, lease: number): Assignment | null {
    return this.db.transaction((): Assignment | null => {
      const now = this.now();
      const open = this.sql("SELECT id, item_id, user_id, shown, state, expires_at FROM assignments WHERE task_id = ? AND user_id = ? AND state = 'open' ORDER BY id")
        .all(task.id, userId) as AssignmentRow[];
      for (const a of open) {
        if (a.expires_at <= now && this.takenSlots(a.item_id, now, userId) >= k) {
          this.sql("UPDATE assignments SET state = 'expired' WHERE id = ?").run(a.id);
          continue;
        }
        // Renew the reservation only when less than half of it is left (saves a write per reload).
        let expiresAt = a.expires_at;
        if (expiresAt - now < lease / 2) {
          expiresAt = now + lease;
          this.sql('UPDATE assignments SET expires_at = ? WHERE id = ?').run(expiresAt, a.id);
        }
        return { item: this.getItem(a.item_id), shown: JSON.parse(a.shown) as number[], expiresAt };
      }
      const next = this.sql(
          `SELECT i.id AS id FROM items i
           WHERE i.task_id = @task AND i.filled = 0
             AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.user_id = @user)
             AND i.label_count + (SELECT COUNT(*) FROM assignments a WHERE a.item_id = i.id AND a.state = 'open' AND a.expires_at > @now) < @k
           ORDER BY i.position LIMIT 1`,
        )
        .get({ task: task.id, k, user: userId, now }) as { id: number } | undefined;
      if (!next) return null;
      const item = this.getItem(next.id);
      const shown = shuffled(item.responses.length);
      const expiresAt = now + lease;
      this.sql("INSERT INTO assignments (task_id, item_id, user_id, shown, state, created_at, expires_at) VALUES (?, ?, ?, ?, 'open', ?, ?)")
        .run(task.id, item.id, userId, JSON.stringify(shown), now, expiresAt);
      return { item, shown, expiresAt };
    }).immediate();
  }

  /** Labels plus live reservations of an item by people other than `exceptUser`. */
  private takenSlots(itemId: number, now: number, exceptUser: number): number {
    const r = this.sql("SELECT (SELECT label_count FROM items WHERE id = @item) + (SELECT COUNT(*) FROM assignments WHERE item_id = @item AND user_id != @user AND state = 'open' AND expires_at > @now) AS n")
      .get({ item: itemId, user: exceptUser, now }) as { n: number };
    return r.n;
  }

  /** Gives an item back without labelling it; the person will not be offered it again. */
  skip(task: Task, itemId: number, userId: number): void {
    const info = this.sql("UPDATE assignments SET state = 'skipped' WHERE task_id = ? AND item_id = ? AND user_id = ? AND state = 'open'").run(task.id, itemId, userId);
    if (info.changes === 0) throw new ConflictError(`Item ${itemId} is not waiting for you in task "${task.name}", so there is nothing to skip.`);
  }

  /** Items this person could still be given in a task (not counting others' live reservations). */
  remainingFor(task: Task, userId: number): number {
    // Open items, less the open items this person already labelled or skipped.
    const r = this.sql(
      `SELECT (SELECT open_items FROM tasks WHERE id = @task)
            - (SELECT COUNT(*) FROM assignments a JOIN items i ON i.id = a.item_id
               WHERE a.task_id = @task AND a.user_id = @user AND a.state != 'open' AND i.filled = 0) AS n`,
    ).get({ task: task.id, user: userId }) as { n: number };
    return r.n;
  }

  // ---- labels ----------------------------------------------------------------------------------

  /**
   * Validates and stores one label in a single committed transaction. `body` is the submission
   * envelope `{ itemId, idempotencyKey, durationMs?, value }` with the value in displayed letters.
   */
  submitLabel(task: Task, userId: number, body: unknown): SubmitResult {
    const env = parseOrThrow(submissionEnvelopeSchema, body, 'Invalid submission');
    const requestHash = createHash('sha256').update(JSON.stringify([env.itemId, env.value ?? null])).digest('hex');
    return this.db.transaction((): SubmitResult => {
      const prior = this.sql('SELECT * FROM labels WHERE user_id = ? AND idempotency_key = ?').get(userId, env.idempotencyKey) as LabelRow | undefined;
      if (prior) {
        if (prior.request_hash !== requestHash) throw new ConflictError('This idempotency key was already used for a different submission; make a new key for each submission.');
        return { label: toLabel(prior), replayed: true };
      }
      const item = this.getItem(env.itemId);
      if (item.taskId !== task.id) throw new NotFoundError(`Item ${env.itemId} is not in task "${task.name}".`);
      const a = this.sql('SELECT id, item_id, user_id, shown, state, expires_at FROM assignments WHERE item_id = ? AND user_id = ?').get(item.id, userId) as AssignmentRow | undefined;
      if (!a) throw new ConflictError(`Item ${item.id} was not given to you; ask for your next item (GET /api/tasks/${task.name}/next).`);
      if (a.state === 'done') throw new ConflictError(`You already labelled item ${item.id}; each person labels an item once.`);
      const shown = JSON.parse(a.shown) as number[];
      const value = canonicalValue(task, item, shown, env.value);
      const now = this.now();
      const info = this.sql('INSERT INTO labels (task_id, item_id, user_id, value, shown, idempotency_key, request_hash, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(task.id, item.id, userId, JSON.stringify(value), a.shown, env.idempotencyKey, requestHash, env.durationMs ?? null, now);
      this.sql("UPDATE assignments SET state = 'done' WHERE id = ?").run(a.id);
      const counted = this.sql('UPDATE items SET label_count = label_count + 1, filled = (label_count + 1 >= ?) WHERE id = ? RETURNING label_count AS n').get(task.config.perItem, item.id) as { n: number };
      if (counted.n === task.config.perItem) this.sql('UPDATE tasks SET open_items = open_items - 1 WHERE id = ?').run(task.id);
      const label: Label = { id: Number(info.lastInsertRowid), taskId: task.id, itemId: item.id, userId, value, shown, createdAt: now, durationMs: env.durationMs ?? null, idempotencyKey: env.idempotencyKey };
      return { label, replayed: false };
    }).immediate();
  }

  /** Every label of a task, oldest first. */
  labels(taskId: number): Label[] {
    return (this.sql('SELECT * FROM labels WHERE task_id = ? ORDER BY id').all(taskId) as LabelRow[]).map(toLabel);
  }

  /** One person's labels (newest first), optionally in one task. */
  labelsByUser(userId: number, opts: { taskId?: number; limit?: number; offset?: number } = {}): Label[] {
    const where = opts.taskId === undefined ? 'user_id = ?' : 'user_id = ? AND task_id = ?';
    const args: number[] = opts.taskId === undefined ? [userId] : [userId, opts.taskId];
    return (this.sql(`SELECT * FROM labels WHERE ${where} ORDER BY id DESC LIMIT ? OFFSET ?`).all(...args, opts.limit ?? 50, opts.offset ?? 0) as LabelRow[]).map(toLabel);
  }

  countLabelsByUser(userId: number, taskId: number): number {
    return (this.sql('SELECT COUNT(*) AS n FROM labels WHERE user_id = ? AND task_id = ?').get(userId, taskId) as { n: number }).n;
  }

  progress(task: Task): TaskProgress {
    const totals = this.sql('SELECT COUNT(*) AS items, COALESCE(SUM(label_count >= ?), 0) AS complete, COALESCE(SUM(label_count), 0) AS labels FROM items WHERE task_id = ?')
      .get(task.config.perItem, task.id) as { items: number; complete: number; labels: number };
    const rows = this.sql('SELECT l.user_id AS user_id, u.name AS name, l.duration_ms AS d, l.created_at AS t FROM labels l JOIN users u ON u.id = l.user_id WHERE l.task_id = ? ORDER BY l.user_id')
      .all(task.id) as { user_id: number; name: string; d: number | null; t: number }[];
    const by = new Map<number, { name: string; ds: number[]; n: number; last: number }>();
    for (const r of rows) {
      let e = by.get(r.user_id);
      if (!e) by.set(r.user_id, (e = { name: r.name, ds: [], n: 0, last: 0 }));
      e.n++;
      e.last = Math.max(e.last, r.t);
      if (r.d !== null) e.ds.push(r.d);
    }
    const byUser = [...by.entries()].map(([userId, e]) => {
      e.ds.sort((a, b) => a - b);
      return { userId, name: e.name, labels: e.n, medianMs: e.ds.length ? e.ds[Math.floor((e.ds.length - 1) / 2)]! : null, lastAt: e.last || null };
    });
    byUser.sort((a, b) => b.labels - a.labels || a.name.localeCompare(b.name));
    return { ...totals, byUser };
  }
}
