// GPT-Neo (Black et al., 2021), numerically the same as transformers' GPTNeoForCausalLM, in the
// spirit of nanoGPT: one file, Hugging Face weight names kept as they are.
//
// How it differs from GPT-2 (gpt2.ts):
// - layers alternate global attention (causal) and local attention: query i sees keys j with
//   i − window_size < j ≤ i (`attention_types` [[["global", "local"], 12]] expands to
//   `attention_layers` ["global", "local", …], one entry per layer);
// - attention scores are NOT scaled by 1/√head_dim, and are computed in float32 whatever the
//   weights' dtype, as transformers does;
// - q, k, v are separate nn.Linear projections without bias (weights (out, in), not Conv1D);
//   out_proj has a bias; the MLP's c_fc and c_proj are nn.Linear too;
// - config names are transformers' GPTNeoConfig ones (hidden_size, num_layers, num_heads,
//   max_position_embeddings, intermediate_size, window_size); n_embd, n_layer, n_head and
//   n_positions mirror them for the `CausalLM` interface.
//
// Keys: transformer.wte/wpe, transformer.h.N.ln_1, transformer.h.N.attn.attention.{q_proj,k_proj,
// v_proj,out_proj}, transformer.h.N.ln_2, transformer.h.N.mlp.{c_fc,c_proj}, transformer.ln_f;
// lm_head.weight tied to wte.
import type { Tensor, Device } from '../torch/tensor.js';
import { F, zeros } from '../torch/index.js';
import { Module } from '../nn/module.js';
import { LayerNorm, Dropout } from '../nn/layers.js';
import { Embedding, Linear } from '../nn/layers.js';
import { StaticKVCache } from './kv-cache.js';
import { activation, buildAttentionMask, positionIdsFor, type Activation } from './gpt2.js';
import type { CausalLM, ForwardOptions, ForwardOutput, KVCache, BaseLMConfig } from './types.js';

export type AttentionType = 'global' | 'local';

export interface GPTNeoConfig extends BaseLMConfig {
  model_type: 'gpt_neo';
  vocab_size: number;
  max_position_embeddings: number;
  hidden_size: number;
  num_layers: number;
  num_heads: number;
  /** Run-length pattern: [[["global", "local"], 12]] is 24 layers alternating global and local. */
  attention_types: [AttentionType[], number][];
  /** attention_types expanded: one entry per layer. */
  attention_layers: AttentionType[];
  /** How many positions (the query's own included) a local layer looks back. */
  window_size: number;
  /** MLP width; null means 4·hidden_size. */
  intermediate_size: number | null;
  activation_function: Activation;
  resid_dropout: number;
  embed_dropout: number;
  attention_dropout: number;
  /** Used by transformers' token classifier only; kept for config round trips. */
  classifier_dropout: number | null;
  layer_norm_epsilon: number;
  initializer_range: number;
  tie_word_embeddings: boolean;
  pad_token_id?: number | null;
  /** config.json fields rlhf does not use, written back on save. */
  extra?: Record<string, unknown>;
}

type DerivedField = 'attention_layers' | 'n_embd' | 'n_layer' | 'n_head' | 'n_positions';

/** transformers' GPTNeoConfig defaults (GPT-Neo 1.3B's shape); config.json fields left out take these. */
export const GPT_NEO_DEFAULTS: GPTNeoConfig = withDerivedFields({
  model_type: 'gpt_neo',
  vocab_size: 50257,
  max_position_embeddings: 2048,
  hidden_size: 2048,
  num_layers: 24,
  attention_types: [[['global', 'local'], 12]],
  num_heads: 16,
  intermediate_size: null,
  window_size: 256,
  activation_function: 'gelu_new',
  resid_dropout: 0,
  embed_dropout: 0,
  attention_dropout: 0,
  classifier_dropout: 0.1,
  layer_norm_epsilon: 1e-5,
  initializer_range: 0.02,
  tie_word_embeddings: true,
  bos_token_id: 50256,
  eos_token_id: 50256,
});

/** [[["global", "local"], 2]] → ["global", "local", "global", "local"] (transformers' expand_attention_types_params). */
export function expandAttentionTypes(types: readonly (readonly [readonly AttentionType[], number])[]): AttentionType[] {
  const out: AttentionType[] = [];
  for (const [pattern, times] of types) for (let i = 0; i < times; i++) out.push(...pattern);
  return out;
}

/**
 * A complete config from a partial one: GPT_NEO_DEFAULTS under the fields given, attention_layers
 * expanded from attention_types, and the BaseLMConfig aliases (n_embd = hidden_size, …) derived.
 */
export function resolveGPTNeoConfig(partial: Partial<GPTNeoConfig>): GPTNeoConfig {
  return withDerivedFields({ ...GPT_NEO_DEFAULTS, ...partial, model_type: 'gpt_neo' });
}

function withDerivedFields(c: Omit<GPTNeoConfig, DerivedField>): GPTNeoConfig {
  const attention_layers = expandAttentionTypes(c.attention_types);
  if (attention_layers.length !== c.num_layers) {
    throw new Error(`GPT-Neo attention_types ${JSON.stringify(c.attention_types)} describe ${attention_layers.length} layers but num_layers is ${c.num_layers}; make them agree`);
  }
  if (c.hidden_size % c.num_heads !== 0) throw new Error(`hidden_size (${c.hidden_size}) must be divisible by num_heads (${c.num_heads})`);
  return { ...c, attention_layers, n_embd: c.hidden_size, n_layer: c.num_layers, n_head: c.num_heads, n_positions: c.max_position_embeddings };
}

/**
 * The bool (B or 1, 1, T, Tk) mask of a local layer: query t (absolute position Tk − T + t) sees
 * key j when Tk − T + t − windowSize < j ≤ Tk − T + t, and j is a real token of its row.
 */
export function buildLocalAttentionMask(attentionMask: Tensor | null | undefined, T: number, Tk: number, windowSize: number, device: Device = 'cpu'): Tensor {
  const all = zeros([T, Tk], { dtype: 'bool', device }).logicalNot(); // (T, Tk)
  const causal = all.tril(Tk - T); // j ≤ i
  const tooFar = all.tril(Tk - T - windowSize); // j ≤ i − windowSize
  const local = causal.logicalAnd(tooFar.logicalNot()).unsqueeze(0).unsqueeze(0); // (1, 1, T, Tk)
  if (!attentionMask) return local;
  const real = attentionMask.narrow(1, attentionMask.size(1) - Tk, Tk).ne(0).unsqueeze(1).unsqueeze(1); // (B, 1, 1, Tk)
  return real.logicalAnd(local); // (B, 1, T, Tk)
}

export class GPTNeoSelfAttention extends Module {
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly q_proj: Linear;
  readonly out_proj: Linear;
  readonly resid_dropout: Dropout;
  constructor(readonly cfg: GPTNeoConfig, readonly layerIdx: number) {
    super();
    const C = cfg.hidden_size;
    const std = cfg.initializer_range;
    this.k_proj = this.registerModule('k_proj', new Linear(C, C, { bias: false, std }));
    this.v_proj = this.registerModule('v_proj', new Linear(C, C, { bias: false, std }));
    this.q_proj = this.registerModule('q_proj', new Linear(C, C, { bias: false, std }));
    this.out_proj = this.registerModule('out_proj', new Linear(C, C, { bias: true, std }));
    this.resid_dropout = this.registerModule('resid_dropout', new Dropout(cfg.resid_dropout));
  }

  /** mask: this layer's (global or local) mask, or null for plain causal attention. */
  forward(x: Tensor, mask: Tensor | null, cache: StaticKVCache | null): Tensor {
    const [B, T, C] = x.shape as [number, number, number];
    const nh = this.cfg.num_heads;
    const hs = C / nh;
    const heads = (t: Tensor): Tensor => t.view(B, T, nh, hs).transpose(1, 2); // (B, nh, T, hs)
    const q = heads(this.q_proj.forward(x));
    let k = heads(this.k_proj.forward(x));
    let v = heads(this.v_proj.forward(x));
    if (cache) ({ k, v } = cache.update(this.layerIdx, k, v)); // (B, nh, Tpast+T, hs)
    // transformers keeps q·kᵀ and the softmax in float32 (no-ops for float32 weights); no 1/√hs.
    const f32 = (t: Tensor): Tensor => (t.dtype === 'float32' ? t : t.float());
    let y = F.scaledDotProductAttention(f32(q), f32(k), f32(v), {
      mask,
      isCausal: mask === null,
      dropoutP: this.training ? this.cfg.attention_dropout : 0,
      scale: 1,
    }); // (B, nh, T, hs)
    if (y.dtype !== x.dtype) y = y.to(x.dtype);
    const merged = y.transpose(1, 2).reshape(B, T, C); // (B, T, C)
    return this.resid_dropout.forward(this.out_proj.forward(merged));
  }
}

/** transformers nests the self-attention one level down: h.N.attn.attention.q_proj. */
export class GPTNeoAttention extends Module {
  readonly attention: GPTNeoSelfAttention;
  readonly attentionType: AttentionType;
  constructor(cfg: GPTNeoConfig, layerIdx: number) {
    super();
    const type = cfg.attention_layers[layerIdx];
    if (type !== 'global' && type !== 'local') throw new Error(`attention_layers[${layerIdx}] is ${JSON.stringify(type)}; GPT-Neo knows "global" and "local"`);
    this.attentionType = type;
    this.attention = this.registerModule('attention', new GPTNeoSelfAttention(cfg, layerIdx));
  }
  forward(x: Tensor, mask: Tensor | null, cache: StaticKVCache | null): Tensor {
    return this.attention.forward(x, mask, cache);
  }
}

export class GPTNeoMLP extends Module {
  readonly c_fc: Linear;
  readonly c_proj: Linear;
  readonly dropout: Dropout;
  constructor(readonly cfg: GPTNeoConfig) {
    super();
    const inner = cfg.intermediate_size ?? 4 * cfg.hidden_size;
    this.c_fc = this.registerModule('c_fc', new Linear(cfg.hidden_size, inner, { std: cfg.initializer_range }));
    this.c_proj = this.registerModule('c_proj', new Linear(inner, cfg.hidden_size, { std: cfg.initializer_range }));
    this.dropout = this.registerModule('dropout', new Dropout(cfg.resid_dropout));
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(activation(this.c_fc.forward(x), this.cfg.activation_function)));
  }
}

export class GPTNeoBlock extends Module {
  readonly ln_1: LayerNorm;
  readonly attn: GPTNeoAttention;
  readonly ln_2: LayerNorm;
  readonly mlp: GPTNeoMLP;
  constructor(cfg: GPTNeoConfig, layerIdx: number) {
    super();
    this.ln_1 = this.registerModule('ln_1', new LayerNorm(cfg.hidden_size, cfg.layer_norm_epsilon));
    this.attn = this.registerModule('attn', new GPTNeoAttention(cfg, layerIdx));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm(cfg.hidden_size, cfg.layer_norm_epsilon));
    this.mlp = this.registerModule('mlp', new GPTNeoMLP(cfg));
  }
  forward(x: Tensor, mask: Tensor | null, cache: StaticKVCache | null): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x), mask, cache)); // pre-norm residual
    return h.add(this.mlp.forward(this.ln_2.forward(h)));
  }
}

/** The transformer body (transformers' GPTNeoModel): embeddings, blocks, final LayerNorm. */
export class GPTNeoModel extends Module {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly drop: Dropout;
  readonly h: GPTNeoBlock[] = [];
  readonly ln_f: LayerNorm;
  constructor(readonly cfg: GPTNeoConfig) {
    super();
    this.wte = this.registerModule('wte', new Embedding(cfg.vocab_size, cfg.hidden_size, { std: cfg.initializer_range }));
    this.wpe = this.registerModule('wpe', new Embedding(cfg.max_position_embeddings, cfg.hidden_size, { std: cfg.initializer_range }));
    this.drop = this.registerModule('drop', new Dropout(cfg.embed_dropout));
    for (let i = 0; i < cfg.num_layers; i++) this.h.push(this.registerModule(`h.${i}`, new GPTNeoBlock(cfg, i)));
    this.ln_f = this.registerModule('ln_f', new LayerNorm(cfg.hidden_size, cfg.layer_norm_epsilon));
  }

  forward(inputIds: Tensor, opts: ForwardOptions = {}): Tensor {
    const [B, T] = inputIds.shape as [number, number];
    const device = inputIds.device as Device;
    const cache = (opts.cache as StaticKVCache | null | undefined) ?? null;
    const past = cache?.length ?? 0;
    const Tk = past + T;
    if (Tk > this.cfg.max_position_embeddings) throw new Error(`sequence of ${Tk} tokens is longer than the model's max_position_embeddings (${this.cfg.max_position_embeddings})`);
    const pos = opts.positionIds ?? positionIdsFor(opts.attentionMask, past, T, B, device); // (B, T)
    const globalMask = buildAttentionMask(opts.attentionMask, T, Tk); // (B, 1, T, Tk) or null (causal)
    // A local layer whose keys all lie within the window is a global one.
    const localMask = Tk > this.cfg.window_size ? buildLocalAttentionMask(opts.attentionMask, T, Tk, this.cfg.window_size, device) : globalMask;
    let x = this.drop.forward(this.wte.forward(inputIds).add(this.wpe.forward(pos))); // (B, T, C)
    for (const block of this.h) x = block.forward(x, block.attn.attentionType === 'local' ? localMask : globalMask, cache);
    if (cache) cache.length += T;
    return this.ln_f.forward(x); // (B, T, C)
  }
}

/** GPT-Neo with its language-modelling head (transformers' GPTNeoForCausalLM), tied to wte unless tie_word_embeddings is false. */
export class GPTNeoForCausalLM extends Module implements CausalLM {
  readonly transformer: GPTNeoModel;
  readonly lm_head: Linear | null;
  readonly config: GPTNeoConfig;
  constructor(config: Partial<GPTNeoConfig> = {}) {
    super();
    this.config = resolveGPTNeoConfig(config);
    const c = this.config;
    this.transformer = this.registerModule('transformer', new GPTNeoModel(c));
    this.lm_head = c.tie_word_embeddings ? null : this.registerModule('lm_head', new Linear(c.hidden_size, c.vocab_size, { bias: false, std: c.initializer_range }));
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

  baseModel(): GPTNeoModel {
    return this.transformer;
  }

  /** Every weight is an nn.Linear (out, in), already the layout decoding's few-row products want. */
  decodingRelayout(): Tensor[] {
    return [];
  }

  createCache(batchSize: number, maxLength: number, opts: { dtype?: 'float32' | 'bfloat16' } = {}): KVCache {
    const c = this.config;
    const w = this.transformer.wte.weight;
    const dtype = opts.dtype ?? (w.dtype === 'bfloat16' ? 'bfloat16' : 'float32');
    return new StaticKVCache(c.num_layers, batchSize, c.num_heads, maxLength, c.hidden_size / c.num_heads, { dtype, device: w.device as Device });
  }
}
