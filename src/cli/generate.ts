// `rlhf generate`: sample from a model directory — streamed to the terminal, or as JSON for scripts.
import { statSync, type Stats } from 'node:fs';
import { readFailure } from '../util/fs-errors.js';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { Command } from './command.js';
import { UsageError, writeOut } from './command.js';
import { DataError } from '../data/errors.js';
import { decodeUtf8, readInputBytes } from '../data/read.js';
import { TokenizerError } from '../tokenizers/errors.js';
import { manualSeed } from '../torch/index.js';
import { loadPretrained } from '../models/checkpoint.js';
import type { CausalLM } from '../models/types.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { generateText, responseText, tokenizerFor } from '../generation/text.js';
import type { TextGeneration, TextGenerationOptions } from '../generation/text.js';
import { NonFiniteLogitsError, prepareForInference } from '../generation/generate.js';
import type { GenerationTimings } from '../generation/generate.js';
import { SAMPLING_DEFAULTS, samplingFields } from '../generation/config.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';
import { bestOfN, type BestOfNResult } from '../generation/best-of-n.js';
import { rewardFields } from '../trainers/common/online-config.js';
import { createScorer } from '../trainers/common/rewards.js';
import { Progress } from './progress.js';
import { resolveModelFields } from '../hub/resolve.js';

/** The options of `rlhf generate`: flags, --help, --config FILE.yaml and validation all come from here. */
export const generateConfig = z.object({
  model: z.string().min(1).describe("model directory, Hugging Face layout (e.g. from 'rlhf init' or save_pretrained), or a Hub id (org/name)").meta({ metavar: 'DIR|ID' }),
  revision: z.string().min(1).optional().describe('the Hub revision of --model: a branch, tag or commit hash (default main)').meta({ metavar: 'REV' }),
  prompt: z.string().optional().describe('one prompt; its continuation is streamed to stdout').meta({ metavar: 'TEXT' }),
  prompts: z.string().min(1).optional().describe('many prompts, one {"prompt": "..."} per line, in left-padded batches (- reads stdin)').meta({ metavar: 'FILE.jsonl' }),
  ...samplingFields(),
  stop: z.array(z.string()).default([]).describe("stop a prompt's generation at TEXT (repeatable); the text is cut before it").meta({ split: false }),
  noEos: z.boolean().default(false).describe('do not stop at the end-of-text token'),
  batchSize: z.int().min(1).default(8).describe('prompts per batch with --prompts'),
  json: z.boolean().default(false).describe('one JSON object per prompt (JSON lines with --prompts), with token ids and log-probs'),
  bestOf: z.int().min(1).default(1).describe('best-of-n: sample N responses per prompt and print the one the reward scores highest, with its score').meta({ metavar: 'N' }),
  ...rewardFields(),
});
export type GenerateConfig = z.infer<typeof generateConfig>;

const GROUPS = {
  Input: ['model', 'revision', 'prompt', 'prompts'],
  Sampling: ['maxNewTokens', 'greedy', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'stop', 'seed', 'noEos'],
  'Best-of-n': ['bestOf', 'rewardModel', 'rewardFn', 'rewardWeights'],
  Performance: ['dtype', 'batchSize'],
  Output: ['json'],
} as const;

const HELP = `rlhf generate — sample text from a model directory (streamed, or JSON for scripts)

Usage:
  rlhf generate --model DIR --prompt TEXT [options]
  rlhf generate --model DIR --prompts FILE.jsonl [--json] [options]
  rlhf generate --model DIR --prompt TEXT --best-of N (--reward-model DIR | --reward-fn FILE.ts) [options]

${helpText(generateConfig, GROUPS)}
Config file
  --config FILE.yaml        options from a YAML file (keys are the long option names; flags override it)

With --json each line is {"text", "prompt_tokens": [ids], "tokens": [generated ids], "logprobs": [...]}:
logprobs are log softmax(logits / T) of each generated token (T = 1 with --greedy), before top-k/top-p
and the repetition penalty — what PPO recomputes. Without --json the prompt and its continuation are
written to stdout and a timing line to stderr.

With --best-of N each prompt gets N candidates (candidate 1 is exactly what plain sampling with the
same --seed gives), each scored by the reward (--reward-model, --reward-fn, or several weighted by
--reward-weights, as the trainers score); the highest-scoring one is printed with its score. --json
adds "score", "candidate" (1 … N) and "scores" (every candidate's). A reward without --best-of
scores the one sample.

Examples
  rlhf generate --model models/tiny --prompt "Once upon a time" --max-new-tokens 40 --temperature 0.8 --top-p 0.95 --seed 1
  rlhf generate --model models/tiny --prompt "The capital of France is" --greedy --json
  rlhf generate --model models/tiny --prompt "Q: What is 2+2?" --stop $'\\n' --stop "Q:"
  rlhf generate --model models/tiny --prompts prompts.jsonl --json --dtype bfloat16 > samples.jsonl
  rlhf generate --model out/sft --prompt "The movie was" --best-of 8 --reward-model out/rm --seed 0
`;

/** Prompts of a JSONL file: each non-blank line {"prompt": "..."}. Errors name the file and line. */
export function readPromptsFile(file: string): string[] {
  return readPromptLines(file).prompts;
}

/** readPromptsFile with the line of each prompt; `-` reads stdin. Bytes that are not UTF-8 are an error naming the line. */
export function readPromptLines(file: string): { prompts: string[]; lines: number[] } {
  let text: string;
  try {
    const { bytes, name } = readInputBytes(file); // `-` is stdin; devices, directories and oversized files are refused
    text = decodeUtf8(bytes, name);
  } catch (err) {
    if (err instanceof DataError) throw new UsageError(`--prompts ${err.message}`, { cause: err });
    throw err;
  }
  if (file === '-') file = '<stdin>';
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte-order mark
  const prompts: string[] = [];
  const lines: number[] = [];
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
    lines.push(i + 1);
  });
  if (prompts.length === 0) throw new UsageError(`${file} holds no prompts; write one {"prompt": "..."} per line`);
  return { prompts, lines };
}

/**
 * Checks every prompt against the model before anything is printed: it must encode, and its tokens
 * plus --max-new-tokens must fit the model's positions. Errors name the prompt (flag, or file and
 * line) and the flag value that fits.
 */
function checkPromptsFit(tok: Tokenizer, prompts: readonly string[], where: (i: number) => string, maxNewTokens: number, limit: number): void {
  prompts.forEach((p, i) => {
    let n: number;
    try {
      n = Math.max(1, tok.encode(p).length); // an empty prompt starts from one BOS token
    } catch (err) {
      if (err instanceof TokenizerError) throw new UsageError(`${where(i)}: ${err.message}`, { cause: err });
      throw err;
    }
    if (n >= limit) throw new UsageError(`${where(i)} is ${n} tokens, but the model reads at most ${limit} positions (n_positions) and needs one for a new token; shorten it to ${limit - 1} tokens or fewer`);
    if (n + maxNewTokens > limit) throw new UsageError(`${where(i)} (${n} tokens) + --max-new-tokens ${maxNewTokens} is more than the model's ${limit} positions (n_positions); use --max-new-tokens ${limit - n} or less, or a shorter prompt`);
  });
}

/** Checks that DIR is a model directory before loading it, for a clearer message than a failed read. */
export function checkModelDir(dir: string | undefined, command: string): string {
  if (dir === undefined) throw new UsageError(`--model DIR is required. Run 'rlhf ${command} --help'.`);
  const path = resolve(dir);
  const stat = (p: string): Stats | undefined => {
    try {
      return statSync(p, { throwIfNoEntry: false });
    } catch (err) {
      throw new UsageError(`cannot read --model ${dir}: ${readFailure(err, dirname(p))}`, { cause: err }); // a directory on the path cannot be searched
    }
  };
  const st = stat(path);
  if (!st) throw new UsageError(`model directory ${path} does not exist; create one with 'rlhf init --out ${dir}' or point --model at a Hugging Face model directory`);
  if (!st.isDirectory()) throw new UsageError(`--model ${path} is a file; it must be a model directory (config.json, model.safetensors, tokenizer files)`);
  if (!stat(resolve(path, 'config.json')) && !stat(resolve(path, 'adapter_config.json'))) throw new UsageError(`${path} has no config.json (nor adapter_config.json); is it a model directory? ('rlhf init --out DIR' writes one)`);
  return path;
}

function jsonLine(r: TextGeneration): string {
  return JSON.stringify({ text: r.text, prompt_tokens: r.promptTokens, tokens: r.tokens, logprobs: r.logprobs }) + '\n';
}

function bestLine(r: BestOfNResult): string {
  const others = r.scores.length > 1 ? ` (best of ${r.scores.length}: candidate ${r.index + 1}; scores ${r.scores.map((x) => x.toFixed(3)).join(', ')})` : '';
  return `[score ${r.score.toFixed(4)}${others}]\n`;
}

/** Best-of-n over the prompts: every candidate scored by the reward, the best printed with its score. */
async function generateBest(model: CausalLM, tok: Tokenizer, prompts: string[], c: GenerateConfig, opts: TextGenerationOptions): Promise<void> {
  const scorer = await createScorer({ rewardModel: c.rewardModel, rewardFn: c.rewardFn, rewardWeights: c.rewardWeights, tokenizer: tok, batchSize: c.batchSize });
  try {
    const bar = c.bestOf > 1 ? new Progress({ total: c.bestOf, label: `best-of-${c.bestOf}`, stream: process.stderr }) : null;
    const results = await bestOfN(model, tok, prompts, { ...opts, n: c.bestOf, seed: c.seed, score: (p, r) => scorer.score(p, r), onRound: (k) => bar?.update(k + 1) });
    bar?.done();
    results.forEach((r, i) => {
      if (c.json) process.stdout.write(JSON.stringify({ text: r.text, prompt_tokens: r.promptTokens, tokens: r.tokens, logprobs: r.logprobs, score: r.score, candidate: r.index + 1, scores: r.scores }) + '\n');
      else process.stdout.write(`${i > 0 ? '\n' : ''}${prompts.length > 1 ? `### ${i + 1}\n` : ''}${prompts[i]}${r.text}\n${bestLine(r)}`);
    });
  } finally {
    scorer.dispose();
  }
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
  writeOut(prompt);
  let timings: GenerationTimings | null = null;
  const [r] = generateText(model, tok, [prompt], {
    ...opts,
    onToken: (e) => {
      text += decoder.push(e.token);
      const safe = text.length - holdBack;
      if (safe > printed) {
        writeOut(text.slice(printed, safe));
        printed = safe;
      }
    },
    onBatch: (t) => (timings = t),
  });
  const final = r ? responseText(tok, r.tokens, r.finishReason, stops) : text + decoder.end();
  if (final.length > printed) writeOut(final.slice(printed));
  writeOut('\n');
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
    c = await resolveModelFields(c); // Hub ids (--model, --reward-model) → their snapshots in the HF cache
    const dir = checkModelDir(c.model, 'generate');
    const hasReward = c.rewardModel !== null || (c.rewardFn ?? []).length > 0;
    if (c.bestOf > 1 && !hasReward) throw new UsageError(`--best-of ${c.bestOf} keeps the response a reward scores highest: give --reward-model DIR or --reward-fn FILE.ts.`);
    if (c.bestOf > 1 && c.greedy) throw new UsageError('--best-of needs sampled candidates; --greedy would make all of them the same. Drop --greedy (or lower --temperature).');
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
    const read = c.prompts !== undefined ? readPromptLines(c.prompts) : { prompts: [c.prompt as string], lines: [] };
    const prompts = read.prompts;
    const promptName = (i: number): string => (c.prompts === undefined ? '--prompt' : `--prompts ${c.prompts === '-' ? '<stdin>' : c.prompts}:${read.lines[i]}`);

    // bf16 weights are cast once here, at load, so no step of any batch casts anything.
    const { model, tokenizer, warnings } = await loadPretrained(dir, { dtype: c.dtype });
    try {
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      const tok = tokenizerFor(dir, model.config.vocab_size, tokenizer);
      checkPromptsFit(tok, prompts, promptName, c.maxNewTokens, model.config.n_positions);
      prepareForInference(model); // dropout off; weights laid out for decoding once
      if (c.noEos) opts.eosTokenId = null;
      else if (tok.eosTokenId !== null) opts.eosTokenId = tok.eosTokenId;
      if (hasReward) {
        await generateBest(model, tok, prompts, c, opts);
        return 0;
      }
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
    } catch (err) {
      if (err instanceof NonFiniteLogitsError) err.message = `--model ${dir}: ${err.message}`;
      throw err;
    } finally {
      model.dispose();
    }
  },
};
