// Does a config describe a model this machine can hold? Checked before any weight is allocated, so
// a corrupted or mistaken config.json (n_embd: 1000000) is reported by its fields, not by an
// allocator's "you tried to allocate 201028000000 bytes" from deep inside a constructor.
import { totalmem } from 'node:os';
import { itemSize, type DType } from '../torch/dtype.js';
import { formatBytes } from '../torch/errors.js';
import { ConfigError } from './errors.js';
import type { ModelConfig } from './registry.js';

/**
 * A lower bound on the parameters of every architecture rlhf implements: the token embedding
 * (V·C) plus, per layer, at least the query and output projections (2·C²). The real count is
 * higher (GPT-2 small: this says 99M of its 124M), so a model refused by it is surely too big.
 */
export function minParameters(config: Pick<ModelConfig, 'vocab_size' | 'n_embd' | 'n_layer'>): number {
  const { vocab_size: V, n_embd: C, n_layer: L } = config;
  return V * C + L * 2 * C * C;
}

// Each architecture's own names for the three sizes, so the message names the fields of its file.
const FIELD_NAMES: Record<string, [vocab: string, width: string, layers: string]> = {
  gpt2: ['vocab_size', 'n_embd', 'n_layer'],
  gpt_neo: ['vocab_size', 'hidden_size', 'num_layers'],
};
const LLAMA_FIELDS: [string, string, string] = ['vocab_size', 'hidden_size', 'num_hidden_layers'];

/**
 * Throws a ConfigError naming the sizes when the model's parameters alone, in `dtype`, would not fit
 * in this machine's memory (`memoryBytes`, default all of it). `file` names the config in errors.
 */
export function checkModelFits(config: ModelConfig, dtype: DType, file: string, memoryBytes = totalmem()): void {
  const params = minParameters(config);
  const bytes = params * itemSize(dtype);
  if (bytes <= memoryBytes) return;
  const [v, c, l] = FIELD_NAMES[config.model_type] ?? LLAMA_FIELDS;
  const count = params >= 1e12 ? `${(params / 1e12).toFixed(1)}T` : params >= 1e9 ? `${(params / 1e9).toFixed(1)}B` : `${(params / 1e6).toFixed(0)}M`;
  throw new ConfigError(
    file,
    null,
    `describes a model of at least ${count} parameters (${v} ${config.vocab_size}, ${c} ${config.n_embd}, ${l} ${config.n_layer}): ` +
      `${formatBytes(bytes)} in ${dtype}, more than this machine's ${formatBytes(memoryBytes)} of memory. ` +
      'Check those fields (a corrupted or mistaken config.json?), or use a smaller model',
  );
}
