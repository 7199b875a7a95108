// SFT training-step benchmark, ours vs PyTorch eager (bench/torch_sft.py) on the same shapes, in the
// same run. One step = forward, cross-entropy, backward, AdamW step (dropout 0, random weights).
//   a_gpt2_small_{fp32,bf16}  GPT-2 small (12 layers, 768 wide, 12 heads, V = 50257), B = 4, T = 128;
//                             both sides: logits (B, T, V) → cross-entropy. bf16 = autocast.
//   b_head_{fp32,bf16}        a 2-layer, 128-wide, 4-head GPT-2 with V = 50257 at B = 16, T = 64, where
//                             the LM head is most of the work: ours runs forwardHidden +
//                             F.linearCrossEntropy (the fused head, no (B·T, V) logits); PyTorch what a
//                             competent user writes (logits → F.cross_entropy). Also the peak RSS of
//                             each side (VmHWM), measured in a fresh process running 3 steps of that case.
//   npm run bench:sft [-- --json] [-- --quick] [-- --rounds N]
// Each row: { name, ours_ms, torch_ms, ratio, ours_tokens_per_s, torch_tokens_per_s, … }, ratio =
// torch_ms / ours_ms (above 1 we are faster); torch fields are null without python3-torch.
//
// PyTorch serves one step per request, so each case alternates ours and PyTorch's steps (after one
// warm-up step each) and both see the same machine load; a row is the best of `rounds` steps per side.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/torch/index.js';
import { F } from '../src/torch/index.js';
import { GPT2LMHeadModel } from '../src/models/gpt2.js';
import { AdamW } from '../src/optim/index.js';
import { torchPython, type BenchRow, report } from './common.js';

const rssMb = (field: 'VmRSS' | 'VmHWM'): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;
const BASE_RSS_MB = rssMb('VmRSS'); // node + libtorch loaded, nothing built yet

interface CaseConfig {
  n_layer: number;
  n_embd: number;
  n_head: number;
  vocab_size: number;
  n_positions: number;
  B: number;
  T: number;
  dtype: 'fp32' | 'bf16';
  lr: number;
  /** Ours scores with the fused head (forwardHidden + F.linearCrossEntropy). */
  fused: boolean;
  /** Also measure each side's peak RSS in a fresh process. */
  rss: boolean;
}

const small = { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024, B: 4, T: 128, lr: 1e-4, fused: false, rss: false };
const head = { n_layer: 2, n_embd: 128, n_head: 4, vocab_size: 50257, n_positions: 1024, B: 16, T: 64, lr: 1e-4, fused: true, rss: true };
const cases: Record<string, CaseConfig> = {
  a_gpt2_small_fp32: { ...small, dtype: 'fp32' },
  a_gpt2_small_bf16: { ...small, dtype: 'bf16' },
  b_head_fp32: { ...head, dtype: 'fp32' },
  b_head_bf16: { ...head, dtype: 'bf16' },
};

// ---- ours -------------------------------------------------------------------------------------------

class OursCase {
  readonly model: GPT2LMHeadModel;
  readonly opt: AdamW;
  readonly x: torch.Tensor;
  readonly y: torch.Tensor;
  constructor(readonly c: CaseConfig) {
    torch.manualSeed(0);
    const { n_layer, n_embd, n_head, vocab_size, n_positions } = c;
    this.model = new GPT2LMHeadModel({ n_layer, n_embd, n_head, vocab_size, n_positions, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }).train();
    this.opt = new AdamW(this.model.parameters(), { lr: c.lr, weightDecay: 0.01 });
    this.x = torch.keep(torch.randint(0, vocab_size, [c.B, c.T])); // (B, T)
    this.y = torch.keep(torch.randint(0, vocab_size, [c.B, c.T])); // (B, T)
  }
  /** One training step; returns the loss. */
  step(): number {
    return torch.tidy(() => {
      const lossOf = (): torch.Tensor =>
        this.c.fused
          ? F.linearCrossEntropy(this.model.forwardHidden(this.x), this.model.outputEmbeddings(), this.y) // (B, T, C) · (V, C)ᵀ, chunked
          : F.crossEntropy(this.model.forward(this.x).logits, this.y); // (B, T, V) logits
      const loss = this.c.dtype === 'bf16' ? torch.autocast('bfloat16', lossOf) : lossOf();
      loss.backward();
      this.opt.step();
      this.opt.zeroGrad();
      return loss.item();
    });
  }
  dispose(): void {
    this.opt.dispose();
    this.model.dispose();
    this.x.dispose();
    this.y.dispose();
  }
}

function timed(fn: () => number): { ms: number; loss: number } {
  const t0 = performance.now();
  const loss = fn();
  return { ms: performance.now() - t0, loss };
}

// `--rss CASE`: the child process that measures our peak RSS for one case.
const rssArg = process.argv.indexOf('--rss');
if (rssArg > 0) {
  const name = process.argv[rssArg + 1] as string;
  const c = new OursCase(cases[name] as CaseConfig);
  for (let i = 0; i < 3; i++) c.step();
  // VmHWM, not resourceUsage().maxRSS: Linux carries ru_maxrss over exec from the process that
  // spawned us (this bench, holding GPT-2 small), while VmHWM belongs to our own address space.
  process.stdout.write(JSON.stringify({ base_rss_mb: BASE_RSS_MB, peak_rss_mb: rssMb('VmHWM') }) + '\n');
  process.exit(0);
}

// ---- PyTorch, one step per request ------------------------------------------------------------------

const script = fileURLToPath(new URL('./torch_sft.py', import.meta.url));
const cfgArg = JSON.stringify({ cases });

class TorchServer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }
  static async start(py: string): Promise<TorchServer | null> {
    const child = spawn(py, [script, String(torch.getNumThreads()), cfgArg, '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const server = new TorchServer(child);
    const hello = await server.lines.next();
    if (hello.done) {
      process.stderr.write(`PyTorch side failed to start: ${err}\n`);
      return null;
    }
    return server;
  }
  async step(name: string): Promise<{ ms: number; loss: number }> {
    this.child.stdin.write(JSON.stringify({ case: name }) + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error(`PyTorch side exited during ${name}`);
    return JSON.parse(r.value) as { ms: number; loss: number };
  }
  close(): void {
    this.child.stdin.end();
  }
}

/** Peak and base RSS (MB) of a fresh process running 3 steps of the case, or null if it failed. */
function childRss(cmd: string, args: string[]): { base_rss_mb: number; peak_rss_mb: number } | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  const line = r.stdout?.trim().split('\n').pop();
  if (r.status !== 0 || !line) {
    process.stderr.write(`RSS child ${cmd} ${args.join(' ')} failed: ${r.stderr}\n`);
    return null;
  }
  return JSON.parse(line) as { base_rss_mb: number; peak_rss_mb: number };
}

// ---- interleaved measurement ------------------------------------------------------------------------

const quick = process.argv.includes('--quick');
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : quick ? 1 : 3;
const py = torchPython();
if (!py) process.stderr.write('PyTorch not found: reporting ours only. To compare, install Debian\'s python3-torch (sudo apt-get install python3-torch), which /usr/bin/python3 imports.\n');
const server = py ? await TorchServer.start(py) : null;
const os = await import('node:os');
const load0 = os.loadavg()[0] as number;
const rows: BenchRow[] = [];
try {
  for (const [name, c] of Object.entries(cases)) {
    const ours = new OursCase(c);
    try {
      ours.step(); // warm-up: first-touch allocations, AdamW state
      if (server) await server.step(name);
      let o = { ms: Infinity, loss: NaN };
      let t: { ms: number; loss: number } | null = server ? { ms: Infinity, loss: NaN } : null;
      for (let i = 0; i < rounds; i++) {
        const oi = timed(() => ours.step());
        if (oi.ms < o.ms) o = oi;
        if (server && t) {
          const ti = await server.step(name);
          if (ti.ms < t.ms) t = ti;
        }
      }
      const tokens = c.B * c.T;
      rows.push({
        name,
        ours_ms: o.ms,
        torch_ms: t?.ms ?? null,
        ratio: t ? t.ms / o.ms : null,
        ours_tokens_per_s: (tokens / o.ms) * 1000,
        torch_tokens_per_s: t ? (tokens / t.ms) * 1000 : null,
        ours_loss: o.loss,
        torch_loss: t?.loss ?? null,
        ours_head: c.fused ? 'fused linearCrossEntropy' : 'logits + crossEntropy',
      });
    } finally {
      ours.dispose();
    }
  }
} finally {
  server?.close();
}
// Peak memory, each side in a fresh process (after the timing, so it does not disturb it).
for (const row of rows) {
  if (!(cases[row.name] as CaseConfig).rss) continue;
  const mine = childRss(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--rss', row.name]);
  const theirs = py ? childRss(py, [script, String(torch.getNumThreads()), cfgArg, '--rss', row.name]) : null;
  Object.assign(row, {
    ours_peak_rss_mb: mine?.peak_rss_mb ?? null,
    ours_base_rss_mb: mine?.base_rss_mb ?? null,
    torch_peak_rss_mb: theirs?.peak_rss_mb ?? null,
    torch_base_rss_mb: theirs?.base_rss_mb ?? null,
  });
}
const load1 = os.loadavg()[0] as number;
if (process.argv.includes('--json')) process.stderr.write(`load average (1 min) before/after: ${load0.toFixed(2)} / ${load1.toFixed(2)} on ${os.availableParallelism()} CPUs\n`);
report('sft', rows, { threads: torch.getNumThreads(), rounds, cases, torch: server ? 'python3-torch' : null, load_avg_1m: [load0, load1] });
