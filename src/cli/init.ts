// `rlhf init`: a freshly initialised model directory (Hugging Face layout) with the GPT-2 tokenizer —
// the starting point for training from scratch.
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { manualSeed, noGrad, type FloatDType } from '../torch/index.js';
import { gpt2Tokenizer } from '../tokenizers/index.js';
import { createCausalLM, savePretrained, type ModelConfig } from '../models/index.js';
import { GPT2_DEFAULTS, ACTIVATIONS, type Activation, type GPT2Config } from '../models/gpt2.js';
import { GPT_NEO_DEFAULTS, resolveGPTNeoConfig, type AttentionType } from '../models/gpt-neo.js';

/** A model that trains on a laptop CPU in minutes: ~16M parameters, 13M of them GPT-2's 50257-token embedding. */
const DEFAULTS = { n_layer: 4, n_embd: 256, n_head: 4, n_positions: 256 } as const;

const HELP = `rlhf init — write a freshly initialised model directory (Hugging Face layout) to train from scratch

Usage:
  rlhf init --out DIR [--arch gpt2|gpt-neo] [--n-layer N] [--n-embd C] [--n-head H] [--n-positions T]

Writes DIR/config.json, DIR/model.safetensors, DIR/generation_config.json and the GPT-2 tokenizer
(vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json). The
directory loads with rlhf (loadPretrained, every trainer's --model) and with transformers'
AutoModelForCausalLM.from_pretrained(DIR). Weights are initialised as transformers does:
N(0, 0.02), GPT-2's residual projections N(0, 0.02/√(2·n_layer)), LayerNorms 1 and 0.

Options
  --out DIR            where to write (required); must be empty or absent unless --force
  --arch NAME          gpt2 (default) or gpt-neo
  --n-layer N          transformer blocks (default ${DEFAULTS.n_layer})
  --n-embd C           hidden size (default ${DEFAULTS.n_embd}); must be divisible by --n-head
  --n-head H           attention heads (default ${DEFAULTS.n_head})
  --n-positions T      longest sequence, the size of the position embedding (default ${DEFAULTS.n_positions})
  --n-inner N          MLP width (default 4·n_embd)
  --activation NAME    ${ACTIVATIONS.join(', ')} (default gelu_new)
  --window-size W      gpt-neo only: how far local-attention layers look back (default n_positions/2).
                       Layers alternate global and local attention, starting with global.
  --vocab gpt2         the tokenizer and vocabulary (only gpt2, 50257 tokens, for now)
  --seed S             random seed of the initialisation (default 0): same seed, same weights
  --dtype D            float32 (default) or bfloat16 — the dtype the weights are stored in
  --force              write into a non-empty DIR, replacing the model files there

The defaults (4 layers, 256 wide, 4 heads, 256 positions: ~16M parameters) train on a laptop CPU in
minutes. GPT-2 small is --n-layer 12 --n-embd 768 --n-head 12 --n-positions 1024 (124M).

Examples
  rlhf init --out models/tiny
  rlhf init --arch gpt-neo --n-layer 6 --n-embd 384 --n-head 6 --window-size 64 --out models/neo-small
`;

function int(v: string | undefined, flag: string, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min} (got '${v}').`);
  return n;
}

async function checkOut(out: string, force: boolean): Promise<void> {
  const st = await stat(out).catch(() => null);
  if (st === null) return;
  if (!st.isDirectory()) throw new UsageError(`--out ${out} is a file; pass a directory.`);
  const entries = await readdir(out);
  if (entries.length > 0 && !force) throw new UsageError(`--out ${out} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); pick another directory or pass --force to overwrite the model files.`);
}

function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

export const init: Command = {
  name: 'init',
  summary: 'write a freshly initialised GPT-2 or GPT-Neo model directory (HF layout) to train from scratch',
  help: HELP,
  async run(argv: string[]): Promise<number> {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        strict: true,
        allowPositionals: false,
        options: {
          out: { type: 'string' },
          arch: { type: 'string' },
          'n-layer': { type: 'string' },
          'n-embd': { type: 'string' },
          'n-head': { type: 'string' },
          'n-positions': { type: 'string' },
          'n-inner': { type: 'string' },
          activation: { type: 'string' },
          'window-size': { type: 'string' },
          vocab: { type: 'string' },
          seed: { type: 'string' },
          dtype: { type: 'string' },
          force: { type: 'boolean' },
        },
      }));
    } catch (err) {
      throw new UsageError(`${(err as Error).message}. Run 'rlhf init --help'.`);
    }
    if (values.out === undefined) throw new UsageError(`--out DIR is required: where to write the model. Run 'rlhf init --help'.`);
    const arch = values.arch ?? 'gpt2';
    if (arch !== 'gpt2' && arch !== 'gpt-neo') throw new UsageError(`--arch must be gpt2 or gpt-neo (got '${arch}').`);
    const vocab = values.vocab ?? 'gpt2';
    if (vocab !== 'gpt2') throw new UsageError(`--vocab must be gpt2 (got '${vocab}'); other vocabularies: load a model directory that has its tokenizer instead.`);
    const dtype = (values.dtype ?? 'float32') as FloatDType;
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new UsageError(`--dtype must be float32 or bfloat16 (got '${values.dtype}').`);
    const act = values.activation ?? 'gelu_new';
    if (!(ACTIVATIONS as readonly string[]).includes(act)) throw new UsageError(`--activation must be one of ${ACTIVATIONS.join(', ')} (got '${act}').`);
    const nLayer = int(values['n-layer'], '--n-layer', DEFAULTS.n_layer);
    const nEmbd = int(values['n-embd'], '--n-embd', DEFAULTS.n_embd);
    const nHead = int(values['n-head'], '--n-head', DEFAULTS.n_head);
    const nPositions = int(values['n-positions'], '--n-positions', DEFAULTS.n_positions);
    const nInner = values['n-inner'] === undefined ? null : int(values['n-inner'], '--n-inner', 0);
    const seed = int(values.seed, '--seed', 0, 0);
    if (nEmbd % nHead !== 0) throw new UsageError(`--n-embd ${nEmbd} is not divisible by --n-head ${nHead}; each head gets n_embd / n_head dimensions (e.g. --n-embd ${nHead * Math.max(1, Math.round(nEmbd / nHead))}).`);
    if (arch === 'gpt2' && values['window-size'] !== undefined) throw new UsageError('--window-size is for --arch gpt-neo (GPT-2 has no local attention).');
    const windowSize = int(values['window-size'], '--window-size', Math.max(1, Math.floor(nPositions / 2)));

    // The tokenizer truncates and pads to what the model takes, not to GPT-2's 1024.
    const tok = gpt2Tokenizer().withOptions({ modelMaxLength: nPositions });
    const ids = { vocab_size: tok.vocabSize, bos_token_id: tok.bosTokenId ?? 50256, eos_token_id: tok.eosTokenId ?? 50256 };
    let config: ModelConfig;
    if (arch === 'gpt2') {
      config = { ...GPT2_DEFAULTS, ...ids, n_layer: nLayer, n_embd: nEmbd, n_head: nHead, n_positions: nPositions, n_inner: nInner, activation_function: act as Activation } satisfies GPT2Config;
    } else {
      // [["global", "local"], n/2] for an even depth, one more global layer at the end for an odd one.
      const types: [AttentionType[], number][] = [[['global', 'local'], Math.floor(nLayer / 2)]];
      if (nLayer % 2 === 1) types.push([['global'], 1]);
      config = resolveGPTNeoConfig({
        ...GPT_NEO_DEFAULTS,
        ...ids,
        num_layers: nLayer,
        hidden_size: nEmbd,
        num_heads: nHead,
        max_position_embeddings: nPositions,
        intermediate_size: nInner,
        window_size: windowSize,
        attention_types: types.filter(([, n]) => n > 0),
        activation_function: act as Activation,
      });
    }

    const out = resolve(values.out);
    await checkOut(out, values.force ?? false);
    manualSeed(seed);
    const model = createCausalLM(config);
    try {
      if (dtype !== 'float32') noGrad(() => model.to(dtype));
      const files = await savePretrained(model, out, { tokenizer: tok });
      const total = model.numParameters();
      const embedding = model.transformer.wte.weight.numel + model.transformer.wpe.weight.numel;
      const name = arch === 'gpt2' ? 'GPT-2' : 'GPT-Neo';
      const shape = `${nLayer} layers, n_embd ${nEmbd}, ${nHead} heads, ${nPositions} positions${arch === 'gpt-neo' ? `, window ${windowSize}` : ''}`;
      const lines = [`Initialised ${name} (${shape}, seed ${seed}, ${dtype}): ${formatCount(total)} parameters (${formatCount(embedding)} in the embeddings).`, `Wrote ${out}:`];
      for (const f of files) {
        const size = (await stat(resolve(out, f))).size;
        lines.push(`  ${f.padEnd(34)} ${size >= 1e6 ? `${(size / 1e6).toFixed(1)} MB` : `${(size / 1e3).toFixed(1)} kB`}`);
      }
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    } finally {
      model.dispose();
    }
  },
};
