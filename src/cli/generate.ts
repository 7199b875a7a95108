// `rlhf generate`: sample from a model directory — streamed to the terminal, or as JSON for scripts.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { manualSeed } from '../torch/index.js';
import { loadPretrained } from '../models/checkpoint.js';
import type { CausalLM } from '../models/types.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { generateText, responseText, tokenizerFor } from '../generation/text.js';
import type { TextGeneration, TextGenerationOptions } from '../generation/text.js';
import { prepareForInference } from '../generation/generate.js';
import type { GenerationTimings } from '../generation/generate.js';
import { SAMPLING_DEFAULTS, samplingFields } from '../generation/config.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';

/** The options of `rlhf generate`: flags, --help, --config FILE.yaml and validation all come from here. */
export const generateConfig = z.object({
  model: z.string().min(1).describe("model directory, Hugging Face layout (e.g. from 'rlhf init' or save_pretrained)").meta({ metavar: 'DIR' }),
  prompt: z.string().optional().describe('one prompt; its continuation is streamed to stdout').meta({ metavar: 'TEXT' }),
  prompts: z.string().min(1).optional().describe('many prompts, one {"prompt": "..."} per line, in left-padded batches').meta({ metavar: 'FILE.jsonl' }),
  ...samplingFields(),
  stop: z.array(z.string()).default([]).describe("stop a prompt's generation at TEXT (repeatable); the text is cut before it").meta({ split: false }),
  noEos: z.boolean().default(false).describe('do not stop at the end-of-text token'),
  batchSize: z.int().min(1).default(8).describe('prompts per batch with --prompts'),
  json: z.boolean().default(false).describe('one JSON object per prompt (JSON lines with --prompts), with token ids and log-probs'),
});
export type GenerateConfig = z.infer<typeof generateConfig>;

const GROUPS = {
  Input: ['model', 'prompt', 'prompts'],
  Sampling: ['maxNewTokens', 'greedy', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'stop', 'seed', 'noEos'],
  Performance: ['dtype', 'batchSize'],
  Output: ['json'],
} as const;

const HELP = `rlhf generate — sample text from a model directory (streamed, or JSON for scripts)

Usage:
  rlhf generate --model DIR --prompt TEXT [options]
  rlhf generate --model DIR --prompts FILE.jsonl [--json] [options]

${helpText(generateConfig, GROUPS)}
Config file
  --config FILE.yaml        options from a YAML file (keys are the long option names; flags override it)

With --json each line is {"text", "prompt_tokens": [ids], "tokens": [generated ids], "logprobs": [...]}:
logprobs are log softmax(logits / T) of each generated token (T = 1 with --greedy), before top-k/top-p
and the repetition penalty — what PPO recomputes. Without --json the prompt and its continuation are
written to stdout and a timing line to stderr.

Examples
  rlhf generate --model models/tiny --prompt "Once upon a time" --max-new-tokens 40 --temperature 0.8 --top-p 0.95 --seed 1
  rlhf generate --model models/tiny --prompt "The capital of France is" --greedy --json
  rlhf generate --model models/tiny --prompt "Q: What is 2+2?" --stop $'\\n' --stop "Q:"
  rlhf generate --model models/tiny --prompts prompts.jsonl --json --dtype bfloat16 > samples.jsonl
`;

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
    let c: GenerateConfig;
    try {
      const r = resolveConfig(generateConfig, argv, { command: 'rlhf generate' });
      if (r.positionals.length) throw new ConfigError(`unexpected argument '${r.positionals[0]}'; options start with --. Run 'rlhf generate --help'.`);
      c = r.config;
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message, { cause: err }) : err;
    }
    if (c.prompt === undefined && c.prompts === undefined) throw new UsageError(`give --prompt TEXT or --prompts FILE.jsonl. Run 'rlhf generate --help'.`);
    if (c.prompt !== undefined && c.prompts !== undefined) throw new UsageError('give either --prompt or --prompts, not both.');
    const dir = checkModelDir(c.model, 'generate');
    if (c.greedy && (c.temperature !== SAMPLING_DEFAULTS.temperature || c.topK !== null || c.topP !== null)) {
      throw new UsageError('--greedy takes the most likely token; it cannot be combined with --temperature, --top-k or --top-p.');
    }
    const opts: TextGenerationOptions = {
      maxNewTokens: c.maxNewTokens,
      greedy: c.greedy,
      temperature: c.temperature,
      topK: c.topK,
      topP: c.topP,
      repetitionPenalty: c.repetitionPenalty,
      stopStrings: c.stop,
      batchSize: c.batchSize,
    };
    const prompts = c.prompts !== undefined ? readPromptsFile(c.prompts) : [c.prompt as string];

    // bf16 weights are cast once here, at load, so no step of any batch casts anything.
    const { model, tokenizer, warnings } = await loadPretrained(dir, { dtype: c.dtype });
    try {
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const tok = tokenizerFor(dir, model.config.vocab_size, tokenizer);
      prepareForInference(model); // dropout off; weights laid out for decoding once
      if (c.noEos) opts.eosTokenId = null;
      else if (tok.eosTokenId !== null) opts.eosTokenId = tok.eosTokenId;
      if (c.seed !== null) manualSeed(c.seed); // once: later batches continue the same stream
      if (c.prompts === undefined && !c.json) {
        streamOne(model, tok, prompts[0] as string, opts);
        return 0;
      }
      const results = generateText(model, tok, prompts, {
        ...opts,
        onBatch: (t, first) => {
          if (!c.json) process.stderr.write(`batch at prompt ${first + 1}: ${timingLine(t)}`);
        },
      });
      results.forEach((r, i) => {
        if (c.json) process.stdout.write(jsonLine(r));
        else process.stdout.write(`${i > 0 ? '\n' : ''}### ${i + 1}\n${prompts[i]}${r.text}\n`);
      });
      return 0;
    } finally {
      model.dispose();
    }
  },
};
