// Weight initialisers (in place, without autograd). Defaults match PyTorch's layers.
import type { Tensor } from '../torch/tensor.js';
import { empty, noGrad, zeros } from '../torch/index.js';

let initEnabled = true;

/**
 * Runs fn with initialisation switched off: parameters the layers create are left uninitialised
 * (`empty`), like transformers' `no_init_weights`. The caller must then write every one of them —
 * a checkpoint load, where drawing GPT-2 small's 124M random values first would cost ~1.5 s.
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

/** A new float32 parameter of the given shape, initialised by init — or left empty inside skipInit. */
export function param(shape: number[], init: (t: Tensor) => Tensor): Tensor {
  const t = empty(shape);
  return initEnabled ? init(t) : t;
}

/** A new (shape) tensor drawn from N(0, std), or uninitialised inside skipInit. */
export function normalParam(shape: number[], std: number): Tensor {
  return param(shape, (t) => normal_(t, 0, std));
}

/** A new (shape) tensor of zeros, or uninitialised inside skipInit. */
export function zerosParam(shape: number[]): Tensor {
  return initEnabled ? zeros(shape) : empty(shape);
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

export function uniform_(t: Tensor, lo = 0, hi = 1): Tensor {
  return noGrad(() => t.uniform_(lo, hi));
}

export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}

export function ones_(t: Tensor): Tensor {
  return noGrad(() => t.fill_(1));
}

/** fan_in and fan_out of a weight (out, in, …) as PyTorch computes them. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new Error(`fans: need a weight with at least 2 dims, got [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: (s[1] as number) * receptive, fanOut: (s[0] as number) * receptive };
}

/** Glorot & Bengio (2010): U(−a, a), a = gain·√(6/(fan_in+fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a);
}

/** He et al. (2015) uniform, as nn.Linear's default with a=√5: bound = gain·√(3/fan_in). */
export function kaimingUniform_(t: Tensor, a = Math.sqrt(5)): Tensor {
  const { fanIn } = fans(t);
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform_(t, -bound, bound);
}
