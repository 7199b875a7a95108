// LoRA adapters in PEFT's format, so that `PeftModel.from_pretrained(base, DIR)` reads what rlhf
// writes and rlhf reads what PEFT (and TRL with a peft_config) writes:
//
//   DIR/adapter_config.json         LoraConfig.to_dict() as PEFT 0.13.2 writes it: every field,
//                                   keys sorted, indent 2 (peft/config.py save_pretrained)
//   DIR/adapter_model.safetensors   base_model.model.<module path>.lora_A.weight   (r, in)
//                                   base_model.model.<module path>.lora_B.weight   (out, r)
//                                   base_model.model.<module path>.weight          modules_to_save
//                                   metadata {"format": "pt"}
//
// No adapter name ("default") in the saved keys: PEFT's get_peft_model_state_dict strips it (and
// "modules_to_save."), and set_peft_model_state_dict puts it back when loading. PEFT writes every
// field of the config its version knows; 0.13.2's are written here, which every PEFT since 0.10
// reads (since 0.14 PEFT also ignores fields it does not know, in both directions).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../torch/tensor.js';
import { noGrad } from '../torch/index.js';
import { atomicWriteFile } from '../util/atomic.js';
import type { Module } from './module.js';
import { skipInit } from './init.js';
import { loadStateDictFile, saveStateDict } from './state-dict.js';
import { applyLora, LoraError, type LoraConfig, type LoraModel } from './lora.js';
import { makeDirs } from '../util/dirs.js';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** What PEFT's saved keys start with: PeftModel.base_model (LoraModel) . model (the transformers model). */
export const PEFT_KEY_PREFIX = 'base_model.model.';
/** The classifier names PeftModelForSequenceClassification adds to modules_to_save. */
export const SEQ_CLS_MODULES_TO_SAVE = ['classifier', 'score'] as const;

/** PEFT's task types rlhf reads and writes: a causal LM, or a sequence classifier (reward/value model). */
export type PeftTaskType = 'CAUSAL_LM' | 'SEQ_CLS';

/** An adapter directory's adapter_config.json, read and checked. */
export interface AdapterConfig {
  /** What applyLora needs. */
  lora: LoraConfig & { loraDropout: number; useRslora: boolean; modulesToSave: string[] | null };
  taskType: PeftTaskType;
  /** base_model_name_or_path: where PEFT loads the base from (a directory or a Hub id); null when absent. */
  baseModelNameOrPath: string | null;
  /** PEFT's `bias`: 'all' and 'lora_only' adapters also carry trained biases of the base. */
  bias: 'none' | 'all' | 'lora_only';
  fanInFanOut: boolean;
}

/** Whether `dir` holds a PEFT adapter (adapter_config.json) rather than a whole model. */
export function isAdapterDir(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG_FILE)) && !existsSync(join(dir, 'config.json'));
}

/**
 * adapter_config.json's fields for a LoRA adapter, as PEFT 0.13.2's LoraConfig.to_dict() gives them
 * after PeftModel.save_pretrained (inference_mode true; target_modules a list, or the pattern).
 */
export function peftAdapterConfig(lora: LoraModel, o: { baseModelNameOrPath: string | null; taskType: PeftTaskType }): Record<string, unknown> {
  const c = lora.config;
  const fields: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: o.baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: c.fanInFanOut,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: c.loraAlpha,
    lora_dropout: c.loraDropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: c.modulesToSave,
    peft_type: 'LORA',
    r: c.r,
    rank_pattern: {},
    revision: null,
    target_modules: typeof c.targetModules === 'string' ? c.targetModules : [...c.targetModules].sort(),
    task_type: o.taskType,
    use_dora: false,
    use_rslora: c.useRslora,
  };
  return Object.fromEntries(Object.keys(fields).sort().map((k) => [k, fields[k]]));
}

/** The adapter's tensors under PEFT's saved names (the LoraModel's own tensors, not copies). */
export function peftStateDict(lora: LoraModel): Map<string, Tensor> {
  return new Map([...lora.stateDict()].map(([k, t]) => [`${PEFT_KEY_PREFIX}${k}`, t]));
}

/** Writes the adapter as PEFT's save_pretrained does; returns the file names written (config last). */
export async function saveAdapter(lora: LoraModel, dir: string, o: { baseModelNameOrPath: string | null; taskType: PeftTaskType }): Promise<string[]> {
  if (!lora.attached) throw new LoraError(`saveAdapter: the adapters were merged or unloaded; save them before merging`);
  makeDirs(dir);
  await saveStateDict(join(dir, ADAPTER_WEIGHTS_FILE), peftStateDict(lora), { format: 'pt' });
  await atomicWriteFile(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(peftAdapterConfig(lora, o), null, 2));
  return [ADAPTER_WEIGHTS_FILE, ADAPTER_CONFIG_FILE];
}

/** Reads and checks DIR/adapter_config.json; what rlhf cannot apply is an error that says so. */
export async function readAdapterConfig(dir: string): Promise<AdapterConfig> {
  const file = join(dir, ADAPTER_CONFIG_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LoraError(code === 'ENOENT' ? `${dir} has no ${ADAPTER_CONFIG_FILE}; is it a PEFT adapter directory?` : `${file} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new LoraError(`${file} is not a JSON object`);
  const j = json as Record<string, unknown>;
  const bad = (field: string, what: string): never => {
    throw new LoraError(`${file}: field "${field}" ${what}`);
  };
  const isEmpty = (v: unknown): boolean => v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);

  if (j.peft_type !== 'LORA') bad('peft_type', `is ${JSON.stringify(j.peft_type)}; rlhf reads LoRA adapters ("LORA") only`);
  const r = j.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) bad('r', `must be a whole number ≥ 1 (got ${JSON.stringify(r)})`);
  const alpha = j.lora_alpha ?? 8; // PEFT's default
  if (typeof alpha !== 'number' || !(alpha > 0)) bad('lora_alpha', `must be a positive number (got ${JSON.stringify(alpha)})`);
  const dropout = j.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) bad('lora_dropout', `must be a number in [0, 1) (got ${JSON.stringify(dropout)})`);
  const tm = j.target_modules;
  const targetModules = typeof tm === 'string' ? tm : Array.isArray(tm) && tm.length > 0 && tm.every((t) => typeof t === 'string') ? (tm as string[]) : bad('target_modules', `must be a list of module names or a regular expression (got ${JSON.stringify(tm)})`);
  const mts = j.modules_to_save ?? null;
  if (mts !== null && !(Array.isArray(mts) && mts.every((t) => typeof t === 'string'))) bad('modules_to_save', `must be a list of module names or null (got ${JSON.stringify(mts)})`);
  const bias = j.bias ?? 'none';
  if (bias !== 'none' && bias !== 'all' && bias !== 'lora_only') bad('bias', `must be "none", "all" or "lora_only" (got ${JSON.stringify(bias)})`);
  const taskType = j.task_type ?? 'CAUSAL_LM';
  if (taskType !== 'CAUSAL_LM' && taskType !== 'SEQ_CLS') bad('task_type', `is ${JSON.stringify(taskType)}; rlhf reads CAUSAL_LM and SEQ_CLS adapters`);
  const base = j.base_model_name_or_path ?? null;
  if (base !== null && typeof base !== 'string') bad('base_model_name_or_path', `must be a string (got ${JSON.stringify(base)})`);
  if (j.use_dora === true) bad('use_dora', 'is true: a DoRA adapter, which rlhf cannot apply; merge it with PEFT (merge_and_unload) and load the merged model');
  for (const f of ['rank_pattern', 'alpha_pattern', 'layers_to_transform', 'layer_replication']) {
    if (!isEmpty(j[f])) bad(f, `is set (${JSON.stringify(j[f])}), which rlhf does not apply; merge the adapter with PEFT (merge_and_unload) and load the merged model`);
  }
  return {
    lora: {
      r: r as number,
      loraAlpha: alpha as number,
      loraDropout: dropout as number,
      targetModules,
      useRslora: j.use_rslora === true,
      modulesToSave: mts as string[] | null,
    },
    taskType: taskType as PeftTaskType,
    baseModelNameOrPath: base as string | null,
    bias: bias as AdapterConfig['bias'],
    fanInFanOut: j.fan_in_fan_out === true,
  };
}

export interface LoadAdapterOptions {
  /** Saved keys (without the prefix) that may have no place in `model`, and are then skipped: a SEQ_CLS adapter's score head on a causal LM. */
  ignore?: (key: string) => boolean;
}

/**
 * Applies the adapter in `dir` to `model` (which it freezes) and loads its weights: the lora_A/B of
 * every adapted layer, the modules saved whole, and the biases of a bias 'all'/'lora_only' adapter.
 * Every adapted layer must get both factors; a key with no place in the model is an error unless
 * `ignore` accepts it. Returns the LoraModel (unmerged) and the keys skipped.
 */
export async function loadAdapter(model: Module, dir: string, o: LoadAdapterOptions = {}): Promise<{ lora: LoraModel; config: AdapterConfig; skipped: string[] }> {
  const config = await readAdapterConfig(dir);
  const file = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(file)) {
    const legacy = existsSync(join(dir, 'adapter_model.bin'));
    throw new LoraError(`${dir} has no ${ADAPTER_WEIGHTS_FILE}${legacy ? '; it has adapter_model.bin (PyTorch pickle), which rlhf does not read — re-save it with PEFT: model.save_pretrained(dir, safe_serialization=True)' : ''}`);
  }
  const stored = await loadStateDictFile(file);
  let lora: LoraModel | null = null;
  try {
    // Built without drawing random numbers: every adapter tensor is read from the file.
    const l = skipInit(() => applyLora(model, config.lora));
    lora = l;
    const own = l.stateDict();
    const baseOwn = model.stateDict();
    const found = new Map<string, Tensor>();
    const toBase = new Map<string, Tensor>();
    const skipped: string[] = [];
    const unexpected: string[] = [];
    const wrongShape: string[] = [];
    for (const [key, t] of stored) {
      if (!key.startsWith(PEFT_KEY_PREFIX)) {
        unexpected.push(key);
        continue;
      }
      const k = key.slice(PEFT_KEY_PREFIX.length);
      const target = own.get(k) ?? (k.includes('lora_') ? undefined : baseOwn.get(k));
      if (!target) {
        if (o.ignore?.(k)) skipped.push(k);
        else unexpected.push(key);
        continue;
      }
      if (t.shape.join() !== target.shape.join()) wrongShape.push(`${key}: file [${t.shape.join(', ')}] vs model [${target.shape.join(', ')}]`);
      else (own.has(k) ? found : toBase).set(k, t);
    }
    const missing = [...own.keys()].filter((k) => !found.has(k)).map((k) => PEFT_KEY_PREFIX + k);
    if (missing.length || unexpected.length || wrongShape.length) {
      const parts: string[] = [];
      if (missing.length) parts.push(`missing (${missing.length}): ${list(missing)}`);
      if (unexpected.length) parts.push(`with no place in the model (${unexpected.length}): ${list(unexpected)}`);
      if (wrongShape.length) parts.push(`of the wrong shape (${wrongShape.length}): ${list(wrongShape)}`);
      throw new LoraError(`${file} does not fit the model its adapter_config.json targets (r ${config.lora.r}, target_modules ${JSON.stringify(config.lora.targetModules)}):\n  ${parts.join('\n  ')}\nIs it the adapter of this base model?`);
    }
    noGrad(() => {
      for (const [k, t] of found) (own.get(k) as Tensor).copy_(t);
      for (const [k, t] of toBase) (baseOwn.get(k) as Tensor).copy_(t);
    });
    return { lora: l, config, skipped };
  } catch (err) {
    lora?.unload();
    throw err;
  } finally {
    for (const t of stored.values()) t.dispose();
  }
}

function list(keys: string[]): string {
  return keys.length <= 8 ? keys.join(', ') : `${keys.slice(0, 8).join(', ')}, … (${keys.length - 8} more)`;
}
