// The model a trainer fine-tunes, and LoRA in the trainers (src/nn/lora.ts does the math,
// lora-peft.ts the files). Every trainer that fine-tunes a model makes the same four calls, and
// nothing else changes:
//
//   const { model, tokenizer, lora, pad, maxLength } = await loadTrainingPolicy(cfg, 'DPO', say);
//                                                             // --model at --revision with its tokenizer, dropout off,
//                                                             // adapters when --lora-r is set (else lora is null); a
//                                                             // model loaded otherwise: applyLoraFromConfig(model, cfg, say)
//   runLoop({ ...loopParts(model, lora), … })                 // models (checkpoints: the adapter only)
//                                                             // and params (what the optimizer gets)
//   const ref = adapterDisabledReference(model, lora)         // DPO, KTO, PPO, …: the reference policy is
//                                                             // the same weights with the adapters off
//   await saveTrainedModel(model, lora, out, tokenizer, cfg)  // the adapter in PEFT's format (+ OUT/merged)
//
// and frees the adapters on failure (`lora?.dispose()`). A trainer that checkpoints more than the
// policy (PPO's value model, the reward model's rating heads) builds models and params itself, with
// `adapter: lora` in place of the model and trainableParameters(model, lora). The reward model gets
// its score head trained whole beside the adapters (PEFT's modules_to_save for SEQ_CLS).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../../torch/tensor.js';
import type { Module } from '../../nn/module.js';
import { inEvalMode } from '../../nn/module.js';
import { applyLora, type LoraModel } from '../../nn/lora.js';
import { saveAdapter, SEQ_CLS_MODULES_TO_SAVE } from '../../nn/lora-peft.js';
import type { CausalLM } from '../../models/types.js';
import { ScalarHeadModel } from '../../models/heads.js';
import { loadPretrained, loadScalarModel, savePretrained, type LoadOptions } from '../../models/checkpoint.js';
import { saveTokenizer, type Tokenizer } from '../../tokenizers/index.js';
import { atomicWriteJson } from '../../util/atomic.js';
import type { LoraOptions } from './config.js';
import { saveFinalModel, TrainerError } from './setup.js';

/**
 * PEFT's default target modules by model_type (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING):
 * what --lora-targets means when not given.
 */
export const DEFAULT_LORA_TARGETS: Readonly<Record<string, readonly string[]>> = {
  gpt2: ['c_attn'],
  gpt_neo: ['q_proj', 'v_proj'],
  llama: ['q_proj', 'v_proj'],
  mistral: ['q_proj', 'v_proj'],
  mixtral: ['q_proj', 'v_proj'],
  qwen2: ['q_proj', 'v_proj'],
  gemma: ['q_proj', 'v_proj'],
  phi: ['q_proj', 'v_proj', 'fc1', 'fc2'],
};

/**
 * Puts LoRA adapters on a freshly loaded policy (or reward model: its score head is then trained
 * whole, as PEFT's SEQ_CLS modules_to_save) as the config asks, freezing the rest; null when
 * --lora-r is 0. Tells `say` how many parameters train.
 */
export function applyLoraFromConfig(model: CausalLM | ScalarHeadModel, cfg: LoraOptions, say: (line: string) => void = () => {}): LoraModel | null {
  if (cfg.loraR === 0) {
    const stray = cfg.loraTargets.length ? '--lora-targets' : cfg.loraTargetRegex ? '--lora-target-regex' : cfg.useRslora ? '--use-rslora' : cfg.loraSaveMerged ? '--lora-save-merged' : null;
    if (stray) throw new TrainerError(`${stray} needs LoRA on: pass --lora-r N (the adapters' rank, e.g. 16).`);
    return null;
  }
  if (cfg.loraTargets.length && cfg.loraTargetRegex) throw new TrainerError('--lora-targets and --lora-target-regex both choose the layers to adapt; pass one.');
  const type = model.config.model_type;
  const targets = cfg.loraTargetRegex ?? (cfg.loraTargets.length ? cfg.loraTargets : DEFAULT_LORA_TARGETS[type]);
  if (!targets) throw new TrainerError(`rlhf has no default LoRA targets for model_type ${type}; name the layers with --lora-targets (e.g. q_proj,v_proj, or all-linear).`);
  const lora = applyLora(model, {
    r: cfg.loraR,
    loraAlpha: cfg.loraAlpha,
    loraDropout: cfg.loraDropout,
    targetModules: targets,
    useRslora: cfg.useRslora,
    modulesToSave: model instanceof ScalarHeadModel ? [...SEQ_CLS_MODULES_TO_SAVE] : null,
  });
  const n = lora.parameterCounts();
  const what = typeof lora.config.targetModules === 'string' ? `/${lora.config.targetModules}/` : lora.config.targetModules.join(',');
  say(`lora: r ${cfg.loraR}, α ${cfg.loraAlpha}${cfg.useRslora ? ' (rsLoRA)' : ''} on ${lora.layers.size} layers (${what}); trainable parameters ${n.trainable.toLocaleString('en-US')} of ${n.total.toLocaleString('en-US')} (${n.percent.toFixed(3)}%)`);
  return lora;
}

/** What a trainer starts from: its model and tokenizer, the LoRA adapters (null without), the pad id and the length cap. */
export interface TrainingPolicy<M extends CausalLM | ScalarHeadModel> {
  model: M;
  tokenizer: Tokenizer;
  lora: LoraModel | null;
  /** The tokenizer's pad token, else its EOS, else 0. */
  pad: number;
  /** --max-length capped by the model's n_positions (n_positions when the trainer has no --max-length). */
  maxLength: number;
}

/** The options loadTrainingPolicy reads: --model, --revision, --max-length and the LoRA fields. */
export type TrainingPolicyOptions = LoraOptions & { model: string; revision?: string | undefined; maxLength?: number };

/**
 * The opening of every offline trainer: --model (a directory or a Hub id at --revision) with its
 * tokenizer — a TrainerError naming `trainer` when it has none — in eval mode (dropout off until
 * runLoop says otherwise: TRL's disable_dropout), with LoRA adapters when --lora-r is set. The
 * model is freed when any of this fails; after it, the trainer frees `lora` and `model` on failure.
 */
export async function loadTrainingPolicy(cfg: TrainingPolicyOptions, trainer: string, say: (line: string) => void): Promise<TrainingPolicy<CausalLM>> {
  return loadForTraining(loadPretrained, cfg, trainer, say);
}

/** loadTrainingPolicy for a reward model: --model as a scalar-head model (loadScalarModel; LoRA trains its score head whole). */
export async function loadTrainingRewardModel(cfg: TrainingPolicyOptions, trainer: string, say: (line: string) => void): Promise<TrainingPolicy<ScalarHeadModel>> {
  return loadForTraining(loadScalarModel, cfg, trainer, say);
}

async function loadForTraining<M extends CausalLM | ScalarHeadModel>(
  load: (ref: string, opts: LoadOptions) => Promise<{ model: M; tokenizer?: Tokenizer | undefined }>,
  cfg: TrainingPolicyOptions,
  trainer: string,
  say: (line: string) => void,
): Promise<TrainingPolicy<M>> {
  const { model, tokenizer } = await load(cfg.model, cfg.revision === undefined ? {} : { revision: cfg.revision });
  try {
    if (!tokenizer) throw new TrainerError(`${cfg.model} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt); ${trainer} needs them to read text (save the model with its tokenizer).`);
    model.eval();
    const lora = applyLoraFromConfig(model, cfg, say);
    const pad = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
    return { model, tokenizer, lora, pad, maxLength: Math.min(cfg.maxLength ?? Infinity, model.config.n_positions) };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** What the optimizer gets: the adapters' parameters (and modules saved whole) with LoRA, else every parameter. */
export function trainableParameters(model: Module, lora: LoraModel | null): Tensor[] {
  return lora ? lora.trainableParameters() : model.parameters();
}

/**
 * What runLoop trains and checkpoints: with LoRA the adapters (checkpoint part `adapter`) and their
 * parameters, else the whole model (part `model`) and every parameter. Spread into runLoop's spec.
 */
export function loopParts(model: Module, lora: LoraModel | null): { models: Record<string, Module>; params: Tensor[] } {
  return lora ? { models: { adapter: lora }, params: lora.trainableParameters() } : { models: { model }, params: model.parameters() };
}

/**
 * The reference policy when the policy carries LoRA adapters: the same model with its adapters
 * switched off (TRL with a PEFT model and no ref_model) — one copy of the weights in memory. It is
 * the policy seen through a proxy: forward and forwardHidden run with the adapters disabled and
 * dropout off; dispose, train/eval and requiresGrad_ do nothing (the policy owns the weights);
 * everything else is the policy's own. Pass it wherever a frozen copy of the policy would go.
 */
export function adapterDisabledReference<M extends CausalLM>(policy: M, lora: LoraModel): M {
  if (lora.base !== policy) throw new TypeError('adapterDisabledReference: the adapters are not on this policy');
  const frozen = <A extends unknown[], R>(fn: (...a: A) => R) => (...a: A): R => lora.disableAdapters(() => inEvalMode([policy], () => fn.apply(policy, a)));
  const overrides: Record<PropertyKey, unknown> = {
    forward: frozen(policy.forward),
    forwardHidden: frozen(policy.forwardHidden),
  };
  const view: M = new Proxy(policy, {
    get(target, prop) {
      if (prop in overrides) return overrides[prop];
      if (prop === 'dispose') return (): void => {};
      if (prop === 'train' || prop === 'eval' || prop === 'requiresGrad_') return (): M => view;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return view;
}

/** The files of a whole model that a LoRA run's OUT must not keep from an earlier run (they would hide the adapter). */
const MODEL_FILES = ['config.json', 'model.safetensors', 'model.safetensors.index.json'];

/**
 * The final save. Without LoRA: saveFinalModel. With LoRA: the adapter in PEFT's format
 * (adapter_config.json with base_model_name_or_path = --model, adapter_model.safetensors) and the
 * tokenizer in OUT; then the adapters are merged into `model` (which the trainer returns: a plain
 * model computing what base + adapter computes) and, with --lora-save-merged, written to OUT/merged
 * as a whole Hugging Face directory. rlhf_config.json is written last, as for every trainer.
 */
export async function saveTrainedModel(
  model: CausalLM | ScalarHeadModel,
  lora: LoraModel | null,
  out: string,
  tokenizer: Tokenizer | null,
  cfg: LoraOptions & { model: string },
  extraFiles: Record<string, unknown> = {},
): Promise<void> {
  if (!lora) return saveFinalModel(model, out, tokenizer, cfg, extraFiles);
  for (const f of MODEL_FILES) await rm(join(out, f), { force: true });
  await saveAdapter(lora, out, { baseModelNameOrPath: cfg.model, taskType: model instanceof ScalarHeadModel ? 'SEQ_CLS' : 'CAUSAL_LM' });
  if (tokenizer) saveTokenizer(tokenizer, out);
  lora.mergeAndUnload();
  if (cfg.loraSaveMerged) await savePretrained(model, join(out, 'merged'), { tokenizer: tokenizer ?? undefined });
  for (const [name, value] of Object.entries(extraFiles)) await atomicWriteJson(join(out, name), value);
  await atomicWriteJson(join(out, 'rlhf_config.json'), cfg);
}
