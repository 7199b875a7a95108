// Model benchmark: GPT-2 small shapes (12 layers, 768 wide, 12 heads, 50257 tokens, random
// weights). Forward tokens/s at B=8, T=128 and generation tokens/s at batch 1 and 16 (32-token
// prompt, 64 new tokens, sampled at T = 1), fp32 and bf16, ours vs PyTorch eager (bench/torch_gpt2.py:
// transformers' eager GPT-2 with a torch.cat KV cache; bf16 = torch.autocast) in the same run.
//   npm run bench:models [-- --json] [-- --quick]
// Each row: { name, ours_ms, torch_ms, ratio, ours_tokens_per_s, torch_tokens_per_s }, ratio =
// torch_ms / ours_ms (above 1 we are faster); torch fields are null without python3-torch.
//
// Our bf16 rows are the paths rlhf uses: generation casts the float32 policy's weights to bf16 once
// per generate() call (the cast is inside ours_ms) and runs everything in bf16 with a bf16 KV cache;
// forward_bf16 is a frozen model (reference / reward) holding bf16 weights; forward_bf16_autocast
// is the same forward under autocast with float32 weights, PyTorch's path, for comparison.
import { spawnSync } from 'node:child_process';
import * as torch from '../src/torch/index.js';
import { GPT2LMHeadModel } from '../src/models/gpt2.js';
import { generate } from '../src/generation/generate.js';
import { medianMs, torchPython, type BenchRow, report } from './common.js';

const quick = process.argv.includes('--quick');
const cfg = {
  n_layer: 12,
  n_embd: 768,
  n_head: 12,
  vocab_size: 50257,
  n_positions: 1024,
  forward: { B: 8, T: 128, iters: quick ? 1 : 3 },
  generate: { batches: [1, 16], prompt: 32, new_tokens: quick ? 16 : 64, iters: 1 },
};

function ours(): Record<string, number> {
  const out: Record<string, number> = {};
  torch.manualSeed(0);
  const model = new GPT2LMHeadModel({ n_layer: cfg.n_layer, n_embd: cfg.n_embd, n_head: cfg.n_head, vocab_size: cfg.vocab_size, n_positions: cfg.n_positions }).eval();
  const { B, T, iters } = cfg.forward;
  const ids = torch.keep(torch.randint(0, cfg.vocab_size, [B, T]));
  const forward = (): void => torch.noGrad(() => torch.tidy(() => void model.forward(ids).logits.narrow(1, T - 1, 1).toFlatArray()));
  out.forward_fp32 = medianMs(forward, iters, 1);
  out.forward_bf16_autocast = medianMs(() => torch.autocast('bfloat16', forward), iters, 1);

  const g = cfg.generate;
  const gen = (prompt: torch.Tensor, n: number, dtype: 'float32' | 'bfloat16'): void => {
    const r = generate(model, { inputIds: prompt }, { maxNewTokens: n, temperature: 1, eosTokenId: null, dtype });
    r.sequences.dispose();
  };
  const prompts = g.batches.map((b) => torch.keep(torch.randint(0, cfg.vocab_size, [b, g.prompt])));
  g.batches.forEach((b, i) => {
    const p = prompts[i] as torch.Tensor;
    for (const dtype of ['float32', 'bfloat16'] as const) {
      gen(p, 4, dtype); // warm-up
      out[`generate_${dtype === 'float32' ? 'fp32' : 'bf16'}_b${b}`] = medianMs(() => gen(p, g.new_tokens, dtype), g.iters, 0);
    }
  });

  model.to('bfloat16'); // a frozen model keeps bf16 weights: cast once
  out.forward_bf16 = medianMs(forward, iters, 1);
  model.dispose();
  ids.dispose();
  for (const p of prompts) p.dispose();
  return out;
}

const mine = ours();
let theirs: Record<string, number> | null = null;
const py = torchPython();
if (py) {
  const script = new URL('./torch_gpt2.py', import.meta.url).pathname;
  const r = spawnSync(py, [script, String(torch.getNumThreads()), JSON.stringify(cfg)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status === 0) theirs = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  else process.stderr.write(`PyTorch side failed: ${r.stderr}\n`);
}

const tokens = (name: string): number => {
  if (name.startsWith('forward')) return cfg.forward.B * cfg.forward.T;
  const b = Number(/_b(\d+)$/.exec(name)?.[1]);
  return b * cfg.generate.new_tokens;
};
const torchName = (name: string): string => (name === 'forward_bf16_autocast' ? 'forward_bf16' : name);
const names = ['forward_fp32', 'forward_bf16', 'forward_bf16_autocast', ...cfg.generate.batches.flatMap((b) => [`generate_fp32_b${b}`, `generate_bf16_b${b}`])];
const rows: BenchRow[] = names.map((name) => {
  const o = mine[name] as number;
  const t = theirs?.[torchName(name)] ?? null;
  return {
    name,
    ours_ms: o,
    torch_ms: t,
    ratio: t === null ? null : t / o,
    ours_tokens_per_s: (tokens(name) / o) * 1000,
    torch_tokens_per_s: t === null ? null : (tokens(name) / t) * 1000,
  };
});
report('models', rows, { threads: torch.getNumThreads(), shapes: cfg, torch: theirs ? 'python3-torch' : null });
