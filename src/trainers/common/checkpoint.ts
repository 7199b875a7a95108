// Checkpoints for exact resume: model weights, optimizer and schedule state, the RNG, the data
// position and whatever else a trainer needs (a KL controller's β), in
//   OUT/checkpoints/step-000120/
//     <model>.safetensors           every model the trainer updates (policy, value, reward model)
//     optimizer-<name>.safetensors  AdamW moments, keyed by parameter index
//     rng.safetensors               libtorch's generator state
//     trainer_state.json            step, data position, trainer extras, optimizer/scheduler meta,
//                                   and the size of every file above (checked before loading)
// A checkpoint is written into a temporary directory and renamed into place, so a crash or kill
// leaves the previous checkpoint or the new one, never half of one. Loading checks every file
// before touching a model: a corrupt checkpoint is refused whole, never half-loaded.
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../../torch/tensor.js';
import type { Module } from '../../nn/module.js';
import { getRngState, setRngState } from '../../torch/index.js';
import { loadStateDictFile, saveStateDict } from '../../nn/state-dict.js';
import { atomicWriteJson, removeOnSignal } from '../../util/atomic.js';

/** A checkpoint that cannot be used; the message says which file and what to do. */
export class CheckpointCorruptError extends Error {
  override name = 'CheckpointCorruptError';
}

/** What an optimizer or schedule gives for a checkpoint: tensors plus JSON. */
export interface StatefulOptimizer {
  stateDict(): { tensors: Map<string, Tensor>; meta: unknown };
  loadStateDict(sd: { tensors: Map<string, Tensor>; meta: unknown }): void;
}

export interface StatefulSchedule {
  stateDict(): unknown;
  loadStateDict(sd: unknown): void;
}

/** Where a trainer is: the optimizer step, the data position and the trainer's own extras. */
export interface TrainerState {
  step: number;
  epoch: number;
  /** Batches of the current epoch already consumed. */
  batchInEpoch: number;
  /** Anything else that must survive (a KL controller's state, best eval loss, …), JSON-able. */
  extra: Record<string, unknown>;
}

export interface CheckpointParts {
  models: Record<string, Module>;
  optimizers: Record<string, StatefulOptimizer>;
  schedules: Record<string, StatefulSchedule>;
}

const STATE_FILE = 'trainer_state.json';
const stepDir = (step: number): string => `step-${String(step).padStart(6, '0')}`;

export function checkpointsDir(out: string): string {
  return join(out, 'checkpoints');
}

/** Writes a checkpoint atomically and keeps only the newest `keep`. Returns its directory. */
export async function saveCheckpoint(out: string, state: TrainerState, parts: CheckpointParts, opts: { keep?: number; config?: unknown } = {}): Promise<string> {
  const root = checkpointsDir(out);
  await mkdir(root, { recursive: true });
  const final = join(root, stepDir(state.step));
  const tmp = join(root, `.tmp-${stepDir(state.step)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const saved = removeOnSignal(tmp); // Ctrl-C during the save leaves no half checkpoint behind
  try {
    const files: Record<string, number> = {};
    const put = async (name: string, sd: Map<string, Tensor>): Promise<void> => {
      await saveStateDict(join(tmp, name), sd);
      files[name] = (await stat(join(tmp, name))).size;
    };
    for (const [name, m] of Object.entries(parts.models)) await put(`${name}.safetensors`, m.stateDict());
    const optimizerMeta: Record<string, unknown> = {};
    for (const [name, o] of Object.entries(parts.optimizers)) {
      const sd = o.stateDict();
      await put(`optimizer-${name}.safetensors`, sd.tensors);
      optimizerMeta[name] = sd.meta;
    }
    const rng = getRngState();
    try {
      await put('rng.safetensors', new Map([['cpu', rng]]));
    } finally {
      rng.dispose();
    }
    const schedules = Object.fromEntries(Object.entries(parts.schedules).map(([k, s]) => [k, s.stateDict()]));
    await atomicWriteJson(join(tmp, STATE_FILE), { format: 'rlhf-checkpoint-1', ...state, optimizers: optimizerMeta, schedules, files, config: opts.config ?? null });
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  } finally {
    saved();
  }
  const keep = opts.keep ?? 2;
  const all = await listCheckpoints(out);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(join(root, old), { recursive: true, force: true });
  return final;
}

/** Finished checkpoints, oldest first (temporary directories of interrupted saves are ignored). */
export async function listCheckpoints(out: string): Promise<string[]> {
  const root = checkpointsDir(out);
  if (!existsSync(root)) return [];
  return (await readdir(root)).filter((n) => /^step-\d+$/.test(n)).sort();
}

interface SavedState extends TrainerState {
  format: string;
  optimizers: Record<string, unknown>;
  schedules: Record<string, unknown>;
  files: Record<string, number>;
}

/**
 * Restores the newest checkpoint into the given models, optimizers and schedules (the RNG too);
 * returns its trainer state, or null when there is none. Everything is read and checked before
 * anything is changed.
 */
export async function loadLatestCheckpoint(out: string, parts: CheckpointParts): Promise<TrainerState | null> {
  const all = await listCheckpoints(out);
  const last = all[all.length - 1];
  if (!last) return null;
  const dir = join(checkpointsDir(out), last);
  const bad = (what: string): never => {
    throw new CheckpointCorruptError(`checkpoint ${dir} is unusable: ${what}. Delete that directory to resume from the one before it${all.length > 1 ? ` (${all[all.length - 2]})` : ''}, or start over without --resume.`);
  };
  let saved: SavedState;
  try {
    saved = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as SavedState;
  } catch (err) {
    return bad(`${STATE_FILE} cannot be read (${(err as Error).message})`);
  }
  if (saved.format !== 'rlhf-checkpoint-1' || typeof saved.step !== 'number' || typeof saved.files !== 'object') bad(`${STATE_FILE} is not an rlhf checkpoint state`);
  for (const [name, size] of Object.entries(saved.files)) {
    const st = await stat(join(dir, name)).catch(() => null);
    if (!st) bad(`${name} is missing`);
    else if (st.size !== size) bad(`${name} has ${st.size} bytes, ${size} were written`);
  }
  // Read every tensor first; only then load them into the live objects.
  const loaded = new Map<string, Map<string, Tensor>>();
  const disposeAll = (): void => {
    for (const sd of loaded.values()) for (const t of sd.values()) t.dispose();
  };
  try {
    for (const name of Object.keys(saved.files)) {
      try {
        loaded.set(name, await loadStateDictFile(join(dir, name)));
      } catch (err) {
        bad(`${name}: ${(err as Error).message}`);
      }
    }
    for (const [name, m] of Object.entries(parts.models)) {
      const sd = loaded.get(`${name}.safetensors`) ?? bad(`it has no weights for the ${name} model`);
      const want = m.stateDict();
      for (const [k, t] of want) {
        const got = sd.get(k);
        if (!got) bad(`${name}.safetensors lacks ${k}`);
        else if (got.shape.join() !== t.shape.join()) bad(`${name}.safetensors: ${k} has shape [${got.shape}], the model needs [${t.shape}]`);
      }
    }
    for (const name of Object.keys(parts.optimizers)) if (!loaded.has(`optimizer-${name}.safetensors`)) bad(`it has no state for the ${name} optimizer`);
    for (const [name, m] of Object.entries(parts.models)) m.loadStateDict(loaded.get(`${name}.safetensors`) as Map<string, Tensor>, { strict: true });
    for (const [name, o] of Object.entries(parts.optimizers)) o.loadStateDict({ tensors: loaded.get(`optimizer-${name}.safetensors`) as Map<string, Tensor>, meta: saved.optimizers[name] });
    for (const [name, s] of Object.entries(parts.schedules)) s.loadStateDict(saved.schedules[name]);
    const rng = loaded.get('rng.safetensors')?.get('cpu');
    if (rng) setRngState(rng);
  } finally {
    disposeAll();
  }
  return { step: saved.step, epoch: saved.epoch, batchInEpoch: saved.batchInEpoch, extra: saved.extra ?? {} };
}
