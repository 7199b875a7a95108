// AdamW (Loshchilov & Hutter, 2019) with PyTorch's exact update rule (torch.optim.AdamW, foreach=False):
//   θ ← θ·(1 − lr·λ)                         decoupled weight decay
//   m ← β1·m + (1 − β1)·g                     first moment
//   v ← β2·v + (1 − β2)·g²                    second moment
//   θ ← θ − lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
// The loop over parameters runs in C++ (one addon call per step), so the step costs the same as
// PyTorch's for any number of parameters.
import type { Tensor } from '../torch/tensor.js';
import { native } from '../torch/native.js';
import { keep, noGrad, tidy, zerosLike } from '../torch/index.js';
import { type ParamGroupSpec, type ParamGroup, normalizeGroups } from './param-groups.js';
import { type OptimizerStateDict, checkNoExtraTensors, checkStateMeta, groupsMeta, indexedParams, stateTensor, OptimizerStateError } from './state-dict.js';

export interface AdamWConfig {
  /** Learning rate. */
  lr: number;
  /** Decay rates of the moment estimates (β1, β2). */
  betas: [number, number];
  /** Added to the denominator for numerical stability. */
  eps: number;
  /** Decoupled weight decay λ (0.01 is PyTorch's default). */
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 };

interface AdamState {
  step: number;
  m: Tensor;
  v: Tensor;
}

export class AdamW {
  readonly groups: ParamGroup<AdamWConfig>[];
  readonly state = new Map<Tensor, AdamState>();

  constructor(params: Tensor[] | ParamGroupSpec<AdamWConfig>[], config: Partial<AdamWConfig> = {}) {
    this.groups = normalizeGroups(params, { ...ADAMW_DEFAULTS, ...config });
  }

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    tidy(() => {
      for (const g of this.groups) {
        // Parameters are grouped by step count (they can differ if some had no gradient earlier).
        const bySteps = new Map<number, { p: Tensor[]; g: Tensor[]; m: Tensor[]; v: Tensor[] }>();
        for (const p of g.params) {
          const grad = p.grad;
          if (grad === null) continue;
          let s = this.state.get(p);
          if (!s) {
            s = { step: 0, m: keep(zerosLike(p)), v: keep(zerosLike(p)) };
            this.state.set(p, s);
          }
          s.step += 1;
          let bucket = bySteps.get(s.step);
          if (!bucket) bySteps.set(s.step, (bucket = { p: [], g: [], m: [], v: [] }));
          bucket.p.push(p);
          bucket.g.push(grad);
          bucket.m.push(s.m);
          bucket.v.push(s.v);
        }
        const [b1, b2] = g.config.betas;
        for (const [step, b] of bySteps) {
          native.adamwStep(
            b.p.map((t) => t.handle), b.g.map((t) => t.handle), b.m.map((t) => t.handle), b.v.map((t) => t.handle),
            g.config.lr, b1, b2, g.config.eps, g.config.weightDecay, step,
          );
        }
      }
    });
  }

  /** Forgets every parameter's gradient. */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.zeroGrad();
  }

  /** Sets the learning rate of every group (schedules call this). */
  setLr(lr: number): void {
    for (const g of this.groups) g.config.lr = lr * g.lrScale;
  }

  /**
   * The moments and step counts by parameter index (`state.<i>.exp_avg`, `state.<i>.exp_avg_sq`,
   * meta.state[i].step) and each group's hyper-parameters, as torch.optim.AdamW.state_dict(). The
   * tensors are the optimizer's own: save them (saveStateDict), do not dispose them.
   */
  stateDict(): OptimizerStateDict<AdamWConfig> {
    const tensors = new Map<string, Tensor>();
    const state: Record<string, Record<string, number>> = {};
    indexedParams(this.groups).forEach((p, i) => {
      const s = this.state.get(p);
      if (!s) return;
      tensors.set(`state.${i}.exp_avg`, s.m);
      tensors.set(`state.${i}.exp_avg_sq`, s.v);
      state[i] = { step: s.step };
    });
    return { tensors, meta: { optimizer: 'AdamW', numParams: indexedParams(this.groups).length, groups: groupsMeta(this.groups), state } };
  }

  /**
   * Copies a stateDict() (possibly read back from disk) into this optimizer, built over the same
   * parameters in the same groups. Everything is checked before anything changes; the given tensors
   * stay the caller's.
   */
  loadStateDict(sd: { tensors: Map<string, Tensor>; meta: unknown }): void {
    const meta = checkStateMeta('AdamW', sd.meta, this.groups);
    const params = indexedParams(this.groups);
    const plan: { p: Tensor; step: number; m: Tensor; v: Tensor }[] = [];
    const used = new Set<string>();
    for (const [key, s] of Object.entries(meta.state)) {
      const i = Number(key);
      const step = s.step;
      if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) throw new OptimizerStateError(`AdamW.loadStateDict: parameter ${i} has step ${JSON.stringify(step ?? null)}, expected a count ≥ 0`);
      const p = params[i] as Tensor;
      const [mk, vk] = [`state.${i}.exp_avg`, `state.${i}.exp_avg_sq`];
      plan.push({ p, step, m: stateTensor('AdamW', sd.tensors, mk, p), v: stateTensor('AdamW', sd.tensors, vk, p) });
      used.add(mk).add(vk);
    }
    checkNoExtraTensors('AdamW', sd.tensors, used);
    this.dispose();
    noGrad(() => {
      for (const { p, step, m, v } of plan) {
        this.state.set(p, { step, m: keep(zerosLike(p)).copy_(m), v: keep(zerosLike(p)).copy_(v) });
      }
    });
    meta.groups.forEach((g, k) => {
      const group = this.groups[k] as ParamGroup<AdamWConfig>;
      group.config = { ...group.config, ...structuredClone(g.config) };
      group.lrScale = g.lrScale;
    });
  }

  dispose(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.state.clear();
  }
}
