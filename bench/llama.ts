// Llama-family benchmark at SmolLM2-135M's shapes (30 layers, 576 wide, 9 heads, 3 k/v heads, SwiGLU
// 1536, V = 49152, tied, θ 100000; random weights), ours vs PyTorch eager (bench/torch_llama.py:
// transformers' eager LlamaForCausalLM written out — RMSNorm, RoPE, repeat_kv, additive causal mask,
// a torch.cat KV cache) in the same run:
//   forward_{fp32,bf16}       logits (B, T, V) at B = 8, T = 128, no gradients; bf16 = a frozen model
//                             holding bf16 weights (a reference or reward model), on both sides
//   train_{fp32,bf16}         one training step at B = 4, T = 128: logits → cross-entropy → backward →
//                             AdamW; bf16 = autocast over float32 master weights, on both sides
//   generate_{fp32,bf16}_bN   N prompts of 32 tokens, 64 new tokens sampled at T = 1; ours is
//                             generate() (bf16: on a bf16 copy of the float32 policy made per call,
//                             a bf16 KV cache), PyTorch the same loop under autocast
//   npm run bench:llama [-- --json] [-- --quick] [-- --tiny] [-- --iters N] [-- --case NAME]
// Each row: { name, ours_ms, torch_ms, ratio, ours_tokens_per_s, torch_tokens_per_s }, ratio =
// torch_ms / ours_ms (above 1 we are faster); torch fields are null without python3-torch. --tiny is a
// 2-layer, 64-wide model with V = 512, to check that the bench runs.
//
// PyTorch runs in a child process that serves one case at a time, so each case alternates ours and
// PyTorch's runs (after one short warm-up each) and both see the same machine load; a row is the
// best of `iters` runs per side. On a shared machine, run it when `uptime` shows little load.
import * as torch from '../src/torch/index.js';
import { F } from '../src/torch/index.js';
import { LlamaForCausalLM, type LlamaConfig } from '../src/models/llama.js';
import { generate } from '../src/generation/generate.js';
import { AdamW } from '../src/optim/index.js';
import { TorchServer, alternate, flagValue, loadMeter, report, selectCases, timedRow, torchScript, type BenchRow } from './common.js';

const quick = process.argv.includes('--quick');
const tiny = process.argv.includes('--tiny');
const iters = Number(flagValue('--iters') ?? (quick || tiny ? 1 : 2));
const shape = tiny
  ? { num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 512 }
  : { num_hidden_layers: 30, hidden_size: 576, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536, vocab_size: 49152 };
const cfg = {
  model: { ...shape, max_position_embeddings: 2048, rope_theta: 100000, rms_norm_eps: 1e-5, tie_word_embeddings: true },
  forward: tiny ? { B: 2, T: 32 } : { B: 8, T: 128 },
  train: tiny ? { B: 2, T: 32, lr: 1e-4 } : { B: 4, T: 128, lr: 1e-4 },
  generate: { batches: tiny ? [2] : [1, 8], prompt: tiny ? 8 : 32, new_tokens: tiny ? 8 : quick ? 16 : 64 },
};
const V = shape.vocab_size;

// ---- ours -----------------------------------------------------------------------------------------

const llama = { ...cfg.model, model_type: 'llama', bos_token_id: 0, eos_token_id: 0 } satisfies Partial<LlamaConfig>;
torch.manualSeed(0);
let lazy: { model?: LlamaForCausalLM; frozen?: LlamaForCausalLM; train?: { model: LlamaForCausalLM; opt: AdamW } } = {};
const policy = (): LlamaForCausalLM => (lazy.model ??= new LlamaForCausalLM(llama).eval()); // float32: the policy
const frozen = (): LlamaForCausalLM => (lazy.frozen ??= new LlamaForCausalLM(llama).eval().to('bfloat16')); // bf16 weights, cast once
const trainer = (): { model: LlamaForCausalLM; opt: AdamW } => {
  if (lazy.train) return lazy.train;
  const model = new LlamaForCausalLM(llama).train();
  return (lazy.train = { model, opt: new AdamW(model.parameters(), { lr: cfg.train.lr, weightDecay: 0.01 }) });
};
const fwdIds = torch.keep(torch.randint(0, V, [cfg.forward.B, cfg.forward.T]));
const trainX = torch.keep(torch.randint(0, V, [cfg.train.B, cfg.train.T]));
const trainY = torch.keep(torch.randint(0, V, [cfg.train.B, cfg.train.T]));
const prompts = new Map(cfg.generate.batches.map((b) => [b, torch.keep(torch.randint(0, V, [b, cfg.generate.prompt]))]));

function oursRun(name: string, warm: boolean): number {
  const t0 = performance.now();
  if (name.startsWith('forward')) {
    const m = name === 'forward_bf16' ? frozen() : policy();
    torch.noGrad(() => torch.tidy(() => void m.forward(fwdIds).logits.narrow(1, cfg.forward.T - 1, 1).toFlatArray()));
  } else if (name.startsWith('train')) {
    const { model, opt } = trainer();
    torch.tidy(() => {
      const lossOf = (): torch.Tensor => F.crossEntropy(model.forward(trainX).logits, trainY); // (B, T, V) logits
      const loss = name === 'train_bf16' ? torch.autocast('bfloat16', lossOf) : lossOf();
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss.item();
    });
  } else {
    const b = Number(/_b(\d+)$/.exec(name)?.[1]);
    const dtype = name.includes('_bf16') ? 'bfloat16' : 'float32';
    const r = generate(policy(), { inputIds: prompts.get(b) as torch.Tensor }, { maxNewTokens: warm ? 4 : cfg.generate.new_tokens, temperature: 1, eosTokenId: null, dtype });
    r.sequences.dispose();
    r.responseMask.dispose();
  }
  return performance.now() - t0;
}

// ---- interleaved measurement ------------------------------------------------------------------------

const all = Object.fromEntries(
  ['forward_fp32', 'forward_bf16', 'train_fp32', 'train_bf16', ...cfg.generate.batches.flatMap((b) => [`generate_fp32_b${b}`, `generate_bf16_b${b}`])].map((n) => [n, n]),
);
const names = Object.keys(selectCases(all));
const tokens = (name: string): number =>
  name.startsWith('forward') ? cfg.forward.B * cfg.forward.T : name.startsWith('train') ? cfg.train.B * cfg.train.T : Number(/_b(\d+)$/.exec(name)?.[1]) * cfg.generate.new_tokens;

// PyTorch serves one case per request: stdin {"case": NAME, "warm": bool} → stdout {"ms": N}.
const server = await TorchServer.start(torchScript(new URL('./torch_llama.py', import.meta.url), torch.getNumThreads(), cfg));
const loads = loadMeter();
const rows: BenchRow[] = [];
try {
  for (const name of names) {
    const r = await alternate(iters, (warm) => oursRun(name, warm), server && (async (warm) => (await server.request<{ ms: number }>({ case: name, warm })).ms));
    const o = Math.min(Infinity, ...r.ours);
    const t = r.torch && Math.min(Infinity, ...r.torch);
    rows.push(timedRow(name, o, t, tokens(name)));
  }
} finally {
  server?.close();
  for (const m of [lazy.model, lazy.frozen, lazy.train?.model]) m?.dispose();
  lazy.train?.opt.dispose();
  lazy = {};
}
const [load0, load1] = loads();
report('llama', rows, { threads: torch.getNumThreads(), iters, shapes: cfg, torch: server ? 'python3-torch' : null, load_avg_1m: [load0, load1] });
