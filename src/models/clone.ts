// A deep copy of a model: PPO's and DPO's frozen reference is a copy of the policy taken before
// training starts, PPO's value model a copy of the reward model. Same class and config, every
// parameter and buffer in its own storage (in the source's dtype and device), the same
// requires-grad flags and train/eval modes. The copy is built inside skipInit, so no random
// initialisation runs (it would be overwritten, and it would advance the global RNG).
import type { Tensor } from '../torch/tensor.js';
import { noGrad } from '../torch/index.js';
import { skipInit } from '../nn/init.js';
import type { Module } from '../nn/module.js';
import { ScalarHeadModel } from './heads.js';
import { createCausalLM, type ModelConfig } from './registry.js';
import type { CausalLM } from './types.js';

/**
 * A new model of the same class and config holding copies of every parameter and buffer. Copies
 * every architecture's causal LM (GPT2LMHeadModel, GPTNeoForCausalLM, LlamaForCausalLM, …) and
 * ScalarHeadModel; any other CausalLM is a TypeError.
 */
export function copyModel(model: ScalarHeadModel): ScalarHeadModel;
export function copyModel<M extends CausalLM>(model: M): M;
export function copyModel(model: CausalLM | ScalarHeadModel): CausalLM | ScalarHeadModel {
  const copy = skipInit((): CausalLM | ScalarHeadModel => {
    if (model instanceof ScalarHeadModel) return new ScalarHeadModel(structuredClone(model.config));
    const name = (model as object).constructor.name;
    let c: CausalLM | null = null;
    try {
      c = createCausalLM(structuredClone(model.config) as ModelConfig);
    } catch {
      c = null; // a model_type rlhf does not build
    }
    if (c && c.constructor === model.constructor) return c;
    c?.dispose();
    throw new TypeError(`copyModel: cannot copy a ${name}; it copies the causal LMs rlhf builds from a config (GPT2LMHeadModel, GPTNeoForCausalLM, LlamaForCausalLM) and ScalarHeadModel`);
  });
  try {
    copyTensors(model, copy);
  } catch (err) {
    copy.dispose();
    throw err;
  }
  const modes = new Map(model.namedModules().map(([n, m]) => [n, m.training]));
  for (const [n, m] of copy.namedModules()) m.training = modes.get(n) ?? model.training;
  return copy;
}

/** dst's tensors take copies of src's (same names: same class and config). */
function copyTensors(src: Module, dst: Module): void {
  const from = [...src.namedParameters(), ...src.namedBuffers()];
  const to = new Map<string, Tensor>([...dst.namedParameters(), ...dst.namedBuffers()]);
  if (from.length !== to.size) throw new Error(`copyModel: the source has ${from.length} parameters and buffers, the copy ${to.size}; was a tensor registered after construction?`);
  noGrad(() => {
    for (const [name, t] of from) {
      const d = to.get(name);
      if (!d) throw new Error(`copyModel: the copy has no ${name}; was it registered after construction?`);
      const c = t.clone(); // own storage, t's dtype and device
      d.setData_(c);
      c.dispose(); // d holds the storage now
      if (d.requiresGrad !== t.requiresGrad) d.requiresGrad = t.requiresGrad;
    }
  });
}
