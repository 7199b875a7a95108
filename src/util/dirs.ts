/**
 * Output directories: created with an error that says why when they cannot be, and taken back when
 * the command that created them fails before writing anything into them.
 *
 * Node's recursive mkdir (`mkdir(dir, { recursive: true })`, sync or async) loops forever when
 * mkdir(2) answers ENOENT under a parent that exists — what /proc and /sys do — and reports ENOENT
 * on a read-only filesystem. makeDirs walks up to the nearest existing ancestor instead, checks it,
 * and creates the missing directories one at a time, so every failure names its real cause: a file
 * in the way, a read-only filesystem, a permission, a special filesystem, a full disk.
 *
 * The topmost directory each call created is remembered; removeEmptyCreatedDirs() (the CLI calls
 * it when a command fails) deletes those that still hold no file, so `rlhf sft --out new/` that
 * fails on a bad --model leaves no empty `new/` behind. Directories with files are kept: a run that
 * wrote checkpoints before failing can be resumed.
 */
import { accessSync, constants, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** A directory that cannot be created or written into; the message says why and what to do. */
export class OutputDirError extends Error {
  override name = 'OutputDirError';
}

// The topmost directory each makeDirs call created, in order; entries become null once handled.
const created: (string | null)[] = [];

function errno(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? 'EUNKNOWN';
}

/** Why a directory cannot be written, from an errno code, with the fix. */
function why(code: string, where: string): string {
  switch (code) {
    case 'EROFS':
      return `${where} is on a read-only filesystem; choose a directory on a writable disk (under your home directory or /tmp)`;
    case 'EACCES':
    case 'EPERM': {
      const st = statSync(where, { throwIfNoEntry: false });
      const owner = st ? ` (mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}${process.getuid ? `; you are uid ${process.getuid()}` : ''})` : '';
      return `no permission to write in ${where}${owner}; choose another directory or change its permissions`;
    }
    case 'ENOSPC':
      return `no space left on the device holding ${where}; free some space or choose another disk`;
    case 'EDQUOT':
      return `the disk quota for ${where} is used up; free some space or choose another disk`;
    case 'ENOENT':
      return `${where} does not allow new directories (a special filesystem such as /proc or /sys); choose a directory on a regular disk`;
    default:
      return `${where} refused it (${code}); choose another directory`;
  }
}

/**
 * Creates `dir` and any missing parents, like `mkdir -p`, and checks that it is a writable
 * directory. `label` names it in errors (a flag such as '--out'). Returns the topmost directory it
 * created, or null when `dir` already existed.
 */
export function makeDirs(dir: string, label?: string): string | null {
  const target = resolve(dir);
  const name = label ? `${label} ${dir}` : dir;
  const fail = (detail: string, cause?: unknown): never => {
    throw new OutputDirError(`cannot create ${name}: ${detail}`, cause === undefined ? undefined : { cause });
  };
  const missing: string[] = [];
  let p = target;
  for (;;) {
    let st;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch (err) {
      if (errno(err) !== 'ENOTDIR') return fail(why(errno(err), dirname(p)), err); // EACCES: a parent we cannot search
      st = undefined; // a file further up the path: found as the nearest "existing ancestor" below
    }
    if (st) {
      if (!st.isDirectory()) fail(`${p} is a file, not a directory`);
      break;
    }
    missing.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
  } catch (err) {
    if (missing.length === 0) throw new OutputDirError(`cannot write into ${name}: ${why(errno(err), p)}`, { cause: err });
    fail(why(errno(err), p), err);
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (err) {
      if (errno(err) === 'EEXIST' && statSync(d, { throwIfNoEntry: false })?.isDirectory()) continue; // made by someone else meanwhile
      fail(why(errno(err), dirname(d)), err);
    }
  }
  const top = missing[0] ?? null;
  if (top !== null) created.push(top);
  return top;
}

/** Whether `dir` holds no file at any depth (only empty directories, or nothing). */
function holdsNoFile(dir: string): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.every((e) => e.isDirectory() && holdsNoFile(join(dir, e.name)));
}

function removeEmptyTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) removeEmptyTree(join(dir, e.name));
  rmdirSync(dir);
}

/** A point in time for removeEmptyCreatedDirs(since): directories made after it. */
export function createdDirsMark(): number {
  return created.length;
}

/**
 * Removes the directories makeDirs created in this process (after `since`, a createdDirsMark())
 * that still hold no file — the CLI calls this when a command fails. Returns those removed.
 */
export function removeEmptyCreatedDirs(since = 0): string[] {
  const removed: string[] = [];
  for (let i = created.length - 1; i >= since; i--) {
    const d = created[i];
    if (d === null || d === undefined) continue;
    created[i] = null;
    try {
      if (statSync(d, { throwIfNoEntry: false })?.isDirectory() && holdsNoFile(d)) {
        removeEmptyTree(d);
        removed.push(d);
      }
    } catch {
      // best effort: a directory we cannot inspect or remove stays
    }
  }
  return removed;
}
