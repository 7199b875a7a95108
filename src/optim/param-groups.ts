// Parameter groups: sets of parameters sharing optimizer settings (e.g. no weight decay on
// biases and LayerNorm weights, the usual choice for transformers).
import type { Tensor } from '../torch/tensor.js';

export interface ParamGroupSpec<C> {
  params: Tensor[];
  /** Overrides of the optimizer's config for this group. */
  config?: Partial<C>;
}

export interface ParamGroup<C> {
  params: Tensor[];
  config: C;
  /** This group's lr relative to the optimizer's base lr, kept when a schedule sets the lr. */
  lrScale: number;
}

export function normalizeGroups<C extends { lr: number }>(params: Tensor[] | ParamGroupSpec<C>[], defaults: C): ParamGroup<C>[] {
  const specs: ParamGroupSpec<C>[] = params.length > 0 && 'params' in (params[0] as object) ? (params as ParamGroupSpec<C>[]) : [{ params: params as Tensor[] }];
  const seen = new Set<Tensor>();
  return specs.map((s, i) => {
    for (const p of s.params) {
      if (seen.has(p)) throw new Error(`optimizer: a parameter appears in more than one group (group ${i}); each must be in exactly one`);
      seen.add(p);
    }
    const config = { ...defaults, ...s.config };
    return { params: s.params, config, lrScale: config.lr / defaults.lr };
  });
}

/**
 * The standard split for transformers: weight decay on matrices (ndim ≥ 2), none on biases,
 * LayerNorm weights and other vectors.
 */
export function decayGroups<C>(named: [string, Tensor][], weightDecay: number): ParamGroupSpec<C & { weightDecay: number }>[] {
  const decay = named.filter(([, p]) => p.ndim >= 2).map(([, p]) => p);
  const noDecay = named.filter(([, p]) => p.ndim < 2).map(([, p]) => p);
  return [
    { params: decay, config: { weightDecay } as Partial<C & { weightDecay: number }> },
    { params: noDecay, config: { weightDecay: 0 } as Partial<C & { weightDecay: number }> },
  ];
}
