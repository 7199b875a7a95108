// Hugging Face model directories: what `save_pretrained` writes and `from_pretrained` reads.
//
//   config.json                      architecture and sizes (config.ts)
//   model.safetensors                weights, or model-0000i-of-0000N.safetensors + model.safetensors.index.json
//   tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json
//   generation_config.json           bos/eos/pad for generation
//
// Loading builds the model without initialising it (skipInit), checks every name and shape in the
// safetensors headers against the model before reading any data, then reads each tensor into one
// reused buffer and hands its bytes to libtorch once (fromBuffer), swapping the new storage into
// the parameter (setData_): one copy from the file to the model.
//
// Key mapping, as transformers does: checkpoints of the bare body (GPT2Model, LlamaModel) have no
// `transformer.` / `model.` prefix (base_model_prefix, see registry.ts); the attention-mask buffers
// `attn.bias` / `attn.masked_bias` and the rotary `rotary_emb.inv_freq` buffers of older checkpoints
// are ignored; `lm_head.weight` is absent when tied to the token embedding (and ignored, with a
// warning if it differs, when present); a sequence classifier's `score.weight` is dropped when loading a
// causal LM, and freshly initialised when loading a scalar model from a causal LM.
import { open, readFile, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Tensor, Device } from '../torch/tensor.js';
import type { FloatDType } from '../torch/dtype.js';
import { noGrad, tidy } from '../torch/index.js';
import { normal_ } from '../nn/init.js';
import { rawToTensor, tensorToRaw } from '../nn/state-dict.js';
import type { Module } from '../nn/module.js';
import {
  INDEX_FILE,
  SINGLE_FILE,
  readSafetensorsHeader,
  readShardedIndex,
  writeSafetensorsDir,
  type RawTensor,
  type TensorInfo,
} from '../torch/safetensors.js';
import { atomicWriteJson } from '../util/atomic.js';
import { loadTokenizer, saveTokenizer, type Tokenizer } from '../tokenizers/index.js';
import { ScalarHeadModel } from './heads.js';
import { skipInit } from '../nn/init.js';
import { configToJson, generationConfigJson, readConfig, type ParsedConfig } from './config.js';
import { architectureFor, createCausalLM, type ModelConfig } from './registry.js';
import { CheckpointError, ConfigError } from './errors.js';
import { isAdapterDir } from '../nn/lora-peft.js';
import { loadMergedAdapter, type AdapterInfo } from './adapter.js';
import type { CausalLM } from './types.js';
import { checkModelFits } from './size.js';
import { resolveModel } from '../hub/resolve.js';

export interface LoadOptions {
  /** Parameter dtype: 'float32' (default, as transformers), 'bfloat16', 'float16', or 'auto' for config.json's torch_dtype. */
  dtype?: FloatDType | 'auto';
  /** Where the parameters live. Default 'cpu'. */
  device?: Device;
  /** Load the tokenizer files when the directory has them. Default true. */
  tokenizer?: boolean;
  /** Load weights holding NaN or ±Inf (to inspect a diverged run) instead of refusing them. Default false. */
  allowNonFinite?: boolean;
  /** When `dir` is a LoRA adapter (adapter.ts): its base model directory, instead of its base_model_name_or_path. */
  base?: string | null;
  /** When the model is given by Hub id (src/hub): the branch, tag or commit. Default 'main'. */
  revision?: string;
}

export interface Loaded<M> {
  model: M;
  config: ModelConfig;
  /** The directory's tokenizer, when it has tokenizer files (and `tokenizer` was not false). */
  tokenizer?: Tokenizer;
  /** generation_config.json, when present. */
  generationConfig?: Record<string, unknown>;
  /** What the caller should tell the user: a head initialised fresh, weights ignored, … */
  warnings: string[];
  /** Set when `dir` was a LoRA adapter: it was applied to its base model and merged into the weights. */
  adapter?: AdapterInfo;
}

export interface LoadedScalar extends Loaded<ScalarHeadModel> {
  /** True when the directory held a causal LM, so `score` is new: N(0, initializer_range). */
  scoreInitialized: boolean;
}

export interface SaveOptions {
  /** Written with saveTokenizer (vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, …). */
  tokenizer?: Tokenizer;
  /** Fields for generation_config.json over bos/eos/pad from the config. */
  generationConfig?: Record<string, unknown>;
  /** Largest weight shard in bytes; default 5 GB as transformers. */
  maxShardBytes?: number;
}

export { createCausalLM };

/** transformers' class name for a model, written to config.json's `architectures`. */
export function architectureOf(model: CausalLM | ScalarHeadModel): string {
  const a = architectureFor(model.config.model_type);
  return model instanceof ScalarHeadModel ? a.sequenceClassifier : a.causalLM;
}

/**
 * Loads a causal LM from a Hugging Face model directory — or a Hub id (`org/name`, `org/name@rev`),
 * through the Hugging Face cache (src/hub) — with its tokenizer and generation config when present. Errors name the directory and list every missing, unexpected or mis-shaped weight.
 */
export async function loadPretrained(ref: string, opts: LoadOptions = {}): Promise<Loaded<CausalLM>> {
  const dir = await resolveModel(ref, { revision: opts.revision }); // a Hub id → its snapshot in the HF cache
  if (isAdapterDir(dir)) {
    // A LoRA adapter: its base, with the adapter merged in; a sequence classifier's head has no place here.
    const { loaded, info, skipped } = await loadMergedAdapter(dir, opts.base, (b) => loadPretrained(b, { ...opts, base: null }), (k) => k.startsWith('score.'));
    if (skipped.length) loaded.warnings.push(`${dir} is a sequence classifier's adapter; its ${skipped.join(', ')} was not loaded into the causal LM`);
    return { ...loaded, ...(await sidecars(dir, opts)), adapter: info };
  }
  const parsed = await readConfig(dir);
  checkModelFits(parsed.config, loadDtype(parsed, opts), join(dir, 'config.json')); // before allocating anything
  const warnings: string[] = [];
  const model = skipInit(() => createCausalLM(parsed.config));
  try {
    await loadWeights(dir, model, parsed, { ...opts, target: 'causal', warnings });
    return { model, config: model.config as ModelConfig, ...(await sidecars(dir, opts)), warnings };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * Loads a reward/value model: a sequence-classification checkpoint (body + `score.weight`), or a
 * causal LM (then `score` is initialised N(0, initializer_range) and `scoreInitialized` is true).
 */
export async function loadScalarModel(ref: string, opts: LoadOptions = {}): Promise<LoadedScalar> {
  const dir = await resolveModel(ref, { revision: opts.revision }); // a Hub id → its snapshot in the HF cache
  if (isAdapterDir(dir)) {
    // A LoRA adapter: its base as a scalar model, the adapter merged in; a SEQ_CLS adapter brings the trained score head.
    const { loaded, info } = await loadMergedAdapter(dir, opts.base, (b) => loadScalarModel(b, { ...opts, base: null }));
    const scoreFromAdapter = info.config.lora.modulesToSave?.includes('score') ?? false;
    const warnings = scoreFromAdapter ? loaded.warnings.filter((w) => !w.includes('holds no score head')) : loaded.warnings;
    return { ...loaded, ...(await sidecars(dir, opts)), warnings, scoreInitialized: loaded.scoreInitialized && !scoreFromAdapter, adapter: info };
  }
  const parsed = await readConfig(dir);
  checkModelFits(parsed.config, loadDtype(parsed, opts), join(dir, 'config.json')); // before allocating anything
  const warnings: string[] = [];
  const model = skipInit(() => new ScalarHeadModel(parsed.config));
  try {
    const { scoreMissing } = await loadWeights(dir, model, parsed, { ...opts, target: 'scalar', warnings });
    if (scoreMissing) {
      noGrad(() => normal_(model.score.weight, 0, parsed.config.initializer_range));
      warnings.push(`${dir} holds no score head (it is a causal LM); score.weight was initialised N(0, ${parsed.config.initializer_range}) — train it before trusting the scores`);
    }
    return { model, config: model.config, ...(await sidecars(dir, opts)), warnings, scoreInitialized: scoreMissing };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/**
 * Writes `model` as a Hugging Face model directory that `from_pretrained` (AutoModelForCausalLM,
 * or AutoModelForSequenceClassification for a ScalarHeadModel) loads unchanged, and `loadPretrained`
 * / `loadScalarModel` read back: weights (sharded above `maxShardBytes`), tokenizer files,
 * generation_config.json (causal LMs), config.json. Every file is written atomically, config.json
 * last. Returns the file names written.
 */
export async function savePretrained(model: CausalLM | ScalarHeadModel, dir: string, opts: SaveOptions = {}): Promise<string[]> {
  const architecture = architectureOf(model);
  const config = model.config as ModelConfig;
  const isScalar = model instanceof ScalarHeadModel;
  const sd = model.stateDict(); // transformer.*, lm_head.weight when untied, score.weight
  const first = sd.values().next().value as Tensor;
  const dtype = first.dtype;
  if (dtype !== 'float32' && dtype !== 'bfloat16' && dtype !== 'float16' && dtype !== 'float64') throw new Error(`savePretrained: parameters are ${dtype}; expected a float dtype`);
  const raw = new Map<string, RawTensor>();
  for (const [k, t] of sd) raw.set(k, tensorToRaw(t));
  const files = await writeSafetensorsDir(dir, raw, { maxShardBytes: opts.maxShardBytes });
  raw.clear();

  if (opts.tokenizer) for (const p of saveTokenizer(opts.tokenizer, dir)) files.push(basename(p));
  const padId = config.pad_token_id ?? (isScalar ? (opts.tokenizer?.padTokenId ?? config.eos_token_id) : undefined);
  const withPad: ModelConfig = padId === undefined ? config : { ...config, pad_token_id: padId };
  if (!isScalar || opts.generationConfig) {
    // transformers writes one for models that generate; a sequence classifier gets one only when asked
    await atomicWriteJson(join(dir, 'generation_config.json'), generationConfigJson(withPad, opts.generationConfig));
    files.push('generation_config.json');
  }
  await atomicWriteJson(join(dir, 'config.json'), configToJson(withPad, { architectures: [architecture], torchDtype: dtype, ...(isScalar ? { numLabels: 1 } : {}) }));
  files.push('config.json');
  return files;
}

// ----- weights ---------------------------------------------------------------------------------

/** Where one tensor's bytes are. */
interface StoredTensor {
  file: string;
  info: TensorInfo;
  /** Offset of the file's data section. */
  dataStart: number;
}

/** The dtype the parameters are loaded in. */
function loadDtype(parsed: ParsedConfig, opts: LoadOptions): FloatDType {
  return opts.dtype === 'auto' ? (parsed.torchDtype ?? 'float32') : (opts.dtype ?? 'float32');
}

/** safetensors dtypes that weights may be stored in. */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Buffers of older transformers checkpoints, not weights: GPT-2 / GPT-Neo attention masks, Llama-family rotary frequencies. */
const IGNORED_BUFFER = /(^|\.)h\.\d+\.attn\.(attention\.)?(bias|masked_bias)$|(^|\.)layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/**
 * Every tensor's location from the headers of `model.safetensors` or of the shards named by
 * `model.safetensors.index.json` — headers only, no data.
 */
async function listWeights(dir: string): Promise<Map<string, StoredTensor>> {
  const exists = (p: string): Promise<boolean> => stat(p).then((s) => s.isFile(), () => false);
  const out = new Map<string, StoredTensor>();
  const add = async (file: string): Promise<Record<string, string>> => {
    const h = await readSafetensorsHeader(file);
    for (const [name, info] of h.tensors) {
      const other = out.get(name);
      if (other) throw new CheckpointError(dir, `tensor ${name} is in both ${other.file} and ${file}; the shards are from different saves — re-save the model`);
      out.set(name, { file, info, dataStart: h.dataStart });
    }
    return h.metadata;
  };
  if (await exists(join(dir, SINGLE_FILE))) {
    await add(join(dir, SINGLE_FILE));
    return out;
  }
  if (!(await exists(join(dir, INDEX_FILE)))) {
    const legacy = ['pytorch_model.bin', 'model.pt', 'tf_model.h5', 'flax_model.msgpack'];
    const found = [];
    for (const f of legacy) if (await exists(join(dir, f))) found.push(f);
    const hint = found.length
      ? ` It has ${found.join(', ')}, a format rlhf does not read; convert it with transformers: AutoModelForCausalLM.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`
      : ' Save the model with savePretrained or transformers\' save_pretrained (safetensors is its default).';
    throw new CheckpointError(dir, `has no ${SINGLE_FILE} or ${INDEX_FILE}.${hint}`);
  }
  const index = await readShardedIndex(dir);
  const saveId = index.metadata['rlhf_save_id']; // stamped by writeSafetensorsDir on every shard
  for (const shard of index.shards) {
    const meta = await add(join(dir, shard));
    if (typeof saveId === 'string' && meta['rlhf_save_id'] !== saveId) {
      throw new CheckpointError(dir, `shard ${shard} is from a different save than ${INDEX_FILE} (a save was interrupted?) — re-save the model`);
    }
  }
  for (const [name, shard] of index.weightMap) {
    const where = out.get(name);
    if (where?.file !== join(dir, shard)) {
      throw new CheckpointError(dir, `${INDEX_FILE} puts ${name} in ${shard} but ${where ? `it is in ${where.file}` : 'no shard has it'} — the shards and the index are from different saves; re-download or re-save`);
    }
  }
  return out;
}

/**
 * Maps the directory's tensors onto `model`'s state dict (prefixes, buffers, heads), checks names
 * and shapes, then reads every tensor straight into its parameter.
 */
async function loadWeights(
  dir: string,
  model: Module,
  parsed: ParsedConfig,
  opts: LoadOptions & { target: 'causal' | 'scalar'; warnings: string[] },
): Promise<{ scoreMissing: boolean }> {
  const stored = await listWeights(dir);
  const arch = architectureFor(parsed.config.model_type);
  const hasPrefix = [...stored.keys()].some((k) => k.startsWith(`${arch.prefix}.`));
  const mapped = new Map<string, StoredTensor>();
  for (const [name, t] of stored) {
    if (IGNORED_BUFFER.test(name)) continue;
    const isHead = name.startsWith('lm_head.') || name.startsWith('score.');
    mapped.set(hasPrefix || isHead ? name : `${arch.prefix}.${name}`, t);
  }

  const own = model.stateDict();
  const cfg = parsed.config;
  // Heads the target model does not have, or has tied.
  let tiedHead: StoredTensor | undefined;
  const lmHead = mapped.get('lm_head.weight');
  if (lmHead && !own.has('lm_head.weight')) {
    mapped.delete('lm_head.weight');
    if (opts.target === 'causal') tiedHead = lmHead; // compared with wte below
  }
  const score = mapped.get('score.weight');
  if (score && opts.target === 'causal') {
    mapped.delete('score.weight');
    opts.warnings.push(`${dir} is a sequence classifier (${parsed.architectures.join(', ') || 'score.weight present'}); its score head was not loaded into the causal LM`);
  }
  if (score && opts.target === 'scalar' && score.info.shape[0] !== 1) {
    throw new CheckpointError(dir, `score.weight is [${score.info.shape.join(', ')}]: a classifier with ${score.info.shape[0]} labels; rlhf's reward/value models have one output (num_labels: 1)`);
  }
  const scoreMissing = opts.target === 'scalar' && !score;

  // Names and shapes, all differences at once, before reading any data.
  const missing = [...own.keys()].filter((k) => !mapped.has(k) && !(scoreMissing && k === 'score.weight'));
  const unexpected = [...mapped.keys()].filter((k) => !own.has(k));
  const wrongShape: string[] = [];
  for (const [k, t] of own) {
    const s = mapped.get(k)?.info.shape;
    if (s && s.join() !== t.shape.join()) wrongShape.push(`${k}: checkpoint [${s.join(', ')}] vs model [${t.shape.join(', ')}]`);
  }
  if (missing.length || unexpected.length || wrongShape.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys (${missing.length}): ${list(missing)}`);
    if (unexpected.length) parts.push(`unexpected keys (${unexpected.length}): ${list(unexpected)}`);
    if (wrongShape.length) parts.push(`wrong shapes (${wrongShape.length}): ${list(wrongShape)}`);
    const what = `${cfg.model_type} model described by its config.json`;
    throw new CheckpointError(dir, `the weights do not match the ${what}:\n  ${parts.join('\n  ')}\nCheck that config.json belongs to these weights (vocab_size, sizes, layers, tie_word_embeddings).`);
  }

  // Weights are floats: an integer dtype (a float tensor relabelled I32 has the same byte size, so
  // the shapes above agree) would be converted to nonsense values without a word.
  const notFloat = [...mapped].filter(([k, t]) => own.get(k)?.dtype.startsWith('float') && !FLOAT_DTYPES.has(t.info.dtype));
  if (notFloat.length) {
    const which = list(notFloat.map(([k, t]) => `${k} (${t.info.dtype} in ${basename(t.file)})`));
    throw new CheckpointError(dir, `${notFloat.length} weight tensor(s) are not floating point: ${which}; ${parsed.config.model_type} weights are F32, F16 or BF16 — the file is corrupted or was converted wrongly; re-download or re-save it`);
  }

  const dtype = loadDtype(parsed, opts);
  const device = opts.device ?? 'cpu';
  const jobs = [...mapped].map(([name, stored]) => ({ name, stored, target: own.get(name) as Tensor }));
  const nonFinite: string[] = [];
  await readTensors(jobs, device, (job, t) => {
    // One pass: a finite sum means no NaN or ±Inf (real weights cannot overflow it); only then count them.
    const bad = opts.allowNonFinite || Number.isFinite(t.sum().item()) ? 0 : t.isfinite().logicalNot().sum().item();
    if (bad > 0) nonFinite.push(`${job.name} (${bad.toLocaleString('en-US')} of ${t.numel.toLocaleString('en-US')} values, in ${basename(job.stored.file)})`);
    job.target.setData_(t.dtype === dtype ? t : t.to(dtype)); // the parameter now owns t's storage: no copy
  });
  if (nonFinite.length) {
    throw new CheckpointError(dir, `${nonFinite.length} weight tensor(s) hold NaN or infinite values: ${nonFinite.slice(0, 3).join(', ')}${nonFinite.length > 3 ? `, … (${nonFinite.length - 3} more)` : ''}; a model with them cannot generate or train (a diverged run, or a corrupted file) — use an earlier checkpoint, or load with { allowNonFinite: true } to inspect it`);
  }

  if (tiedHead) {
    const embeddingKey = `${arch.prefix}.${arch.embeddingKey}`;
    const wte = own.get(embeddingKey) as Tensor;
    await readTensors([{ name: 'lm_head.weight', stored: tiedHead }], device, (_, t) => {
      const same = tidy(() => t.shape.join() === wte.shape.join() && t.to(wte.dtype).eq(wte).all().item() === 1);
      if (!same) {
        opts.warnings.push(`${dir}: lm_head.weight differs from ${embeddingKey} although config.json has tie_word_embeddings: true; like transformers, rlhf ties the head to the embedding and ignores lm_head.weight (set tie_word_embeddings: false to use it)`);
      }
    });
  }
  return { scoreMissing };
}

/**
 * Reads tensors in file order and calls use(job, tensor) with each as a libtorch tensor (freed right
 * after use returns). Two buffers sized for the largest tensor alternate, so that the next tensor's
 * bytes are read (on libuv's thread pool) while this one is copied into libtorch.
 */
async function readTensors<J extends { name: string; stored: StoredTensor }>(jobs: J[], device: Device, use: (job: J, t: Tensor) => void): Promise<void> {
  const order = [...jobs].sort((a, b) => (a.stored.file === b.stored.file ? a.stored.info.dataOffsets[0] - b.stored.info.dataOffsets[0] : a.stored.file < b.stored.file ? -1 : 1));
  const size = (j: J): number => j.stored.info.dataOffsets[1] - j.stored.info.dataOffsets[0];
  const largest = Math.max(0, ...order.map(size));
  const bufs = [Buffer.allocUnsafe(largest), Buffer.allocUnsafe(order.length > 1 ? largest : 0)] as const;
  const handles = new Map<string, Promise<FileHandle>>();
  const read = async (i: number): Promise<void> => {
    const { stored } = order[i] as J;
    const file = stored.file;
    if (!handles.has(file)) handles.set(file, open(file, 'r'));
    const fh = await (handles.get(file) as Promise<FileHandle>);
    await readFully(fh, bufs[i % 2] as Buffer, size(order[i] as J), stored.dataStart + stored.info.dataOffsets[0], file);
  };
  let pending: Promise<void> | null = order.length > 0 ? read(0) : null;
  try {
    for (let i = 0; i < order.length; i++) {
      await pending;
      pending = i + 1 < order.length ? read(i + 1) : null;
      const job = order[i] as J;
      const { dtype, shape } = job.stored.info;
      const buf = bufs[i % 2] as Buffer;
      const data = new Uint8Array(buf.buffer, buf.byteOffset, size(job));
      noGrad(() => tidy(() => use(job, rawToTensor({ dtype, shape, data }, { name: job.name, device }))));
    }
  } finally {
    await pending?.catch(() => undefined);
    for (const h of handles.values()) await h.then((fh) => fh.close(), () => undefined);
  }
}

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number, file: string): Promise<void> {
  for (let off = 0; off < length; ) {
    const { bytesRead } = await fh.read(buf, off, Math.min(length - off, 1 << 30), position + off);
    if (bytesRead === 0) throw new CheckpointError(file, `ended at byte ${position + off} while reading weights (it changed while being read?); re-download or re-save it`);
    off += bytesRead;
  }
}

function list(keys: string[]): string {
  return keys.length <= 12 ? keys.join(', ') : `${keys.slice(0, 12).join(', ')}, … (${keys.length - 12} more)`;
}

// ----- tokenizer and generation config ---------------------------------------------------------

async function sidecars(dir: string, opts: LoadOptions): Promise<{ tokenizer?: Tokenizer; generationConfig?: Record<string, unknown> }> {
  const out: { tokenizer?: Tokenizer; generationConfig?: Record<string, unknown> } = {};
  const has = (f: string): Promise<boolean> => stat(join(dir, f)).then((s) => s.isFile(), () => false);
  if ((opts.tokenizer ?? true) && ((await has('tokenizer.json')) || (await has('vocab.json')))) out.tokenizer = loadTokenizer(dir);
  const genFile = join(dir, 'generation_config.json');
  if (await has('generation_config.json')) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(genFile, 'utf8'));
    } catch (err) {
      throw new ConfigError(genFile, null, `is not valid JSON (${(err as Error).message}); fix or delete it`, { cause: err });
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(genFile, null, 'is not a JSON object; fix or delete it');
    out.generationConfig = json as Record<string, unknown>;
  }
  return out;
}
