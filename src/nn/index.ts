export { Module, StateDictError, inEvalMode } from './module.js';
export { Linear, Conv1D, Embedding, LayerNorm, Dropout } from './layers.js';
export * as init from './init.js';
export { saveStateDict, loadStateDictFile, tensorToRaw, rawToTensor } from './state-dict.js';
export { applyLora, LoraModel, LoraLayer, LoraError, matchesTarget, loraScaling, ALL_LINEAR } from './lora.js';
export type { LoraConfig, ResolvedLoraConfig, LoraTargetLayer } from './lora.js';
export { saveAdapter, loadAdapter, readAdapterConfig, isAdapterDir, peftAdapterConfig, peftStateDict, ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from './lora-peft.js';
export type { AdapterConfig, PeftTaskType } from './lora-peft.js';
