// Model benchmark: GPT-2 small shapes (12 layers, 768 wide, 12 heads, 50257 tokens, random
// weights). Forward tokens/s at B=8, T=128 and generation tokens/s at batch 1 and 16 (32-token
// prompt, 64 new tokens, sampled at T = 1), fp32 and bf16, ours vs PyTorch eager (bench/torch_gpt2.py:
// transformers' eager GPT-2 with a torch.cat KV cache; bf16 = torch.autocast) in the same run.
//   npm run bench:models [-- --json] [-- --quick] [-- --iters N]
// Each row: { name, ours_ms, torch_ms, ratio, ours_tokens_per_s, torch_tokens_per_s }, ratio =
// torch_ms / ours_ms (above 1 we are faster); torch fields are null without python3-torch.
//
// PyTorch runs in a child process that serves one case at a time, so each case alternates ours and
// PyTorch's runs (after one short warm-up each) and both see the same machine load; a row is the
// best of `iters` runs per side. On a shared machine, run it when `uptime` shows little load.
//
// Our bf16 rows are the paths rlhf uses: generation copies the float32 policy's weights to bf16 once
// per generate() call (inside ours_ms) and runs everything in bf16 with a bf16 KV cache;
// forward_bf16 is a frozen model (reference / reward) holding bf16 weights; forward_bf16_autocast
// is the same forward under autocast with float32 weights, PyTorch's path, for comparison.
import * as torch from '../src/torch/index.js';
import { GPT2LMHeadModel } from '../src/models/gpt2.js';
import { generate } from '../src/generation/generate.js';
import { TorchServer, alternate, flagValue, loadMeter, report, timedRow, torchScript, type BenchRow } from './common.js';

const quick = process.argv.includes('--quick');
const iters = Number(flagValue('--iters') ?? (quick ? 1 : 2));
const cfg = {
  n_layer: 12,
  n_embd: 768,
  n_head: 12,
  vocab_size: 50257,
  n_positions: 1024,
  forward: { B: 8, T: 128 },
  generate: { batches: [1, 16], prompt: 32, new_tokens: quick ? 16 : 64 },
};

// ---- ours -----------------------------------------------------------------------------------------

torch.manualSeed(0);
const gpt2 = { n_layer: cfg.n_layer, n_embd: cfg.n_embd, n_head: cfg.n_head, vocab_size: cfg.vocab_size, n_positions: cfg.n_positions };
const model = new GPT2LMHeadModel(gpt2).eval(); // float32: the policy being trained
const frozen = new GPT2LMHeadModel(gpt2).eval().to('bfloat16'); // a frozen model keeps bf16 weights: cast once
const { B, T } = cfg.forward;
const ids = torch.keep(torch.randint(0, cfg.vocab_size, [B, T]));
const prompts = new Map(cfg.generate.batches.map((b) => [b, torch.keep(torch.randint(0, cfg.vocab_size, [b, cfg.generate.prompt]))]));

function oursRun(name: string, warm: boolean): number {
  const t0 = performance.now();
  if (name.startsWith('forward')) {
    const m = name === 'forward_bf16' ? frozen : model;
    const fwd = (): void => torch.noGrad(() => torch.tidy(() => void m.forward(ids).logits.narrow(1, T - 1, 1).toFlatArray()));
    if (name === 'forward_bf16_autocast') torch.autocast('bfloat16', fwd);
    else fwd();
  } else {
    const b = Number(/_b(\d+)$/.exec(name)?.[1]);
    const dtype = name.includes('_bf16') ? 'bfloat16' : 'float32';
    const r = generate(model, { inputIds: prompts.get(b) as torch.Tensor }, { maxNewTokens: warm ? 4 : cfg.generate.new_tokens, temperature: 1, eosTokenId: null, dtype });
    r.sequences.dispose();
  }
  return performance.now() - t0;
}

// ---- interleaved measurement ------------------------------------------------------------------------

const names = ['forward_fp32', 'forward_bf16', 'forward_bf16_autocast', ...cfg.generate.batches.flatMap((b) => [`generate_fp32_b${b}`, `generate_bf16_b${b}`])];
const torchCase = (name: string): string => (name === 'forward_bf16_autocast' ? 'forward_bf16' : name);
const tokens = (name: string): number => (name.startsWith('forward') ? B * T : Number(/_b(\d+)$/.exec(name)?.[1]) * cfg.generate.new_tokens);

// PyTorch serves one case per request: stdin {"case": NAME, "warm": bool} → stdout {"ms": N}.
const server = await TorchServer.start(torchScript(new URL('./torch_gpt2.py', import.meta.url), torch.getNumThreads(), cfg));
const loads = loadMeter();
const rows: BenchRow[] = [];
try {
  for (const name of names) {
    const r = await alternate(iters, (warm) => oursRun(name, warm), server && (async (warm) => (await server.request<{ ms: number }>({ case: torchCase(name), warm })).ms));
    const o = Math.min(Infinity, ...r.ours);
    const t = r.torch && Math.min(Infinity, ...r.torch);
    rows.push(timedRow(name, o, t, tokens(name)));
  }
} finally {
  server?.close();
}
const [load0, load1] = loads();
report('models', rows, { threads: torch.getNumThreads(), iters, shapes: cfg, torch: server ? 'python3-torch' : null, load_avg_1m: [load0, load1] });
