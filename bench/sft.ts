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
import * as torch from '../src/torch/index.js';
import { F } from '../src/torch/index.js';
import { GPT2LMHeadModel } from '../src/models/gpt2.js';
import { AdamW } from '../src/optim/index.js';
import { addPeakRss, alternate, fastest, flagValue, gpt2Config, gpt2Shape, type Gpt2Shape, measureCases, report, rssChild, rssMb, timed, timedRow, torchScript } from './common.js';

const BASE_RSS_MB = rssMb('VmRSS'); // node + libtorch loaded, nothing built yet

interface CaseConfig extends Gpt2Shape {
  B: number;
  T: number;
  dtype: 'fp32' | 'bf16';
  lr: number;
  /** Ours scores with the fused head (forwardHidden + F.linearCrossEntropy). */
  fused: boolean;
  /** Also measure each side's peak RSS in a fresh process. */
  rss: boolean;
}

const small = { ...gpt2Shape(false), B: 4, T: 128, lr: 1e-4, fused: false, rss: false };
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
    this.model = new GPT2LMHeadModel(gpt2Config(c)).train();
    this.opt = new AdamW(this.model.parameters(), { lr: c.lr, weightDecay: 0.01 });
    this.x = torch.keep(torch.randint(0, c.vocab_size, [c.B, c.T])); // (B, T)
    this.y = torch.keep(torch.randint(0, c.vocab_size, [c.B, c.T])); // (B, T)
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

// `--rss CASE`: the child process that measures our peak RSS for one case.
rssChild(BASE_RSS_MB, (name) => {
  const c = new OursCase(cases[name] as CaseConfig);
  for (let i = 0; i < 3; i++) c.step();
});

// ---- interleaved measurement: PyTorch serves one step per request -----------------------------------

const quick = process.argv.includes('--quick');
const rounds = Number(flagValue('--rounds') ?? (quick ? 1 : 3));
const torchSide = torchScript(new URL('./torch_sft.py', import.meta.url), torch.getNumThreads(), { cases });
const { rows, torchRan, loads } = await measureCases(torchSide, cases, (c) => new OursCase(c), async (ours, server, name, c) => {
  const r = await alternate(rounds, () => timed(() => ours.step()), server && (() => server.request<{ ms: number; loss: number }>({ case: name })));
  const o = fastest(r.ours);
  const t = r.torch && fastest(r.torch);
  return [{
    ...timedRow(name, o.ms, t?.ms ?? null, c.B * c.T),
    ours_loss: o.loss,
    torch_loss: t?.loss ?? null,
    ours_head: c.fused ? 'fused linearCrossEntropy' : 'logits + crossEntropy',
  }];
});
// Peak memory, each side in a fresh process (after the timing, so it does not disturb it).
for (const row of rows) if ((cases[row.name] as CaseConfig).rss) addPeakRss(row, row.name, import.meta.url, [], torchSide);
const [load0, load1] = loads();
report('sft', rows, { threads: torch.getNumThreads(), rounds, cases, torch: torchRan ? 'python3-torch' : null, load_avg_1m: [load0, load1] });
