// The architectures rlhf implements, by config.json's model_type: what loading, saving, copying and
// the reward/value head need to know about each. A new architecture is one file (like llama.ts) and
// one entry here, plus its config.json schema in config.ts.
import { GPT2LMHeadModel, GPT2Model, GPT2_DEFAULTS, type GPT2Config } from './gpt2.js';
import { GPTNeoForCausalLM, GPTNeoModel, resolveGPTNeoConfig, type GPTNeoConfig } from './gpt-neo.js';
import { LlamaForCausalLM, LlamaModel, resolveLlamaConfig, type LlamaConfig } from './llama.js';
import type { CausalLM, DecoderBody } from './types.js';

/** Every architecture's config; `model_type` tells them apart. */
export type ModelConfig = GPT2Config | GPTNeoConfig | LlamaConfig;
export type ModelType = ModelConfig['model_type'];

export interface Architecture {
  /** transformers' class names written to config.json's `architectures`. */
  causalLM: string;
  sequenceClassifier: string;
  /** transformers' base_model_prefix: the body's weights are `${prefix}.…` (`transformer.h.0…`, `model.layers.0…`). */
  prefix: string;
  /** The body's token embedding, under prefix (what a tied lm_head.weight must equal). */
  embeddingKey: string;
  /** A complete config (defaults filled in, derived fields computed) from one of this architecture. */
  resolve(config: ModelConfig): ModelConfig;
  createCausalLM(config: ModelConfig): CausalLM;
  /** The body alone, for a reward/value model. */
  createBody(config: ModelConfig): DecoderBody;
}

const gpt2 = (c: ModelConfig): GPT2Config => ({ ...GPT2_DEFAULTS, ...(c as GPT2Config) });
const llama = (causalLM: string, sequenceClassifier: string): Architecture => ({
  causalLM,
  sequenceClassifier,
  prefix: 'model',
  embeddingKey: 'embed_tokens.weight',
  resolve: (c) => resolveLlamaConfig(c as LlamaConfig),
  createCausalLM: (c) => new LlamaForCausalLM(c as LlamaConfig),
  createBody: (c) => new LlamaModel(resolveLlamaConfig(c as LlamaConfig)),
});

export const ARCHITECTURES: Record<ModelType, Architecture> = {
  gpt2: {
    causalLM: 'GPT2LMHeadModel',
    sequenceClassifier: 'GPT2ForSequenceClassification',
    prefix: 'transformer',
    embeddingKey: 'wte.weight',
    resolve: gpt2,
    createCausalLM: (c) => new GPT2LMHeadModel(c as GPT2Config),
    createBody: (c) => new GPT2Model(gpt2(c)),
  },
  gpt_neo: {
    causalLM: 'GPTNeoForCausalLM',
    sequenceClassifier: 'GPTNeoForSequenceClassification',
    prefix: 'transformer',
    embeddingKey: 'wte.weight',
    resolve: (c) => resolveGPTNeoConfig(c as GPTNeoConfig),
    createCausalLM: (c) => new GPTNeoForCausalLM(c as GPTNeoConfig),
    createBody: (c) => new GPTNeoModel(resolveGPTNeoConfig(c as GPTNeoConfig)),
  },
  llama: llama('LlamaForCausalLM', 'LlamaForSequenceClassification'),
  mistral: llama('MistralForCausalLM', 'MistralForSequenceClassification'),
  qwen2: llama('Qwen2ForCausalLM', 'Qwen2ForSequenceClassification'),
};

/** The model_types rlhf implements. */
export const SUPPORTED_MODEL_TYPES = Object.keys(ARCHITECTURES) as ModelType[];

/** The architecture of a model_type; a plain Error for one rlhf does not implement (config.ts reports those to users first). */
export function architectureFor(modelType: string): Architecture {
  const a = (ARCHITECTURES as Record<string, Architecture | undefined>)[modelType];
  if (!a) throw new Error(`model_type ${JSON.stringify(modelType)} is not implemented; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  return a;
}

/** The causal LM class for a config. */
export function createCausalLM(config: ModelConfig): CausalLM {
  return architectureFor(config.model_type).createCausalLM(config);
}
