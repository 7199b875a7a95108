// Shared helpers for the data tests: fixture files in a temp dir, and assertions on DataError.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { DataError } from '../../src/data/index.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-data-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes a fixture file (string or bytes) and returns its path. */
export function fixture(name: string, content: string | Uint8Array): string {
  const p = join(root, name);
  writeFileSync(p, content);
  return p;
}

/** Asserts fn throws a DataError whose message contains every fragment; returns it. */
export function throwsData(fn: () => unknown, ...fragments: string[]): DataError {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
  return caught;
}
