// What every trainer does the same way — and only that: the output directory, the optimizer and
// its schedule, one optimizer step (clip, step, schedule, zero), bf16 autocast, the final save.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Tensor } from '../../torch/tensor.js';
import { autocast } from '../../torch/index.js';
import { AdamW } from '../../optim/adamw.js';
import { clipGradNorm } from '../../optim/clip.js';
import { LRScheduler, constantSchedule, cosineSchedule, linearSchedule } from '../../optim/schedule.js';
import type { CausalLM } from '../../models/types.js';
import type { ScalarHeadModel } from '../../models/heads.js';
import { savePretrained } from '../../models/checkpoint.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { atomicWriteJson } from '../../util/atomic.js';
import { makeDirs } from '../../util/dirs.js';
import type { OptimOptions } from './config.js';
import { listCheckpoints } from './checkpoint.js';
import { trainEvalSplit } from '../../data/index.js';

/** What an offline trainer of a causal LM (SFT, DPO, KTO, ORPO, SimPO) returns. */
export interface TrainResult<C> {
  /** The trained model (with LoRA: the adapters merged in). */
  model: CausalLM;
  tokenizer: Tokenizer;
  /** The metric lines of training, as in OUT/metrics.jsonl. */
  history: Record<string, number>[];
  /** Held-out metrics of the final model, named eval/… (empty without held-out data). */
  eval: Record<string, number>;
  /** The config with its defaults filled in, as in OUT/rlhf_config.json. */
  config: C;
}

/** A trainer input that cannot work; the message names the option or file and the fix. */
export class TrainerError extends Error {
  override name = 'TrainerError';
}

/**
 * Makes OUT ready: refuses to mix a new run into an old one's checkpoints unless resuming, and
 * clears stale logs of a fresh run. Returns the absolute path.
 */
export async function prepareOutDir(out: string, resume: boolean): Promise<string> {
  const dir = resolve(out);
  const ckpts = await listCheckpoints(dir);
  if (!resume && ckpts.length) {
    throw new TrainerError(`${out} already holds checkpoints of an earlier run (${ckpts[ckpts.length - 1]}); pass --resume to continue it, or choose another --out.`);
  }
  makeDirs(dir, '--out'); // a real reason when it cannot be made (read-only, /proc, permissions)
  if (!resume || !ckpts.length) {
    await rm(join(dir, 'metrics.jsonl'), { force: true });
  }
  return dir;
}

/** AdamW over `params` and its learning-rate schedule over `totalSteps` optimizer steps. */
export function createOptimizer(params: Tensor[], o: OptimOptions, totalSteps: number): { optimizer: AdamW; scheduler: LRScheduler } {
  const optimizer = new AdamW(params, { lr: o.lr, weightDecay: o.weightDecay, betas: [o.adamBetas[0] ?? 0.9, o.adamBetas[1] ?? 0.999] });
  const schedule =
    o.schedule === 'constant' ? constantSchedule(o.warmupSteps) : o.schedule === 'cosine' ? cosineSchedule(o.warmupSteps, totalSteps) : linearSchedule(o.warmupSteps, totalSteps);
  return { optimizer, scheduler: new LRScheduler(optimizer, o.lr, schedule) };
}

/**
 * Clip the global gradient norm, step, advance the schedule, forget the gradients. Returns the norm
 * before clipping. A NaN or infinite norm means the run has diverged: the step is refused (a
 * TrainerError) before it can write NaN into the weights, so the last checkpoint stays good.
 */
export function optimizerStep(params: Tensor[], optimizer: AdamW, scheduler: LRScheduler, maxGradNorm: number): number {
  const norm = maxGradNorm > 0 ? clipGradNorm(params, maxGradNorm) : Number.NaN;
  if (maxGradNorm > 0 && !Number.isFinite(norm)) {
    optimizer.zeroGrad();
    throw new TrainerError(
      `the gradients are not finite (global norm ${norm}) at optimizer step ${scheduler.stateDict().step + 1}: the run diverged. Nothing was written into the weights; lower --lr (it is ${optimizer.groups[0]?.config.lr ?? 'unknown'} now), try --dtype float32, or look for extreme values in the data, then --resume from the last checkpoint or start again.`,
    );
  }
  optimizer.step();
  scheduler.step();
  optimizer.zeroGrad();
  return norm;
}

/** Runs fn under bf16 autocast when the trainer's dtype asks for it. */
export function maybeAutocast<T>(dtype: 'float32' | 'bfloat16', fn: () => T): T {
  return dtype === 'bfloat16' ? autocast('bfloat16', fn) : fn();
}

/** Writes the final model as a Hugging Face directory, with the resolved config beside it. */
export async function saveFinalModel(model: CausalLM | ScalarHeadModel, out: string, tokenizer: Tokenizer | null, config: unknown, extraFiles: Record<string, unknown> = {}): Promise<void> {
  await savePretrained(model, out, { tokenizer: tokenizer ?? undefined });
  await atomicWriteJson(join(out, 'rlhf_config.json'), config);
  for (const [name, value] of Object.entries(extraFiles)) await atomicWriteJson(join(out, name), value);
}

/** Optimizer steps of a run: maxSteps when set (as transformers' max_steps, it overrides the epochs), else the epochs' worth. */
export function totalOptimizerSteps(stepsPerEpoch: number, o: Pick<OptimOptions, 'epochs' | 'maxSteps'>): number {
  return o.maxSteps > 0 ? o.maxSteps : Math.max(1, Math.ceil(stepsPerEpoch * o.epochs));
}

export function requireFile(path: string, flag: string): void {
  if (!existsSync(path)) throw new TrainerError(`${flag} ${path} does not exist.`);
}

/**
 * Training and held-out examples: all of `items` for training and `heldOut` for evaluation when a
 * separate file was given (--eval-data), else a seeded --eval-split of `items`.
 */
export function trainAndHeldOut<T>(items: T[], heldOut: T[] | null, evalSplit: number, seed: number): { train: T[]; eval: T[] } {
  return heldOut ? { train: items, eval: heldOut } : trainEvalSplit(items, evalSplit, seed);
}
