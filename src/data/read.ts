// Reading dataset files into records: one plain object per row, each with the 1-based line where
// it starts, so every later error can point at `file:line`.
//
//   extension       layout
//   .jsonl .ndjson  one JSON object per line (blank lines ignored)
//   .json           an array of objects, or an object with exactly one array field ({"data": [...]})
//   .csv            header row, then rows; RFC 4180 quoting ("a, b", "say ""hi""", newlines inside quotes)
//   .tsv            header row, then rows split on tabs (no quoting: a field cannot hold a tab)
//   .txt            one `text` per line (blank lines ignored)
//
// Every reader strips a UTF-8 byte-order mark and accepts CRLF line ends (CRLF becomes LF, also
// inside quoted CSV fields). Bytes that are not UTF-8 are an error naming the file and line.
// CSV and TSV values are strings; the formats layer (formats.ts) converts "4.5" or "true" where it
// needs a number or a boolean.
//
// A bad row (bad JSON, wrong column count) throws a DataError, or with `skipInvalid` is skipped and
// counted. Errors about the whole file (empty, not UTF-8, a JSON file that does not parse, an
// unterminated CSV quote, unreadable, larger than maxDataFileBytes()) always throw.
//
// A file is read whole, so it can be at most as long as the longest string JavaScript holds
// (~512 MB): a larger one is refused before it is read, with the fix (split it). `-` reads stdin:
// JSON when it starts with '[', JSON lines when with '{', else one text per line (or `fileKind`).

import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { constants } from 'node:buffer';
import { extname } from 'node:path';
import { DataError } from './errors.js';
import { readFailure } from '../util/fs-errors.js';

/**
 * The largest dataset file read, in bytes: the longest string V8 can hold (a UTF-8 file decodes to
 * at most one UTF-16 unit per byte), or RLHF_MAX_DATA_BYTES when set lower.
 */
export function maxDataFileBytes(): number {
  const env = Number(process.env.RLHF_MAX_DATA_BYTES);
  return Number.isSafeInteger(env) && env > 0 ? Math.min(env, constants.MAX_STRING_LENGTH) : constants.MAX_STRING_LENGTH;
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MB` : `${n} bytes`;
}

/** One row of a file: its values by column name and the 1-based line where it starts. */
export interface DataRecord {
  line: number;
  values: Record<string, unknown>;
}

export const FILE_KINDS = ['jsonl', 'json', 'csv', 'tsv', 'txt'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

export interface ReadOptions {
  /** Rename columns before format detection: `{ new: 'old' }` (CLI: `--columns text=sentence`). */
  columns?: Readonly<Record<string, string>>;
  /** Skip malformed rows (counted in `skipped`, the first few in `skipReasons`) instead of throwing. */
  skipInvalid?: boolean;
  /** The file's layout; default from the extension. */
  fileKind?: FileKind;
  /** Read at most this many records (after skipping invalid ones). */
  limit?: number;
}

export interface ReadResult {
  file: string;
  records: DataRecord[];
  /** The column names: the header of CSV/TSV, the keys of the first record otherwise (after renaming). */
  columns: string[];
  skipped: number;
  /** The first `MAX_SKIP_REASONS` reasons, each "line N: …". */
  skipReasons: string[];
}

/** How many skip reasons a result keeps. */
export const MAX_SKIP_REASONS = 5;

/** Collects skipped rows, or throws when skipping is off. */
export class SkipLog {
  skipped = 0;
  readonly reasons: string[] = [];
  constructor(readonly skipInvalid: boolean) {}
  /** Throws `err` unless skipping is on; then records it. */
  skip(err: DataError): void {
    if (!this.skipInvalid) throw err;
    this.skipped++;
    if (this.reasons.length < MAX_SKIP_REASONS) this.reasons.push(err.line === null ? err.reason : `line ${err.line}: ${err.reason}`);
  }
  /** Records a row that is left out on purpose (not an error), e.g. a tie in a preference file. */
  drop(line: number, reason: string): void {
    this.skipped++;
    if (this.reasons.length < MAX_SKIP_REASONS) this.reasons.push(`line ${line}: ${reason}`);
  }
}

/** The layout a file's extension names, or a DataError listing the supported ones. */
export function fileKindOf(file: string): FileKind {
  const ext = extname(file).toLowerCase();
  switch (ext) {
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    case '.json':
      return 'json';
    case '.csv':
      return 'csv';
    case '.tsv':
      return 'tsv';
    case '.txt':
      return 'txt';
    default:
      throw new DataError(
        { file },
        `cannot tell the file's layout from its extension "${ext}"; use .jsonl, .json, .csv, .tsv or .txt (or pass fileKind)`,
      );
  }
}

/** Reads a dataset file into records, applying the `columns` renaming. */
export function readRecords(file: string, options: ReadOptions = {}): ReadResult {
  const kind = options.fileKind ?? (file === '-' ? null : fileKindOf(file));
  const { bytes, name } = readInputBytes(file);
  const text = decodeUtf8(bytes, name);
  return parseRecords(text, kind ?? sniffKind(text), name, options);
}

/**
 * The bytes of an input file, read with the checks every reader needs: `-` is stdin (named
 * `<stdin>`); a directory or a device is refused; a file over maxDataFileBytes() is refused by its
 * size before it is read; a pipe is read up to that size; an unreadable file says why.
 */
export function readInputBytes(file: string): { bytes: Buffer; name: string } {
  const stdin = file === '-';
  const name = stdin ? '<stdin>' : file;
  const limit = maxDataFileBytes();
  let bytes: Buffer;
  try {
    const st = stdin ? null : statSync(file);
    if (st?.isDirectory()) throw new DataError({ file }, 'is a directory, not a file');
    if (st && st.size > limit) {
      throw new DataError(
        { file },
        `is ${formatBytes(st.size)}, more than the ${formatBytes(limit)} rlhf reads from one file (it reads a file whole, as one JavaScript string); ` +
          `split it into smaller files (e.g. split -C 400m ${file} part-) and train on one at a time, or keep fewer rows`,
      );
    }
    if (st?.isCharacterDevice() || st?.isBlockDevice()) throw new DataError({ file }, 'is a device, not a file; pass a dataset file (or - for stdin)');
    // stdin, a pipe (`--data <(zcat x.jsonl.gz)`): read up to the limit, never without end
    bytes = st?.isFile() ? readFileSync(file) : readCapped(stdin ? 0 : file, limit, name);
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file; check the path' : code === 'ERR_FS_FILE_TOO_LARGE' ? `larger than the ${formatBytes(limit)} rlhf reads from one file; split it` : `cannot be read: ${readFailure(err, name)}`;
    throw new DataError({ file: name }, why, { cause: err });
  }
  if (bytes.length > limit) throw new DataError({ file: name }, `is ${formatBytes(bytes.length)}, more than the ${formatBytes(limit)} rlhf reads from one file; split it into smaller files`);
  return { bytes, name };
}

/** Reads a stream (stdin, a pipe) to its end, refusing it once it passes `limit` bytes. */
function readCapped(src: string | 0, limit: number, name: string): Buffer {
  const fd = src === 0 ? 0 : openSync(src, 'r');
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 20);
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); // a non-blocking pipe with nothing yet
          continue;
        }
        if ((err as NodeJS.ErrnoException).code === 'EOF') break;
        throw err;
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw new DataError({ file: name }, `holds more than the ${formatBytes(limit)} rlhf reads from one input; split it into smaller files`);
      chunks.push(chunk.subarray(0, n));
    }
  } finally {
    if (fd !== 0) closeSync(fd);
  }
  return Buffer.concat(chunks, total);
}

/** The layout of stdin: a JSON array, JSON lines, or one text per line. */
function sniffKind(text: string): FileKind {
  const first = /\S/.exec(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)?.[0];
  return first === '[' ? 'json' : first === '{' ? 'jsonl' : 'txt';
}

/** Parses text already in memory (`file` is only used in messages). */
export function parseRecords(text: string, kind: FileKind, file: string, options: ReadOptions = {}): ReadResult {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.replace(/\r\n/g, '\n');
  if (text.trim() === '') throw new DataError({ file }, 'the file is empty; it needs at least one record');
  const log = new SkipLog(options.skipInvalid ?? false);
  const limit = options.limit ?? Infinity;
  let parsed: { records: DataRecord[]; header: string[] | null };
  switch (kind) {
    case 'jsonl':
      parsed = { records: readJsonl(text, file, log, limit), header: null };
      break;
    case 'json':
      parsed = { records: readJson(text, file, log, limit), header: null };
      break;
    case 'csv':
      parsed = readDelimited(parseCsvRows(text, file), file, log, limit, 'csv');
      break;
    case 'tsv':
      parsed = readDelimited(splitTsvRows(text), file, log, limit, 'tsv');
      break;
    case 'txt':
      parsed = { records: readTxt(text, limit), header: null };
      break;
  }
  let { records } = parsed;
  if (records.length === 0) {
    const why = parsed.header !== null ? 'has a header row but no data rows' : 'has no valid records';
    throw new DataError({ file }, `the file ${why}${log.skipped > 0 ? ` (${log.skipped} skipped: ${log.reasons.join('; ')})` : ''}`);
  }
  let columns = parsed.header ?? Object.keys(records[0]!.values);
  if (options.columns !== undefined && Object.keys(options.columns).length > 0) {
    const mapping = options.columns;
    for (const [to, from] of Object.entries(mapping)) {
      if (!columns.includes(from)) {
        throw new DataError(
          { file, line: records[0]!.line, field: from },
          `--columns ${to}=${from}: there is no column "${from}"; the columns are ${columns.join(', ')}`,
        );
      }
    }
    records = records.map((r) => ({ line: r.line, values: renameColumns(r.values, mapping) }));
    columns = renameList(columns, mapping);
  }
  return { file, records, columns, skipped: log.skipped, skipReasons: log.reasons };
}

/**
 * Parses the CLI's `--columns new=old,new2=old2` into `{ new: 'old', new2: 'old2' }`.
 * Column names cannot contain "," or "=".
 */
export function parseColumnsFlag(flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of flag.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const to = eq < 0 ? '' : part.slice(0, eq).trim();
    const from = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (to === '' || from === '' || from.includes('=')) {
      throw new DataError({ file: '' }, `--columns: "${part}" is not new=old; write e.g. --columns text=sentence,label=label`);
    }
    if (to in out) throw new DataError({ file: '' }, `--columns: "${to}" is mapped twice; map each column once`);
    out[to] = from;
  }
  return out;
}

/** Applies a `{ new: 'old' }` mapping to one row (all renames at once, so a swap works). */
export function renameColumns(values: Record<string, unknown>, mapping: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const renamed = new Set(Object.values(mapping));
  for (const [k, v] of Object.entries(values)) if (!renamed.has(k)) out[k] = v;
  for (const [to, from] of Object.entries(mapping)) if (from in values) out[to] = values[from];
  return out;
}

function renameList(columns: string[], mapping: Readonly<Record<string, string>>): string[] {
  const renamed = new Set(Object.values(mapping));
  const kept = columns.filter((c) => !renamed.has(c) && !(c in mapping));
  return [...kept, ...Object.keys(mapping)];
}

// ----- UTF-8 -------------------------------------------------------------------------------------

/** Decodes UTF-8 strictly; on a bad byte, names the line and column where it is. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < at; k++) {
      if (bytes[k] === 0x0a) {
        line++;
        lineStart = k + 1;
      }
    }
    const byte = bytes[at] ?? 0;
    throw new DataError(
      { file, line },
      `not valid UTF-8 (byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} at byte ${at - lineStart + 1} of the line); ` +
        're-save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 in.csv > out.csv`',
      { cause: err },
    );
  }
}

/** The offset of the first byte that starts an invalid UTF-8 sequence (RFC 3629, as TextDecoder checks). */
function firstInvalidUtf8(b: Uint8Array): number {
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => k < b.length && b[k]! >= lo && b[k]! <= hi;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) i += 1;
    else if (c >= 0xc2 && c <= 0xdf && cont(i + 1)) i += 2;
    else if (c === 0xe0 && cont(i + 1, 0xa0) && cont(i + 2)) i += 3;
    else if (((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) && cont(i + 1) && cont(i + 2)) i += 3;
    else if (c === 0xed && cont(i + 1, 0x80, 0x9f) && cont(i + 2)) i += 3;
    else if (c === 0xf0 && cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3)) i += 4;
    else if (c >= 0xf1 && c <= 0xf3 && cont(i + 1) && cont(i + 2) && cont(i + 3)) i += 4;
    else if (c === 0xf4 && cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3)) i += 4;
    else return i;
  }
  return b.length;
}

// ----- JSONL -------------------------------------------------------------------------------------

function readJsonl(text: string, file: string, log: SkipLog, limit: number): DataRecord[] {
  const records: DataRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && records.length < limit; i++) {
    const src = lines[i]!;
    if (src.trim() === '') continue;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(src);
    } catch (err) {
      log.skip(new DataError({ file, line }, `not valid JSON (${(err as Error).message}); each line of a .jsonl file must be one JSON object`, { cause: err }));
      continue;
    }
    if (!isRecord(value)) {
      log.skip(new DataError({ file, line }, `expected a JSON object ({"column": value, …}), got ${describeJson(value)}`));
      continue;
    }
    records.push({ line, values: value });
  }
  return records;
}

// ----- JSON --------------------------------------------------------------------------------------

function readJson(text: string, file: string, log: SkipLog, limit: number): DataRecord[] {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    throw new DataError({ file, line: jsonErrorLine(text, message) }, `not valid JSON (${message.replace(/\r?\n/g, '\\n')}); fix the file, or use .jsonl for one object per line`, {
      cause: err,
    });
  }
  let items: unknown[];
  let nested: boolean;
  if (Array.isArray(root)) {
    items = root;
    nested = false;
  } else if (isRecord(root)) {
    const arrays = Object.keys(root).filter((k) => Array.isArray(root[k]));
    if (arrays.length !== 1) {
      const fields = Object.keys(root).map((k) => `${k} (${describeJson(root[k])})`).join(', ');
      throw new DataError(
        { file },
        `a .json dataset must be an array of objects, or an object with exactly one array field; found ${arrays.length} array fields among: ${fields || 'none'}`,
      );
    }
    items = root[arrays[0]!] as unknown[];
    nested = true;
  } else {
    throw new DataError({ file }, `a .json dataset must be an array of objects, got ${describeJson(root)}`);
  }
  const lines = jsonElementLines(text, nested);
  const records: DataRecord[] = [];
  for (let i = 0; i < items.length && records.length < limit; i++) {
    const line = lines.length === items.length ? lines[i]! : 1;
    const value = items[i];
    if (!isRecord(value)) {
      log.skip(new DataError({ file, line }, `element ${i} of the array must be an object ({"column": value, …}), got ${describeJson(value)}`));
      continue;
    }
    records.push({ line, values: value });
  }
  return records;
}

/**
 * The line where each element of the dataset array starts: the root array (`nested` false) or the
 * one array-valued field of the root object (`nested` true). A scan over brackets and strings.
 */
function jsonElementLines(text: string, nested: boolean): number[] {
  const targetDepth = nested ? 2 : 1;
  const lines: number[] = [];
  let depth = 0;
  let line = 1;
  let inString = false;
  let escaped = false;
  let expecting = false;
  let inTarget = false; // inside the target array, at its own depth
  const stack: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (expecting && c !== ' ' && c !== '\n' && c !== '\t' && c !== '\r') {
      if (c !== ']') lines.push(line);
      expecting = false;
    }
    switch (c) {
      case '"':
        inString = true;
        break;
      case '[':
      case '{':
        stack.push(c);
        depth++;
        if (c === '[' && depth === targetDepth && (!nested || stack[0] === '{')) {
          inTarget = true;
          expecting = true;
        }
        break;
      case ']':
      case '}':
        if (inTarget && depth === targetDepth) inTarget = false;
        stack.pop();
        depth--;
        break;
      case ',':
        if (inTarget && depth === targetDepth) expecting = true;
        break;
    }
  }
  return lines;
}

/** The line of a JSON.parse error, from "at position N" or "(line L column C)" in its message. */
function jsonErrorLine(text: string, message: string): number | null {
  const lc = /line (\d+) column \d+/.exec(message);
  if (lc) return Number(lc[1]);
  const pos = /position (\d+)/.exec(message);
  if (pos) return lineAt(text, Number(pos[1]));
  // V8: `Unexpected token '}', ..." {"text": }\n]" is not valid JSON` — a snippet around the token
  const snip = /^Unexpected token '(.)', (?:\.\.\.)?"([\s\S]+?)"(?:\.\.\.)? is not valid JSON$/.exec(message);
  if (snip) {
    const at = text.indexOf(snip[2] as string);
    if (at >= 0 && text.indexOf(snip[2] as string, at + 1) < 0) return lineAt(text, at + (snip[2] as string).lastIndexOf(snip[1] as string));
  }
  if (/end of (JSON|data) input/i.test(message)) return lineAt(text, text.length);
  return null;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

// ----- CSV and TSV -------------------------------------------------------------------------------

interface RawRow {
  line: number;
  fields: string[];
}

/** RFC 4180: "," separates, "…" quotes (doubled "" inside), quoted fields may hold newlines. */
function parseCsvRows(text: string, file: string): RawRow[] {
  const rows: RawRow[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    // one record
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        const quoteLine = line;
        i++;
        for (;;) {
          if (i >= n) {
            throw new DataError({ file, line: quoteLine }, 'a quoted field is never closed; close it with " (and write a quote inside a quoted field as "")');
          }
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n') {
          throw new DataError(
            { file, line },
            `unexpected ${JSON.stringify(text[i])} after a closing quote; a quote inside a quoted field must be doubled ("")`,
          );
        }
      } else {
        const stop = nextDelimiter(text, i);
        field = text.slice(i, stop);
        i = stop;
      }
      fields.push(field);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    // at '\n' or the end
    if (i < n) {
      i++;
      line++;
    }
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: start, fields });
  }
  return rows;
}

function nextDelimiter(text: string, from: number): number {
  for (let j = from; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 44 /* , */ || c === 10 /* \n */) return j;
  }
  return text.length;
}

function splitTsvRows(text: string): RawRow[] {
  const rows: RawRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    rows.push({ line: i + 1, fields: lines[i]!.split('\t') });
  }
  return rows;
}

function readDelimited(rows: RawRow[], file: string, log: SkipLog, limit: number, kind: 'csv' | 'tsv'): { records: DataRecord[]; header: string[] } {
  const head = rows[0]!;
  const header = head.fields.map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((h, k) => {
    if (h === '') throw new DataError({ file, line: head.line }, `column ${k + 1} of the header row has no name; every column needs one`);
    if (seen.has(h)) throw new DataError({ file, line: head.line, field: h }, `the header names column "${h}" twice; rename one of them`);
    seen.add(h);
  });
  const records: DataRecord[] = [];
  for (let r = 1; r < rows.length && records.length < limit; r++) {
    const { line, fields } = rows[r]!;
    if (fields.length !== header.length) {
      const fix = kind === 'csv' ? 'quote fields that contain commas or newlines ("a, b")' : 'a .tsv field cannot contain a tab; replace tabs inside fields';
      log.skip(new DataError({ file, line }, `expected ${header.length} columns (${header.join(', ')}), found ${fields.length}; ${fix}`));
      continue;
    }
    const values: Record<string, unknown> = {};
    header.forEach((h, k) => (values[h] = fields[k]));
    records.push({ line, values });
  }
  return { records, header };
}

// ----- TXT ---------------------------------------------------------------------------------------

function readTxt(text: string, limit: number): DataRecord[] {
  const records: DataRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && records.length < limit; i++) {
    if (lines[i]!.trim() === '') continue;
    records.push({ line: i + 1, values: { text: lines[i]! } });
  }
  return records;
}

// ----- helpers -----------------------------------------------------------------------------------

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** "a string", "an array", "null", … for messages. */
export function describeJson(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  switch (typeof x) {
    case 'string':
      return `a string (${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)})`;
    case 'number':
      return `a number (${x})`;
    case 'boolean':
      return `a boolean (${x})`;
    case 'object':
      return 'an object';
    default:
      return typeof x;
  }
}
