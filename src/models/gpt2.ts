// GPT-2 (Radford et al., 2019), numerically the same as transformers' GPT2LMHeadModel, in the
// spirit of nanoGPT: one file, Hugging Face weight names kept as they are so loading a checkpoint
// is a key-for-key copy.
//
// Hugging Face specifics (see DESIGN.md): c_attn, c_proj, c_fc are Conv1D — weights stored
// (in, out), the transpose of nn.Linear — so y = b + x·W is one addmm; c_attn fuses q, k, v along
// `out`; gelu_new is the tanh approximation; the LM head is tied to wte.
import { Tensor } from '../torch/tensor.js';
import { F, empty, zeros, arange } from '../torch/index.js';
import { Module } from '../nn/module.js';
import { Embedding, LayerNorm, Dropout } from '../nn/layers.js';
import { normal_ } from '../nn/init.js';
import { StaticKVCache } from './kv-cache.js';
import type { CausalLM, ForwardOptions, ForwardOutput, KVCache, BaseLMConfig } from './types.js';


export interface GPT2Config extends BaseLMConfig {
  model_type: 'gpt2';
  /** MLP width; null means 4·n_embd. */
  n_inner: number | null;
  activation_function: 'gelu_new' | 'gelu' | 'gelu_pytorch_tanh' | 'relu' | 'silu';
  resid_pdrop: number;
  embd_pdrop: number;
  attn_pdrop: number;
  layer_norm_epsilon: number;
  initializer_range: number;
  /** Scale attention scores by 1/√head_dim. */
  scale_attn_weights: boolean;
  /** Additionally scale layer i's scores by 1/(i+1). */
  scale_attn_by_inverse_layer_idx: boolean;
  /** Computes attention in float32 (we always do outside autocast; kept for config round trips). */
  reorder_and_upcast_attn: boolean;
  tie_word_embeddings: boolean;
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

export function activation(x: Tensor, name: string): Tensor {
  switch (name) {
    case 'gelu_new': case 'gelu_pytorch_tanh': case 'gelu_fast': return x.gelu('tanh');
    case 'gelu': return x.gelu('none');
    case 'relu': return x.relu();
    case 'silu': case 'swish': return x.silu();
    default: throw new Error(`unsupported activation_function '${name}' in config.json; rlhf supports gelu_new, gelu, gelu_pytorch_tanh, relu, silu`);
  }
}

/** transformers' Conv1D: y = x·W + b with W stored (in, out). */
export class Conv1D extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly nIn: number, readonly nOut: number, std = 0.02) {
    super();
    this.weight = this.registerParameter('weight', normal_(empty([nIn, nOut]), 0, std));
    this.bias = this.registerParameter('bias', zeros([nOut]));
  }
  forward(x: Tensor): Tensor {
    const s = x.shape; // (…, nIn)
    const x2 = x.reshape(-1, this.nIn); // (N, nIn)
    const y = F.addmm(this.bias, x2, this.weight); // (N, nOut)
    return y.view(...s.slice(0, -1), this.nOut); // (…, nOut)
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
    if (cache) ({ k: K, v: V } = cache.update(this.layerIdx, K, V)); // (B, nh, Tpast+T, hs)
    const y = F.scaledDotProductAttention(heads(q as Tensor), K, V, {
      mask,
      isCausal: mask === null,
      dropoutP: this.training ? this.cfg.attn_pdrop : 0,
      scale: this.scale,
    }); // (B, nh, T, hs)
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
  const causal = zeros([T, Tk], { dtype: 'bool' }).logicalNot().tril(Tk - T); // (T, Tk)
  const real = attentionMask.narrow(1, attentionMask.size(1) - Tk, Tk).ne(0).unsqueeze(1).unsqueeze(1); // (B, 1, 1, Tk)
  return real.logicalAnd(causal); // (B, 1, T, Tk)
}

/**
 * Position ids: Tpast..Tpast+T-1, or, with a (left-padded) attention mask, each token's index
 * among the real tokens of its row — cumsum(mask) − 1, with padding set to 1 as transformers does.
 */
export function positionIdsFor(attentionMask: Tensor | null | undefined, past: number, T: number, B: number): Tensor {
  if (!attentionMask) return arange(past, past + T).unsqueeze(0).expand(B, T);
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
    const pos = opts.positionIds ?? positionIdsFor(opts.attentionMask, past, T, B); // (B, T)
    const mask = buildAttentionMask(opts.attentionMask, T, past + T); // (B, 1, T, Tk) or null
    let x = this.drop.forward(this.wte.forward(inputIds).add(this.wpe.forward(pos))); // (B, T, C)
    for (const block of this.h) x = block.forward(x, mask, cache);
    if (cache) cache.length += T;
    return this.ln_f.forward(x); // (B, T, C)
  }
}

/** GPT-2 with its language-modelling head tied to the token embedding (transformers' GPT2LMHeadModel). */
export class GPT2LMHeadModel extends Module implements CausalLM {
  readonly transformer: GPT2Model;
  readonly config: GPT2Config;
  constructor(config: Partial<GPT2Config> = {}) {
    super();
    this.config = { ...GPT2_DEFAULTS, ...config, model_type: 'gpt2' };
    if (this.config.n_embd % this.config.n_head !== 0) throw new Error(`n_embd (${this.config.n_embd}) must be divisible by n_head (${this.config.n_head})`);
    this.transformer = this.registerModule('transformer', new GPT2Model(this.config));
  }

  forwardHidden(inputIds: Tensor, opts: ForwardOptions = {}): Tensor {
    return this.transformer.forward(inputIds, opts);
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): ForwardOutput {
    const hidden = this.transformer.forward(inputIds, opts); // (B, T, C)
    const logits = F.linear(hidden, this.transformer.wte.weight); // (B, T, V): tied head
    return opts.outputHidden ? { logits, hidden } : { logits };
  }

  createCache(batchSize: number, maxLength: number, opts: { dtype?: 'float32' | 'bfloat16' } = {}): KVCache {
    const c = this.config;
    const dtype = opts.dtype ?? (this.transformer.wte.weight.dtype === 'bfloat16' ? 'bfloat16' : 'float32');
    return new StaticKVCache(c.n_layer, batchSize, c.n_head, maxLength, c.n_embd / c.n_head, { dtype, device: this.transformer.wte.weight.device as 'cpu' });
  }
}
