// The options every trainer shares, each defined once. A trainer's config is
//   z.object({ ...runFields(), ...dataFields(), ...optimFields({ lr: 5e-5 }), …its own fields })
// so the TypeScript type, defaults, CLI flags, --help and YAML keys all come from one place
// (src/config/schema-cli.ts). A trainer may pass its own defaults; the meaning stays the same.
import { z } from 'zod';

export const DTYPES = ['float32', 'bfloat16'] as const;

/** Model in, model out, reproducibility, logging, checkpoints. */
export function runFields(d: { saveEvery?: number; logEvery?: number } = {}) {
  return {
    model: z.string().min(1).describe('model to start from: a directory (Hugging Face layout: config.json, model.safetensors, tokenizer) or a Hub id (org/name), fetched into the Hugging Face cache').meta({ metavar: 'DIR|ID' }),
    revision: z.string().min(1).optional().describe("the Hub revision of --model: a branch, tag or commit hash (default main; other model options take ID@REVISION)").meta({ metavar: 'REV' }),
    out: z.string().min(1).describe('output directory: the final model, metrics.jsonl, TensorBoard events, checkpoints/'),
    seed: z.int().min(0).default(42).describe('random seed: data order, dropout, sampling'),
    dtype: z.enum(DTYPES).default('float32').describe('float32 (exact) or bfloat16 (autocast: bf16 matmuls, fp32 master weights)'),
    logEvery: z.int().min(1).default(d.logEvery ?? 10).describe('optimizer steps between metric lines'),
    saveEvery: z.int().min(0).default(d.saveEvery ?? 200).describe('optimizer steps between checkpoints (0: only at the end)'),
    keepCheckpoints: z.int().min(1).default(2).describe('newest checkpoints kept under OUT/checkpoints/'),
    resume: z.boolean().default(false).describe('continue from the newest checkpoint in OUT/checkpoints/ (same losses as an uninterrupted run)'),
    quiet: z.boolean().default(false).describe('no progress bar'),
  };
}

/** Where the examples come from and how they are cut. */
export function dataFields(d: { maxLength?: number } = {}) {
  return {
    data: z.string().min(1).describe('dataset file: .jsonl, .json, .csv, .tsv or .txt'),
    columns: z.record(z.string(), z.string()).default({}).describe("rename columns: NEW=OLD pairs, e.g. 'text=sentence'"),
    evalSplit: z.number().min(0).max(0.5).default(0.05).describe('fraction held out for evaluation (0: none)'),
    evalData: z.string().min(1).nullable().default(null).describe('a separate held-out file (same format and --columns) instead of --eval-split, e.g. a dev set'),
    skipInvalid: z.boolean().default(false).describe('skip malformed rows (and count them) instead of stopping'),
    maxLength: z.int().min(2).default(d.maxLength ?? 256).describe('longest example in tokens (longer ones are truncated; also capped by the model)'),
  };
}

/** The optimizer (AdamW), its schedule and the batch arithmetic. */
export function optimFields(d: { lr?: number; batchSize?: number; epochs?: number; warmupSteps?: number; schedule?: 'constant' | 'linear' | 'cosine' } = {}) {
  return {
    epochs: z.number().positive().default(d.epochs ?? 1).describe('passes over the training data'),
    maxSteps: z.int().min(0).default(0).describe('stop after this many optimizer steps (0: run the epochs)'),
    batchSize: z.int().min(1).default(d.batchSize ?? 8).describe('examples per forward/backward pass'),
    gradAccum: z.int().min(1).default(1).describe('passes accumulated per optimizer step (effective batch = batch-size × grad-accum)'),
    lr: z.number().positive().default(d.lr ?? 5e-5).describe('peak learning rate of AdamW'),
    weightDecay: z.number().min(0).default(0).describe('AdamW decoupled weight decay'),
    adamBetas: z.array(z.number().min(0).max(1)).length(2).default([0.9, 0.999]).describe('AdamW β1,β2'),
    schedule: z.enum(['constant', 'linear', 'cosine']).default(d.schedule ?? 'linear').describe('learning-rate schedule after warm-up'),
    warmupSteps: z.int().min(0).default(d.warmupSteps ?? 0).describe('optimizer steps of linear warm-up from 0'),
    maxGradNorm: z.number().min(0).default(1).describe('clip the global gradient norm to this (0: no clipping)'),
  };
}

/** What the offline preference trainers (DPO, KTO, ORPO, SimPO) add: the prompt's share of --max-length, held-out evaluation. */
export function preferenceFields() {
  return {
    maxPromptLength: z.int().min(1).default(128).describe('prompt tokens kept (from the end of longer prompts)'),
    evalEvery: z.int().min(0).default(0).describe('optimizer steps between evaluations on the held-out split (0: only at the end)'),
  };
}

/**
 * LoRA (Hu et al. 2021; src/nn/lora.ts): train low-rank adapters on chosen layers instead of every
 * weight — PEFT's LoraConfig, with the defaults of TRL's ModelConfig (r 16, α 32, dropout 0.05).
 * --lora-r 0 (the default) trains every weight. Applied by applyLoraFromConfig (common/lora.ts).
 */
export function loraFields() {
  return {
    loraR: z.int().min(0).default(0).describe('LoRA rank r: train adapters B·A (r × in, out × r) on --lora-targets, the rest frozen (0: train every weight) (Hu et al. 2021)'),
    loraAlpha: z.number().positive().default(32).describe('LoRA α: the update is scaled by α/r (α/√r with --use-rslora)'),
    loraDropout: z.number().min(0).lt(1).default(0.05).describe("dropout on the adapters' input while training"),
    loraTargets: z.array(z.string().min(1)).default([]).describe("layers to adapt: names matching the end of a layer's full name, or all-linear (default: PEFT's for the architecture — c_attn for GPT-2, q_proj,v_proj for GPT-Neo and Llama)"),
    loraTargetRegex: z.string().min(1).nullable().default(null).describe("layers to adapt: a regular expression a layer's full name must match whole (PEFT's target_modules as a string), instead of --lora-targets"),
    useRslora: z.boolean().default(false).describe('rsLoRA: scale by α/√r instead of α/r (Kalajdzievski 2023)'),
    loraSaveMerged: z.boolean().default(false).describe('also write the merged model (W + (α/r)·B·A, a plain Hugging Face directory) to OUT/merged'),
  };
}

export type RunOptions = z.infer<z.ZodObject<ReturnType<typeof runFields>>>;
export type DataOptions = z.infer<z.ZodObject<ReturnType<typeof dataFields>>>;
export type OptimOptions = z.infer<z.ZodObject<ReturnType<typeof optimFields>>>;
export type LoraOptions = z.infer<z.ZodObject<ReturnType<typeof loraFields>>>;
/** The LoRA fields' help section, for a trainer's help groups. */
export const LORA_HELP_KEYS = ['loraR', 'loraAlpha', 'loraDropout', 'loraTargets', 'loraTargetRegex', 'useRslora', 'loraSaveMerged'] as const;

/** Help sections every trainer shows in this order. */
export const HELP_GROUPS = {
  'Model and output': ['model', 'revision', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'seed', 'dtype', 'quiet'],
  Data: ['data', 'columns', 'evalSplit', 'evalData', 'skipInvalid', 'maxLength'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
} as const;
