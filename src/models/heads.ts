// A transformer body with a scalar head: the reward model (one score per sequence) and PPO's value
// model (one value per token). Saved in transformers' sequence-classification layout, so
// `AutoModelForSequenceClassification.from_pretrained` (and TRL) read it:
//   transformer.* / model.*   the body (GPT2Model, GPTNeoModel / LlamaModel, …) under transformers'
//                             base_model_prefix, exactly as in the causal LM
//   score.weight              (num_labels = 1, C), no bias
// transformers reads the score at the last non-pad token; so do we, found from the attention mask
// (the last 1 of each row), which works for left and right padding alike.
import type { Tensor, Device } from '../torch/tensor.js';
import { arange } from '../torch/index.js';
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers.js';
import { architectureFor, type ModelConfig } from './registry.js';
import type { CausalLM, DecoderBody } from './types.js';

/** The configs a scalar-head model can be built from: every architecture's. */
export type ScalarModelConfig = ModelConfig;

export interface ScalarForwardOptions {
  /** (B, T) 1 for real tokens, 0 for padding (left or right). Default: every token is real. */
  attentionMask?: Tensor | null;
  /** (B, T) positions; default cumsum(mask) − 1, as for the causal LMs. */
  positionIds?: Tensor | null;
}

export interface ScalarOutput {
  /** (B) the head's output at each row's last real token: the reward. */
  scores: Tensor;
  /** (B, T) the head's output at every token: PPO's value estimates. */
  values: Tensor;
}

/**
 * Index of the last real token of each row, (B) int64: the last position where the mask is non-zero
 * (T − 1 without a mask). A row with no real token gets 0.
 */
export function lastTokenIndex(attentionMask: Tensor | null | undefined, B: number, T: number, device: Device = 'cpu'): Tensor {
  if (!attentionMask) return arange(T - 1, T, 1, { device }).expand(B); // (B)
  const idx = arange(0, T, 1, { device }).unsqueeze(0); // (1, T)
  return attentionMask.ne(0).long().mul(idx).argmax(1); // (B): largest index with mask 1
}

export class ScalarHeadModel extends Module {
  /** The body, registered under transformers' base_model_prefix (`transformer` for GPT-2 and GPT-Neo, `model` for the Llama family). */
  readonly body: DecoderBody;
  /** (1, C) without bias, as transformers' *ForSequenceClassification. */
  readonly score: Linear;
  readonly config: ScalarModelConfig;

  /** A new model: body and head initialised as transformers does (head N(0, initializer_range)). */
  constructor(config: ScalarModelConfig, body?: DecoderBody) {
    super();
    const arch = architectureFor(config.model_type);
    this.config = arch.resolve(config);
    const c = this.config;
    this.body = this.registerModule(arch.prefix, body ?? arch.createBody(c));
    this.score = this.registerModule('score', new Linear(c.n_embd, 1, { bias: false, std: c.initializer_range }));
  }

  /** The body under GPT-2's name, for callers written before the Llama family; the same module as `body`. */
  get transformer(): DecoderBody {
    return this.body;
  }

  /**
   * A reward/value model on top of a causal LM's body (the SFT model): the body's parameters are
   * shared, not copied, and the head is new (N(0, initializer_range)). Dispose only one of the two.
   */
  static fromCausalLM(lm: CausalLM): ScalarHeadModel {
    return new ScalarHeadModel(lm.config as ScalarModelConfig, lm.baseModel());
  }

  /** Hidden states (B, T, C) → per-token values (B, T) and each row's score at its last real token (B). */
  forward(inputIds: Tensor, opts: ScalarForwardOptions = {}): ScalarOutput {
    const [B, T] = inputIds.shape as [number, number];
    const hidden = this.body.forward(inputIds, { attentionMask: opts.attentionMask ?? null, positionIds: opts.positionIds ?? null }); // (B, T, C)
    const values = this.score.forward(hidden).squeeze(-1); // (B, T)
    const last = lastTokenIndex(opts.attentionMask, B, T, inputIds.device as Device); // (B)
    const scores = values.gather(1, last.unsqueeze(1)).squeeze(1); // (B)
    return { scores, values };
  }
}
