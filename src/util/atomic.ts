/**
 * Atomic file writes: a reader (or a process that starts after a crash) sees either the old file or the
 * complete new one, never a half-written file.
 *
 * How: write everything to `<path>.tmp-<pid>-<random>` in the same directory (same filesystem, so the rename
 * below cannot turn into a copy), fsync the temp file so its bytes are on disk, rename it over the target
 * (rename(2) replaces the directory entry atomically on POSIX), then fsync the directory so the rename itself
 * survives a power cut (best effort: not every platform can fsync a directory). On any error the temp file is
 * removed and the target is untouched.
 *
 * What it cannot do: after SIGKILL or a power cut mid-write the temp file stays behind (the target is still
 * intact); `removeStaleTempFiles` cleans those up. A symlink at the target is replaced by the new file, not
 * followed.
 */
import { open, rename, unlink, readdir } from 'node:fs/promises';
import { openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';

/** What can be written: bytes, text (written as UTF-8), or a sequence of chunks written one after another. */
export type AtomicData =
  | Uint8Array
  | string
  | Iterable<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>;

/** The synchronous writer takes no async iterables. */
export type AtomicDataSync = Uint8Array | string | Iterable<Uint8Array | string>;

export interface AtomicWriteOptions {
  /** Permission bits of the new file (before the umask). Default 0o666, like `fs.writeFile`. */
  mode?: number;
}

/** A write that failed; the target file, if it existed, is unchanged. `cause` holds the underlying error. */
export class AtomicWriteError extends Error {
  override name = 'AtomicWriteError';
  /** The target path. */
  readonly path: string;
  /** The errno code of the underlying error (`ENOSPC`, `ENOENT`, …) when it has one. */
  readonly code: string | undefined;

  constructor(path: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`could not write ${path}: ${detail}`, { cause });
    this.path = path;
    this.code = errnoCode(cause);
  }
}

// Chunks larger than this are written in several calls (write(2) moves at most ~2 GiB at once on Linux).
const MAX_WRITE_BYTES = 1 << 30;
// `<target>.tmp-<pid>-<12 hex digits>`: what tempPathFor makes and removeStaleTempFiles recognises.
const TEMP_SUFFIX = /\.tmp-(\d+)-[0-9a-f]{12}$/;

/** Writes `data` to `path` atomically (see the top of this file). */
export async function atomicWriteFile(path: string, data: AtomicData, options: AtomicWriteOptions = {}): Promise<void> {
  await atomicWriteFiles([{ path, data }], options);
}

/**
 * Writes several files: all temp files first (each fsynced), then the renames one right after another, so the
 * window in which some targets are new and others old is as short as the renames. Each file on its own is atomic;
 * the set is not (a crash between two renames leaves a mix), so a reader of a multi-file set must check that
 * the files belong together (the safetensors shard writer stamps them with a shared id).
 */
export async function atomicWriteFiles(
  files: ReadonlyArray<{ path: string; data: AtomicData }>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const written: Array<{ temp: string; path: string }> = [];
  let current = files[0]?.path ?? '';
  try {
    for (const { path, data } of files) {
      current = path;
      written.push({ temp: await writeTemp(path, data, options), path });
    }
    while (written.length > 0) {
      const { temp, path } = written[0]!;
      current = path;
      await rename(temp, path);
      untrackTemp(temp);
      written.shift();
    }
  } catch (err) {
    await Promise.all(written.map(({ temp }) => unlink(temp).catch(() => undefined)));
    for (const { temp } of written) untrackTemp(temp);
    throw new AtomicWriteError(current, err);
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await fsyncDir(dir);
}

/** Synchronous `atomicWriteFile`, for callers that cannot await (exit handlers, synchronous engines). */
export function atomicWriteFileSync(path: string, data: AtomicDataSync, options: AtomicWriteOptions = {}): void {
  const temp = tempPathFor(path);
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', options.mode ?? 0o666);
    for (const chunk of chunksOfSync(data)) {
      const bytes = toBytes(chunk);
      for (let off = 0; off < bytes.byteLength; ) {
        const n = writeSync(fd, bytes, off, Math.min(bytes.byteLength - off, MAX_WRITE_BYTES));
        if (n <= 0) throw new Error('write made no progress');
        off += n;
      }
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      unlinkSync(temp);
    } catch {
      // the temp file may not exist (open failed) or is already renamed
    }
    throw new AtomicWriteError(path, err);
  }
  fsyncDirSync(dirname(path));
}

/** Writes `value` as pretty JSON (2-space indent, trailing newline), atomically. */
export async function atomicWriteJson(path: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  await atomicWriteFile(path, toJsonText(path, value), options);
}

/** Synchronous `atomicWriteJson`. */
export function atomicWriteJsonSync(path: string, value: unknown, options: AtomicWriteOptions = {}): void {
  atomicWriteFileSync(path, toJsonText(path, value), options);
}

/**
 * Removes temp files that a killed writer left in `dir`: names `<x>.tmp-<pid>-<hex>` whose process is no longer
 * running on this machine. `only(target)` narrows it to temp files of some targets (the name without the
 * suffix). Returns the removed paths. On a directory shared between machines a live writer on another machine
 * has a pid that means nothing here, so only call this where one machine writes.
 */
export async function removeStaleTempFiles(dir: string, only?: (target: string) => boolean): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_SUFFIX.exec(name);
    if (!m) continue;
    if (only && !only(name.slice(0, m.index))) continue;
    if (isProcessAlive(Number(m[1]))) continue;
    try {
      await unlink(join(dir, name));
      removed.push(join(dir, name));
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------------------

function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Writes `data` to a fresh temp file beside `path`, fsyncs and closes it; returns the temp path. */
async function writeTemp(path: string, data: AtomicData, options: AtomicWriteOptions): Promise<string> {
  const temp = tempPathFor(path);
  let fh: FileHandle | undefined;
  trackTemp(temp);
  try {
    fh = await open(temp, 'wx', options.mode ?? 0o666);
    for await (const chunk of chunksOf(data)) await writeAll(fh, toBytes(chunk));
    await fh.sync();
    await fh.close();
    fh = undefined;
    return temp;
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    untrackTemp(temp);
    throw err;
  }
}

// Ctrl-C during an asynchronous write: the temp files being written are removed before the process
// dies, so an interrupted save leaves no `*.tmp-*` beside its target (the target itself is intact:
// the old file or the new one). The handlers are installed only while a temp file exists — the event
// loop is turning then (the write is awaited), so they run at once; during synchronous work Node's
// default (die at once) stays. They act alone only when nothing else listens for the signal (a
// server with a shutdown handler keeps it): then they re-raise it, so the exit status is the signal's.
const inFlight = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const temp of inFlight) {
    try {
      rmSync(temp, { recursive: true, force: true });
    } catch {
      // not created yet, or already renamed
    }
  }
  inFlight.clear();
  for (const s of SIGNALS) process.off(s, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/**
 * Removes `path` — a temporary file or directory being filled, to be renamed into place — when
 * SIGINT, SIGTERM or SIGHUP arrives before the returned function is called (see above).
 */
export function removeOnSignal(path: string): () => void {
  trackTemp(path);
  return () => untrackTemp(path);
}

function trackTemp(temp: string): void {
  inFlight.add(temp);
  if (inFlight.size === 1) for (const s of SIGNALS) process.on(s, onSignal);
}

function untrackTemp(temp: string): void {
  if (!inFlight.delete(temp) || inFlight.size > 0) return;
  for (const s of SIGNALS) process.off(s, onSignal);
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.byteLength; ) {
    const { bytesWritten } = await fh.write(bytes, off, Math.min(bytes.byteLength - off, MAX_WRITE_BYTES));
    if (bytesWritten <= 0) throw new Error('write made no progress');
    off += bytesWritten;
  }
}

// A Uint8Array is itself iterable (over numbers), so test for it before treating `data` as a chunk sequence.
function chunksOf(data: AtomicData): Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string> {
  return typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
}

function chunksOfSync(data: AtomicDataSync): Iterable<Uint8Array | string> {
  return typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
}

function toBytes(chunk: Uint8Array | string): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(`chunks must be Uint8Array or string, got ${typeof chunk}`);
}

function toJsonText(path: string, value: unknown): string {
  const text = JSON.stringify(value, null, 2) as string | undefined;
  if (text === undefined) throw new AtomicWriteError(path, new TypeError(`${typeof value} cannot be written as JSON`));
  return `${text}\n`;
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort: some platforms (Windows) and filesystems cannot fsync a directory
  }
}

function fsyncDirSync(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // best effort, as above
  }
}

function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM'; // exists, owned by someone else
  }
}

function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

