// Optimizer state for exact resume, laid out as torch.optim.Optimizer.state_dict() does: parameters
// are named by their index in the optimizer's order (group 0's parameters, then group 1's, …), so a
// state loads into a fresh optimizer built over the same model. Two parts, saved side by side:
//   tensors  `state.<i>.<name>` → Tensor     a safetensors file (saveStateDict in nn/state-dict.ts)
//   meta     JSON                            optimizer kind, parameter count, each group's
//                                             hyper-parameters and parameter indices, per-parameter scalars
import type { Tensor } from '../torch/tensor.js';
import type { ParamGroup } from './param-groups.js';

export interface OptimizerStateMeta<C> {
  /** The optimizer that wrote the state: 'AdamW', 'SGD'. */
  optimizer: string;
  /** Parameters over all groups. */
  numParams: number;
  /** Each group's parameter indices, hyper-parameters, and lr relative to the base lr. */
  groups: { params: number[]; config: C; lrScale: number }[];
  /** Per-parameter scalars by parameter index (AdamW: the step count), for parameters that have state. */
  state: Record<string, Record<string, number>>;
}

export interface OptimizerStateDict<C> {
  /** The optimizer's own state tensors (not copies): save them, do not dispose them. */
  tensors: Map<string, Tensor>;
  meta: OptimizerStateMeta<C>;
}

/** A state that does not fit the optimizer it is loaded into; the message says what differs. */
export class OptimizerStateError extends Error {
  override name = 'OptimizerStateError';
}

/** Every parameter, in the order its index names it. */
export function indexedParams<C>(groups: readonly ParamGroup<C>[]): Tensor[] {
  return groups.flatMap((g) => g.params);
}

/** The groups as JSON: parameter indices, a copy of the hyper-parameters, the lr scale. */
export function groupsMeta<C>(groups: readonly ParamGroup<C>[]): OptimizerStateMeta<C>['groups'] {
  let i = 0;
  return groups.map((g) => ({ params: g.params.map(() => i++), config: structuredClone(g.config), lrScale: g.lrScale }));
}

const short = (xs: readonly unknown[]): string => (xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, … (${xs.length} in all)`);

/**
 * Checks that meta (parsed from JSON) was written by this kind of optimizer over the same number of
 * parameters in the same groups, that its hyper-parameters have the types of ours, and that every
 * parameter index in its state is in range. Returns it typed.
 */
export function checkStateMeta<C extends object>(kind: string, meta: unknown, groups: readonly ParamGroup<C>[]): OptimizerStateMeta<C> {
  const fail = (what: string): never => {
    throw new OptimizerStateError(`${kind}.loadStateDict: ${what}`);
  };
  if (typeof meta !== 'object' || meta === null) return fail(`expected the meta object stateDict() returned, got ${meta === null ? 'null' : typeof meta}`);
  const m = meta as Partial<OptimizerStateMeta<C>>;
  if (m.optimizer !== kind) fail(`the state was saved by ${JSON.stringify(m.optimizer ?? null)}, not by ${kind}`);
  const numParams = groups.reduce((a, g) => a + g.params.length, 0);
  if (m.numParams !== numParams) fail(`the state covers ${m.numParams} parameters, this optimizer has ${numParams}; build it over the same model and parameter groups`);
  if (!Array.isArray(m.groups) || m.groups.length !== groups.length) fail(`the state has ${Array.isArray(m.groups) ? m.groups.length : 'no'} parameter groups, this optimizer has ${groups.length}`);
  const ours = groupsMeta(groups);
  (m.groups as OptimizerStateMeta<C>['groups']).forEach((g, k) => {
    const want = (ours[k] as OptimizerStateMeta<C>['groups'][number]).params;
    if (!Array.isArray(g?.params) || g.params.join() !== want.join()) fail(`group ${k} holds parameters [${short(g?.params ?? [])}] in the state, [${short(want)}] here`);
    if (typeof g.lrScale !== 'number') fail(`group ${k} has no lrScale`);
    const config = g.config as Record<string, unknown> | undefined;
    for (const [key, v] of Object.entries(groups[k]?.config ?? {})) {
      const saved = config?.[key];
      const sameType = Array.isArray(v) ? Array.isArray(saved) && saved.length === v.length && saved.every((x) => typeof x === typeof v[0]) : typeof saved === typeof v;
      if (!sameType) fail(`group ${k}'s ${key} is ${JSON.stringify(saved ?? null)} in the state, expected a value like ${JSON.stringify(v)}`);
    }
  });
  if (typeof m.state !== 'object' || m.state === null) fail('the meta has no state object');
  for (const key of Object.keys(m.state as object)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= numParams) fail(`state entry ${JSON.stringify(key)} is not a parameter index in [0, ${numParams})`);
  }
  return m as OptimizerStateMeta<C>;
}

/** The state tensor saved under key, checked against its parameter's shape. */
export function stateTensor(kind: string, tensors: Map<string, Tensor>, key: string, param: Tensor): Tensor {
  const t = tensors.get(key);
  if (!t) throw new OptimizerStateError(`${kind}.loadStateDict: tensor ${key} is missing from the state`);
  if (t.shape.join() !== param.shape.join()) {
    throw new OptimizerStateError(`${kind}.loadStateDict: ${key} has shape [${t.shape.join(', ')}], its parameter [${param.shape.join(', ')}]; the state belongs to another model`);
  }
  return t;
}

/** Fails when tensors holds keys the state did not account for (a state of another optimizer). */
export function checkNoExtraTensors(kind: string, tensors: Map<string, Tensor>, used: ReadonlySet<string>): void {
  const extra = [...tensors.keys()].filter((k) => !used.has(k));
  if (extra.length) throw new OptimizerStateError(`${kind}.loadStateDict: unexpected tensors in the state: ${short(extra)}`);
}
