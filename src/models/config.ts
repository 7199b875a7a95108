// config.json: parsing (validated, with transformers' defaults for the fields left out) and writing
// (the full field set transformers writes, so `from_pretrained` reads it unchanged).
//
// Fields rlhf does not use (n_ctx, task_specific_params, summary_*, _name_or_path, …) are kept in
// `config.extra` and written back on save.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { FloatDType } from '../torch/dtype.js';
import { ACTIVATIONS, GPT2_DEFAULTS, type GPT2Config } from './gpt2.js';
import { GPT_NEO_DEFAULTS, expandAttentionTypes, resolveGPTNeoConfig } from './gpt-neo.js';
import { LLAMA_FAMILY, LLAMA_FAMILY_DEFAULTS, resolveLlamaConfig, type LlamaConfig, type LlamaFamily } from './llama.js';
import { SUPPORTED_MODEL_TYPES, type ModelConfig } from './registry.js';
import { CheckpointError, ConfigError } from './errors.js';
import { errnoCode, readFailure } from '../util/fs-errors.js';

export { SUPPORTED_MODEL_TYPES, type ModelConfig };

/** Written as `transformers_version`: the transformers release whose format we write. */
export const TRANSFORMERS_VERSION = '4.46.0';

export interface ParsedConfig {
  config: ModelConfig;
  /** `architectures` as written, e.g. ["GPT2LMHeadModel"] ([] when absent). */
  architectures: string[];
  /** `torch_dtype` (or newer transformers' `dtype`) when it names a float type rlhf computes in. */
  torchDtype: FloatDType | null;
  /** Labels of a sequence-classification head (size of id2label, or num_labels), null when not given. */
  numLabels: number | null;
}

// ----- schemas ---------------------------------------------------------------------------------

const POS_INT = 'expected a positive integer';
const posInt = z.number({ error: POS_INT }).int({ error: POS_INT }).positive({ error: POS_INT });
const TOKEN_ID = 'expected a token id (an integer ≥ 0)';
const tokenId = z.number({ error: TOKEN_ID }).int({ error: TOKEN_ID }).min(0, { error: TOKEN_ID });
const PROB = 'expected a probability in [0, 1]';
const prob = z.number({ error: PROB }).min(0, { error: PROB }).max(1, { error: PROB });
const POS = 'expected a number > 0';
const positive = z.number({ error: POS }).positive({ error: POS });
const NONNEG = 'expected a number ≥ 0';
const nonNegative = z.number({ error: NONNEG }).min(0, { error: NONNEG });
const bool = z.boolean({ error: 'expected true or false' });
const activationFn = z.enum(ACTIVATIONS, { error: `expected one of ${ACTIVATIONS.join(', ')}` });
const attentionType = z.enum(['global', 'local'], { error: 'expected "global" or "local"' });

const gpt2Schema = z.looseObject({
  vocab_size: posInt.default(GPT2_DEFAULTS.vocab_size),
  n_positions: posInt.default(GPT2_DEFAULTS.n_positions),
  n_embd: posInt.default(GPT2_DEFAULTS.n_embd),
  n_layer: posInt.default(GPT2_DEFAULTS.n_layer),
  n_head: posInt.default(GPT2_DEFAULTS.n_head),
  n_inner: posInt.nullable().default(null),
  activation_function: activationFn.default(GPT2_DEFAULTS.activation_function),
  resid_pdrop: prob.default(GPT2_DEFAULTS.resid_pdrop),
  embd_pdrop: prob.default(GPT2_DEFAULTS.embd_pdrop),
  attn_pdrop: prob.default(GPT2_DEFAULTS.attn_pdrop),
  layer_norm_epsilon: positive.default(GPT2_DEFAULTS.layer_norm_epsilon),
  initializer_range: nonNegative.default(GPT2_DEFAULTS.initializer_range),
  scale_attn_weights: bool.default(true),
  scale_attn_by_inverse_layer_idx: bool.default(false),
  reorder_and_upcast_attn: bool.default(false),
  tie_word_embeddings: bool.default(true),
  bos_token_id: tokenId.default(GPT2_DEFAULTS.bos_token_id),
  eos_token_id: tokenId.default(GPT2_DEFAULTS.eos_token_id),
  pad_token_id: tokenId.nullable().optional(),
  add_cross_attention: z.literal(false, { error: 'is true, but rlhf implements decoder-only GPT-2 (no cross-attention); set it to false' }).optional(),
});

const gptNeoSchema = z.looseObject({
  vocab_size: posInt.default(GPT_NEO_DEFAULTS.vocab_size),
  max_position_embeddings: posInt.default(GPT_NEO_DEFAULTS.max_position_embeddings),
  hidden_size: posInt.default(GPT_NEO_DEFAULTS.hidden_size),
  num_layers: posInt.default(GPT_NEO_DEFAULTS.num_layers),
  num_heads: posInt.default(GPT_NEO_DEFAULTS.num_heads),
  attention_types: z
    .array(z.tuple([z.array(attentionType).min(1), posInt], { error: 'expected a list of [["global" | "local", …], repeat] pairs' }), {
      error: 'expected a list of [["global" | "local", …], repeat] pairs, e.g. [[["global", "local"], 12]]',
    })
    .min(1)
    .default(GPT_NEO_DEFAULTS.attention_types),
  attention_layers: z.array(attentionType, { error: 'expected a list of "global" | "local", one per layer' }).optional(),
  window_size: posInt.default(GPT_NEO_DEFAULTS.window_size),
  intermediate_size: posInt.nullable().default(null),
  activation_function: activationFn.default(GPT_NEO_DEFAULTS.activation_function),
  resid_dropout: prob.default(GPT_NEO_DEFAULTS.resid_dropout),
  embed_dropout: prob.default(GPT_NEO_DEFAULTS.embed_dropout),
  attention_dropout: prob.default(GPT_NEO_DEFAULTS.attention_dropout),
  classifier_dropout: prob.nullable().default(GPT_NEO_DEFAULTS.classifier_dropout),
  layer_norm_epsilon: positive.default(GPT_NEO_DEFAULTS.layer_norm_epsilon),
  initializer_range: nonNegative.default(GPT_NEO_DEFAULTS.initializer_range),
  tie_word_embeddings: bool.default(true),
  bos_token_id: tokenId.default(GPT_NEO_DEFAULTS.bos_token_id),
  eos_token_id: tokenId.default(GPT_NEO_DEFAULTS.eos_token_id),
  pad_token_id: tokenId.nullable().optional(),
});

// The Llama family (llama.ts): fields all three share, then each one's own. A field of another
// family (a Mistral config.json with attention_bias) is not read — transformers ignores it too — and
// is written back unchanged from `extra`.
const ROPE_TYPE_KEYS = 'rope_scaling must be null or an object such as {"rope_type": "linear", "factor": 2.0}';
const llamaCommon = (d: (typeof LLAMA_FAMILY_DEFAULTS)[LlamaFamily]) => ({
  vocab_size: posInt.default(d.vocab_size),
  hidden_size: posInt.default(d.hidden_size),
  intermediate_size: posInt.default(d.intermediate_size),
  num_hidden_layers: posInt.default(d.num_hidden_layers),
  num_attention_heads: posInt.default(d.num_attention_heads),
  num_key_value_heads: posInt.nullable().optional(),
  head_dim: posInt.nullable().optional(),
  hidden_act: activationFn.default(d.hidden_act),
  max_position_embeddings: posInt.default(d.max_position_embeddings),
  initializer_range: nonNegative.default(d.initializer_range),
  rms_norm_eps: positive.default(d.rms_norm_eps),
  rope_theta: positive.default(d.rope_theta),
  rope_scaling: z.looseObject({}, { error: ROPE_TYPE_KEYS }).nullable().default(null),
  attention_dropout: prob.default(d.attention_dropout),
  tie_word_embeddings: bool.default(d.tie_word_embeddings),
  bos_token_id: tokenId.nullable().optional(),
  eos_token_id: z.union([tokenId, z.array(tokenId).min(1)], { error: 'expected a token id or a non-empty list of them' }).nullable().optional(),
  pad_token_id: tokenId.nullable().optional(),
  partial_rotary_factor: z.literal(1, { error: 'is not 1: rlhf rotates every dimension of each head (partial rotary embeddings are not implemented)' }).optional(),
});
const llamaSchemas = {
  llama: z.looseObject({ ...llamaCommon(LLAMA_FAMILY_DEFAULTS.llama), attention_bias: bool.default(false), mlp_bias: bool.default(false) }),
  mistral: z.looseObject({ ...llamaCommon(LLAMA_FAMILY_DEFAULTS.mistral), sliding_window: posInt.nullable().default(LLAMA_FAMILY_DEFAULTS.mistral.sliding_window) }),
  qwen2: z.looseObject({
    ...llamaCommon(LLAMA_FAMILY_DEFAULTS.qwen2),
    use_sliding_window: bool.default(false),
    sliding_window: posInt.nullable().default(LLAMA_FAMILY_DEFAULTS.qwen2.sliding_window),
    max_window_layers: z.number({ error: 'expected an integer ≥ 0' }).int({ error: 'expected an integer ≥ 0' }).min(0, { error: 'expected an integer ≥ 0' }).default(LLAMA_FAMILY_DEFAULTS.qwen2.max_window_layers),
    layer_types: z.array(z.enum(['full_attention', 'sliding_attention'], { error: 'expected "full_attention" or "sliding_attention"' })).optional(),
  }),
};
/** Each family's own fields, written back on save (the shared ones always are). */
const LLAMA_OWN_FIELDS: Record<LlamaFamily, readonly string[]> = {
  llama: ['attention_bias', 'mlp_bias'],
  mistral: ['sliding_window'],
  qwen2: ['use_sliding_window', 'sliding_window', 'max_window_layers', 'layer_types'],
};

/**
 * A Llama-family config from config.json. Newer transformers write rope_theta and rope_scaling as one
 * `rope_parameters` object; it is read as those two fields.
 */
function parseLlamaConfig(family: LlamaFamily, obj: Record<string, unknown>, file: string): LlamaConfig {
  const rp = obj['rope_parameters'];
  let src = obj;
  if (rp !== null && typeof rp === 'object' && !Array.isArray(rp) && obj['rope_theta'] === undefined && obj['rope_scaling'] === undefined) {
    const { rope_theta, ...scaling } = rp as Record<string, unknown>;
    const type = scaling['rope_type'] ?? scaling['type'] ?? 'default';
    const { rope_parameters: _rp, ...rest } = obj;
    src = { ...rest, ...(rope_theta === undefined ? {} : { rope_theta }), rope_scaling: type === 'default' ? null : scaling };
  }
  const schema = llamaSchemas[family];
  const f = validate(schema, src, file) as Record<string, unknown>;
  const { bos_token_id, eos_token_id, pad_token_id, partial_rotary_factor: _p, ...fields } = pick(f, schema.shape);
  const d = LLAMA_FAMILY_DEFAULTS[family];
  const eosList = Array.isArray(eos_token_id) ? (eos_token_id as number[]) : null;
  return resolveLlamaConfig(
    {
      ...(fields as Partial<LlamaConfig>),
      model_type: family,
      bos_token_id: (bos_token_id as number | null | undefined) ?? d.bos_token_id, // null (none) → the family's id, as generation needs one
      eos_token_id: eosList ? (eosList[0] as number) : ((eos_token_id as number | null | undefined) ?? d.eos_token_id),
      ...(eosList && eosList.length > 1 ? { eos_token_ids: eosList } : {}),
      ...(pad_token_id === undefined ? {} : { pad_token_id: pad_token_id as number | null }),
      extra: extraFields(src, schema.shape),
    },
    file,
  );
}

/** Fields handled here rather than kept in `extra`. */
const META_FIELDS = new Set(['model_type', 'architectures', 'torch_dtype', 'dtype', 'transformers_version', 'id2label', 'label2id', 'num_labels']);
const DERIVED_NEO_FIELDS = new Set(['n_embd', 'n_layer', 'n_head', 'n_positions']);

// ----- parsing ---------------------------------------------------------------------------------

/** Validates a parsed config.json. `file` names it in errors. */
export function parseConfig(json: unknown, file = 'config.json'): ParsedConfig {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(file, null, `is ${describe(json)}, expected a JSON object`);
  const obj = json as Record<string, unknown>;
  const modelType = obj['model_type'];
  if (modelType === undefined) throw new ConfigError(file, 'model_type', `is missing; set it to one of ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as string[]).includes(modelType)) {
    throw new ConfigError(file, 'model_type', `is ${JSON.stringify(modelType)}, which rlhf does not implement; supported model types: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  }

  let config: ModelConfig;
  if ((LLAMA_FAMILY as readonly string[]).includes(modelType)) {
    config = parseLlamaConfig(modelType as LlamaFamily, obj, file);
  } else if (modelType === 'gpt2') {
    const f = validate(gpt2Schema, obj, file);
    const { add_cross_attention: _x, pad_token_id, ...fields } = pick(f, gpt2Schema.shape);
    config = { ...fields, model_type: 'gpt2', ...(pad_token_id === undefined ? {} : { pad_token_id }), extra: extraFields(obj, gpt2Schema.shape) };
    if (config.n_embd % config.n_head !== 0) throw new ConfigError(file, 'n_head', `is ${config.n_head}, which does not divide n_embd (${config.n_embd}); each head gets n_embd / n_head dims`);
  } else {
    const f = validate(gptNeoSchema, obj, file);
    const { attention_layers, pad_token_id, ...fields } = pick(f, gptNeoSchema.shape);
    if (fields.hidden_size % fields.num_heads !== 0) {
      throw new ConfigError(file, 'num_heads', `is ${fields.num_heads}, which does not divide hidden_size (${fields.hidden_size}); each head gets hidden_size / num_heads dims`);
    }
    const layers = expandAttentionTypes(fields.attention_types);
    if (layers.length !== fields.num_layers) {
      throw new ConfigError(
        file,
        'attention_types',
        `is ${JSON.stringify(fields.attention_types)}, which describes ${layers.length} layers, but num_layers is ${fields.num_layers}; make them agree (e.g. [[["global", "local"], ${Math.floor(fields.num_layers / 2)}]]${fields.num_layers % 2 ? ' plus [["global"], 1]' : ''})`,
      );
    }
    config = resolveGPTNeoConfig({ ...fields, ...(pad_token_id === undefined ? {} : { pad_token_id }), extra: extraFields(obj, gptNeoSchema.shape) });
    if (attention_layers !== undefined && JSON.stringify(attention_layers) !== JSON.stringify(config.attention_layers)) {
      throw new ConfigError(
        file,
        'attention_layers',
        `is ${JSON.stringify(attention_layers)} but attention_types ${JSON.stringify(config.attention_types)} expand to ${JSON.stringify(config.attention_layers)}; fix one of them (transformers builds the model from attention_types)`,
      );
    }
  }

  return { config, architectures: architecturesOf(obj, file), torchDtype: torchDtypeOf(obj), numLabels: numLabelsOf(obj, file) };
}

/** Reads and validates `dir/config.json`. Errors name the directory, the file and the field. */
export async function readConfig(dir: string): Promise<ParsedConfig> {
  const st = await stat(dir).catch(() => null);
  if (st === null) throw new CheckpointError(dir, 'no such directory; pass a model directory (config.json + model.safetensors), e.g. one written by `rlhf init` or `save_pretrained`');
  if (!st.isDirectory()) throw new CheckpointError(dir, 'is a file, not a model directory; pass the directory that holds config.json and model.safetensors');
  const file = join(dir, 'config.json');
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') throw new CheckpointError(dir, 'has no config.json, so it is not a Hugging Face model directory (save_pretrained and `rlhf init` write config.json beside the weights)');
    throw new CheckpointError(dir, `cannot read config.json: ${readFailure(err, file)}`, { cause: err });
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, null, `is not valid JSON (${(err as Error).message}); re-save the model or fix the file`, { cause: err });
  }
  return parseConfig(json, file);
}

function validate<S extends z.ZodType>(schema: S, obj: Record<string, unknown>, file: string): z.output<S> {
  const r = schema.safeParse(obj);
  if (r.success) return r.data;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  const field = issue.path.map(String).join('.');
  const top = issue.path[0];
  const got = typeof top === 'string' ? ` (got ${JSON.stringify(obj[top])})` : '';
  throw new ConfigError(file, field || null, `${issue.message.replace(/^Invalid input: /, '')}${got}`);
}

/** The schema's own fields of a parsed object (a loose object also carries the unknown ones). */
function pick<T extends Record<string, unknown>>(parsed: T, shape: Record<string, unknown>): { [K in keyof T]: T[K] } {
  return Object.fromEntries(Object.keys(shape).filter((k) => parsed[k] !== undefined).map((k) => [k, parsed[k]])) as T;
}

function extraFields(obj: Record<string, unknown>, shape: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !(k in shape) && !META_FIELDS.has(k) && !DERIVED_NEO_FIELDS.has(k)));
}

function architecturesOf(obj: Record<string, unknown>, file: string): string[] {
  const a = obj['architectures'];
  if (a === undefined || a === null) return [];
  if (!Array.isArray(a) || a.some((x) => typeof x !== 'string')) throw new ConfigError(file, 'architectures', `is ${describe(a)}, expected a list of class names such as ["GPT2LMHeadModel"]`);
  return a as string[];
}

function torchDtypeOf(obj: Record<string, unknown>): FloatDType | null {
  const d = obj['torch_dtype'] ?? obj['dtype'];
  return d === 'float32' || d === 'bfloat16' || d === 'float16' || d === 'float64' ? d : null;
}

function numLabelsOf(obj: Record<string, unknown>, file: string): number | null {
  const id2label = obj['id2label'];
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) throw new ConfigError(file, 'id2label', `is ${describe(id2label)}, expected an object such as {"0": "LABEL_0"}`);
    return Object.keys(id2label).length;
  }
  const n = obj['num_labels'];
  return typeof n === 'number' ? n : null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

// ----- writing ---------------------------------------------------------------------------------

/** GPT2Config fields of transformers that only its double-heads model reads; written for completeness. */
const GPT2_WRITE_DEFAULTS: Record<string, unknown> = {
  summary_activation: null,
  summary_first_dropout: 0.1,
  summary_proj_to_labels: true,
  summary_type: 'cls_index',
  summary_use_proj: true,
  use_cache: true,
};

export interface ConfigJsonOptions {
  /** e.g. ["GPT2LMHeadModel"]. */
  architectures: string[];
  /** The weights' dtype, written as torch_dtype. */
  torchDtype: FloatDType;
  /** A sequence-classification head with this many labels (1: reward/value model): writes id2label, label2id, num_labels. */
  numLabels?: number;
}

/**
 * The config.json object transformers writes for this config: every field of GPT2Config /
 * GPTNeoConfig / LlamaConfig (a Llama-family config only its own family's fields), architectures, model_type, torch_dtype and transformers_version, keys sorted.
 */
export function configToJson(config: ModelConfig, opts: ConfigJsonOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (config.model_type === 'gpt2') {
    const { extra, ...fields } = config;
    Object.assign(out, GPT2_WRITE_DEFAULTS, extra ?? {}, fields);
  } else if (config.model_type === 'llama' || config.model_type === 'mistral' || config.model_type === 'qwen2') {
    const { extra, n_embd: _e, n_layer: _l, n_head: _h, n_positions: _p, eos_token_ids, attention_bias, mlp_bias, sliding_window, use_sliding_window, max_window_layers, layer_types, ...fields } = config;
    const own: Record<string, unknown> = { attention_bias, mlp_bias, sliding_window, use_sliding_window, max_window_layers, layer_types };
    Object.assign(out, { use_cache: true }, extra ?? {}, fields, { eos_token_id: eos_token_ids ?? fields.eos_token_id });
    for (const k of LLAMA_OWN_FIELDS[config.model_type]) if (own[k] !== undefined) out[k] = own[k];
  } else {
    const { extra, n_embd: _e, n_layer: _l, n_head: _h, n_positions: _p, ...fields } = config;
    Object.assign(out, { use_cache: true }, extra ?? {}, fields);
  }
  if (opts.numLabels !== undefined) {
    const labels = Array.from({ length: opts.numLabels }, (_, i) => `LABEL_${i}`);
    out['id2label'] = Object.fromEntries(labels.map((l, i) => [String(i), l]));
    out['label2id'] = Object.fromEntries(labels.map((l, i) => [l, i]));
    out['num_labels'] = opts.numLabels;
  }
  if (out['pad_token_id'] === undefined) delete out['pad_token_id'];
  out['architectures'] = opts.architectures;
  out['torch_dtype'] = opts.torchDtype;
  out['transformers_version'] = TRANSFORMERS_VERSION;
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}

/** generation_config.json as save_pretrained writes it for a model without one of its own. */
export function generationConfigJson(config: ModelConfig, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { _from_model_config: true, bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_ids ?? config.eos_token_id };
  if (config.pad_token_id !== undefined && config.pad_token_id !== null) out['pad_token_id'] = config.pad_token_id;
  Object.assign(out, overrides);
  out['transformers_version'] = TRANSFORMERS_VERSION;
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}
