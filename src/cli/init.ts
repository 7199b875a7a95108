// `rlhf init`: a freshly initialised model directory (Hugging Face layout) with the GPT-2 tokenizer —
// the starting point for training from scratch.
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { manualSeed, noGrad } from '../torch/index.js';
import { gpt2Tokenizer } from '../tokenizers/index.js';
import { createCausalLM, savePretrained, type ModelConfig } from '../models/index.js';
import { GPT2_DEFAULTS, ACTIVATIONS, type GPT2Config } from '../models/gpt2.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';
import { GPT_NEO_DEFAULTS, resolveGPTNeoConfig, type AttentionType } from '../models/gpt-neo.js';

/** The options of `rlhf init`: flags, --help, --config FILE.yaml and validation all come from here. */
export const initConfig = z.object({
  out: z.string().min(1).describe('where to write; must be empty or absent unless --force').meta({ metavar: 'DIR' }),
  arch: z.enum(['gpt2', 'gpt-neo']).default('gpt2').describe('the architecture'),
  // A model that trains on a laptop CPU in minutes: ~16M parameters, 13M of them GPT-2's 50257-token embedding.
  nLayer: z.int().min(1).default(4).describe('transformer blocks'),
  nEmbd: z.int().min(1).default(256).describe('hidden size; must be divisible by --n-head').meta({ metavar: 'C' }),
  nHead: z.int().min(1).default(4).describe('attention heads').meta({ metavar: 'H' }),
  nPositions: z.int().min(1).default(256).describe('longest sequence, the size of the position embedding').meta({ metavar: 'T' }),
  nInner: z.int().min(1).nullable().default(null).describe('MLP width (4·n_embd when not given)'),
  activation: z.enum(ACTIVATIONS).default('gelu_new').describe(`MLP activation: ${ACTIVATIONS.join(', ')}`).meta({ metavar: 'NAME' }),
  windowSize: z.int().min(1).nullable().default(null).describe('gpt-neo only: how far local attention looks back (n_positions/2 when not given)').meta({ metavar: 'W' }),
  vocab: z.enum(['gpt2']).default('gpt2').describe('the tokenizer and vocabulary (only GPT-2\'s, 50257 tokens, for now)'),
  seed: z.int().min(0).default(0).describe('random seed of the initialisation: same seed, same weights'),
  dtype: z.enum(['float32', 'bfloat16']).default('float32').describe('the dtype the weights are stored in'),
  force: z.boolean().default(false).describe('write into a non-empty DIR, replacing the model files there'),
});
export type InitConfig = z.infer<typeof initConfig>;

const HELP = `rlhf init — write a freshly initialised model directory (Hugging Face layout) to train from scratch

Usage:
  rlhf init --out DIR [--arch gpt2|gpt-neo] [--n-layer N] [--n-embd C] [--n-head H] [--n-positions T]

Writes DIR/config.json, DIR/model.safetensors, DIR/generation_config.json and the GPT-2 tokenizer
(vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json). The
directory loads with rlhf (loadPretrained, every trainer's --model) and with transformers'
AutoModelForCausalLM.from_pretrained(DIR). Weights are initialised as transformers does:
N(0, 0.02), GPT-2's residual projections N(0, 0.02/√(2·n_layer)), LayerNorms 1 and 0.
GPT-Neo layers alternate global and local attention, starting with global.

${helpText(initConfig)}
Config file
  --config FILE.yaml        options from a YAML file (keys are the long option names; flags override it)

The defaults (4 layers, 256 wide, 4 heads, 256 positions: ~16M parameters) train on a laptop CPU in
minutes. GPT-2 small is --n-layer 12 --n-embd 768 --n-head 12 --n-positions 1024 (124M).

Examples
  rlhf init --out models/tiny
  rlhf init --arch gpt-neo --n-layer 6 --n-embd 384 --n-head 6 --window-size 64 --out models/neo-small
`;

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
    let c: InitConfig;
    try {
      const r = resolveConfig(initConfig, argv, { command: 'rlhf init' });
      if (r.positionals.length) throw new ConfigError(`unexpected argument '${r.positionals[0]}'; options start with --. Run 'rlhf init --help'.`);
      c = r.config;
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message, { cause: err }) : err;
    }
    const { arch, nLayer, nEmbd, nHead, nPositions, nInner, seed, dtype, activation: act } = c;
    if (nEmbd % nHead !== 0) throw new UsageError(`--n-embd ${nEmbd} is not divisible by --n-head ${nHead}; each head gets n_embd / n_head dimensions (e.g. --n-embd ${nHead * Math.max(1, Math.round(nEmbd / nHead))}).`);
    if (arch === 'gpt2' && c.windowSize !== null) throw new UsageError('--window-size is for --arch gpt-neo (GPT-2 has no local attention).');
    const windowSize = c.windowSize ?? Math.max(1, Math.floor(nPositions / 2));

    // The tokenizer truncates and pads to what the model takes, not to GPT-2's 1024.
    const tok = gpt2Tokenizer().withOptions({ modelMaxLength: nPositions });
    const ids = { vocab_size: tok.vocabSize, bos_token_id: tok.bosTokenId ?? 50256, eos_token_id: tok.eosTokenId ?? 50256 };
    let config: ModelConfig;
    if (arch === 'gpt2') {
      config = { ...GPT2_DEFAULTS, ...ids, n_layer: nLayer, n_embd: nEmbd, n_head: nHead, n_positions: nPositions, n_inner: nInner, activation_function: act } satisfies GPT2Config;
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
        activation_function: act,
      });
    }

    const out = resolve(c.out);
    await checkOut(out, c.force);
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
