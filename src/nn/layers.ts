// The basic layers. Each owns its parameters and a forward() that calls one functional op.
import { Module } from './module.js';
import { Tensor } from '../torch/tensor.js';
import { empty, ones, zeros, F } from '../torch/index.js';
import { kaimingUniform_, uniform_, normal_ } from './init.js';

/** y = x·Wᵀ + b; weight (out, in). Initialised like torch.nn.Linear. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    this.weight = this.registerParameter('weight', kaimingUniform_(empty([outFeatures, inFeatures])));
    if (opts.bias ?? true) {
      const bound = 1 / Math.sqrt(inFeatures);
      this.bias = this.registerParameter('bias', uniform_(empty([outFeatures]), -bound, bound));
    } else this.bias = null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias); // (…, in) → (…, out)
  }
}

/** A lookup table of vectors: (…) integer ids → (…, dim). Initialised N(0, 1) like torch.nn.Embedding. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { std?: number } = {}) {
    super();
    this.weight = this.registerParameter('weight', normal_(empty([numEmbeddings, embeddingDim]), 0, opts.std ?? 1));
  }
  forward(ids: Tensor): Tensor {
    return F.embedding(ids, this.weight);
  }
}

/** Layer normalisation over the last dim with a learned scale and shift. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.registerParameter('weight', ones([dim]));
    this.bias = this.registerParameter('bias', zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, [this.dim], this.weight, this.bias, this.eps);
  }
}

/** Dropout that is active only in training mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? F.dropout(x, this.p, true) : x;
  }
}
