// Shared by the hub tests: an isolated Hugging Face environment (cache, HF_HOME, endpoint, no
// token), tiny real model directories written by the project's own savePretrained, and `rlhf`
// run in-process with its output captured.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed } from '../../src/torch/index.js';
import { GPT2LMHeadModel, GPT2_DEFAULTS } from '../../src/models/gpt2.js';
import { savePretrained } from '../../src/models/checkpoint.js';
import { gpt2Tokenizer } from '../../src/tokenizers/index.js';

/** A fresh temp root with HF_HOME and HF_HUB_CACHE inside it, HF_ENDPOINT set, every HF_* token/offline variable cleared. */
export function isolatedHubEnv(endpoint: string): { root: string; cache: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'rlhf-hub-'));
  for (const k of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HF_TOKEN_PATH', 'HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HUGGINGFACE_HUB_CACHE', 'XDG_CACHE_HOME']) delete process.env[k];
  process.env.HF_HOME = join(root, 'hf-home');
  process.env.HF_HUB_CACHE = join(root, 'hub-cache');
  process.env.HF_ENDPOINT = endpoint;
  process.env.HF_HUB_DISABLE_PROGRESS_BARS = '1';
  return { root, cache: process.env.HF_HUB_CACHE, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A tiny GPT-2 with GPT-2's tokenizer (what `rlhf init` writes), saved to `dir`; `maxShardBytes` shards it. */
export async function tinyModelDir(dir: string, opts: { seed?: number; nLayer?: number; maxShardBytes?: number } = {}): Promise<void> {
  manualSeed(opts.seed ?? 0);
  const tok = gpt2Tokenizer().withOptions({ modelMaxLength: 64 });
  const model = new GPT2LMHeadModel({ ...GPT2_DEFAULTS, vocab_size: 50257, bos_token_id: 50256, eos_token_id: 50256, n_layer: opts.nLayer ?? 1, n_embd: 16, n_head: 2, n_positions: 64, initializer_range: 0.2 });
  try {
    await savePretrained(model, dir, { tokenizer: tok, ...(opts.maxShardBytes ? { maxShardBytes: opts.maxShardBytes } : {}) });
  } finally {
    model.dispose();
  }
}

export { rlhf } from '../cli/in-process.js';

/** An http://127.0.0.1:PORT where nothing listens (a port taken and released): connections are refused. */
export async function closedEndpoint(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
