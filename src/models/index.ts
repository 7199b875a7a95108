// Models: GPT-2, GPT-Neo and the Llama family — Llama, Mistral, Qwen2 — (numerically equal to transformers), a scalar head for reward and value
// models, and Hugging Face model directories (config.json + safetensors + tokenizer files).
//
//   import { loadPretrained, savePretrained } from '../models/index.js';
//   const { model, tokenizer } = await loadPretrained('path/to/gpt2');
//   const { logits } = model.forward(ids, { attentionMask });
//   await savePretrained(model, 'out/model', { tokenizer });

export type { CausalLM, DecoderBody, KVCache, ForwardOptions, ForwardOutput, BaseLMConfig } from './types.js';
export { StaticKVCache } from './kv-cache.js';
export {
  GPT2LMHeadModel,
  GPT2Model,
  GPT2Block,
  GPT2Attention,
  GPT2MLP,
  Conv1D,
  GPT2_DEFAULTS,
  ACTIVATIONS,
  activation,
  buildAttentionMask,
  positionIdsFor,
} from './gpt2.js';
export type { GPT2Config, Activation } from './gpt2.js';
export {
  GPTNeoForCausalLM,
  GPTNeoModel,
  GPTNeoBlock,
  GPTNeoAttention,
  GPTNeoSelfAttention,
  GPTNeoMLP,
  GPT_NEO_DEFAULTS,
  resolveGPTNeoConfig,
  expandAttentionTypes,
  buildLocalAttentionMask,
} from './gpt-neo.js';
export type { GPTNeoConfig, AttentionType } from './gpt-neo.js';
export {
  LlamaForCausalLM,
  LlamaModel,
  LlamaDecoderLayer,
  LlamaAttention,
  LlamaMLP,
  LlamaRMSNorm,
  LlamaEmbedding,
  LLAMA_FAMILY,
  LLAMA_FAMILY_DEFAULTS,
  ROPE_TYPES,
  resolveLlamaConfig,
  layerWindow,
  ropeInverseFrequencies,
  rotaryCosSin,
  applyRotary,
} from './llama.js';
export type { LlamaConfig, LlamaFamily, RopeScaling, RopeType, LayerType } from './llama.js';
export { ARCHITECTURES, architectureFor } from './registry.js';
export type { Architecture, ModelType } from './registry.js';
export { ScalarHeadModel, lastTokenIndex } from './heads.js';
export type { ScalarModelConfig, ScalarForwardOptions, ScalarOutput } from './heads.js';
export { skipInit } from '../nn/init.js';
export { parseConfig, readConfig, configToJson, generationConfigJson, SUPPORTED_MODEL_TYPES, TRANSFORMERS_VERSION } from './config.js';
export type { ModelConfig, ParsedConfig, ConfigJsonOptions } from './config.js';
export { loadPretrained, loadScalarModel, savePretrained, createCausalLM, architectureOf } from './checkpoint.js';
export type { LoadOptions, Loaded, LoadedScalar, SaveOptions } from './checkpoint.js';
export { copyModel } from './clone.js';
export { resolveAdapterBase } from './adapter.js';
export type { AdapterInfo } from './adapter.js';
export { CheckpointError, ConfigError } from './errors.js';
