// `rlhf bench-models`: model directories side by side — size, memory, load time, speed, perplexity.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { z } from 'zod';
import type { Command } from './command.js';
import { isUserError, UsageError } from './command.js';
import { checkModelDir } from './generate.js';
import { parseHubRef, resolveModel } from '../hub/resolve.js';
import { F, itemSize, noGrad, tensor, tidy } from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadPretrained } from '../models/checkpoint.js';
import type { CausalLM } from '../models/types.js';
import { generate, prepareForInference, type GenerationDType } from '../generation/generate.js';
import { tokenizerFor } from '../generation/text.js';
import { samplingFields } from '../generation/config.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';

/** The text measured when no --text is given: plain English prose, ~300 GPT-2 tokens. */
export const DEFAULT_TEXT = `The history of the bicycle begins in the early nineteenth century, when inventors in Europe \
tried to build a machine that a person could ride without a horse. The first of these, the draisine, had two wheels \
and no pedals: the rider sat on a wooden frame and pushed along the ground with both feet. It was popular for a few \
years and then forgotten, until a generation later mechanics attached cranks and pedals to the front wheel. Those \
machines were heavy and uncomfortable, and riders called them boneshakers. To go faster, makers enlarged the front \
wheel, which led to the high-wheeler, a tall and elegant machine that was also dangerous, because a small stone could \
throw the rider over the handlebars. The safety bicycle solved the problem. It had two wheels of equal size, a chain \
that drove the rear wheel, and soon pneumatic tyres filled with air. Within a few years it was cheap enough for \
workers and students, and it changed daily life in towns and villages. Women in particular found a new freedom of \
movement, and the bicycle became a symbol of independence. Today there are more bicycles in the world than cars, and \
many cities are building lanes and parking for them again, because they are quiet, cheap, healthy and clean.`;

/** The options of `rlhf bench-models` (the model directories are its arguments). */
export const benchModelsConfig = z.object({
  text: z.string().min(1).optional().describe('the text for perplexity and the prompt (default: a paragraph built into rlhf)').meta({ metavar: 'FILE' }),
  dtype: samplingFields().dtype,
  promptTokens: z.int().min(1).default(128).describe('prompt length for the prefill measurement (at most n_positions/2)'),
  newTokens: z.int().min(1).default(32).describe('tokens generated for the generation measurement'),
  json: z.boolean().default(false).describe('print a JSON array instead of the table'),
});
export type BenchModelsConfig = z.infer<typeof benchModelsConfig>;

const HELP = `rlhf bench-models — compare model directories side by side

Usage:
  rlhf bench-models DIR [DIR…] [--text FILE] [--dtype float32|bfloat16] [--json]

For each model directory: parameters, weight memory (bytes of the parameters) and the growth of the
process's resident memory when loading it, load time (reading it and preparing it for decoding),
prompt (prefill) tokens/s, generation tokens/s (batch 1, greedy, with the KV cache), and perplexity
on a text — sliding windows of up to n_positions tokens with half a window of context, as Hugging
Face's perplexity guide does.

${helpText(benchModelsConfig)}
Config file
  --config FILE.yaml        options from a YAML file (keys are the long option names; flags override it)

Example
  rlhf bench-models models/gpt2 models/tiny --text data/wiki.txt
`;

export interface ModelBench {
  model: string;
  dir: string;
  model_type: string;
  dtype: GenerationDType;
  parameters: number;
  weight_bytes: number;
  rss_delta_bytes: number;
  load_ms: number;
  prompt_tokens: number;
  prompt_tokens_per_s: number;
  new_tokens: number;
  generation_tokens_per_s: number;
  perplexity: number;
  perplexity_tokens: number;
}

/** Bytes held by the model's distinct parameters and buffers. */
export function weightBytes(model: CausalLM): number {
  const seen = new Set<Tensor>([...model.parameters(), ...model.namedBuffers().map(([, b]) => b)]);
  let n = 0;
  for (const t of seen) n += t.numel * itemSize(t.dtype);
  return n;
}

/**
 * Perplexity exp(mean NLL) of `ids` with sliding windows of `window` tokens moved by `stride`:
 * each window scores only the tokens the previous one did not, with the rest as context.
 */
export function perplexity(model: CausalLM, ids: readonly number[], window: number, stride = Math.max(1, Math.floor(window / 2))): { perplexity: number; tokens: number } {
  let nll = 0;
  let count = 0;
  let prevEnd = 0;
  for (let begin = 0; begin < ids.length; begin += stride) {
    const end = Math.min(begin + window, ids.length);
    const fresh = end - prevEnd; // tokens not scored yet
    const chunk = ids.slice(begin, end);
    if (chunk.length >= 2) {
      const labels = chunk.map((t, i) => (i < chunk.length - fresh ? -100 : t)).slice(1); // shifted; context ignored
      const scored = labels.filter((t) => t !== -100).length;
      if (scored > 0) {
        nll += noGrad(() =>
          tidy(() => {
            const logits = model.forward(tensor([chunk], { dtype: 'int64' })).logits; // (1, L, V)
            const L = chunk.length;
            const pred = logits.narrow(1, 0, L - 1).float(); // (1, L-1, V)
            return F.crossEntropy(pred, tensor([labels], { dtype: 'int64' }), { ignoreIndex: -100, reduction: 'sum' }).item();
          }),
        );
        count += scored;
      }
    }
    prevEnd = end;
    if (end === ids.length) break;
  }
  return { perplexity: count > 0 ? Math.exp(nll / count) : Number.NaN, tokens: count };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Prefill tokens/s: the median of three timed forwards of a (1, P) prompt, after one warm-up. */
function promptSpeed(model: CausalLM, ids: number[]): number {
  const run = (): number =>
    noGrad(() =>
      tidy(() => {
        const t0 = performance.now();
        model.forward(tensor([ids], { dtype: 'int64' })).logits.narrow(1, ids.length - 1, 1).toFlatArray();
        return performance.now() - t0;
      }),
    );
  run();
  return (ids.length / median([run(), run(), run()])) * 1000;
}

/** Decode tokens/s at batch 1 (greedy, KV cache), after a short warm-up. */
function generationSpeed(model: CausalLM, prompt: number[], newTokens: number): number {
  const ids = tensor([prompt], { dtype: 'int64' });
  try {
    const go = (n: number): number => {
      const r = generate(model, { inputIds: ids }, { greedy: true, maxNewTokens: n, eosTokenId: null });
      r.sequences.dispose();
      r.responseMask.dispose();
      return r.timings.decodeTokensPerS;
    };
    go(Math.min(4, newTokens));
    return go(newTokens);
  } finally {
    ids.dispose();
  }
}

export async function benchModel(dir: string, text: string, opts: { dtype: GenerationDType; promptTokens: number; newTokens: number }): Promise<ModelBench> {
  const rss0 = process.memoryUsage.rss();
  const t0 = performance.now();
  const { model, tokenizer } = await loadPretrained(dir, { dtype: opts.dtype });
  try {
    prepareForInference(model); // dropout off, weights laid out for decoding: what `rlhf generate` runs
  } catch (err) {
    model.dispose();
    throw err;
  }
  const loadMs = performance.now() - t0;
  const rssDelta = process.memoryUsage.rss() - rss0;
  try {
    const tok = tokenizerFor(dir, model.config.vocab_size, tokenizer);
    const ids = tok.encode(text);
    if (ids.length < 2) throw new UsageError(`the text has ${ids.length} token(s); perplexity needs at least 2 — give a longer --text`);
    const nPos = model.config.n_positions;
    const promptLen = Math.max(1, Math.min(opts.promptTokens, Math.floor(nPos / 2), ids.length));
    const newTokens = Math.max(1, Math.min(opts.newTokens, nPos - 16));
    const prompt = ids.slice(0, promptLen);
    const genPrompt = ids.slice(0, Math.min(16, ids.length));
    const ppl = perplexity(model, ids, nPos);
    return {
      model: basename(dir),
      dir,
      model_type: model.config.model_type,
      dtype: opts.dtype,
      parameters: model.numParameters(),
      weight_bytes: weightBytes(model),
      rss_delta_bytes: rssDelta,
      load_ms: loadMs,
      prompt_tokens: promptLen,
      prompt_tokens_per_s: promptSpeed(model, prompt),
      new_tokens: newTokens,
      generation_tokens_per_s: generationSpeed(model, genPrompt, newTokens),
      perplexity: ppl.perplexity,
      perplexity_tokens: ppl.tokens,
    };
  } finally {
    model.dispose();
  }
}

function human(n: number, units: string[], base: number): string {
  let i = 0;
  while (Math.abs(n) >= base && i < units.length - 1) {
    n /= base;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)}${units[i]}`;
}

/** The aligned table printed to the terminal. */
export function formatTable(rows: readonly ModelBench[]): string {
  const header = ['model', 'type', 'dtype', 'params', 'weights', 'RSS Δ', 'load', 'prompt tok/s', 'gen tok/s', 'perplexity'];
  const body = rows.map((r) => [
    r.model,
    r.model_type,
    r.dtype,
    human(r.parameters, ['', 'K', 'M', 'B'], 1000),
    human(r.weight_bytes, [' B', ' KB', ' MB', ' GB'], 1024),
    human(Math.max(0, r.rss_delta_bytes), [' B', ' KB', ' MB', ' GB'], 1024),
    `${(r.load_ms / 1000).toFixed(2)} s`,
    r.prompt_tokens_per_s.toFixed(0),
    r.generation_tokens_per_s.toFixed(1),
    Number.isFinite(r.perplexity) ? r.perplexity.toFixed(2) : 'n/a',
  ]);
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] as string).length)));
  const line = (row: string[]): string => row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n') + '\n';
}

export const benchModels: Command = {
  name: 'bench-models',
  summary: 'compare model directories: parameters, memory, load time, tokens/s, perplexity',
  help: HELP,
  async run(argv) {
    let c: BenchModelsConfig;
    let positionals: string[];
    try {
      ({ config: c, positionals } = resolveConfig(benchModelsConfig, argv, { command: 'rlhf bench-models' }));
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message, { cause: err }) : err;
    }
    if (positionals.length === 0) throw new UsageError(`give at least one model directory. Run 'rlhf bench-models --help'.`);
    // Hub ids (org/name, org/name@revision) → their snapshots in the HF cache; the table names them by id
    const dirs: string[] = [];
    const names = new Map<string, string>();
    for (const ref of positionals) {
      const dir = checkModelDir(await resolveModel(ref), 'bench-models');
      if (parseHubRef(ref) && !existsSync(ref)) names.set(dir, ref);
      dirs.push(dir);
    }
    let text = DEFAULT_TEXT;
    if (c.text !== undefined) {
      try {
        text = readFileSync(c.text, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read --text ${c.text}: ${(err as Error).message}`);
      }
    }
    const opts = { dtype: c.dtype, promptTokens: c.promptTokens, newTokens: c.newTokens } as const;
    // One model that fails (a broken checkpoint, a text its tokenizer cannot encode) costs its own
    // row, not the rows measured before and after it: those are printed, the failure is named on
    // stderr, and the exit code says something failed.
    const rows: ModelBench[] = [];
    const failed: string[] = [];
    let bug: unknown = null;
    for (const dir of dirs) {
      if (!c.json) process.stderr.write(`measuring ${dir}…\n`);
      try {
        const row = await benchModel(dir, text, opts);
        rows.push(names.has(dir) ? { ...row, model: names.get(dir) as string } : row);
      } catch (err) {
        if (!isUserError(err)) {
          bug = err;
          break;
        }
        failed.push(err.message.includes(dir) ? err.message : `${dir}: ${err.message}`);
      }
    }
    if (rows.length) process.stdout.write(c.json ? JSON.stringify(rows, null, 2) + '\n' : formatTable(rows));
    if (bug !== null) throw bug;
    if (failed.length === 1 && dirs.length === 1) throw new UsageError(failed[0] as string);
    if (failed.length) throw new UsageError(`${failed.length} of ${dirs.length} models could not be measured and are left out of the table: ${failed.join('; ')}`);
    return 0;
  },
};
