// `rlhf generate`: sample from a model directory — streamed to the terminal, or as JSON for scripts.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { manualSeed } from '../torch/index.js';
import { loadPretrained } from '../models/checkpoint.js';
import type { CausalLM } from '../models/types.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { generateText, responseText, tokenizerFor } from '../generation/text.js';
import type { TextGeneration, TextGenerationOptions } from '../generation/text.js';
import { prepareForInference } from '../generation/generate.js';
import type { GenerationDType, GenerationTimings } from '../generation/generate.js';

const HELP = `rlhf generate — sample text from a model directory (streamed, or JSON for scripts)

Usage:
  rlhf generate --model DIR --prompt TEXT [options]
  rlhf generate --model DIR --prompts FILE.jsonl [--json] [options]

Input
  --model DIR              a Hugging Face model directory (config.json + model.safetensors + tokenizer
                           files), e.g. one written by 'rlhf init' or transformers' save_pretrained
  --prompt TEXT            one prompt; its continuation is streamed to stdout as it is generated
  --prompts FILE.jsonl     many prompts, one JSON object per line: {"prompt": "..."}; generated in
                           left-padded batches of --batch-size

Sampling
  --max-new-tokens N       most tokens to generate per prompt (default 64)
  --greedy                 always take the most likely token (deterministic)
  --temperature T          softmax temperature (default 1; 0 means --greedy)
  --top-k K                sample among the K most likely tokens
  --top-p P                nucleus sampling: the most likely tokens holding probability P (0 < P ≤ 1)
  --repetition-penalty R   penalise tokens already in the text (CTRL rule; 1 = off, 1.2 typical)
  --stop TEXT              stop a prompt's generation at TEXT (repeatable); the text is cut before it
  --seed S                 random seed: the same seed gives the same text
  --no-eos                 do not stop at the end-of-text token

Performance
  --dtype D                float32 (default, exact) or bfloat16 (weights cast once at load: about
                           twice as fast on CPUs with AMX/AVX-512 bf16 and on GPUs)
  --batch-size B           prompts per batch with --prompts (default 8)

Output
  --json                   one JSON object per prompt (JSON lines with --prompts):
                           {"text", "prompt_tokens": [ids], "tokens": [generated ids],
                            "logprobs": [log-prob of each generated token under the model]}
                           logprobs are log softmax(logits / T) (T = 1 with --greedy), before top-k/top-p
                           and the repetition penalty — what PPO recomputes.
  Without --json the prompt and its continuation are written to stdout and a timing line to stderr.

Examples
  rlhf generate --model models/tiny --prompt "Once upon a time" --max-new-tokens 40 --temperature 0.8 --top-p 0.95 --seed 1
  rlhf generate --model models/tiny --prompt "The capital of France is" --greedy --json
  rlhf generate --model models/tiny --prompts prompts.jsonl --json --dtype bfloat16 > samples.jsonl
`;

const OPTIONS = {
  model: { type: 'string' },
  prompt: { type: 'string' },
  prompts: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  greedy: { type: 'boolean' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'repetition-penalty': { type: 'string' },
  stop: { type: 'string', multiple: true },
  seed: { type: 'string' },
  'no-eos': { type: 'boolean' },
  dtype: { type: 'string' },
  'batch-size': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function int(v: string | undefined, flag: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number ≥ ${min} (got '${v}').`);
  return n;
}

function num(v: string | undefined, flag: string, ok: (n: number) => boolean, range: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new UsageError(`${flag} must be a number ${range} (got '${v}').`);
  return n;
}

/** Prompts of a JSONL file: each non-blank line {"prompt": "..."}. Errors name the file and line. */
export function readPromptsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --prompts ${file}: ${(err as Error).message}`);
  }
  const prompts: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new UsageError(`${file}:${i + 1}: not valid JSON (${(err as Error).message}); each line must be {"prompt": "..."}`);
    }
    const prompt = row !== null && typeof row === 'object' && !Array.isArray(row) ? (row as Record<string, unknown>).prompt : undefined;
    if (typeof prompt !== 'string') throw new UsageError(`${file}:${i + 1}: expected an object with a string "prompt", like {"prompt": "Hello"}`);
    prompts.push(prompt);
  });
  if (prompts.length === 0) throw new UsageError(`${file} holds no prompts; write one {"prompt": "..."} per line`);
  return prompts;
}

/** Checks that DIR is a model directory before loading it, for a clearer message than a failed read. */
export function checkModelDir(dir: string | undefined, command: string): string {
  if (dir === undefined) throw new UsageError(`--model DIR is required. Run 'rlhf ${command} --help'.`);
  const path = resolve(dir);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`model directory ${path} does not exist; create one with 'rlhf init --out ${dir}' or point --model at a Hugging Face model directory`);
  if (!st.isDirectory()) throw new UsageError(`--model ${path} is a file; it must be a model directory (config.json, model.safetensors, tokenizer files)`);
  if (!statSync(resolve(path, 'config.json'), { throwIfNoEntry: false })) throw new UsageError(`${path} has no config.json; is it a model directory? ('rlhf init --out DIR' writes one)`);
  return path;
}

function dtypeOf(v: string | undefined): GenerationDType {
  if (v === undefined || v === 'float32' || v === 'fp32') return 'float32';
  if (v === 'bfloat16' || v === 'bf16') return 'bfloat16';
  throw new UsageError(`--dtype must be float32 or bfloat16 (got '${v}').`);
}

function jsonLine(r: TextGeneration): string {
  return JSON.stringify({ text: r.text, prompt_tokens: r.promptTokens, tokens: r.tokens, logprobs: r.logprobs }) + '\n';
}

function timingLine(t: GenerationTimings): string {
  const decode = t.decodeTokensPerS > 0 ? `, ${t.decodeTokensPerS.toFixed(1)} tokens/s decoding` : '';
  return `[${t.promptTokens} prompt tokens (${t.prefillTokensPerS.toFixed(0)}/s), ${t.generatedTokens} generated in ${(t.totalMs / 1000).toFixed(2)} s${decode}]\n`;
}

/**
 * Streams one prompt's continuation to stdout: whole characters only (the tokenizer's streaming
 * decoder), holding back the last few characters while they could still begin a stop string.
 */
function streamOne(model: CausalLM, tok: Tokenizer, prompt: string, opts: TextGenerationOptions): void {
  const stops = opts.stopStrings ?? [];
  const holdBack = Math.max(0, ...stops.map((s) => s.length - 1));
  const decoder = tok.streamDecoder({ skipSpecialTokens: true });
  let text = '';
  let printed = 0;
  process.stdout.write(prompt);
  let timings: GenerationTimings | null = null;
  const [r] = generateText(model, tok, [prompt], {
    ...opts,
    onToken: (e) => {
      text += decoder.push(e.token);
      const safe = text.length - holdBack;
      if (safe > printed) {
        process.stdout.write(text.slice(printed, safe));
        printed = safe;
      }
    },
    onBatch: (t) => (timings = t),
  });
  const final = r ? responseText(tok, r.tokens, r.finishReason, stops) : text + decoder.end();
  if (final.length > printed) process.stdout.write(final.slice(printed));
  process.stdout.write('\n');
  if (timings) process.stderr.write(timingLine(timings));
}

export const generate: Command = {
  name: 'generate',
  summary: 'sample text from a model directory (streamed, or --json with token ids and log-probs)',
  help: HELP,
  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}. Run 'rlhf generate --help'.`);
    }
    const v = parsed.values;
    if (v.prompt === undefined && v.prompts === undefined) throw new UsageError(`give --prompt TEXT or --prompts FILE.jsonl. Run 'rlhf generate --help'.`);
    if (v.prompt !== undefined && v.prompts !== undefined) throw new UsageError('give either --prompt or --prompts, not both.');
    const dir = checkModelDir(v.model, 'generate');
    const greedy = v.greedy === true;
    if (greedy && (v.temperature !== undefined || v['top-k'] !== undefined || v['top-p'] !== undefined)) {
      throw new UsageError('--greedy takes the most likely token; it cannot be combined with --temperature, --top-k or --top-p.');
    }
    const opts: TextGenerationOptions = {
      maxNewTokens: int(v['max-new-tokens'], '--max-new-tokens', 1) ?? 64,
      greedy,
      temperature: num(v.temperature, '--temperature', (n) => n >= 0, '≥ 0') ?? 1,
      topK: int(v['top-k'], '--top-k', 1) ?? null,
      topP: num(v['top-p'], '--top-p', (n) => n > 0 && n <= 1, 'in (0, 1]') ?? null,
      repetitionPenalty: num(v['repetition-penalty'], '--repetition-penalty', (n) => n > 0, '> 0') ?? 1,
      stopStrings: v.stop ?? [],
      batchSize: int(v['batch-size'], '--batch-size', 1) ?? 8,
    };
    const seed = int(v.seed, '--seed', 0);
    const dtype = dtypeOf(v.dtype);
    const prompts = v.prompts !== undefined ? readPromptsFile(v.prompts) : [v.prompt as string];

    // bf16 weights are cast once here, at load, so no step of any batch casts anything.
    const { model, tokenizer, warnings } = await loadPretrained(dir, { dtype });
    try {
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const tok = tokenizerFor(dir, model.config.vocab_size, tokenizer);
      prepareForInference(model); // dropout off; weights laid out for decoding once
      if (v['no-eos']) opts.eosTokenId = null;
      else if (tok.eosTokenId !== null) opts.eosTokenId = tok.eosTokenId;
      if (seed !== undefined) manualSeed(seed); // once: later batches continue the same stream
      if (v.prompts === undefined && !v.json) {
        streamOne(model, tok, prompts[0] as string, opts);
        return 0;
      }
      const results = generateText(model, tok, prompts, {
        ...opts,
        onBatch: (t, first) => {
          if (!v.json) process.stderr.write(`batch at prompt ${first + 1}: ${timingLine(t)}`);
        },
      });
      results.forEach((r, i) => {
        if (v.json) process.stdout.write(jsonLine(r));
        else process.stdout.write(`${i > 0 ? '\n' : ''}### ${i + 1}\n${prompts[i]}${r.text}\n`);
      });
      return 0;
    } finally {
      model.dispose();
    }
  },
};
