// Shared fixtures for the studio tests: temp studios on random loopback ports, an API client,
// and small sample tasks of every kind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { RunningStudio, StudioOptions } from '../../src/feedback/server.js';
import { startStudio } from '../../src/feedback/server.js';

export function tempDir(prefix = 'rlhf-studio-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function testStudio(opts: Partial<StudioOptions> = {}): Promise<RunningStudio & { dir: string; stop(): Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const studio = await startStudio({ dir, port: 0, host: '127.0.0.1', ...opts });
  return {
    ...studio,
    dir,
    async stop() {
      await studio.close();
      cleanup();
    },
  };
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  /** The body parsed as JSON when it is JSON (exports: see `text`). */
  body: T;
  text: string;
  headers: Headers;
}

/** A tiny API client bound to one studio and one token. */
export function client(base: string, token: string | null) {
  const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> => {
    const h: Record<string, string> = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined && !('Content-Type' in h)) h['Content-Type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (exports are JSONL)
    }
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  };
  return {
    get: <T = Record<string, unknown>>(path: string, headers?: Record<string, string>) => call<T>('GET', path, undefined, headers),
    post: <T = Record<string, unknown>>(path: string, body: unknown, headers?: Record<string, string>) => call<T>('POST', path, body, headers),
    del: <T = Record<string, unknown>>(path: string) => call<T>('DELETE', path),
  };
}
export type Client = ReturnType<typeof client>;

export interface NextItem {
  task: { name: string; kind: string; dimensions: string[] };
  item: { id: number; prompt: string; responses: { letter: string; text: string }[] } | null;
  progress: { mine: number; remaining: number };
}

/** Gets the next item and submits `value` for it; returns the HTTP status and the item. */
export async function labelNext(c: Client, task: string, value: (item: NonNullable<NextItem['item']>) => unknown): Promise<{ status: number; item: NextItem['item']; key: string }> {
  const next = await c.get<NextItem>(`/api/tasks/${task}/next`);
  if (!next.body.item) return { status: 204, item: null, key: '' };
  const key = randomUUID();
  const r = await c.post(`/api/tasks/${task}/labels`, { itemId: next.body.item.id, idempotencyKey: key, value: value(next.body.item) });
  return { status: r.status, item: next.body.item, key };
}

export function jsonl(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

export const PAIRWISE_ITEMS = [
  { id: 'p1', prompt: 'Write a haiku about autumn.', responses: [{ text: 'Leaves drift on cold wind\nthe maple lets go its red\nsky hums in amber', model: 'sft' }, { text: 'Autumn is a season that comes after summer.', model: 'base' }] },
  { id: 'p2', prompt: 'Explain recursion to a child.', response_a: 'It is like Russian dolls: each doll holds a smaller one, until the tiniest.', response_b: 'Recursion is recursion.', model_a: 'sft', model_b: 'base' },
  { id: 'p3', prompt: 'Give me a name for a grey cat.', responses: [{ text: 'Smokey', model: 'base' }, { text: 'Earl Grey — distinguished, a little warm.', model: 'sft' }] },
];

export const RATING_ITEMS = [
  { prompt: 'Summarize: The meeting moved to Tuesday because the room was booked.', response: 'The meeting is now on Tuesday; the room was taken.', model: 'sft' },
  { prompt: 'Summarize: Rain is expected all weekend, so the picnic is cancelled.', response: 'Picnic. Rain. Weekend.', model: 'base' },
];

export const RANKING_ITEMS = [
  { prompt: 'Suggest a title for a blog post about sourdough.', responses: [{ text: 'Rise and Shine: My Sourdough Year', model: 'sft' }, { text: 'Bread', model: 'base' }, { text: 'The Slow Joy of Wild Yeast', model: 'sft' }] },
];

export const EDIT_ITEMS = [
  { prompt: 'Reply politely declining a meeting invitation.', response: 'no thanks' },
  { prompt: 'Write one sentence welcoming new contributors.' },
];
