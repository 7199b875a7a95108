/**
 * The metrics every trainer logs: one JSON line per step in `<outDir>/metrics.jsonl`, and the same scalars as
 * TensorBoard events in `<outDir>`.
 *
 * metrics.jsonl: `{"step":12,"time":"2025-01-01T12:00:00.000Z","loss":0.69,"lr":1e-5}` per line, appended with one
 * `appendFileSync` per step, so a killed run loses at most the line being written (a torn last line, which
 * `readMetrics` skips). JSON has no NaN or Infinity, so those are written as the strings "NaN", "Infinity" and
 * "-Infinity", which `readMetrics` turns back into numbers.
 *
 * Resuming from the checkpoint at step k: `truncateAfter(k)` drops the lines with step > k (they came from the
 * part of the killed run that is about to be redone) and tells TensorBoard to drop its points past k too.
 */
import { appendFileSync, closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFileSync } from '../../util/atomic.js';
import { TensorBoardWriter } from './tensorboard.js';

export interface MetricsLoggerOptions {
  /** Also write TensorBoard event files into outDir. Default true. */
  tensorboard?: boolean;
  /** Clock in milliseconds since the epoch, for the `time` field and TensorBoard's wall_time. Default Date.now. */
  now?: () => number;
}

/** One line of metrics.jsonl. */
export interface MetricsRow {
  step: number;
  /** When the line was written, ISO 8601. */
  time: string;
  /** Everything else on the line. */
  metrics: Record<string, number>;
}

/** A line of metrics.jsonl that is not a metrics row (and is not a torn last line). */
export class MetricsFileError extends Error {
  override name = 'MetricsFileError';
}

const RESERVED = new Set(['step', 'time']);

/** Writes metrics.jsonl and TensorBoard events under one directory. */
export class MetricsLogger {
  /** Path of metrics.jsonl. */
  readonly file: string;
  private readonly tb: TensorBoardWriter | null;
  private readonly now: () => number;

  constructor(outDir: string, { tensorboard = true, now = Date.now }: MetricsLoggerOptions = {}) {
    mkdirSync(outDir, { recursive: true });
    this.file = join(outDir, 'metrics.jsonl');
    this.now = now;
    this.tb = tensorboard ? new TensorBoardWriter(outDir, { now }) : null;
    if (existsSync(this.file)) repairTornTail(this.file);
  }

  /** Appends one line for `step` and the same scalars to TensorBoard. */
  log(step: number, metrics: Record<string, number>): void {
    if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`metrics step must be an integer >= 0, got ${step}`);
    for (const key of Object.keys(metrics)) {
      if (RESERVED.has(key)) throw new Error(`metric name "${key}" is reserved in metrics.jsonl; rename it (e.g. "train/${key}")`);
    }
    const t = this.now();
    const row: Record<string, number | string> = { step, time: new Date(t).toISOString() };
    for (const [key, value] of Object.entries(metrics)) row[key] = Number.isFinite(value) ? value : String(value);
    appendFileSync(this.file, JSON.stringify(row) + '\n');
    this.tb?.addScalars(metrics, step, t / 1000);
  }

  /**
   * Drops every line with step > `step` (and a torn last line), for a run resumed from the checkpoint at `step`.
   * The file is rewritten atomically. TensorBoard gets a session start at step + 1, on which it drops the points
   * it already read at steps > `step`.
   */
  truncateAfter(step: number): void {
    if (existsSync(this.file)) {
      const kept = parseLines(readFileSync(this.file, 'utf8'), this.file)
        .filter((r) => r.row.step <= step)
        .map((r) => r.line + '\n');
      atomicWriteFileSync(this.file, kept.join(''));
    }
    this.tb?.addSessionStart(step + 1);
    this.tb?.flush();
  }

  /** Writes what TensorBoard holds in memory (metrics.jsonl is always on disk). */
  flush(): void {
    this.tb?.flush();
  }

  close(): void {
    this.tb?.close();
  }
}

/** The rows of a metrics.jsonl, in file order; a torn last line (a run killed mid-write) is skipped. */
export function readMetrics(file: string): MetricsRow[] {
  return parseLines(readFileSync(file, 'utf8'), file).map((r) => r.row);
}

/**
 * Makes a file left by a killed run end with a newline, so the next append starts a line of its own: a last line
 * cut off mid-row is removed, one that is a whole row and only lacks its newline gets it.
 */
function repairTornTail(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 1 << 20));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const lastNewline = tail.lastIndexOf(0x0a);
    if (lastNewline === tail.length - 1 || tail.length === 0) return;
    if (lastNewline === -1 && tail.length < size) throw new MetricsFileError(`${file}: last line is over 1 MiB long; not a metrics log?`);
    const torn = tail.subarray(lastNewline + 1).toString('utf8');
    try {
      parseRow(torn, file, 0);
      appendFileSync(fd, '\n');
    } catch {
      ftruncateSync(fd, size - tail.length + lastNewline + 1);
    }
  } finally {
    closeSync(fd);
  }
}

function parseLines(text: string, file: string): Array<{ line: string; row: MetricsRow }> {
  const lines = text.split('\n');
  // A file written whole ends with '\n'; anything after the last one is a line cut off by a kill.
  const torn = lines.pop() ?? '';
  const out: Array<{ line: string; row: MetricsRow }> = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    out.push({ line, row: parseRow(line, file, i + 1) });
  });
  if (torn.trim() !== '') {
    // A complete row that only lacks its newline is kept; a cut-off one is not.
    try {
      out.push({ line: torn, row: parseRow(torn, file, lines.length + 1) });
    } catch {
      // torn: skipped
    }
  }
  return out;
}

function parseRow(line: string, file: string, lineNo: number): MetricsRow {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new MetricsFileError(`${file}:${lineNo}: not a JSON line: ${line.slice(0, 80)}`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MetricsFileError(`${file}:${lineNo}: expected a JSON object, got ${line.slice(0, 80)}`);
  }
  const { step, time, ...rest } = value as Record<string, unknown>;
  if (typeof step !== 'number' || !Number.isInteger(step)) throw new MetricsFileError(`${file}:${lineNo}: "step" is missing or not an integer`);
  if (typeof time !== 'string') throw new MetricsFileError(`${file}:${lineNo}: "time" is missing or not a string`);
  const metrics: Record<string, number> = {};
  for (const [key, v] of Object.entries(rest)) {
    if (typeof v === 'number') metrics[key] = v;
    else if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') metrics[key] = Number(v);
    else throw new MetricsFileError(`${file}:${lineNo}: metric "${key}" is not a number: ${JSON.stringify(v)}`);
  }
  return { step, time, metrics };
}
