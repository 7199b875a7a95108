// What LoRA saves in one SFT training step: trainable parameters, gradient and AdamW-state bytes,
// and the peak RSS of a fresh process, with and without adapters, on two real shapes:
//   gpt2_small     GPT-2 small (124M: 12 layers, 768 wide, V = 50257), Conv1D projections
//   smollm2_135m   SmolLM2-135M's shape (30 layers, 576 wide, 9 heads / 3 k/v heads, SwiGLU 1536,
//                  V = 49152, tied), nn.Linear projections
// Each case runs in its own process (so peak RSS is its own, VmHWM): build the model (random
// weights), apply LoRA as the trainers do (applyLoraFromConfig), then one step exactly as `rlhf sft`
// takes it: B = 4, T = 128 of labelled tokens, causalLmLoss (fused LM head), backward, clip,
// AdamW step. One thread, float32.
//   node --import tsx bench/lora-memory.ts [--json]
// Measured here (2-core Sapphire Rapids, one thread; peak RSS varies ±5% run to run):
//   case                                 trainable         grads+AdamW   peak RSS   step
//   gpt2_small_full                      124.4M (100%)       1424 MB     2530 MB   15.7 s
//   gpt2_small_lora16_c_attn               0.59M (0.47%)        7 MB     1360 MB    7.3 s
//   gpt2_small_lora16_all_linear           2.36M (1.9%)        27 MB     1677 MB    7.5 s
//   smollm2_135m_full                    134.5M (100%)       1539 MB     2755 MB   16.5 s
//   smollm2_135m_lora16_q_v                0.92M (0.69%)       11 MB     2236 MB    8.8 s
//   smollm2_135m_lora16_all_linear         4.88M (3.6%)        56 MB     2902 MB   14.7 s
//   smollm2_135m_lora16_all_linear_nodrop  4.88M (3.6%)        56 MB     2316 MB   10.1 s
// At B·T = 512 tokens × 30 layers the activations dominate SmolLM2's step, and each adapter's
// dropout keeps its own copy of the layer input plus libtorch's float noise for backward
// (at::dropout): 210 adapters at p = 0.05 cost ~600 MB, so all-linear's peak is about full
// fine-tuning's although gradients + AdamW moments shrink from 1.5 GB to 56 MB (PEFT's layers do the
// same). --lora-dropout 0, or fewer targets (q_proj,v_proj: −520 MB), avoids it.
import { spawnSync } from 'node:child_process';
import * as torch from '../src/torch/index.js';
import { GPT2LMHeadModel, GPT2_DEFAULTS } from '../src/models/gpt2.js';
import { LlamaForCausalLM } from '../src/models/llama.js';
import type { CausalLM } from '../src/models/types.js';
import { causalLmLoss } from '../src/trainers/sft/loss.js';
import { createOptimizer, optimizerStep } from '../src/trainers/common/setup.js';
import { applyLoraFromConfig, trainableParameters } from '../src/trainers/common/lora.js';
import { loraFields, optimFields } from '../src/trainers/common/config.js';
import { z } from 'zod';
import { flagValue, rssMb } from './common.js';

interface Case {
  model: 'gpt2_small' | 'smollm2_135m';
  /** --lora-r (0: full fine-tuning) and --lora-targets ([]: PEFT's default for the architecture). */
  r: number;
  targets: string[];
  /** --lora-dropout (default 0.05, TRL's). */
  dropout?: number;
}

const CASES: Record<string, Case> = {
  gpt2_small_full: { model: 'gpt2_small', r: 0, targets: [] },
  gpt2_small_lora16_c_attn: { model: 'gpt2_small', r: 16, targets: [] },
  gpt2_small_lora16_all_linear: { model: 'gpt2_small', r: 16, targets: ['all-linear'] },
  smollm2_135m_full: { model: 'smollm2_135m', r: 0, targets: [] },
  smollm2_135m_lora16_q_v: { model: 'smollm2_135m', r: 16, targets: [] },
  smollm2_135m_lora16_all_linear: { model: 'smollm2_135m', r: 16, targets: ['all-linear'] },
  smollm2_135m_lora16_all_linear_nodrop: { model: 'smollm2_135m', r: 16, targets: ['all-linear'], dropout: 0 },
};

function build(which: Case['model']): CausalLM {
  if (which === 'gpt2_small') return new GPT2LMHeadModel({ ...GPT2_DEFAULTS, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
  return new LlamaForCausalLM({
    model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9,
    num_key_value_heads: 3, max_position_embeddings: 8192, rope_theta: 100000, rms_norm_eps: 1e-5, tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0,
  });
}

const MB = 2 ** 20;
const bytes = (ts: readonly torch.Tensor[]): number => ts.reduce((a, t) => a + t.numel * 4, 0);

function runCase(name: string): void {
  const c = CASES[name];
  if (!c) throw new Error(`no case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
  torch.setNumThreads(1);
  torch.manualSeed(0);
  const base = rssMb('VmRSS');
  const model = build(c.model);
  const total = model.numParameters();
  const cfg = z.object({ ...loraFields(), ...optimFields({ lr: 1e-4 }) }).parse({ loraR: c.r, loraTargets: c.targets, ...(c.dropout !== undefined ? { loraDropout: c.dropout } : {}) });
  const lora = applyLoraFromConfig(model, cfg);
  const params = trainableParameters(model, lora);
  const { optimizer, scheduler } = createOptimizer(params, cfg, 1);
  model.train();
  const afterBuild = rssMb('VmRSS');
  const B = 4;
  const T = 128;
  const V = model.config.vocab_size;
  const ids = torch.randint(0, V, [B, T]);
  const t0 = performance.now();
  let gradBytes = 0;
  const loss = torch.tidy(() => {
    const { loss: l } = causalLmLoss(model, ids, null, ids);
    l.backward();
    gradBytes = bytes(params.map((p) => p.grad).filter((g): g is torch.Tensor => g !== null));
    return l.item();
  });
  optimizerStep(params, optimizer, scheduler, cfg.maxGradNorm);
  const ms = performance.now() - t0;
  const sd = optimizer.stateDict();
  const optimBytes = bytes([...sd.tensors.values()]);
  process.stdout.write(JSON.stringify({
    name,
    lora: lora ? { r: c.r, alpha: cfg.loraAlpha, targets: lora.config.targetModules, layers: lora.layers.size } : null,
    params_total: total,
    params_trainable: params.reduce((a, p) => a + p.numel, 0),
    trainable_pct: +((100 * params.reduce((a, p) => a + p.numel, 0)) / total).toFixed(3),
    grads_mb: +(gradBytes / MB).toFixed(1),
    adamw_state_mb: +(optimBytes / MB).toFixed(1),
    rss_before_model_mb: Math.round(base),
    rss_after_build_mb: Math.round(afterBuild),
    peak_rss_mb: Math.round(rssMb('VmHWM')),
    step_ms: Math.round(ms),
    loss: +loss.toFixed(3),
  }) + '\n');
}

const one = flagValue('--case');
if (one) runCase(one);
else {
  const rows: Record<string, unknown>[] = [];
  for (const name of Object.keys(CASES)) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--case', name], { encoding: 'utf8', env: { ...process.env, RLHF_NUM_THREADS: '1' } });
    const line = r.stdout.trim().split('\n').pop();
    if (r.status !== 0 || !line) {
      process.stderr.write(`${name} failed: ${r.stderr}\n`);
      continue;
    }
    const row = JSON.parse(line) as Record<string, unknown>;
    rows.push(row);
    if (!process.argv.includes('--json')) {
      process.stdout.write(`${String(row.name).padEnd(32)} trainable ${String(row.params_trainable).padStart(10)} (${row.trainable_pct}%)  grads ${String(row.grads_mb).padStart(6)} MB  AdamW ${String(row.adamw_state_mb).padStart(6)} MB  peak RSS ${String(row.peak_rss_mb).padStart(6)} MB  step ${row.step_ms} ms\n`);
    }
  }
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
}
