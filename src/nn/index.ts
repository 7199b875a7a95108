export { Module, StateDictError, inEvalMode } from './module.js';
export { Linear, Conv1D, Embedding, LayerNorm, Dropout } from './layers.js';
export * as init from './init.js';
export { saveStateDict, loadStateDictFile, tensorToRaw, rawToTensor } from './state-dict.js';
