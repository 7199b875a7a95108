// Engine benchmark: fp32 and bf16 matmul, and one GPT-2-small transformer block forward+backward
// (d=768, 12 heads, B=4, T=128, fp32 and bf16 autocast), ours vs PyTorch eager on the same shapes,
// measured in the same run. Prints one JSON line per case: { name, ours_ms, torch_ms, ratio }
// where ratio = torch_ms / ours_ms (≥ 1 means we are at least as fast).
//   npm run bench -- --json        (also: --quick for fewer iterations)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as torch from '../src/torch/index.js';
import { GPT2Block, GPT2_DEFAULTS } from '../src/models/gpt2.js';
import { medianMs, torchPython, type BenchRow, report } from './common.js';

const quick = process.argv.includes('--quick');
const cfg = { matmul_n: 1024, matmul_iters: quick ? 10 : 30, B: 4, T: 128, C: 768, nh: 12, block_iters: quick ? 5 : 15 };

function ours(): Record<string, number> {
  const out: Record<string, number> = {};
  torch.manualSeed(0);
  const n = cfg.matmul_n;
  torch.noGrad(() =>
    torch.tidy(() => {
      const a = torch.randn([n, n]), b = torch.randn([n, n]);
      out.matmul_fp32 = medianMs(() => a.matmul(b).dispose(), cfg.matmul_iters);
      const ab = a.bfloat16(), bb = b.bfloat16();
      out.matmul_bf16 = medianMs(() => ab.matmul(bb).dispose(), cfg.matmul_iters);
    }),
  );
  const block = new GPT2Block({ ...GPT2_DEFAULTS, n_embd: cfg.C, n_head: cfg.nh, resid_pdrop: 0, attn_pdrop: 0, embd_pdrop: 0 }, 0);
  const x = torch.keep(torch.randn([cfg.B, cfg.T, cfg.C]));
  const step = (): void =>
    torch.tidy(() => {
      const y = block.forward(x, null, null);
      y.backward(torch.onesLike(y));
      block.zeroGrad();
    });
  out.block_fp32 = medianMs(step, cfg.block_iters);
  const stepBf16 = (): void =>
    torch.tidy(() => {
      const y = torch.autocast('bfloat16', () => block.forward(x, null, null));
      const yf = y.float();
      yf.backward(torch.onesLike(yf));
      block.zeroGrad();
    });
  out.block_bf16 = medianMs(stepBf16, cfg.block_iters);
  block.dispose();
  x.dispose();
  return out;
}

// PyTorch serves one case at a time (bench/torch_engine.py), so each case alternates ours and
// PyTorch's measurements for `rounds` rounds and both see the same machine load; each side's
// number is its best median over the rounds.
const rounds = quick ? 1 : 3;
const names = ['matmul_fp32', 'matmul_bf16', 'block_fp32', 'block_bf16'];
const py = torchPython();
const child = py ? spawn(py, [new URL('./torch_engine.py', import.meta.url).pathname, String(torch.getNumThreads()), JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'inherit'] }) : null;
const lines = child ? createInterface({ input: child.stdout })[Symbol.asyncIterator]() : null;
const ready = lines ? await lines.next() : null;
const torchOk = !!ready && !ready.done;
async function torchMs(name: string): Promise<number> {
  child?.stdin.write(JSON.stringify({ case: name }) + '\n');
  const r = await (lines as AsyncIterator<string>).next();
  if (r.done) throw new Error(`PyTorch side exited during ${name}`);
  return (JSON.parse(r.value) as { ms: number }).ms;
}
const mine: Record<string, number> = {};
const theirs: Record<string, number> | null = torchOk ? {} : null;
for (let r = 0; r < rounds; r++) {
  const o = ours();
  for (const name of names) {
    mine[name] = Math.min(mine[name] ?? Infinity, o[name] as number);
    if (theirs) theirs[name] = Math.min(theirs[name] ?? Infinity, await torchMs(name));
  }
}
child?.stdin.end();
const flops = { matmul_fp32: 2 * cfg.matmul_n ** 3, matmul_bf16: 2 * cfg.matmul_n ** 3 };
const rows: BenchRow[] = ['matmul_fp32', 'matmul_bf16', 'block_fp32', 'block_bf16'].map((name) => {
  const o = mine[name] as number;
  const t = theirs?.[name] ?? null;
  const f = flops[name as keyof typeof flops];
  return { name, ours_ms: o, torch_ms: t, ratio: t === null ? null : t / o, ...(f ? { ours_gflops: f / o / 1e6 } : {}) };
});
report('engine', rows, { threads: torch.getNumThreads(), shapes: cfg, torch: theirs ? 'python3-torch' : null, python: existsSync('/usr/bin/python3') });
