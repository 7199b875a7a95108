// A preallocated key/value cache: each decoding step writes its k, v into the next column in
// place. No torch.cat per step (which copies the whole past every token), no reallocation.
import type { Tensor } from '../torch/tensor.js';
import { keep, zeros } from '../torch/index.js';
import type { Device } from '../torch/tensor.js';
import type { KVCache } from './types.js';

export class StaticKVCache implements KVCache {
  readonly k: Tensor[];
  readonly v: Tensor[];
  length = 0;

  constructor(
    nLayer: number,
    batchSize: number,
    nHead: number,
    readonly maxLength: number,
    headDim: number,
    opts: { dtype?: 'float32' | 'bfloat16'; device?: Device } = {},
  ) {
    const shape = [batchSize, nHead, maxLength, headDim]; // (B, nh, Tmax, hs)
    const o = { dtype: opts.dtype ?? 'float32', device: opts.device ?? 'cpu' } as const;
    this.k = Array.from({ length: nLayer }, () => keep(zeros(shape, o)));
    this.v = Array.from({ length: nLayer }, () => keep(zeros(shape, o)));
  }

  /**
   * Writes the new keys/values (B, nh, T, hs) of one layer at [length, length+T) and returns views
   * of everything cached so far, (B, nh, length+T, hs). The caller advances `length` once per forward.
   */
  update(layer: number, k: Tensor, v: Tensor): { k: Tensor; v: Tensor } {
    const T = k.size(2);
    const end = this.length + T;
    if (end > this.maxLength) throw new Error(`KV cache full: ${this.length} + ${T} positions exceed maxLength ${this.maxLength}; create a larger cache`);
    const K = this.k[layer] as Tensor;
    const V = this.v[layer] as Tensor;
    K.narrowCopy_(2, this.length, k);
    V.narrowCopy_(2, this.length, v);
    return { k: K.narrow(2, 0, end), v: V.narrow(2, 0, end) };
  }

  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
  }
}
