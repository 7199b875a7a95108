// Parameter layers of the Hugging Face architectures, initialised as transformers' `_init_weights`
// does (weights N(0, initializer_range), biases zero), with one difference from src/nn: inside
// `skipInit(() => …)` they only allocate, like transformers' `no_init_weights`. Loading a checkpoint
// overwrites every value anyway, and drawing GPT-2 small's 124M normal samples costs ~1.5 s here.
import type { Tensor } from '../torch/tensor.js';
import { F, empty, zeros } from '../torch/index.js';
import { Module } from '../nn/module.js';
import { normal_ } from '../nn/init.js';

let initEnabled = true;

/**
 * Runs fn with initialisation switched off: parameters created by the layers below are left
 * uninitialised (`empty`). The caller must then write every one of them (a checkpoint load).
 */
export function skipInit<T>(fn: () => T): T {
  const prev = initEnabled;
  initEnabled = false;
  try {
    return fn();
  } finally {
    initEnabled = prev;
  }
}

/** A new (shape) float32 tensor drawn from N(0, std), or uninitialised inside skipInit. */
export function normalParam(shape: number[], std: number): Tensor {
  const t = empty(shape);
  return initEnabled ? normal_(t, 0, std) : t;
}

/** A new (shape) float32 tensor of zeros, or uninitialised inside skipInit. */
export function zerosParam(shape: number[]): Tensor {
  return initEnabled ? zeros(shape) : empty(shape);
}

/** nn.Linear's layout, y = x·Wᵀ + b with W (out, in); transformers' init N(0, std), zero bias. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; std?: number } = {}) {
    super();
    this.weight = this.registerParameter('weight', normalParam([outFeatures, inFeatures], opts.std ?? 0.02));
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', zerosParam([outFeatures])) : null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias); // (…, in) → (…, out)
  }
}

/** A lookup table (…) ids → (…, dim); transformers' init N(0, std). */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { std?: number } = {}) {
    super();
    this.weight = this.registerParameter('weight', normalParam([numEmbeddings, embeddingDim], opts.std ?? 0.02));
  }
  forward(ids: Tensor): Tensor {
    return F.embedding(ids, this.weight); // (…, dim)
  }
}
