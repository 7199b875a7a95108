// Shared by the model tests: tiny models with weights large enough that attention is far from
// uniform (so a wrong mask or window shows in the logits), temp directories, comparisons.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Module } from '../../src/nn/module.js';
import { GPT2LMHeadModel, type GPT2Config } from '../../src/models/gpt2.js';
import { GPTNeoForCausalLM, type GPTNeoConfig } from '../../src/models/gpt-neo.js';

export const V = 50;

export function tinyGPT2(cfg: Partial<GPT2Config> = {}, seed = 0): GPT2LMHeadModel {
  torch.manualSeed(seed);
  return scramble(new GPT2LMHeadModel({ vocab_size: V, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 4, bos_token_id: V - 1, eos_token_id: V - 1, ...cfg })).eval();
}

export function tinyNeo(cfg: Partial<GPTNeoConfig> = {}, seed = 0): GPTNeoForCausalLM {
  torch.manualSeed(seed);
  return scramble(
    new GPTNeoForCausalLM({
      vocab_size: V,
      max_position_embeddings: 32,
      hidden_size: 16,
      num_layers: 3,
      num_heads: 4,
      attention_types: [[['global', 'local'], 1], [['local'], 1]],
      window_size: 3,
      bos_token_id: V - 1,
      eos_token_id: V - 1,
      ...cfg,
    }),
  ).eval();
}

/** Redraws every parameter N(0, 0.5) (LayerNorm scales around 1), so that attention is sharp. */
export function scramble<M extends Module>(m: M): M {
  torch.noGrad(() => {
    for (const [name, p] of m.namedParameters()) {
      p.normal_(0, 0.5);
      if (/ln_\w+\.weight$/.test(name)) p.add_(1);
    }
  });
  return m;
}

export function maxAbsDiff(a: torch.Tensor, b: torch.Tensor): number {
  return torch.tidy(() => a.sub(b).abs().max().item());
}

export function ids(rows: number[][]): torch.Tensor {
  return torch.tensor(rows, { dtype: 'int64' });
}

/** A fresh directory under the OS temp dir, and a function that removes it. */
export function tempDir(prefix = 'rlhf-models-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
