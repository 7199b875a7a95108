// Shared by the benchmarks: timing, finding PyTorch, talking to its server, peak RSS, flags, printing.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GPT2_DEFAULTS, type GPT2Config } from '../src/models/gpt2.js';

/** Median wall time of fn over iters runs, after warmup runs. */
export function medianMs(fn: () => void, iters: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** A python that imports torch (Debian's python3-torch lives under /usr/bin/python3), or null. */
export function torchPython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/** `--flag VALUE`'s value, or null. */
export function flagValue(flag: string): string | null {
  const i = process.argv.indexOf(flag);
  return i > 0 ? (process.argv[i + 1] ?? null) : null;
}

/** The cases `--case NAME` picks (all without it; an unknown name throws). */
export function selectCases<C>(all: Record<string, C>): Record<string, C> {
  const only = flagValue('--case');
  if (only && !all[only]) throw new Error(`--case ${only}: one of ${Object.keys(all).join(', ')}`);
  return only ? { [only]: all[only] as C } : all;
}

/** A GPT-2's shape, in config.json's names (the PyTorch scripts read the same fields). */
export interface Gpt2Shape {
  n_layer: number;
  n_embd: number;
  n_head: number;
  vocab_size: number;
  n_positions: number;
}

/** GPT-2 small's shape, or with --tiny a 2-layer, 64-wide, 4-head model with V = 512. */
export const gpt2Shape = (tiny: boolean): Gpt2Shape =>
  tiny ? { n_layer: 2, n_embd: 64, n_head: 4, vocab_size: 512, n_positions: 64 } : { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024 };

/** The config of a GPT-2 of that shape with dropout 0, every other field GPT-2 small's. */
export const gpt2Config = (s: Gpt2Shape): GPT2Config => ({
  ...GPT2_DEFAULTS, n_layer: s.n_layer, n_embd: s.n_embd, n_head: s.n_head, vocab_size: s.vocab_size, n_positions: s.n_positions, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0,
});

/** The wall time of fn in ms, and what it returned as the loss. */
export function timed(fn: () => number): { ms: number; loss: number } {
  const t0 = performance.now();
  const loss = fn();
  return { ms: performance.now() - t0, loss };
}

/** The one with the smallest ms (the first of equals); { ms: Infinity, loss: NaN } for none. */
export const fastest = (xs: readonly { ms: number; loss: number }[]): { ms: number; loss: number } =>
  xs.reduce((a, b) => (b.ms < a.ms ? b : a), { ms: Infinity, loss: NaN });

/**
 * The alternating-rounds driver: one warm-up run of each side (`warm` true), then `rounds` rounds of
 * ours then PyTorch's, so both see the same machine load. Returns each side's runs in order (torch
 * null without a server).
 */
export async function alternate<O, T>(rounds: number, ours: (warm: boolean) => O, theirs: ((warm: boolean) => Promise<T>) | null): Promise<{ ours: O[]; torch: T[] | null }> {
  ours(true);
  if (theirs) await theirs(true);
  const o: O[] = [];
  const t: T[] | null = theirs ? [] : null;
  for (let i = 0; i < rounds; i++) {
    o.push(ours(false));
    if (theirs) t?.push(await theirs(false));
  }
  return { ours: o, torch: t };
}

/** The common fields of a row timed on both sides (torch null: no PyTorch); `tokens` per run gives the tokens/s. */
export function timedRow(name: string, oursMs: number, torchMs: number | null, tokens: number): BenchRow & { ours_tokens_per_s: number; torch_tokens_per_s: number | null } {
  return {
    name,
    ours_ms: oursMs,
    torch_ms: torchMs,
    ratio: torchMs === null ? null : torchMs / oursMs,
    ours_tokens_per_s: (tokens / oursMs) * 1000,
    torch_tokens_per_s: torchMs === null ? null : (tokens / torchMs) * 1000,
  };
}

// ---- the PyTorch side ---------------------------------------------------------------------------------

/** A bench's PyTorch script, run as `PY SCRIPT THREADS CONFIG-JSON [--serve | --rss CASE]`. */
export interface TorchScript {
  py: string;
  script: string;
  /** THREADS and CONFIG-JSON. */
  args: string[];
}

/** The script next to the bench (`new URL('./torch_x.py', import.meta.url)`) with its config, or null (with a notice on stderr) without PyTorch. */
export function torchScript(script: URL, threads: number, cfg: unknown): TorchScript | null {
  const py = torchPython();
  if (!py) {
    process.stderr.write("PyTorch not found: reporting ours only. To compare, install Debian's python3-torch (sudo apt-get install python3-torch), which /usr/bin/python3 imports.\n");
    return null;
  }
  return { py, script: fileURLToPath(script), args: [String(threads), JSON.stringify(cfg)] };
}

/** The PyTorch script with `--serve`: one JSON request per line in, one JSON answer per line out. */
export class TorchServer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly err: () => string) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }
  /** Starts it and waits for its ready line; null (with its stderr) if it failed. */
  static async start(t: TorchScript | null): Promise<TorchServer | null> {
    if (!t) return null;
    const child = spawn(t.py, [t.script, ...t.args, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const server = new TorchServer(child, () => err);
    const hello = await server.lines.next();
    if (hello.done) {
      process.stderr.write(`PyTorch side failed to start: ${err}\n`);
      return null;
    }
    return server;
  }
  /** Sends one request ({ case: NAME, … }) and returns the answer. */
  async request<R>(req: { case: string; [k: string]: unknown }): Promise<R> {
    this.child.stdin.write(JSON.stringify(req) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error(`PyTorch side exited during ${req.case}: ${this.err()}`);
    return JSON.parse(r.value) as R;
  }
  close(): void {
    this.child.stdin.end();
  }
}

/**
 * The training benches' measurement loop: starts the PyTorch server (none without PyTorch or if it
 * fails), then case by case builds ours, lets `measure` time it against the server (its rows are
 * kept) and disposes it; closes the server. `loads` (see loadMeter) started once the server is up.
 */
export async function measureCases<C, O extends { dispose(): void }>(
  t: TorchScript | null,
  cases: Record<string, C>,
  build: (c: C) => O,
  measure: (ours: O, server: TorchServer | null, name: string, c: C) => Promise<BenchRow[]>,
): Promise<{ rows: BenchRow[]; torchRan: boolean; loads: () => [number, number] }> {
  const server = await TorchServer.start(t);
  const loads = loadMeter();
  const rows: BenchRow[] = [];
  try {
    for (const [name, c] of Object.entries(cases)) {
      const ours = build(c);
      try {
        rows.push(...(await measure(ours, server, name, c)));
      } finally {
        ours.dispose();
      }
    }
  } finally {
    server?.close();
  }
  return { rows, torchRan: server !== null, loads };
}

// ---- peak memory --------------------------------------------------------------------------------------

/** VmRSS (now) or VmHWM (peak) of this process in MB, from /proc/self/status. */
export const rssMb = (field: 'VmRSS' | 'VmHWM'): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;

/**
 * `--rss CASE`: this process is the child that measures our peak RSS; runs `run(CASE)`, prints one
 * line { base_rss_mb, peak_rss_mb } and exits. baseRssMb: VmRSS taken at the bench's start (node +
 * libtorch loaded, nothing built yet). Does nothing without --rss.
 */
export function rssChild(baseRssMb: number, run: (name: string) => void): void {
  const name = flagValue('--rss');
  if (!name) return;
  run(name);
  // VmHWM, not resourceUsage().maxRSS: Linux carries ru_maxrss over exec from the process that
  // spawned us (the bench, holding its models), while VmHWM belongs to our own address space.
  process.stdout.write(JSON.stringify({ base_rss_mb: baseRssMb, peak_rss_mb: rssMb('VmHWM') }) + '\n');
  process.exit(0);
}

/** Peak and base RSS (MB) of a fresh process running a case (its last stdout line), or null if it failed. */
function childRss(cmd: string, args: string[]): { base_rss_mb: number; peak_rss_mb: number } | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) {
    process.stderr.write(`RSS child ${cmd} ${args.slice(0, 2).join(' ')} … failed: ${r.stderr}\n`);
    return null;
  }
  return JSON.parse(line) as { base_rss_mb: number; peak_rss_mb: number };
}

/**
 * Adds { ours_peak_rss_mb, ours_base_rss_mb, torch_peak_rss_mb, torch_base_rss_mb } to the row, each
 * side measured in a fresh process running the case: the bench (`benchUrl`, its import.meta.url) with
 * `--rss CASE` and `extraArgs`, the PyTorch script with `--rss CASE`. Run it after the timing, so it
 * does not disturb it.
 */
export function addPeakRss(row: BenchRow, name: string, benchUrl: string, extraArgs: string[], t: TorchScript | null): void {
  const mine = childRss(process.execPath, [...process.execArgv, fileURLToPath(benchUrl), '--rss', name, ...extraArgs]);
  const theirs = t ? childRss(t.py, [t.script, ...t.args, '--rss', name]) : null;
  Object.assign(row, {
    ours_peak_rss_mb: mine?.peak_rss_mb ?? null,
    ours_base_rss_mb: mine?.base_rss_mb ?? null,
    torch_peak_rss_mb: theirs?.peak_rss_mb ?? null,
    torch_base_rss_mb: theirs?.base_rss_mb ?? null,
  });
}

/** The 1-minute load average now; call the function it returns at the end: it prints before/after on stderr (with --json) and returns both. */
export function loadMeter(): () => [number, number] {
  const load0 = loadavg()[0] as number;
  return () => {
    const load1 = loadavg()[0] as number;
    if (process.argv.includes('--json')) process.stderr.write(`load average (1 min) before/after: ${load0.toFixed(2)} / ${load1.toFixed(2)} on ${availableParallelism()} CPUs\n`);
    return [load0, load1];
  };
}

export interface BenchRow {
  name: string;
  ours_ms: number;
  torch_ms: number | null;
  /** torch_ms / ours_ms: above 1 we are faster. */
  ratio: number | null;
  [extra: string]: unknown;
}

// ---- RL iteration benches (ppo.ts, grpo.ts): one iteration timed phase by phase -------------------

/** The phases of one online RL iteration, in order; `total` is the whole iteration. */
export const RL_PHASES = ['generation', 'scoring', 'logprobs', 'advantages', 'training', 'total'] as const;
export type RLPhase = (typeof RL_PHASES)[number];
export type PhaseMs = Record<RLPhase, number>;
/** Where generation's time went on our side (generate()'s timings). */
export interface GenSplit { castMs: number; prefillMs: number; decodeMs: number }

const fastestPhases = (xs: readonly PhaseMs[]): PhaseMs => Object.fromEntries(RL_PHASES.map((p) => [p, Math.min(...xs.map((x) => x[p]))])) as PhaseMs;

/**
 * One row per phase for a case: each side's fastest round per phase (as every bench here: the
 * minimum over rounds), ratio torch/ours. The generation row carries our cast/prefill/decode split
 * and `newTokens`; the total row episodes/s for `episodes` and whatever `totalExtra` adds.
 */
export function phaseRows(
  name: string,
  ours: readonly (PhaseMs & { gen: GenSplit })[],
  torch: readonly PhaseMs[] | null,
  o: { newTokens: number; episodes: number; totalExtra: Record<string, unknown> },
): BenchRow[] {
  const oms = fastestPhases(ours);
  const t = torch?.length ? fastestPhases(torch) : null;
  const gen = { castMs: Math.min(...ours.map((x) => x.gen.castMs)), prefillMs: Math.min(...ours.map((x) => x.gen.prefillMs)), decodeMs: Math.min(...ours.map((x) => x.gen.decodeMs)) };
  return RL_PHASES.map((phase) => {
    const row: BenchRow = { name: `${name}/${phase}`, case: name, phase, ours_ms: oms[phase], torch_ms: t ? t[phase] : null, ratio: t ? t[phase] / oms[phase] : null };
    if (phase === 'generation') Object.assign(row, { ours_cast_ms: gen.castMs, ours_prefill_ms: gen.prefillMs, ours_decode_ms: gen.decodeMs, new_tokens: o.newTokens });
    if (phase === 'total') {
      Object.assign(row, { ours_episodes_per_s: (o.episodes / oms.total) * 1000, torch_episodes_per_s: t ? (o.episodes / t.total) * 1000 : null, ...o.totalExtra });
    }
    return row;
  });
}

/** Prints JSON lines with --json, else a table; always ends with one summary JSON object on --json. */
export function report(bench: string, rows: BenchRow[], meta: Record<string, unknown>): void {
  const round = (x: unknown): unknown => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : x);
  if (process.argv.includes('--json')) {
    for (const r of rows) process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries({ bench, ...r }).map(([k, v]) => [k, round(v)]))) + '\n');
    return;
  }
  process.stdout.write(`${bench} benchmark  ${JSON.stringify(meta)}\n`);
  process.stdout.write(`${'case'.padEnd(16)}${'ours ms'.padStart(12)}${'torch ms'.padStart(12)}${'ratio'.padStart(9)}\n`);
  for (const r of rows) {
    const t = r.torch_ms === null ? '–' : r.torch_ms.toFixed(2);
    const q = r.ratio === null ? '–' : r.ratio.toFixed(3);
    process.stdout.write(`${r.name.padEnd(16)}${r.ours_ms.toFixed(2).padStart(12)}${t.padStart(12)}${q.padStart(9)}\n`);
  }
  if (rows.some((r) => r.torch_ms === null)) process.stdout.write('(PyTorch not found: install Debian\'s python3-torch to compare)\n');
}
