// The basic layers. Each owns its parameters and a forward() that calls one functional op.
import { Module } from './module.js';
import { Tensor } from '../torch/tensor.js';
import { ones, zeros, F } from '../torch/index.js';
import { kaimingUniform_, uniform_, param, normalParam, zerosParam } from './init.js';

/**
 * y = x·Wᵀ + b; weight (out, in). Initialised like torch.nn.Linear, or, given `std`, as transformers
 * initialises its layers: weight N(0, std), bias zero.
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; std?: number } = {}) {
    super();
    const { std } = opts;
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.registerParameter(
      'weight',
      std === undefined ? param([outFeatures, inFeatures], (t) => kaimingUniform_(t)) : normalParam([outFeatures, inFeatures], std),
    );
    if (opts.bias ?? true) {
      this.bias = this.registerParameter('bias', std === undefined ? param([outFeatures], (t) => uniform_(t, -bound, bound)) : zerosParam([outFeatures]));
    } else this.bias = null;
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias); // (…, in) → (…, out)
  }
}

/**
 * transformers' Conv1D (GPT-2's attention and MLP projections): y = x·W + b with W stored
 * (in, out), the transpose of Linear's — so the forward is one addmm. Initialised N(0, std), bias 0.
 */
export class Conv1D extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly nIn: number, readonly nOut: number, std = 0.02) {
    super();
    this.weight = this.registerParameter('weight', normalParam([nIn, nOut], std)); // (in, out)
    this.bias = this.registerParameter('bias', zerosParam([nOut]));
  }
  forward(x: Tensor): Tensor {
    const s = x.shape; // (…, nIn)
    const x2 = x.reshape(-1, this.nIn); // (N, nIn)
    const y = F.addmm(this.bias, x2, this.weight); // (N, nOut)
    return y.view(...s.slice(0, -1), this.nOut); // (…, nOut)
  }
}

/** A lookup table of vectors: (…) integer ids → (…, dim). Initialised N(0, 1) like torch.nn.Embedding. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: { std?: number } = {}) {
    super();
    this.weight = this.registerParameter('weight', normalParam([numEmbeddings, embeddingDim], opts.std ?? 1));
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
