// Text in, text out: tokenize and left-pad prompts, generate, decode.
//
//   const [r] = generateText(model, tokenizer, ['Once upon a time'], { maxNewTokens: 32, temperature: 0.8, seed: 0 });
//   r.text          // the continuation (without EOS; cut before a stop string)
//   r.tokens        // the generated ids (EOS / stop-string token included), r.logprobs one per id
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { padBatch } from '../tokenizers/padding.js';
import { GPT2_VOCAB_SIZE, gpt2Tokenizer } from '../tokenizers/gpt2.js';
import { tensor } from '../torch/index.js';
import type { CausalLM } from '../models/types.js';
import type { GenerateOptions, GenerationTimings } from './generate.js';
import { generate, GenerationConfigError } from './generate.js';
import type { FinishReason } from './stopping.js';

export interface TextGenerationOptions extends Omit<GenerateOptions, 'tokenizer'> {
  /** Prompts per generate() call (left-padded together). Default: all at once. */
  batchSize?: number;
  /** Keep only the last N tokens of a longer prompt (what a trainer's --max-prompt-length does). Default: the whole prompt. */
  maxPromptLength?: number | null;
  /** Called with each batch's timings. */
  onBatch?: (timings: GenerationTimings, firstPrompt: number) => void;
}

export interface TextGeneration {
  /** The generated text: special tokens skipped, ending before the stop string when one stopped it. */
  text: string;
  /** The prompt's ids (no padding). */
  promptTokens: number[];
  /** The generated ids, up to and including the EOS or stop-string token. */
  tokens: number[];
  /** log softmax(logits / T) of each generated id. */
  logprobs: number[];
  finishReason: FinishReason;
}

/** Generates a continuation for each prompt. `onToken` rows are indices into `prompts`. */
export function generateText(model: CausalLM, tokenizer: Tokenizer, prompts: readonly string[], opts: TextGenerationOptions = {}): TextGeneration[] {
  const batchSize = opts.batchSize ?? Math.max(1, prompts.length);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new GenerationConfigError(`batchSize must be a positive integer, got ${batchSize}`);
  const maxPrompt = opts.maxPromptLength ?? null;
  if (maxPrompt !== null && (!Number.isInteger(maxPrompt) || maxPrompt < 1)) throw new GenerationConfigError(`maxPromptLength must be a positive integer, got ${maxPrompt}`);
  const start = tokenizer.bosTokenId ?? tokenizer.eosTokenId;
  const encoded = prompts.map((p, i) => {
    const ids = tokenizer.encode(p);
    if (maxPrompt !== null && ids.length > maxPrompt) return ids.slice(ids.length - maxPrompt);
    if (ids.length > 0) return ids;
    if (start === null) throw new GenerationConfigError(`prompt ${i} is empty and the tokenizer has no BOS or EOS token to start from; give it some text`);
    return [start]; // an empty prompt starts from BOS, as transformers does
  });
  const pad = opts.padTokenId ?? tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
  const out: TextGeneration[] = [];
  for (let first = 0; first < prompts.length; first += batchSize) {
    const chunk = encoded.slice(first, first + batchSize);
    const batch = padBatch(chunk, { padId: pad, side: 'left' });
    const inputIds = tensor(batch.inputIds, { dtype: 'int64' }); // (B, T)
    const attentionMask = tensor(batch.attentionMask, { dtype: 'int64' }); // (B, T)
    try {
      const onToken = opts.onToken;
      const r = generate(model, { inputIds, attentionMask }, {
        ...opts,
        seed: first === 0 ? opts.seed : null, // seeded once: later batches continue the stream
        padTokenId: pad,
        tokenizer,
        onToken: onToken ? (e) => onToken({ ...e, row: e.row + first }) : undefined,
      });
      r.sequences.dispose();
      r.responseMask.dispose();
      opts.onBatch?.(r.timings, first);
      for (let b = 0; b < chunk.length; b++) {
        const tokens = r.responseIds[b] as number[];
        const reason = r.finishReason[b] as FinishReason;
        out.push({
          text: responseText(tokenizer, tokens, reason, opts.stopStrings ?? []),
          promptTokens: chunk[b] as number[],
          tokens,
          logprobs: r.logprobs[b] as number[],
          finishReason: reason,
        });
      }
    } finally {
      inputIds.dispose();
      attentionMask.dispose();
    }
  }
  return out;
}

/** The decoded response: special tokens (EOS) skipped; cut before the first stop string it contains. */
export function responseText(tokenizer: Pick<Tokenizer, 'decode'>, tokens: readonly number[], reason: FinishReason, stopStrings: readonly string[]): string {
  const text = tokenizer.decode(tokens, { skipSpecialTokens: true });
  if (reason !== 'stop') return text;
  let cut = -1;
  for (const s of stopStrings) {
    if (s.length === 0) continue;
    const at = text.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  return cut >= 0 ? text.slice(0, cut) : text;
}

/**
 * The tokenizer to use for a model directory: its own, else GPT-2's built-in one when the model has
 * GPT-2's vocabulary. Otherwise an error that says which files to add.
 */
export function tokenizerFor(dir: string, vocabSize: number, own: Tokenizer | undefined): Tokenizer {
  if (own) return own;
  if (vocabSize === GPT2_VOCAB_SIZE) return gpt2Tokenizer();
  throw new GenerationConfigError(
    `${dir} has no tokenizer files (tokenizer.json, or vocab.json + merges.txt) and its vocabulary (${vocabSize}) is not GPT-2's; copy the tokenizer files of the model it came from into ${dir}`,
  );
}
