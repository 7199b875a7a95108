// What every causal language model in src/models offers to generation, trainers and the CLI.
import type { Tensor } from '../torch/tensor.js';
import type { Module } from '../nn/module.js';

/**
 * Per-layer key/value cache for incremental decoding, preallocated to maxLength so that a decoding
 * step writes one column in place instead of concatenating (no reallocation, no copy of the past).
 * k[i], v[i]: (B, nh, maxLength, hs); the first `length` positions are filled.
 */
export interface KVCache {
  readonly k: Tensor[];
  readonly v: Tensor[];
  /** Positions filled so far (the same for every sequence in the batch; padding is masked instead). */
  length: number;
  readonly maxLength: number;
  dispose(): void;
}

export interface ForwardOptions {
  /**
   * (B, Tpast + T) 1 for real tokens, 0 for padding — covering the cached positions too.
   * Left-padded batches put 0s first.
   */
  attentionMask?: Tensor | null;
  /** (B, T) positions of the new tokens; defaults to Tpast..Tpast+T-1. For left padding pass cumsum(mask)-1. */
  positionIds?: Tensor | null;
  /** When given, attention uses cache[0..length) + the new tokens, and the new k/v are written into it. */
  cache?: KVCache | null;
  /** Return the final hidden states (after the last LayerNorm) too — value and reward heads read them. */
  outputHidden?: boolean;
}

export interface ForwardOutput {
  /** (B, T, V) next-token logits. */
  logits: Tensor;
  /** (B, T, C) final hidden states, when outputHidden. */
  hidden?: Tensor;
}

/** Fields every architecture's config has (Hugging Face names). */
export interface BaseLMConfig {
  model_type: string;
  vocab_size: number;
  /** Longest sequence the position embeddings cover. */
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  bos_token_id: number;
  eos_token_id: number;
  /** Every id that ends generation, when config.json lists several (Llama 3's instruct models); eos_token_id is the first. */
  eos_token_ids?: number[];
}

/** A transformer body: token ids → final hidden states (B, T, C). What a causal LM and a reward/value model share. */
export interface DecoderBody extends Module {
  forward(inputIds: Tensor, opts?: ForwardOptions): Tensor;
}

export interface CausalLM extends Module {
  readonly config: BaseLMConfig;
  /** input ids (B, T) int64 → logits (B, T, V). */
  forward(inputIds: Tensor, opts?: ForwardOptions): ForwardOutput;
  /** Hidden states only (no LM head), (B, T, C): what reward/value heads use. */
  forwardHidden(inputIds: Tensor, opts?: ForwardOptions): Tensor;
  /**
   * The LM head's weight (V, C) — the token embedding wte when tied, else lm_head's own — so that
   * logits = hidden·Wᵀ. Trainers pass it to F.linearLogProbs / F.linearCrossEntropy to score chosen
   * positions without the (B, T, V) logits. The tensor is the model's parameter, not a copy.
   */
  outputEmbeddings(): Tensor;
  /**
   * The LM head on any hidden states: (…, C) → (…, V) logits. Generation calls it on the last
   * position only (forwardHidden, then lmHead on (B, C)); trainers on the positions they score.
   */
  lmHead(hidden: Tensor): Tensor;
  /**
   * The body without the LM head (transformers' base model: GPT-2's `transformer`, Llama's `model`):
   * what ScalarHeadModel.fromCausalLM puts a reward/value head on. The module is the model's own.
   */
  baseModel(): DecoderBody;
  /**
   * Decode-time weight layout: parameters stored (in, out) and multiplied as x·W (GPT-2's Conv1D),
   * which a decoding step's few-row matrix products run faster from a column-major copy. generate()
   * gives them that copy for one call (prepareForInference: for good); the values never change.
   * Empty for models built of nn.Linear, whose (out, in) weights are that layout already.
   */
  decodingRelayout(): Tensor[];
  /** A cache sized for this model: batch B, up to maxLength positions, in the given dtype. */
  createCache(batchSize: number, maxLength: number, opts?: { dtype?: 'float32' | 'bfloat16' }): KVCache;
}
