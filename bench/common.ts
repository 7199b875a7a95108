// Shared by the benchmarks: timing, finding PyTorch, printing.
import { spawnSync } from 'node:child_process';

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

export interface BenchRow {
  name: string;
  ours_ms: number;
  torch_ms: number | null;
  /** torch_ms / ours_ms: above 1 we are faster. */
  ratio: number | null;
  [extra: string]: unknown;
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
