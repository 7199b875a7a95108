// Reads items for a task from JSONL text: one JSON object per line, blank lines ignored.
// Every line is checked before anything is stored; the error lists each bad line by number and
// field (e.g. `items.jsonl line 17: missing "prompt" (expected string)`).
import { readFileSync } from 'node:fs';
import { ImportError, InvalidInputError, StudioError } from './errors.js';
import type { ImportedItem } from './schemas.js';
import { normalizeImportLine } from './schemas.js';
import type { TaskKind } from './types.js';

/** Parses JSONL text for a task kind; throws ImportError listing every bad line. */
export function parseItemsJsonl(text: string, kind: TaskKind, source = 'input'): ImportedItem[] {
  const items: ImportedItem[] = [];
  const bad: { line: number; message: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      bad.push({ line: i + 1, message: `not valid JSON (${(err as Error).message}); each line must be one JSON object` });
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      bad.push({ line: i + 1, message: 'expected a JSON object like {"prompt": "..."}' });
      continue;
    }
    try {
      items.push(normalizeImportLine(raw, kind));
    } catch (err) {
      if (!(err instanceof InvalidInputError)) throw err;
      bad.push({ line: i + 1, message: err.issues.map((x) => x.message).join('; ') || err.message });
    }
  }
  if (bad.length) throw new ImportError(source, bad);
  if (items.length === 0) throw new ImportError(source, [{ line: 1, message: 'the file has no items (it is empty or only blank lines)' }]);
  return items;
}

export class ImportFileError extends StudioError {
  override name = 'ImportFileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, 'import_file', message, options);
  }
}

/** Reads and parses a JSONL file from disk. */
export function readItemsFile(path: string, kind: TaskKind): ImportedItem[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ImportFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  return parseItemsJsonl(text, kind, path);
}

/** Reads a prompt file for live generation: JSONL with {"prompt": ...} per line, or plain text with one prompt per line. */
export function parsePrompts(text: string, source = 'prompts'): string[] {
  const lines = text.split(/\r?\n/);
  const nonBlank = lines.map((l, i) => [l.trim(), i + 1] as const).filter(([l]) => l !== '');
  const looksJson = nonBlank.length > 0 && nonBlank.every(([l]) => l.startsWith('{'));
  if (!looksJson) {
    const prompts = nonBlank.map(([l]) => l);
    if (prompts.length === 0) throw new ImportError(source, [{ line: 1, message: 'no prompts (the file is empty)' }]);
    return prompts;
  }
  const prompts: string[] = [];
  const bad: { line: number; message: string }[] = [];
  for (const [l, n] of nonBlank) {
    try {
      const o = JSON.parse(l) as unknown;
      const p = o !== null && typeof o === 'object' ? (o as Record<string, unknown>).prompt : undefined;
      if (typeof p !== 'string' || p.trim() === '') bad.push({ line: n, message: 'missing "prompt" (a non-empty string)' });
      else prompts.push(p);
    } catch (err) {
      bad.push({ line: n, message: `not valid JSON (${(err as Error).message})` });
    }
  }
  if (bad.length) throw new ImportError(source, bad);
  return prompts;
}
