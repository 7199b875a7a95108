// Model directories that are LoRA adapters (PEFT's layout: adapter_config.json +
// adapter_model.safetensors, no config.json), as `--model` of every command: the base model is
// loaded from the adapter's base_model_name_or_path (or the `base` option, `--base`), the adapter
// is applied and merged into its weights (W₀ += s·B·A), and the caller gets a plain model that
// computes what base + adapter computes. A chain of adapters (an SFT adapter as the base of a DPO
// adapter) resolves one link at a time.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Module } from '../nn/module.js';
import { loadAdapter, readAdapterConfig, type AdapterConfig } from '../nn/lora-peft.js';
import { parseHubRef, resolveModel } from '../hub/resolve.js';
import { CheckpointError } from './errors.js';

/** What loading an adapter directory did. */
export interface AdapterInfo {
  /** The adapter directory. */
  dir: string;
  /** The base model directory it was applied to. */
  base: string;
  config: AdapterConfig;
}

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

/**
 * The base model directory of the adapter in `dir`: `override` when given, else its
 * base_model_name_or_path — a directory as written (relative to the working directory) or relative
 * to the adapter directory, or a Hub id (org/name) through the Hugging Face cache (downloaded when
 * missing and online, as PEFT does). Anything else is an error asking for --base.
 */
export async function resolveAdapterBase(dir: string, declared: string | null, override?: string | null): Promise<string> {
  if (override) {
    if (!isDir(override)) throw new CheckpointError(dir, `the base model given for this LoRA adapter, ${override}, is not a directory`);
    return override;
  }
  if (declared) {
    if (isDir(declared)) return declared;
    const beside = isAbsolute(declared) ? null : resolve(dir, declared);
    if (beside && isDir(beside)) return beside;
    if (parseHubRef(declared)) {
      try {
        return await resolveModel(declared);
      } catch (err) {
        throw new CheckpointError(dir, `is a LoRA adapter of ${declared} (adapter_config.json base_model_name_or_path), which could not be fetched: ${(err as Error).message}; pass the base model directory with --base DIR`, { cause: err });
      }
    }
  }
  const what = declared ? `its base model ${JSON.stringify(declared)} (adapter_config.json base_model_name_or_path) is not a directory here` : 'its adapter_config.json names no base_model_name_or_path';
  throw new CheckpointError(dir, `is a LoRA adapter, and ${what}; pass the base model directory with --base DIR`);
}

/**
 * Loads the base with `loadBase`, applies the adapter in `dir` to `modelOf(base)` and merges it.
 * `ignore` names saved keys that may have no place in the model (a sequence classifier's head on a
 * causal LM). Returns the base's load result and what was applied.
 */
export async function loadMergedAdapter<L extends { model: Module }>(
  dir: string,
  base: string | null | undefined,
  loadBase: (baseDir: string) => Promise<L>,
  ignore?: (key: string) => boolean,
): Promise<{ loaded: L; info: AdapterInfo; skipped: string[] }> {
  const config = await readAdapterConfig(dir).catch((err: Error) => {
    throw new CheckpointError(dir, err.message, { cause: err });
  });
  const baseDir = await resolveAdapterBase(dir, config.baseModelNameOrPath, base);
  const loaded = await loadBase(baseDir);
  try {
    const { lora, skipped } = await loadAdapter(loaded.model, dir, { ignore }).catch((err: Error) => {
      throw new CheckpointError(dir, err.message, { cause: err });
    });
    lora.mergeAndUnload(); // a plain model again, as loadPretrained gives
    return { loaded, info: { dir, base: baseDir, config }, skipped };
  } catch (err) {
    loaded.model.dispose();
    throw err;
  }
}
