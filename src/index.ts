// rlhf: align causal language models from TypeScript.
//   import { torch, nn, optim } from 'rlhf';
export * as torch from './torch/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { Tensor } from './torch/tensor.js';
