// Stochastic gradient descent with momentum, PyTorch's torch.optim.SGD semantics:
//   g ← g + λ·θ                               (L2 weight decay, added to the gradient)
//   b ← g on the first step, else μ·b + (1 − τ)·g   (momentum buffer, dampening τ)
//   g ← g + μ·b if nesterov, else b
//   θ ← θ − lr·g
import type { Tensor } from '../torch/tensor.js';
import { keep, noGrad, tidy, zerosLike } from '../torch/index.js';
import { type ParamGroupSpec, type ParamGroup, normalizeGroups } from './param-groups.js';
import { type OptimizerStateDict, checkNoExtraTensors, checkStateMeta, groupsMeta, indexedParams, stateTensor } from './state-dict.js';

export interface SGDConfig {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export const SGD_DEFAULTS: SGDConfig = { lr: 1e-2, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

export class SGD {
  readonly groups: ParamGroup<SGDConfig>[];
  readonly buffers = new Map<Tensor, Tensor>();

  constructor(params: Tensor[] | ParamGroupSpec<SGDConfig>[], config: Partial<SGDConfig> = {}) {
    this.groups = normalizeGroups(params, { ...SGD_DEFAULTS, ...config });
  }

  step(): void {
    noGrad(() =>
      tidy(() => {
        for (const { params, config: c } of this.groups) {
          for (const p of params) {
            let g = p.grad;
            if (g === null) continue;
            if (c.weightDecay !== 0) g = g.add(p, c.weightDecay);
            if (c.momentum !== 0) {
              let b = this.buffers.get(p);
              if (!b) {
                b = keep(g.clone());
                this.buffers.set(p, b);
              } else b.mul_(c.momentum).add_(g, 1 - c.dampening);
              g = c.nesterov ? g.add(b, c.momentum) : b;
            }
            p.add_(g, -c.lr);
          }
        }
      }),
    );
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.zeroGrad();
  }

  setLr(lr: number): void {
    for (const g of this.groups) g.config.lr = lr * g.lrScale;
  }

  /**
   * The momentum buffers by parameter index (`state.<i>.momentum_buffer`) and each group's
   * hyper-parameters, as torch.optim.SGD.state_dict(). The tensors are the optimizer's own.
   */
  stateDict(): OptimizerStateDict<SGDConfig> {
    const tensors = new Map<string, Tensor>();
    const state: Record<string, Record<string, number>> = {};
    indexedParams(this.groups).forEach((p, i) => {
      const b = this.buffers.get(p);
      if (!b) return;
      tensors.set(`state.${i}.momentum_buffer`, b);
      state[i] = {};
    });
    return { tensors, meta: { optimizer: 'SGD', numParams: indexedParams(this.groups).length, groups: groupsMeta(this.groups), state } };
  }

  /** Copies a stateDict() into this optimizer (same parameters, same groups); checks everything first. */
  loadStateDict(sd: { tensors: Map<string, Tensor>; meta: unknown }): void {
    const meta = checkStateMeta('SGD', sd.meta, this.groups);
    const params = indexedParams(this.groups);
    const plan: [Tensor, Tensor][] = [];
    const used = new Set<string>();
    for (const key of Object.keys(meta.state)) {
      const p = params[Number(key)] as Tensor;
      const k = `state.${key}.momentum_buffer`;
      plan.push([p, stateTensor('SGD', sd.tensors, k, p)]);
      used.add(k);
    }
    checkNoExtraTensors('SGD', sd.tensors, used);
    this.dispose();
    noGrad(() => {
      for (const [p, b] of plan) this.buffers.set(p, keep(zerosLike(p)).copy_(b));
    });
    meta.groups.forEach((g, k) => {
      const group = this.groups[k] as ParamGroup<SGDConfig>;
      group.config = { ...group.config, ...structuredClone(g.config) };
      group.lrScale = g.lrScale;
    });
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
