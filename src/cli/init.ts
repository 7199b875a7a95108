// `rlhf init`: a freshly initialised model directory (Hugging Face layout) with a tokenizer — the
// starting point for training from scratch: GPT-2, GPT-Neo, or a Llama / Mistral / Qwen2 of any shape
// (presets for SmolLM2-135M's and Qwen2.5-0.5B's).
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { makeDirs } from '../util/dirs.js';
import { checkModelFits } from '../models/size.js';
import { manualSeed, noGrad } from '../torch/index.js';
import { gpt2Tokenizer, loadTokenizer, type Tokenizer } from '../tokenizers/index.js';
import { createCausalLM, savePretrained, type ModelConfig } from '../models/index.js';
import { GPT2_DEFAULTS, ACTIVATIONS, type GPT2Config } from '../models/gpt2.js';
import { LLAMA_FAMILY_DEFAULTS, resolveLlamaConfig, type LlamaFamily } from '../models/llama.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';
import { GPT_NEO_DEFAULTS, resolveGPTNeoConfig, type AttentionType } from '../models/gpt-neo.js';

const ARCHS = ['gpt2', 'gpt-neo', 'llama', 'mistral', 'qwen2'] as const;
type Arch = (typeof ARCHS)[number];
const LLAMA_ARCHS: readonly Arch[] = ['llama', 'mistral', 'qwen2'];

/** The options of `rlhf init`: flags, --help, --config FILE.yaml and validation all come from here. */
export const initConfig = z.object({
  out: z.string().min(1).describe('where to write; must be empty or absent unless --force').meta({ metavar: 'DIR' }),
  arch: z.enum(ARCHS).default('gpt2').describe('the architecture'),
  preset: z.enum(['smollm2-135m', 'qwen2.5-0.5b']).nullable().default(null).describe('the shape (and --arch) of a published model; other flags override it').meta({ metavar: 'NAME' }),
  // A model that trains on a laptop CPU in minutes: ~16M parameters, 13M of them GPT-2's 50257-token embedding.
  nLayer: z.int().min(1).default(4).describe('transformer blocks'),
  nEmbd: z.int().min(1).default(256).describe('hidden size; must be divisible by --n-head').meta({ metavar: 'C' }),
  nHead: z.int().min(1).default(4).describe('attention heads').meta({ metavar: 'H' }),
  nKvHead: z.int().min(1).nullable().default(null).describe('llama/mistral/qwen2: key/value heads of grouped-query attention, dividing --n-head (--n-head when not given)').meta({ metavar: 'H' }),
  nPositions: z.int().min(1).default(256).describe('longest sequence (max_position_embeddings for llama/mistral/qwen2)').meta({ metavar: 'T' }),
  nInner: z.int().min(1).nullable().default(null).describe('MLP width (4·n_embd for gpt2/gpt-neo, 8·n_embd/3 rounded up to 64 for llama/mistral/qwen2, when not given)'),
  activation: z.enum(ACTIVATIONS).nullable().default(null).describe(`MLP activation: ${ACTIVATIONS.join(', ')} (gelu_new for gpt2/gpt-neo, silu for the others)`).meta({ metavar: 'NAME' }),
  windowSize: z.int().min(1).nullable().default(null).describe('gpt-neo: how far local attention looks back (n_positions/2 when not given); mistral: the sliding window (none when not given); qwen2: turns sliding windows on for layers ≥ --max-window-layers').meta({ metavar: 'W' }),
  maxWindowLayers: z.int().min(0).nullable().default(null).describe('qwen2 with --window-size: layers below this index keep full attention (n_layer/2 when not given)').meta({ metavar: 'N' }),
  ropeTheta: z.number().positive().default(10000).describe('llama/mistral/qwen2: the RoPE base θ').meta({ metavar: 'θ' }),
  rmsNormEps: z.number().positive().default(1e-6).describe('llama/mistral/qwen2: RMSNorm ε').meta({ metavar: 'EPS' }),
  tieWordEmbeddings: z.boolean().default(true).describe('the LM head reuses the token embedding (--no-tie-word-embeddings: its own lm_head)'),
  vocab: z.string().min(1).default('gpt2').describe("the tokenizer: gpt2 (GPT-2's, 50257 tokens, built in), none (no tokenizer files; give --vocab-size), or a model directory whose tokenizer to copy").meta({ metavar: 'gpt2|none|DIR' }),
  vocabSize: z.int().min(1).nullable().default(null).describe("the model's vocabulary, at least the tokenizer's (its size when not given)").meta({ metavar: 'V' }),
  seed: z.int().min(0).default(0).describe('random seed of the initialisation: same seed, same weights'),
  dtype: z.enum(['float32', 'bfloat16']).default('float32').describe('the dtype the weights are stored in'),
  force: z.boolean().default(false).describe('write into a non-empty DIR, replacing the model files there'),
});
export type InitConfig = z.infer<typeof initConfig>;

/** Published shapes (config.json of HuggingFaceTB/SmolLM2-135M and Qwen/Qwen2.5-0.5B); random weights. */
const PRESETS: Record<NonNullable<InitConfig['preset']>, Partial<InitConfig>> = {
  'smollm2-135m': { arch: 'llama', nLayer: 30, nEmbd: 576, nHead: 9, nKvHead: 3, nInner: 1536, nPositions: 8192, ropeTheta: 100000, rmsNormEps: 1e-5, tieWordEmbeddings: true, vocab: 'none', vocabSize: 49152 },
  'qwen2.5-0.5b': { arch: 'qwen2', nLayer: 24, nEmbd: 896, nHead: 14, nKvHead: 2, nInner: 4864, nPositions: 32768, ropeTheta: 1000000, rmsNormEps: 1e-6, tieWordEmbeddings: true, vocab: 'none', vocabSize: 151936 },
};

const HELP = `rlhf init — write a freshly initialised model directory (Hugging Face layout) to train from scratch

Usage:
  rlhf init --out DIR [--arch gpt2|gpt-neo|llama|mistral|qwen2] [--n-layer N] [--n-embd C] [--n-head H] [--n-positions T]
  rlhf init --out DIR --preset smollm2-135m|qwen2.5-0.5b

Writes DIR/config.json, DIR/model.safetensors, DIR/generation_config.json and the tokenizer
(GPT-2's by default: vocab.json, merges.txt, tokenizer.json, tokenizer_config.json,
special_tokens_map.json). The directory loads with rlhf (loadPretrained, every trainer's --model)
and with transformers' AutoModelForCausalLM.from_pretrained(DIR). Weights are initialised as
transformers does: N(0, 0.02), GPT-2's residual projections N(0, 0.02/√(2·n_layer)), norms 1 and 0.
GPT-Neo layers alternate global and local attention, starting with global. Llama, Mistral and Qwen2
use RMSNorm, rotary embeddings, a SwiGLU MLP and grouped-query attention (--n-kv-head); Qwen2 has
q/k/v biases; Mistral and Qwen2 can slide a window (--window-size).

${helpText(initConfig)}
Config file
  --config FILE.yaml        options from a YAML file (keys are the long option names; flags override it)

The defaults (4 layers, 256 wide, 4 heads, 256 positions: ~16M parameters) train on a laptop CPU in
minutes. GPT-2 small is --n-layer 12 --n-embd 768 --n-head 12 --n-positions 1024 (124M).
--preset smollm2-135m is SmolLM2-135M's shape (30 layers, 576 wide, 9 heads, 3 k/v heads, SwiGLU 1536,
49152 tokens, tied, θ 100000); it writes no tokenizer unless --vocab DIR names SmolLM2's. A preset's
vocabulary grows to fit a larger tokenizer (--vocab gpt2: 50257) unless --vocab-size says otherwise.

Examples
  rlhf init --out models/tiny
  rlhf init --arch gpt-neo --n-layer 6 --n-embd 384 --n-head 6 --window-size 64 --out models/neo-small
  rlhf init --arch llama --n-layer 4 --n-embd 256 --n-head 8 --n-kv-head 2 --out models/tiny-llama
  rlhf init --preset smollm2-135m --vocab path/to/SmolLM2-135M --out models/smollm2-random
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

/** --preset NAME (or --preset=NAME) from argv, before the full parse: its values go under the flags. */
function presetOf(argv: readonly string[]): Partial<InitConfig> {
  const i = argv.findIndex((a) => a === '--preset' || a.startsWith('--preset='));
  if (i < 0) return {};
  const name = (argv[i] as string).includes('=') ? (argv[i] as string).slice('--preset='.length) : argv[i + 1];
  return PRESETS[name as keyof typeof PRESETS] ?? {}; // an unknown name is reported by the full parse
}

/** The tokenizer --vocab names, or null for none. */
function tokenizerOf(vocab: string, nPositions: number): Tokenizer | null {
  if (vocab === 'none') return null;
  if (vocab === 'gpt2') return gpt2Tokenizer().withOptions({ modelMaxLength: nPositions });
  try {
    return loadTokenizer(resolve(vocab)).withOptions({ modelMaxLength: nPositions });
  } catch (err) {
    throw new UsageError(`--vocab ${vocab}: ${(err as Error).message}. Pass gpt2, none, or a model directory with tokenizer.json (or vocab.json + merges.txt).`, { cause: err });
  }
}

/** The config.json fields of the architecture, from the flags. */
function modelConfig(c: InitConfig, arch: Arch, ids: { vocab_size: number; bos_token_id: number; eos_token_id: number; pad_token_id?: number }): ModelConfig {
  const { nLayer, nEmbd, nHead, nPositions, nInner } = c;
  if (arch === 'gpt2') {
    return { ...GPT2_DEFAULTS, ...ids, n_layer: nLayer, n_embd: nEmbd, n_head: nHead, n_positions: nPositions, n_inner: nInner, activation_function: c.activation ?? 'gelu_new', tie_word_embeddings: c.tieWordEmbeddings } satisfies GPT2Config;
  }
  if (arch === 'gpt-neo') {
    // [["global", "local"], n/2] for an even depth, one more global layer at the end for an odd one.
    const types: [AttentionType[], number][] = [[['global', 'local'], Math.floor(nLayer / 2)]];
    if (nLayer % 2 === 1) types.push([['global'], 1]);
    return resolveGPTNeoConfig({
      ...GPT_NEO_DEFAULTS,
      ...ids,
      num_layers: nLayer,
      hidden_size: nEmbd,
      num_heads: nHead,
      max_position_embeddings: nPositions,
      intermediate_size: nInner,
      window_size: c.windowSize ?? Math.max(1, Math.floor(nPositions / 2)),
      attention_types: types.filter(([, n]) => n > 0),
      activation_function: c.activation ?? 'gelu_new',
      tie_word_embeddings: c.tieWordEmbeddings,
    });
  }
  const family = arch as LlamaFamily;
  const kv = c.nKvHead ?? nHead;
  if (nHead % kv !== 0) throw new UsageError(`--n-kv-head ${kv} does not divide --n-head ${nHead}; each key/value head serves n_head / n_kv_head query heads (e.g. --n-kv-head ${divisorNear(nHead, kv)}).`);
  if ((nEmbd / nHead) % 2 !== 0) throw new UsageError(`--n-embd ${nEmbd} / --n-head ${nHead} = ${nEmbd / nHead} is odd; rotary embeddings need an even head size.`);
  const window = c.windowSize;
  return resolveLlamaConfig({
    ...LLAMA_FAMILY_DEFAULTS[family],
    ...ids,
    model_type: family,
    hidden_size: nEmbd,
    num_hidden_layers: nLayer,
    num_attention_heads: nHead,
    num_key_value_heads: kv,
    head_dim: nEmbd / nHead,
    intermediate_size: nInner ?? Math.ceil((8 * nEmbd) / 3 / 64) * 64,
    hidden_act: c.activation ?? 'silu',
    max_position_embeddings: nPositions,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    sliding_window: family === 'llama' ? null : window,
    use_sliding_window: family === 'qwen2' && window !== null,
    max_window_layers: c.maxWindowLayers ?? Math.floor(nLayer / 2),
  });
}

/** The divisor of n closest to k (for a suggestion). */
function divisorNear(n: number, k: number): number {
  let best = 1;
  for (let d = 1; d <= n; d++) if (n % d === 0 && Math.abs(d - k) < Math.abs(best - k)) best = d;
  return best;
}

export const init: Command = {
  name: 'init',
  summary: 'write a freshly initialised GPT-2, GPT-Neo, Llama, Mistral or Qwen2 model directory (HF layout) to train from scratch',
  help: HELP,
  async run(argv: string[]): Promise<number> {
    let c: InitConfig;
    // The preset's vocabulary is applied below, once the tokenizer is known: widened to fit a larger one.
    const { vocabSize: presetVocabSize, ...preset } = presetOf(argv);
    try {
      const r = resolveConfig(initConfig, argv, { command: 'rlhf init', base: preset });
      if (r.positionals.length) throw new ConfigError(`unexpected argument '${r.positionals[0]}'; options start with --. Run 'rlhf init --help'.`);
      c = r.config;
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message, { cause: err }) : err;
    }
    const { arch, nLayer, nEmbd, nHead, nPositions, seed, dtype } = c;
    const isLlama = LLAMA_ARCHS.includes(arch);
    if (nEmbd % nHead !== 0) throw new UsageError(`--n-embd ${nEmbd} is not divisible by --n-head ${nHead}; each head gets n_embd / n_head dimensions (e.g. --n-embd ${nHead * Math.max(1, Math.round(nEmbd / nHead))}).`);
    if (arch === 'gpt2' && c.windowSize !== null) throw new UsageError('--window-size is for --arch gpt-neo, mistral or qwen2 (GPT-2 has no local attention).');
    if (arch === 'llama' && c.windowSize !== null) throw new UsageError('--window-size is for --arch gpt-neo, mistral or qwen2 (Llama has no sliding window).');
    if (!isLlama && c.nKvHead !== null) throw new UsageError(`--n-kv-head is for --arch llama, mistral or qwen2 (${arch} has one key/value head per query head).`);
    if (c.maxWindowLayers !== null && (arch !== 'qwen2' || c.windowSize === null)) throw new UsageError('--max-window-layers is for --arch qwen2 with --window-size.');

    // The tokenizer truncates and pads to what the model takes, not to its original length.
    const tok = tokenizerOf(c.vocab, nPositions);
    const widened = c.vocabSize === null && presetVocabSize != null && tok !== null && tok.vocabSize > presetVocabSize;
    const vocabSize = c.vocabSize ?? (widened ? tok.vocabSize : presetVocabSize ?? tok?.vocabSize);
    if (vocabSize === undefined) throw new UsageError('--vocab none needs --vocab-size V (the model has no tokenizer to take it from).');
    if (tok && vocabSize < tok.vocabSize) throw new UsageError(`--vocab-size ${vocabSize} is smaller than the tokenizer's ${tok.vocabSize} tokens; give at least ${tok.vocabSize}, or --vocab none for a model without a tokenizer.`);
    const special = (id: number | null | undefined, fallback: number): number => (typeof id === 'number' && id < vocabSize ? id : fallback);
    const eos = special(tok?.eosTokenId, tok ? vocabSize - 1 : 0);
    const ids = { vocab_size: vocabSize, bos_token_id: special(tok?.bosTokenId, eos), eos_token_id: eos, ...(tok?.padTokenId != null && isLlama ? { pad_token_id: tok.padTokenId } : {}) };
    let config: ModelConfig;
    try {
      config = modelConfig(c, arch, ids);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError((err as Error).message, { cause: err });
    }

    const out = resolve(c.out);
    await checkOut(out, c.force);
    makeDirs(c.out, '--out'); // before building the model: a read-only or special --out fails first
    checkModelFits(config, dtype, `--n-embd ${nEmbd} --n-layer ${nLayer}`); // before allocating: a clear message, not the allocator's
    manualSeed(seed);
    const model = createCausalLM(config);
    try {
      if (dtype !== 'float32') noGrad(() => model.to(dtype));
      const files = await savePretrained(model, out, tok ? { tokenizer: tok } : {});
      const total = model.numParameters();
      const embedding = model
        .namedParameters()
        .filter(([n]) => /(^|\.)(wte|wpe|embed_tokens)\.weight$|^lm_head\.weight$/.test(n))
        .reduce((s, [, p]) => s + p.numel, 0);
      const name = { gpt2: 'GPT-2', 'gpt-neo': 'GPT-Neo', llama: 'Llama', mistral: 'Mistral', qwen2: 'Qwen2' }[arch];
      const window = config.model_type === 'gpt_neo' ? `, window ${config.window_size}` : isLlama && c.windowSize !== null ? `, sliding window ${c.windowSize}` : '';
      const kv = isLlama ? `, ${c.nKvHead ?? nHead} k/v heads` : '';
      const shape = `${nLayer} layers, n_embd ${nEmbd}, ${nHead} heads${kv}, ${nPositions} positions${window}, vocabulary ${vocabSize}${widened ? ` (the tokenizer's; the preset's is ${presetVocabSize})` : ''}`;
      const lines = [`Initialised ${name} (${shape}, seed ${seed}, ${dtype}): ${formatCount(total)} parameters (${formatCount(embedding)} in the embeddings).`, `Wrote ${out}:`];
      if (!tok) lines.push('  (no tokenizer: --vocab none; copy a tokenizer.json that fits the vocabulary into the directory before training)');
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
