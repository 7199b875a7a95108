// rlhf: align causal language models from TypeScript.
//   import { torch, nn, optim, models, generation, tokenizers, hub } from 'rlhf';
// Each layer is also its own entry point: 'rlhf/torch', 'rlhf/models', 'rlhf/generation', …
export * as torch from './torch/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as models from './models/index.js';
export * as tokenizers from './tokenizers/index.js';
export * as generation from './generation/index.js';
export * as hub from './hub/index.js';
export { Tensor } from './torch/tensor.js';
