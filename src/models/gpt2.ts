// GPT-2 (Radford et al., 2019), numerically the same as transformers' GPT2LMHeadModel, in the
// spirit of nanoGPT: one file, Hugging Face weight names kept as they are so loading a checkpoint
// is a key-for-key copy.
//
// Hugging Face specifics (see DESIGN.md): c_attn, c_proj, c_fc are Conv1D — weights stored
// (in, out), the transpose of nn.Linear — so y = b + x·W is one addmm; c_attn fuses q, k, v along
// `out`; gelu_new is the tanh approximation; the LM head is tied to wte (unless
// tie_word_embeddings is false). Every config switch of transformers' GPT2Config that changes the
// forward pass is honoured: n_inner, activation_function, layer_norm_epsilon, scale_attn_weights,
// scale_attn_by_inverse_layer_idx, reorder_and_upcast_attn, tie_word_embeddings.
import type { Tensor, Device } from '../torch/tensor.js';
import { F, zeros, arange } from '../torch/index.js';
import { Module } from '../nn/module.js';
import { Conv1D, Embedding, LayerNorm, Dropout, Linear } from '../nn/layers.js';
import { StaticKVCache } from './kv-cache.js';
import type { CausalLM, ForwardOptions, ForwardOutput, KVCache, BaseLMConfig } from './types.js';

// Conv1D is a basic layer (src/nn/layers.ts); exported here too, where GPT-2's users look for it.
export { Conv1D };

/** transformers' ACT2FN names rlhf implements. */
export const ACTIVATIONS = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'gelu', 'quick_gelu', 'relu', 'silu', 'swish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface GPT2Config extends BaseLMConfig {
  model_type: 'gpt2';
  /** MLP width; null means 4·n_embd. */
  n_inner: number | null;
  activation_function: Activation;
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  /** Scale attention scores by 1/√head_dim. */
  scale_attn_weights: boolean;
  /** Additionally scale layer i's scores by 1/(i+1). */
  scale_attn_by_inverse_layer_idx: boolean;
  /** Computes attention scores and softmax in float32 even when the weights are bf16/fp16. */
  reorder_and_upcast_attn: boolean;
  /** The LM head reuses wte (true, GPT-2's checkpoints), or is its own `lm_head.weight` (V, C). */
  tie_word_embeddings: boolean;
  /** The padding token; transformers' sequence classifiers (reward models) need it. */
  pad_token_id?: number | null;
  /** config.json fields rlhf does not use (n_ctx, task_specific_params, …), written back on save. */
  extra?: Record<string, unknown>;
}

/** GPT-2 small's configuration (124M parameters). */
export const GPT2_DEFAULTS: GPT2Config = {
  model_type: 'gpt2',
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  n_inner: null,
  activation_function: 'gelu_new',
  resid_pdrop: 0.1,
  embd_pdrop: 0.1,
  attn_pdrop: 0.1,
  layer_norm_epsilon: 1e-5,
  initializer_range: 0.02,
  scale_attn_weights: true,
  scale_attn_by_inverse_layer_idx: false,
  reorder_and_upcast_attn: false,
  tie_word_embeddings: true,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

/** transformers' ACT2FN: gelu_new (and its aliases) is the tanh approximation, gelu the exact erf form. */
export function activation(x: Tensor, name: string): Tensor {
  switch (name) {
    case 'gelu_new': case 'gelu_pytorch_tanh': case 'gelu_fast': return x.gelu('tanh');
    case 'gelu': return x.gelu('none');
    case 'quick_gelu': return x.mul(x.mul(1.702).sigmoid()); // x·σ(1.702x)
    case 'relu': return x.relu();
    case 'silu': case 'swish': return x.silu();
    default: throw new Error(`unsupported activation_function '${name}' in config.json; rlhf supports ${ACTIVATIONS.join(', ')}`);
  }
}

export class GPT2Attention extends Module {
  readonly c_attn: Conv1D;
  readonly c_proj: Conv1D;
  readonly resid_dropout: Dropout;
  readonly scale: number;
  constructor(readonly cfg: GPT2Config, readonly layerIdx: number) {
    super();
    const C = cfg.n_embd;
    this.c_attn = this.registerModule('c_attn', new Conv1D(C, 3 * C, cfg.initializer_range));
    // GPT-2's scaled init of residual projections: std / √(2·n_layer).
    this.c_proj = this.registerModule('c_proj', new Conv1D(C, C, cfg.initializer_range / Math.sqrt(2 * cfg.n_layer)));
    this.resid_dropout = this.registerModule('resid_dropout', new Dropout(cfg.resid_pdrop));
    const hs = C / cfg.n_head;
    this.scale = (cfg.scale_attn_weights ? 1 / Math.sqrt(hs) : 1) / (cfg.scale_attn_by_inverse_layer_idx ? layerIdx + 1 : 1);
  }

  forward(x: Tensor, mask: Tensor | null, cache: StaticKVCache | null): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const nh = this.cfg.n_head;
    const hs = C / nh;
    const [q, k, v] = this.c_attn.forward(x).split(C, 2); // 3 × (B, T, C)
    const heads = (t: Tensor): Tensor => t.view(B, T, nh, hs).transpose(1, 2); // (B, nh, T, hs)
    let K = heads(k as Tensor);
    let V = heads(v as Tensor);
    let Q = heads(q as Tensor);
    if (cache) ({ k: K, v: V } = cache.update(this.layerIdx, K, V)); // (B, nh, Tpast+T, hs)
    const upcast = this.cfg.reorder_and_upcast_attn && Q.dtype !== 'float32';
    if (upcast) [Q, K, V] = [Q.float(), K.float(), V.float()];
    let y = F.scaledDotProductAttention(Q, K, V, {
      mask,
      isCausal: mask === null,
      dropoutP: this.training ? this.cfg.attn_pdrop : 0,
      scale: this.scale,
    }); // (B, nh, T, hs)
    if (upcast) y = y.to(x.dtype);
    const merged = y.transpose(1, 2).reshape(B, T, C); // (B, T, C)
    return this.resid_dropout.forward(this.c_proj.forward(merged));
  }
}

export class GPT2MLP extends Module {
  readonly c_fc: Conv1D;
  readonly c_proj: Conv1D;
  readonly dropout: Dropout;
  constructor(readonly cfg: GPT2Config) {
    super();
    const inner = cfg.n_inner ?? 4 * cfg.n_embd;
    this.c_fc = this.registerModule('c_fc', new Conv1D(cfg.n_embd, inner, cfg.initializer_range));
    this.c_proj = this.registerModule('c_proj', new Conv1D(inner, cfg.n_embd, cfg.initializer_range / Math.sqrt(2 * cfg.n_layer)));
    this.dropout = this.registerModule('dropout', new Dropout(cfg.resid_pdrop));
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(activation(this.c_fc.forward(x), this.cfg.activation_function)));
  }
}

export class GPT2Block extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: GPT2Attention;
  readonly ln_2: LayerNorm;
  readonly mlp: GPT2MLP;
  constructor(cfg: GPT2Config, layerIdx: number) {
    super();
    this.ln_1 = this.registerModule('ln_1', new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon));
    this.attn = this.registerModule('attn', new GPT2Attention(cfg, layerIdx));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon));
    this.mlp = this.registerModule('mlp', new GPT2MLP(cfg));
  }
  forward(x: Tensor, mask: Tensor | null, cache: StaticKVCache | null): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x), mask, cache)); // pre-norm residual
    return h.add(this.mlp.forward(this.ln_2.forward(h)));
  }
}

/**
 * The attention mask for a forward pass: null when plain causal attention suffices, else a bool
 * (B, 1, T, Tk) tensor, true where query t may see key j: j is a real token and j ≤ Tpast + t.
 */
export function buildAttentionMask(attentionMask: Tensor | null | undefined, T: number, Tk: number): Tensor | null {
  if (!attentionMask) return null;
  const causal = zeros([T, Tk], { dtype: 'bool', device: attentionMask.device as Device }).logicalNot().tril(Tk - T); // (T, Tk)
  const real = attentionMask.narrow(1, attentionMask.size(1) - Tk, Tk).ne(0).unsqueeze(1).unsqueeze(1); // (B, 1, 1, Tk)
  return real.logicalAnd(causal); // (B, 1, T, Tk)
}

/**
 * Position ids: Tpast..Tpast+T-1, or, with a (left-padded) attention mask, each token's index
 * among the real tokens of its row — cumsum(mask) − 1, with padding set to 1 as transformers does.
 */
export function positionIdsFor(attentionMask: Tensor | null | undefined, past: number, T: number, B: number, device: Device = 'cpu'): Tensor {
  if (!attentionMask) return arange(past, past + T, 1, { device }).unsqueeze(0).expand(B, T); // (B, T)
  const pos = attentionMask.long().cumsum(1).sub(1).maskedFill(attentionMask.eq(0), 1); // (B, Tk)
  return pos.narrow(1, pos.size(1) - T, T); // (B, T)
}

/** The transformer body (transformers' GPT2Model): embeddings, blocks, final LayerNorm. */
export class GPT2Model extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly drop: Dropout;
  readonly h: GPT2Block[] = [];
  readonly ln_f: LayerNorm;
  constructor(readonly cfg: GPT2Config) {
    super();
    this.wte = this.registerModule('wte', new Embedding(cfg.vocab_size, cfg.n_embd, { std: cfg.initializer_range }));
    this.wpe = this.registerModule('wpe', new Embedding(cfg.n_positions, cfg.n_embd, { std: cfg.initializer_range }));
    this.drop = this.registerModule('drop', new Dropout(cfg.embd_pdrop));
    for (let i = 0; i < cfg.n_layer; i++) this.h.push(this.registerModule(`h.${i}`, new GPT2Block(cfg, i)));
    this.ln_f = this.registerModule('ln_f', new LayerNorm(cfg.n_embd, cfg.layer_norm_epsilon));
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): Tensor {
    const [B, T] = inputIds.shape as [number, number];
    const cache = (opts.cache as StaticKVCache | null | undefined) ?? null;
    const past = cache?.length ?? 0;
    if (past + T > this.cfg.n_positions) throw new Error(`sequence of ${past + T} tokens is longer than the model's n_positions (${this.cfg.n_positions})`);
    const pos = opts.positionIds ?? positionIdsFor(opts.attentionMask, past, T, B, inputIds.device as Device); // (B, T)
    const mask = buildAttentionMask(opts.attentionMask, T, past + T); // (B, 1, T, Tk) or null
    let x = this.drop.forward(this.wte.forward(inputIds).add(this.wpe.forward(pos))); // (B, T, C)
    for (const block of this.h) x = block.forward(x, mask, cache);
    if (cache) cache.length += T;
    return this.ln_f.forward(x); // (B, T, C)
  }
}

/**
 * GPT-2 with its language-modelling head (transformers' GPT2LMHeadModel): tied to the token
 * embedding, or its own `lm_head` when tie_word_embeddings is false.
 */
export class GPT2LMHeadModel extends Module implements CausalLM {
  readonly transformer: GPT2Model;
  readonly lm_head: Linear | null;
  readonly config: GPT2Config;
  constructor(config: Partial<GPT2Config> = {}) {
    super();
    this.config = { ...GPT2_DEFAULTS, ...config, model_type: 'gpt2' };
    if (this.config.n_embd % this.config.n_head !== 0) throw new Error(`n_embd (${this.config.n_embd}) must be divisible by n_head (${this.config.n_head})`);
    this.transformer = this.registerModule('transformer', new GPT2Model(this.config));
    const c = this.config;
    this.lm_head = c.tie_word_embeddings ? null : this.registerModule('lm_head', new Linear(c.n_embd, c.vocab_size, { bias: false, std: c.initializer_range }));
  }

  forwardHidden(inputIds: Tensor, opts: ForwardOptions = {}): Tensor {
    return this.transformer.forward(inputIds, opts);
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): ForwardOutput {
    const hidden = this.transformer.forward(inputIds, opts); // (B, T, C)
    const logits = this.lmHead(hidden); // (B, T, V)
    return opts.outputHidden ? { logits, hidden } : { logits };
  }

  outputEmbeddings(): Tensor {
    return (this.lm_head ?? this.transformer.wte).weight; // (V, C)
  }

  lmHead(hidden: Tensor): Tensor {
    return F.linear(hidden, this.outputEmbeddings()); // (…, C) → (…, V)
  }

  baseModel(): GPT2Model {
    return this.transformer;
  }

  /**
   * The Conv1D weights, stored (in, out) row-major and multiplied as x·W (addmm): a decoding step
   * (only M = B rows) takes the matrix-product kernels' slow path for that layout; the same values
   * stored column-major — W as a transposed view of a contiguous (out, in) tensor, which is how
   * nn.Linear keeps its weight — take the fast one. Measured on GPT-2 small: 1.4× faster steps at
   * batch 1 in float32 (OpenBLAS), 1.2× in bfloat16 (oneDNN), 1.1–1.2× at batch 16. Weights already
   * column-major (after prepareForInference) are not listed.
   */
  decodingRelayout(): Tensor[] {
    const out: Tensor[] = [];
    for (const [, m] of this.namedModules()) if (m instanceof Conv1D && m.weight.isContiguous && m.weight.ndim === 2) out.push(m.weight);
    return out;
  }

  createCache(batchSize: number, maxLength: number, opts: { dtype?: 'float32' | 'bfloat16' } = {}): KVCache {
    const c = this.config;
    const dtype = opts.dtype ?? (this.transformer.wte.weight.dtype === 'bfloat16' ? 'bfloat16' : 'float32');
    return new StaticKVCache(c.n_layer, batchSize, c.n_head, maxLength, c.n_embd / c.n_head, { dtype, device: this.transformer.wte.weight.device as Device });
  }
}
