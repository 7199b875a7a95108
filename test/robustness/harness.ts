// Runs one `rlhf` command line as a child process the way a user's shell would, and judges it: exit
// code, stderr naming the file/line/field and a fix, no stack trace, no hang (a time limit per case),
// bounded memory (peak RSS, measured in the child), no partial output left behind.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NOBODY } from './corpus.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE = fileURLToPath(new URL('./rss-probe.mjs', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * How to start `rlhf`: bin/rlhf.js, as a user does, when it would run code as new as the sources —
 * it prefers a compiled dist/, which a checkout may hold from an earlier build — else the sources
 * through tsx.
 */
export function rlhfEntry(): string[] {
  const dist = join(ROOT, 'dist', 'cli', 'index.js');
  const fresh = !existsSync(dist) || statSync(dist).mtimeMs >= newestMtime(join(ROOT, 'src'));
  return fresh ? [join(ROOT, 'bin/rlhf.js')] : ['--import', 'tsx', fileURLToPath(new URL('./fixtures/rlhf-entry.ts', import.meta.url))];
}
const ENTRY = rlhfEntry();

export interface CliCase {
  /** Unique within the suite; shown in failures. */
  id: string;
  /** The row of the outcome table. */
  group: string;
  /** Arguments after `rlhf`. */
  argv: string[];
  /** Exit code, or 'SIGINT' for a run interrupted on purpose (killed by it, or exit code 130). */
  expect: 0 | 2 | 'SIGINT';
  /** Each must match stderr: the file, line, field, flag, and the fix. */
  stderr?: RegExp[];
  /** Must match stdout. */
  stdout?: RegExp;
  /** Written to stdin (else stdin is empty). */
  stdin?: string | Buffer;
  /** Run as uid/gid 65534 (permission cases under root). */
  asNobody?: boolean;
  /** Close our end of stdout: at once (before the child writes), or after its first bytes (`| head -c`). */
  closeStdout?: 'at-once' | 'after-first-bytes';
  /** Send SIGINT once stdout + stderr match this (and interruptDelayMs more have passed). */
  interruptWhen?: RegExp;
  interruptDelayMs?: number;
  /** Default 60 s: long enough for a loaded 2-core machine, short for a hang. */
  timeoutMs?: number;
  /** Peak RSS limit (MB); default 1024. */
  maxRssMb?: number;
  /** The case's output path: after a failure it must not exist when it did not before; never a *.tmp-* in it. */
  out?: string;
  /** A command prefix (e.g. unshare to mount a read-only filesystem first). */
  wrap?: string[];
  /** Why the case cannot run here; it is counted as skipped, with the reason. */
  skip?: string | null;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  rssMb: number | null;
  timedOut: boolean;
  outExistedBefore: boolean;
}

/** Runs the case's command line; never throws. */
export function runCli(c: CliCase, rssFile: string): Promise<CliRun> {
  const outExistedBefore = c.out !== undefined && existsSync(c.out);
  const node = [process.execPath, '--import', PROBE, ...ENTRY, ...c.argv];
  const [cmd, ...args] = [...(c.wrap ?? []), ...node] as [string, ...string[]];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RLHF_RSS_FILE: rssFile,
    RLHF_NUM_THREADS: '1', // many cases at once on few cores
    HF_HUB_OFFLINE: '1', // never the network
    RLHF_DEBUG: '',
    NODE_OPTIONS: '',
    FORCE_COLOR: '0',
  };
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'], ...(c.asNobody ? { uid: NOBODY, gid: NOBODY } : {}) });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, c.timeoutMs ?? 60_000);
    const maybeInterrupt = (): void => {
      if (!interrupted && c.interruptWhen && c.interruptWhen.test(stdout + stderr)) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), c.interruptDelayMs ?? 0);
      }
    };
    if (c.closeStdout === 'at-once') child.stdout.destroy();
    else {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
        if (c.closeStdout === 'after-first-bytes') child.stdout.destroy();
        maybeInterrupt();
      });
    }
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      maybeInterrupt();
    });
    child.stdin.on('error', () => undefined); // a child that exits before reading its stdin
    child.stdin.end(c.stdin ?? '');
    child.on('error', (err) => {
      stderr += `\n[harness] could not start: ${err.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let rssMb: number | null = null;
      try {
        rssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
      } catch {
        // killed by a signal: no exit handler ran
      }
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, rssMb, timedOut, outExistedBefore });
    });
  });
}

/** A stack trace in stderr: `    at fn (file:line:col)` lines, or Node's uncaught-error banner. */
export function hasStackTrace(stderr: string): boolean {
  return /^\s+at .+:\d+:\d+\)?\s*$/m.test(stderr) || /^node:internal|^\s*\^\s*$|Node\.js v\d+/m.test(stderr);
}

function tempFilesUnder(dir: string, depth = 0): string[] {
  if (depth > 6) return [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const p = join(dir, n);
    if (/\.tmp-\d+-[0-9a-f]{12}$/.test(n) || /^\.tmp-step-\d+-\d+$/.test(n)) out.push(p); // atomic writes, checkpoint saves
    else if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) out.push(...tempFilesUnder(p, depth + 1));
  }
  return out;
}

/** What is wrong with a run, as sentences; empty when it behaved. */
export function judge(c: CliCase, r: CliRun): string[] {
  const problems: string[] = [];
  const cmd = c.argv[0] ?? '';
  if (r.timedOut) return [`hung: killed after ${((c.timeoutMs ?? 60_000) / 1000).toFixed(0)} s`];
  if (c.expect === 'SIGINT') {
    if (!(r.signal === 'SIGINT' || r.code === 130)) problems.push(`expected to end by SIGINT, got code ${r.code} signal ${r.signal}`);
  } else if (r.code !== c.expect) problems.push(`exit code ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}, expected ${c.expect}`);
  if (hasStackTrace(r.stderr)) problems.push('stderr holds a stack trace');
  if (r.stderr.includes('RLHF_UNDISPOSED_TENSORS')) problems.push('the command dropped tensors without dispose() or tidy() (RLHF_UNDISPOSED_TENSORS)');
  if (c.expect === 2) {
    const lines = r.stderr.split('\n').filter((l) => l.startsWith(`rlhf ${cmd}: `));
    if (lines.length !== 1) problems.push(`expected one 'rlhf ${cmd}: …' error line, found ${lines.length}`);
  }
  for (const re of c.stderr ?? []) if (!re.test(r.stderr)) problems.push(`stderr does not match ${re}`);
  if (c.stdout && !c.stdout.test(r.stdout)) problems.push(`stdout does not match ${c.stdout}`);
  const limit = c.maxRssMb ?? 1024;
  if (r.rssMb !== null && r.rssMb > limit) problems.push(`peak RSS ${r.rssMb.toFixed(0)} MB over the ${limit} MB limit`);
  if (c.out !== undefined) {
    if (c.expect !== 0 && !r.outExistedBefore && existsSync(c.out) && !holdsFile(c.out)) problems.push(`left an empty ${c.out} behind`);
    const temps = tempFilesUnder(c.out);
    if (temps.length) problems.push(`left partial files: ${temps.join(', ')}`);
  }
  return problems;
}

function holdsFile(dir: string): boolean {
  try {
    return readdirSync(dir, { withFileTypes: true }).some((e) => !e.isDirectory() || holdsFile(join(dir, e.name)));
  } catch {
    return true;
  }
}

/** Runs fn over items with at most `limit` at a time, in order of the items. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The outcome table: one row per group, columns passed / failed / skipped, and the total. */
export function outcomeTable(rows: readonly { group: string; outcome: 'passed' | 'failed' | 'skipped' }[]): string {
  const groups = [...new Set(rows.map((r) => r.group))];
  const count = (g: string | null, o: string): number => rows.filter((r) => (g === null || r.group === g) && r.outcome === o).length;
  const body = [...groups.map((g) => [g, count(g, 'passed'), count(g, 'failed'), count(g, 'skipped')] as const), ['total', count(null, 'passed'), count(null, 'failed'), count(null, 'skipped')] as const];
  const w = Math.max(...body.map((r) => r[0].length), 5);
  const line = (a: string, b: string, c: string, d: string): string => `${a.padEnd(w)}  ${b.padStart(6)}  ${c.padStart(6)}  ${d.padStart(7)}`;
  return [line('group', 'passed', 'failed', 'skipped'), line('-'.repeat(w), '------', '------', '-------'), ...body.map((r) => line(r[0], String(r[1]), String(r[2]), String(r[3])))].join('\n');
}
