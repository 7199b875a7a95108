// Checkpoint load benchmark: a GPT-2-small-shaped model directory (124M parameters, 498 MB of F32,
// written by `rlhf init`), loaded with loadPretrained. Prints the time to read the weight bytes
// alone (the same reads, no tensors), the whole load, and the load's cost beyond the read; and, for
// PyTorch, the same file read straight into preallocated torch tensors (readinto: the fastest
// one-copy load PyTorch eager can do without mmap), all in one run.
//   node --import tsx bench/model-load.ts [--json] [--dir DIR] [--iters N]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../src/torch/index.js';
import { readSafetensorsHeader } from '../src/torch/safetensors.js';
import { main } from '../src/cli/index.js';
import { loadPretrained } from '../src/models/index.js';
import { torchPython, report, type BenchRow } from './common.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const dir = arg('--dir', join(tmpdir(), 'rlhf-bench-gpt2-small'));
const iters = Number(arg('--iters', '5'));

if (!existsSync(join(dir, 'model.safetensors'))) {
  const code = await main(['init', '--n-layer', '12', '--n-embd', '768', '--n-head', '12', '--n-positions', '1024', '--force', '--out', dir]);
  if (code !== 0) process.exit(code);
}
const file = join(dir, 'model.safetensors');

/** Reads every tensor's bytes the way loadPretrained does (one reused buffer), without making tensors. */
async function readOnly(): Promise<void> {
  const h = await readSafetensorsHeader(file);
  const infos = [...h.tensors.values()];
  const buf = Buffer.allocUnsafe(Math.max(...infos.map((i) => i.dataOffsets[1] - i.dataOffsets[0])));
  const fh = await open(file, 'r');
  try {
    for (const { dataOffsets: [b, e] } of infos) {
      for (let off = 0; off < e - b; ) off += (await fh.read(buf, off, e - b - off, h.dataStart + b + off)).bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function median(fn: () => Promise<void>): Promise<number> {
  await fn(); // warm the page cache and the allocator
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
}

const readMs = await median(readOnly);
let params = 0;
const loadMs = await median(async () => {
  const { model } = await loadPretrained(dir, { tokenizer: false });
  params = model.numParameters();
  model.dispose();
});

let torchMs: number | null = null;
const py = torchPython();
if (py) {
  const script = `
import json, struct, sys, time, torch
path, iters = sys.argv[1], int(sys.argv[2])
DT = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
def load():
    with open(path, "rb", buffering=0) as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        out = {}
        for k, e in header.items():
            if k == "__metadata__": continue
            t = torch.empty(e["shape"], dtype=DT[e["dtype"]])
            b0, b1 = e["data_offsets"]
            f.seek(8 + n + b0)
            f.readinto(memoryview(t.view(-1).view(torch.uint8).numpy()))
            out[k] = t
        return out
load()
ts = []
for _ in range(iters):
    t0 = time.perf_counter(); sd = load(); ts.append((time.perf_counter() - t0) * 1000); del sd
ts.sort(); print(ts[len(ts) // 2])
`;
  const r = spawnSync(py, ['-c', script, file, String(iters)], { encoding: 'utf8' });
  if (r.status === 0) torchMs = Number(r.stdout.trim().split('\n').pop());
  else process.stderr.write(`PyTorch side failed: ${r.stderr}\n`);
}

const rows: BenchRow[] = [
  { name: 'load_pretrained', ours_ms: loadMs, torch_ms: torchMs, ratio: torchMs === null ? null : torchMs / loadMs, read_ms: readMs, beyond_read_ms: loadMs - readMs },
];
report('model-load', rows, { dir, params, file_mb: Math.round((await readSafetensorsHeader(file)).dataLength / 1e6), threads: torch.getNumThreads(), iters });
if (!process.argv.includes('--json')) process.stdout.write(`reading the weight bytes alone: ${readMs.toFixed(0)} ms; the load beyond that: ${(loadMs - readMs).toFixed(0)} ms\n`);
