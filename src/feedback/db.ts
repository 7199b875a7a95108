// Opens the studio's SQLite database and brings its schema up to date.
//
// Durability: WAL journal with synchronous=FULL, so a transaction's commit returns only after the
// WAL has been fsync'ed. The server answers 200 to a label only after its transaction committed,
// so an acknowledged label survives a killed process *and* a power cut. (WAL with NORMAL would
// survive SIGKILL too, but could lose the last commits on power loss.) On this project's machine
// a FULL commit costs about 0.2 ms; on a laptop SSD 1–3 ms — far below what labelling needs.
import Database from 'better-sqlite3';
import type { Database as DB } from 'better-sqlite3';
import { makeDirs } from '../util/dirs.js';
import { join } from 'node:path';
import { StudioError } from './errors.js';

export type { DB };

const MIGRATIONS: string[] = [
  // 1: the first schema.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'annotator')),
    token_hash BLOB NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('pairwise', 'rating', 'ranking', 'edit')),
    title TEXT NOT NULL,
    instructions TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ready', 'generating', 'failed')),
    error TEXT,
    open_items INTEGER NOT NULL DEFAULT 0, -- items with fewer than perItem labels, kept in step by the store
    created_at INTEGER NOT NULL
  );
  CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    external_id TEXT,
    prompt TEXT NOT NULL,
    meta TEXT NOT NULL,
    label_count INTEGER NOT NULL DEFAULT 0,
    filled INTEGER NOT NULL DEFAULT 0, -- label_count >= the task's perItem
    created_at INTEGER NOT NULL,
    UNIQUE (task_id, position)
  );
  CREATE INDEX items_open ON items (task_id, filled, position);
  CREATE TABLE responses (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    model TEXT,
    UNIQUE (item_id, idx)
  );
  CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    shown TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'done', 'skipped', 'expired')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (item_id, user_id)
  );
  CREATE INDEX assignments_by_user ON assignments (task_id, user_id, state);
  CREATE INDEX assignments_open ON assignments (item_id, state, expires_at);
  CREATE TABLE labels (
    id INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    value TEXT NOT NULL,
    shown TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    duration_ms INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (item_id, user_id),
    UNIQUE (user_id, idempotency_key)
  );
  CREATE INDEX labels_by_task ON labels (task_id, item_id);
  CREATE INDEX labels_by_user ON labels (user_id, created_at);
  `,
];

export class StoreOpenError extends StudioError {
  override name = 'StoreOpenError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(500, 'store_open', message, options);
  }
}

/** The database file inside a studio directory. */
export function databasePath(dir: string): string {
  return join(dir, 'studio.db');
}

/** Opens (creating if needed) `DIR/studio.db` in WAL mode with synchronous=FULL and migrates it. */
export function openDatabase(dir: string): DB {
  let db: DB;
  makeDirs(dir, '--dir'); // a real reason when it cannot be made (read-only, /proc, permissions)
  try {
    db = new Database(databasePath(dir));
  } catch (err) {
    throw new StoreOpenError(`cannot open the studio store in ${dir}: ${(err as Error).message}. Check that the directory is writable, or pass another --dir.`, { cause: err });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Another process (the CLI importing while the server runs) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new StoreOpenError(`${databasePath(dir)} was written by a newer rlhf (schema ${version}, this one knows ${MIGRATIONS.length}); upgrade rlhf.`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return db;
}
