// LLaMA (Touvron et al., 2023) and its close relatives Mistral (Jiang et al., 2023) and Qwen2
// (Yang et al., 2024), numerically the same as transformers' LlamaForCausalLM, MistralForCausalLM and
// Qwen2ForCausalLM (eager attention), in the spirit of nanoGPT: one file, Hugging Face weight names
// kept as they are so loading a checkpoint is a key-for-key copy.
//
// How it differs from GPT-2 (gpt2.ts):
// - RMSNorm (no mean, no bias) before attention and MLP, computed in float32: w · x/√(mean(x²) + ε);
// - no position embedding: rotary embeddings (RoPE, Su et al., 2021) rotate q and k by angle
//   position · θ^(−2i/head_dim); rope_scaling 'linear', 'dynamic' (NTK) and 'llama3' change the
//   frequencies exactly as transformers' modeling_rope_utils does;
// - SwiGLU MLP: down(act(gate(x)) · up(x)), act = hidden_act (SiLU);
// - grouped-query attention: num_key_value_heads k/v heads, each shared by num_attention_heads /
//   num_key_value_heads query heads; the KV cache holds only the k/v heads;
// - nn.Linear weights (out, in); biases: Qwen2 on q/k/v, Llama on q/k/v/o with attention_bias and on
//   the MLP with mlp_bias, Mistral none;
// - sliding-window attention (query i sees keys i − W < j ≤ i): every Mistral layer when
//   sliding_window is set; Qwen2 layers i ≥ max_window_layers when use_sliding_window (or as its
//   layer_types say);
// - the embedding's padding_idx (pad_token_id) row starts at zero and gets no gradient, as torch's
//   nn.Embedding(padding_idx) in transformers.
//
// Keys: model.embed_tokens.weight, model.layers.N.input_layernorm.weight,
// model.layers.N.self_attn.{q,k,v,o}_proj.{weight,bias}, model.layers.N.post_attention_layernorm.weight,
// model.layers.N.mlp.{gate,up,down}_proj.weight, model.norm.weight, lm_head.weight (absent when tied).
import type { Tensor, Device } from '../torch/tensor.js';
import { F, cat, ones, tensor } from '../torch/index.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { normal_, param } from '../nn/init.js';
import { StaticKVCache } from './kv-cache.js';
import { activation, buildAttentionMask, positionIdsFor, type Activation } from './gpt2.js';
import { buildLocalAttentionMask } from './gpt-neo.js';
import { ConfigError } from './errors.js';
import type { BaseLMConfig, CausalLM, DecoderBody, ForwardOptions, ForwardOutput, KVCache } from './types.js';

/** The model_types this file implements. */
export const LLAMA_FAMILY = ['llama', 'mistral', 'qwen2'] as const;
export type LlamaFamily = (typeof LLAMA_FAMILY)[number];

/** rope_scaling types rlhf implements (transformers' rope_type; 'default' is plain RoPE). */
export const ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3'] as const;
export type RopeType = (typeof ROPE_TYPES)[number];

/** config.json's rope_scaling, as transformers reads it (`type` is the older name of `rope_type`). */
export interface RopeScaling {
  rope_type?: string;
  type?: string;
  /** linear, dynamic, llama3: how many times longer than the pretraining context. */
  factor?: number;
  /** llama3: the pretraining context (8192 for Llama 3.1). */
  original_max_position_embeddings?: number;
  /** llama3: wavelengths above original/low_freq_factor are divided by factor. */
  low_freq_factor?: number;
  /** llama3: wavelengths below original/high_freq_factor are kept; between, interpolated. */
  high_freq_factor?: number;
  [extra: string]: unknown;
}

export type LayerType = 'full_attention' | 'sliding_attention';

export interface LlamaConfig extends BaseLMConfig {
  model_type: LlamaFamily;
  vocab_size: number;
  hidden_size: number;
  /** SwiGLU width. */
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** k/v heads (grouped-query attention); num_attention_heads is multi-head, 1 multi-query. */
  num_key_value_heads: number;
  /** Per-head width; hidden_size / num_attention_heads unless config.json says otherwise. */
  head_dim: number;
  hidden_act: Activation;
  /** The context the model was trained for (rotary embeddings have no hard limit; generation keeps to it). */
  max_position_embeddings: number;
  initializer_range: number;
  rms_norm_eps: number;
  /** RoPE base θ. */
  rope_theta: number;
  rope_scaling: RopeScaling | null;
  attention_dropout: number;
  /** The LM head reuses embed_tokens (SmolLM2, Qwen2-0.5B, Llama 3.2 1B), or is its own `lm_head.weight`. */
  tie_word_embeddings: boolean;
  /** llama: biases on q/k/v/o_proj. (Qwen2 always has q/k/v biases and none on o_proj; Mistral none.) */
  attention_bias: boolean;
  /** llama: biases on gate/up/down_proj. */
  mlp_bias: boolean;
  /** mistral, qwen2: the window W of sliding-window layers (null: none). */
  sliding_window: number | null;
  /** qwen2: sliding windows are off unless this is true. */
  use_sliding_window: boolean;
  /** qwen2: layers below this index use full attention, the rest the sliding window. */
  max_window_layers: number;
  /** qwen2: the per-layer pattern, when config.json spells it out (it then decides over max_window_layers). */
  layer_types?: LayerType[];
  pad_token_id?: number | null;
  /** Every id that ends generation when config.json lists several (Llama 3 instruct); eos_token_id is the first. */
  eos_token_ids?: number[];
  /** config.json fields rlhf does not use, written back on save. */
  extra?: Record<string, unknown>;
}

type DerivedField = 'n_embd' | 'n_layer' | 'n_head' | 'n_positions';

/** Fields of LlamaConfig that config.json may leave out (the rest have family defaults). */
type Optional = DerivedField | 'num_key_value_heads' | 'head_dim' | 'layer_types' | 'pad_token_id' | 'eos_token_ids' | 'extra';

/** transformers' defaults per family (LlamaConfig, MistralConfig, Qwen2Config). */
export const LLAMA_FAMILY_DEFAULTS: Record<LlamaFamily, Omit<LlamaConfig, Optional> & { num_key_value_heads: number | null }> = {
  llama: {
    model_type: 'llama', vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: null, hidden_act: 'silu', max_position_embeddings: 2048, initializer_range: 0.02, rms_norm_eps: 1e-6,
    rope_theta: 10000, rope_scaling: null, attention_dropout: 0, tie_word_embeddings: false, attention_bias: false, mlp_bias: false,
    sliding_window: null, use_sliding_window: false, max_window_layers: 0, bos_token_id: 1, eos_token_id: 2,
  },
  mistral: {
    model_type: 'mistral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 8, hidden_act: 'silu', max_position_embeddings: 4096 * 32, initializer_range: 0.02, rms_norm_eps: 1e-6,
    rope_theta: 10000, rope_scaling: null, attention_dropout: 0, tie_word_embeddings: false, attention_bias: false, mlp_bias: false,
    sliding_window: 4096, use_sliding_window: true, max_window_layers: 0, bos_token_id: 1, eos_token_id: 2,
  },
  // Qwen2Config has no bos/eos defaults; every Qwen2 checkpoint uses <|endoftext|> (151643) for both.
  qwen2: {
    model_type: 'qwen2', vocab_size: 151936, hidden_size: 4096, intermediate_size: 22016, num_hidden_layers: 32, num_attention_heads: 32,
    num_key_value_heads: 32, hidden_act: 'silu', max_position_embeddings: 32768, initializer_range: 0.02, rms_norm_eps: 1e-6,
    rope_theta: 10000, rope_scaling: null, attention_dropout: 0, tie_word_embeddings: false, attention_bias: false, mlp_bias: false,
    sliding_window: 4096, use_sliding_window: false, max_window_layers: 28, bos_token_id: 151643, eos_token_id: 151643,
  },
};

/**
 * A complete config from a partial one: the family's defaults under the fields given,
 * num_key_value_heads and head_dim filled in as transformers does, the BaseLMConfig aliases
 * (n_embd = hidden_size, …) derived, and every cross-field rule checked. Errors are ConfigErrors
 * naming `file` (config.json's path when it comes from a file) and the field.
 */
export function resolveLlamaConfig(partial: Partial<LlamaConfig> & { model_type: LlamaFamily }, file = 'LlamaConfig'): LlamaConfig {
  const d = LLAMA_FAMILY_DEFAULTS[partial.model_type];
  if (!d) throw new ConfigError(file, 'model_type', `is ${JSON.stringify(partial.model_type)}; the Llama family is ${LLAMA_FAMILY.join(', ')}`);
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<LlamaConfig>;
  const c = { ...d, ...given } as Omit<LlamaConfig, DerivedField | 'num_key_value_heads' | 'head_dim'> & { num_key_value_heads?: number | null; head_dim?: number | null };
  const heads = c.num_attention_heads;
  const kv = c.num_key_value_heads ?? heads; // transformers: None means multi-head attention
  if (heads % kv !== 0) throw new ConfigError(file, 'num_key_value_heads', `is ${kv}, which does not divide num_attention_heads (${heads}); each k/v head serves num_attention_heads / num_key_value_heads query heads`);
  const headDim = c.head_dim ?? Math.floor(c.hidden_size / heads); // transformers: hidden_size // num_attention_heads
  if (headDim < 2 || headDim % 2 !== 0) {
    throw new ConfigError(file, c.head_dim ? 'head_dim' : 'num_attention_heads', `gives head_dim ${headDim}; rotary embeddings rotate pairs of dimensions, so head_dim must be even (set head_dim, or pick num_attention_heads so that hidden_size / num_attention_heads is even)`);
  }
  if (c.layer_types !== undefined && c.layer_types.length !== c.num_hidden_layers) {
    throw new ConfigError(file, 'layer_types', `lists ${c.layer_types.length} layers but num_hidden_layers is ${c.num_hidden_layers}; give one "full_attention" or "sliding_attention" per layer`);
  }
  ropeOf({ ...c, head_dim: headDim }, file); // validates rope_scaling
  const eosIds = c.eos_token_ids;
  return {
    ...c,
    num_key_value_heads: kv,
    head_dim: headDim,
    ...(eosIds && eosIds.length > 0 ? { eos_token_id: eosIds[0] as number } : {}),
    n_embd: c.hidden_size,
    n_layer: c.num_hidden_layers,
    n_head: heads,
    n_positions: c.max_position_embeddings,
  };
}

/** The sliding window of layer i, or null when it attends to every earlier position (transformers' layer_types). */
export function layerWindow(c: LlamaConfig, i: number): number | null {
  if (c.model_type === 'mistral') return c.sliding_window;
  if (c.model_type !== 'qwen2') return null;
  const window = c.use_sliding_window ? c.sliding_window : null; // Qwen2Config: sliding_window = None unless use_sliding_window
  const type = c.layer_types?.[i] ?? (window !== null && i >= c.max_window_layers ? 'sliding_attention' : 'full_attention');
  return type === 'sliding_attention' ? window : null;
}

// ---- rotary embeddings -----------------------------------------------------------------------

interface Rope {
  type: RopeType;
  factor: number;
  original: number;
  low: number;
  high: number;
}

/** rope_scaling checked and normalised; errors name rope_scaling and the key. */
function ropeOf(c: Pick<LlamaConfig, 'rope_scaling' | 'rope_theta' | 'head_dim' | 'max_position_embeddings'>, file: string): Rope {
  const s = c.rope_scaling;
  if (!(c.rope_theta > 0)) throw new ConfigError(file, 'rope_theta', `is ${c.rope_theta}; the RoPE base must be > 0 (10000 for Llama 2, 500000 for Llama 3)`);
  if (s === null || s === undefined) return { type: 'default', factor: 1, original: c.max_position_embeddings, low: 1, high: 1 };
  const type = s.rope_type ?? s.type ?? 'default';
  if (!(ROPE_TYPES as readonly string[]).includes(type)) {
    throw new ConfigError(file, 'rope_scaling.rope_type', `is ${JSON.stringify(type)}; rlhf implements ${ROPE_TYPES.join(', ')} (yarn and longrope are not implemented)`);
  }
  const num = (key: keyof RopeScaling, rule: (x: number) => boolean, what: string): number => {
    const x = s[key];
    if (typeof x !== 'number' || !rule(x)) throw new ConfigError(file, `rope_scaling.${String(key)}`, `is ${JSON.stringify(x)}; rope_type "${type}" needs ${what}`);
    return x;
  };
  if (type === 'default') return { type, factor: 1, original: c.max_position_embeddings, low: 1, high: 1 };
  const factor = num('factor', (x) => x > 0, 'a factor > 0 (e.g. 2 for twice the context)');
  if (type !== 'llama3') return { type: type as RopeType, factor, original: c.max_position_embeddings, low: 1, high: 1 };
  const low = num('low_freq_factor', (x) => x > 0, 'low_freq_factor > 0 (1 for Llama 3.1)');
  const high = num('high_freq_factor', (x) => x > low, `high_freq_factor > low_freq_factor (${low}) (4 for Llama 3.1)`);
  const original = num('original_max_position_embeddings', (x) => Number.isInteger(x) && x > 0, 'original_max_position_embeddings, a positive integer (8192 for Llama 3.1)');
  return { type, factor, original, low, high };
}

/**
 * RoPE's inverse frequencies (head_dim / 2) as transformers computes them in float32, for a forward
 * whose largest position id is seqLen − 1 (only 'dynamic' depends on it):
 *   default   1 / θ^(2i/d)
 *   linear    default / factor
 *   dynamic   default with θ' = θ · (factor · L / max_pos − (factor − 1))^(d/(d−2)), L = max(seqLen, max_pos)
 *   llama3    wavelengths 2π/f above original/low_freq_factor divided by factor, below
 *             original/high_freq_factor kept, in between interpolated with
 *             s = (original/wavelength − low) / (high − low): (1 − s)·f/factor + s·f
 * transformers keeps the dynamic frequencies of the longest sequence seen until a call shorter than
 * max_position_embeddings; here each forward uses its own length — the same in generation, where
 * each call is longer than the last.
 */
export function ropeInverseFrequencies(c: LlamaConfig, seqLen: number): Float32Array {
  const r = ropeOf(c, 'LlamaConfig');
  const f32 = Math.fround;
  const d = c.head_dim;
  let base = c.rope_theta;
  if (r.type === 'dynamic') {
    const L = Math.max(seqLen, c.max_position_embeddings);
    base = base * ((r.factor * L) / c.max_position_embeddings - (r.factor - 1)) ** (d / (d - 2));
  }
  const inv = new Float32Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = f32(1 / f32(f32(base) ** f32((2 * i) / d)));
  if (r.type === 'linear') for (let i = 0; i < inv.length; i++) inv[i] = f32((inv[i] as number) / r.factor);
  if (r.type === 'llama3') {
    const lowWavelen = r.original / r.low;
    const highWavelen = r.original / r.high;
    for (let i = 0; i < inv.length; i++) {
      const f = inv[i] as number;
      const wavelen = f32((2 * Math.PI) / f);
      const scaled = wavelen > lowWavelen ? f32(f / r.factor) : f; // low frequencies: divided by factor
      if (wavelen < highWavelen || wavelen > lowWavelen) inv[i] = scaled; // high: kept
      else {
        const s = f32((f32(r.original / wavelen) - r.low) / (r.high - r.low));
        inv[i] = f32(f32(f32(1 - s) * scaled) / r.factor + f32(s * scaled)); // medium: interpolated
      }
    }
  }
  return inv;
}

/**
 * cos and sin (B, 1, T, head_dim) of the rotation at each position, in `dtype`; sin carries the sign
 * of rotate_half, so that rotate(x) = x·cos + roll(x, d/2)·sin equals transformers'
 * x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁].
 */
export function rotaryCosSin(c: LlamaConfig, positionIds: Tensor, dtype: string): { cos: Tensor; sin: Tensor } {
  const device = positionIds.device as Device;
  const seqLen = ropeOf(c, 'LlamaConfig').type === 'dynamic' ? positionIds.max().item() + 1 : 0;
  const inv = tensor(ropeInverseFrequencies(c, seqLen), { device }); // (d/2) float32
  const freqs = positionIds.float().unsqueeze(-1).mul(inv); // (B, T, d/2) angles, in float32 as transformers
  const cosHalf = freqs.cos();
  const sinHalf = freqs.sin();
  let cos = cat([cosHalf, cosHalf], -1).unsqueeze(1); // (B, 1, T, d)
  let sin = cat([sinHalf.neg(), sinHalf], -1).unsqueeze(1); // (B, 1, T, d), rotate_half's signs
  if (dtype !== 'float32') [cos, sin] = [cos.to(dtype as 'bfloat16'), sin.to(dtype as 'bfloat16')];
  return { cos, sin };
}

/** x (B, h, T, d) rotated: x·cos + [x₂, x₁]·sin (sin signed by rotaryCosSin). */
export function applyRotary(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const d = x.size(-1);
  return x.mul(cos).add(x.roll(d / 2, -1).mul(sin));
}

// ---- layers ------------------------------------------------------------------------------------

/** Root-mean-square normalisation (Zhang & Sennrich, 2019) as transformers' LlamaRMSNorm: in float32, then w·x in x's dtype. */
export class LlamaRMSNorm extends Module {
  readonly weight: Tensor;
  constructor(readonly dim: number, readonly eps: number) {
    super();
    this.weight = this.registerParameter('weight', ones([dim]));
  }
  forward(x: Tensor): Tensor {
    const x32 = x.dtype === 'float32' ? x : x.float(); // (…, C)
    const normed = x32.mul(x32.square().mean(-1, true).add(this.eps).rsqrt()); // x / √(mean(x²) + ε)
    return this.weight.mul(normed.dtype === x.dtype ? normed : normed.to(x.dtype));
  }
}

/** The token embedding with torch's padding_idx: that row starts at zero and gets no gradient. */
export class LlamaEmbedding extends Module {
  readonly weight: Tensor;
  readonly paddingIdx: number;
  constructor(readonly numEmbeddings: number, readonly dim: number, std: number, padTokenId: number | null | undefined) {
    super();
    const pad = typeof padTokenId === 'number' && padTokenId >= 0 && padTokenId < numEmbeddings ? padTokenId : -1;
    this.paddingIdx = pad;
    this.weight = this.registerParameter(
      'weight',
      param([numEmbeddings, dim], (t) => {
        normal_(t, 0, std);
        if (pad >= 0) t.narrow(0, pad, 1).zero_().dispose(); // the row view, not the storage: t keeps it
        return t;
      }),
    );
  }
  forward(ids: Tensor): Tensor {
    return F.embedding(ids, this.weight, this.paddingIdx); // (…) → (…, C)
  }
}

/** (B, kv, T, d) → (B, kv·rep, T, d): k/v head g serves query heads g·rep … g·rep + rep − 1 (transformers' repeat_kv). */
function repeatKV(x: Tensor, rep: number): Tensor {
  if (rep === 1) return x;
  const [B, kv, T, d] = x.shape as [number, number, number, number];
  return x.unsqueeze(2).expand(B, kv, rep, T, d).reshape(B, kv * rep, T, d);
}

export class LlamaAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly o_proj: Linear;
  /** The sliding window of this layer, or null. */
  readonly window: number | null;
  readonly scale: number;
  constructor(readonly cfg: LlamaConfig, readonly layerIdx: number) {
    super();
    const { hidden_size: C, num_attention_heads: nh, num_key_value_heads: nkv, head_dim: hd, initializer_range: std } = cfg;
    const qkvBias = cfg.model_type === 'qwen2' || (cfg.model_type === 'llama' && cfg.attention_bias);
    const oBias = cfg.model_type === 'llama' && cfg.attention_bias;
    this.q_proj = this.registerModule('q_proj', new Linear(C, nh * hd, { bias: qkvBias, std }));
    this.k_proj = this.registerModule('k_proj', new Linear(C, nkv * hd, { bias: qkvBias, std }));
    this.v_proj = this.registerModule('v_proj', new Linear(C, nkv * hd, { bias: qkvBias, std }));
    this.o_proj = this.registerModule('o_proj', new Linear(nh * hd, C, { bias: oBias, std }));
    this.window = layerWindow(cfg, layerIdx);
    this.scale = 1 / Math.sqrt(hd);
  }

  /** mask: this layer's (causal or windowed) bool mask, or null for plain causal attention. */
  forward(x: Tensor, rope: { cos: Tensor; sin: Tensor }, mask: Tensor | null, cache: StaticKVCache | null): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const { num_attention_heads: nh, num_key_value_heads: nkv, head_dim: hd } = this.cfg;
    const heads = (t: Tensor, n: number): Tensor => t.view(B, T, n, hd).transpose(1, 2); // (B, n, T, hd)
    let q = applyRotary(heads(this.q_proj.forward(x), nh), rope.cos, rope.sin); // (B, nh, T, hd)
    let k = applyRotary(heads(this.k_proj.forward(x), nkv), rope.cos, rope.sin); // (B, nkv, T, hd)
    let v = heads(this.v_proj.forward(x), nkv); // (B, nkv, T, hd)
    if (cache) ({ k, v } = cache.update(this.layerIdx, k, v)); // (B, nkv, Tpast+T, hd), rotated keys as transformers caches them
    // Under autocast q, k are float32 (float32 cos/sin) and v bf16: transformers' matmuls cast them alike.
    if (q.dtype !== v.dtype) q = q.to(v.dtype);
    if (k.dtype !== v.dtype) k = k.to(v.dtype);
    const rep = nh / nkv;
    const dropoutP = this.training ? this.cfg.attention_dropout : 0;
    let y: Tensor; // (B, nh, T, hd)
    if (T === 1 && rep > 1) {
      // One new token per row (a decoding step): the rep query heads of each k/v group become rep
      // queries of that group, so the cache is read as it is instead of being copied rep times.
      // A single query sees every cached key, so only the mask (padding, window) applies.
      const qg = q.reshape(B, nkv, rep, hd); // (B, nkv, rep, hd)
      y = F.scaledDotProductAttention(qg, k, v, { mask, isCausal: false, dropoutP, scale: this.scale }).reshape(B, nh, 1, hd);
    } else {
      y = F.scaledDotProductAttention(q, repeatKV(k, rep), repeatKV(v, rep), { mask, isCausal: mask === null, dropoutP, scale: this.scale });
    }
    return this.o_proj.forward(y.transpose(1, 2).reshape(B, T, nh * hd)); // (B, T, C)
  }
}

export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;
  constructor(readonly cfg: LlamaConfig) {
    super();
    const { hidden_size: C, intermediate_size: I, initializer_range: std } = cfg;
    const bias = cfg.model_type === 'llama' && cfg.mlp_bias;
    this.gate_proj = this.registerModule('gate_proj', new Linear(C, I, { bias, std }));
    this.up_proj = this.registerModule('up_proj', new Linear(C, I, { bias, std }));
    this.down_proj = this.registerModule('down_proj', new Linear(I, C, { bias, std }));
  }
  forward(x: Tensor): Tensor {
    const g = activation(this.gate_proj.forward(x), this.cfg.hidden_act); // (B, T, I)
    return this.down_proj.forward(g.mul(this.up_proj.forward(x))); // SwiGLU: down(act(gate(x)) · up(x))
  }
}

export class LlamaDecoderLayer extends Module {
  readonly input_layernorm: LlamaRMSNorm;
  readonly self_attn: LlamaAttention;
  readonly post_attention_layernorm: LlamaRMSNorm;
  readonly mlp: LlamaMLP;
  constructor(cfg: LlamaConfig, layerIdx: number) {
    super();
    this.input_layernorm = this.registerModule('input_layernorm', new LlamaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
    this.self_attn = this.registerModule('self_attn', new LlamaAttention(cfg, layerIdx));
    this.post_attention_layernorm = this.registerModule('post_attention_layernorm', new LlamaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
    this.mlp = this.registerModule('mlp', new LlamaMLP(cfg));
  }
  forward(x: Tensor, rope: { cos: Tensor; sin: Tensor }, mask: Tensor | null, cache: StaticKVCache | null): Tensor {
    const h = x.add(this.self_attn.forward(this.input_layernorm.forward(x), rope, mask, cache)); // pre-norm residual
    return h.add(this.mlp.forward(this.post_attention_layernorm.forward(h)));
  }
}

/** The decoder body (transformers' LlamaModel / MistralModel / Qwen2Model): embedding, layers, final RMSNorm. */
export class LlamaModel extends Module implements DecoderBody {
  readonly embed_tokens: LlamaEmbedding;
  readonly layers: LlamaDecoderLayer[] = [];
  readonly norm: LlamaRMSNorm;
  constructor(readonly cfg: LlamaConfig) {
    super();
    this.embed_tokens = this.registerModule('embed_tokens', new LlamaEmbedding(cfg.vocab_size, cfg.hidden_size, cfg.initializer_range, cfg.pad_token_id));
    for (let i = 0; i < cfg.num_hidden_layers; i++) this.layers.push(this.registerModule(`layers.${i}`, new LlamaDecoderLayer(cfg, i)));
    this.norm = this.registerModule('norm', new LlamaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps));
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): Tensor {
    const [B, T] = inputIds.shape as [number, number];
    const device = inputIds.device as Device;
    const cache = (opts.cache as StaticKVCache | null | undefined) ?? null;
    const past = cache?.length ?? 0;
    const Tk = past + T;
    const pos = opts.positionIds ?? positionIdsFor(opts.attentionMask, past, T, B, device); // (B, T)
    const causal = buildAttentionMask(opts.attentionMask, T, Tk); // (B, 1, T, Tk) or null (plain causal)
    // One mask per distinct window; a window that covers every key is plain causal attention.
    const masks = new Map<number | null, Tensor | null>([[null, causal]]);
    const maskFor = (w: number | null): Tensor | null => {
      if (w === null || w >= Tk) return causal;
      if (!masks.has(w)) masks.set(w, buildLocalAttentionMask(opts.attentionMask, T, Tk, w, device)); // (B or 1, 1, T, Tk)
      return masks.get(w) as Tensor | null;
    };
    let x = this.embed_tokens.forward(inputIds); // (B, T, C)
    const rope = rotaryCosSin(this.cfg, pos, x.dtype); // (B, 1, T, hd) each, shared by every layer
    for (const layer of this.layers) x = layer.forward(x, rope, maskFor(layer.self_attn.window), cache);
    if (cache) cache.length += T;
    return this.norm.forward(x); // (B, T, C)
  }
}

/**
 * The Llama family with its language-modelling head (transformers' LlamaForCausalLM,
 * MistralForCausalLM, Qwen2ForCausalLM): tied to embed_tokens when tie_word_embeddings, else its own
 * `lm_head` (V, C) without bias.
 */
export class LlamaForCausalLM extends Module implements CausalLM {
  readonly model: LlamaModel;
  readonly lm_head: Linear | null;
  readonly config: LlamaConfig;
  constructor(config: Partial<LlamaConfig> & { model_type: LlamaFamily }) {
    super();
    this.config = resolveLlamaConfig(config);
    const c = this.config;
    this.model = this.registerModule('model', new LlamaModel(c));
    this.lm_head = c.tie_word_embeddings ? null : this.registerModule('lm_head', new Linear(c.hidden_size, c.vocab_size, { bias: false, std: c.initializer_range }));
  }

  baseModel(): LlamaModel {
    return this.model;
  }

  forwardHidden(inputIds: Tensor, opts: ForwardOptions = {}): Tensor {
    return this.model.forward(inputIds, opts);
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): ForwardOutput {
    const hidden = this.model.forward(inputIds, opts); // (B, T, C)
    const logits = this.lmHead(hidden); // (B, T, V)
    return opts.outputHidden ? { logits, hidden } : { logits };
  }

  outputEmbeddings(): Tensor {
    return (this.lm_head ?? this.model.embed_tokens).weight; // (V, C)
  }

  lmHead(hidden: Tensor): Tensor {
    return F.linear(hidden, this.outputEmbeddings()); // (…, C) → (…, V)
  }

  /** Every weight is an nn.Linear (out, in), already the layout decoding's few-row products want. */
  decodingRelayout(): Tensor[] {
    return [];
  }

  /** The cache holds num_key_value_heads heads per layer: (B, nkv, maxLength, head_dim). */
  createCache(batchSize: number, maxLength: number, opts: { dtype?: 'float32' | 'bfloat16' } = {}): KVCache {
    const c = this.config;
    const w = this.model.embed_tokens.weight;
    const dtype = opts.dtype ?? (w.dtype === 'bfloat16' ? 'bfloat16' : 'float32');
    return new StaticKVCache(c.num_hidden_layers, batchSize, c.num_key_value_heads, maxLength, c.head_dim, { dtype, device: w.device as Device });
  }
}
