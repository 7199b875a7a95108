// Generation: batched sampling with a KV cache, logits processors, stopping, text in / text out.
//
//   import { generate, generateText, loadForGeneration } from '../generation/index.js';
//   const out = generate(model, { inputIds, attentionMask }, { maxNewTokens: 64, temperature: 0.7, topP: 0.9, seed: 0 });
//   const [r] = generateText(model, tokenizer, ['Hello'], { greedy: true, maxNewTokens: 16 });
import { loadPretrained } from '../models/checkpoint.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { generateText, tokenizerFor } from './text.js';
import { prepareForInference } from './generate.js';

export { generate, prepareForInference, GenerationConfigError, NonFiniteLogitsError } from './generate.js';
export type { GenerateOptions, GenerateInput, GenerateOutput, GenerationTimings, GenerationDType, TokenEvent } from './generate.js';
export { generateText, responseText, tokenizerFor } from './text.js';
export type { TextGeneration, TextGenerationOptions } from './text.js';
export { bestOfN, selectBestOfN, candidateSeed, BestOfNError } from './best-of-n.js';
export type { BestOfNOptions, BestOfNPick, BestOfNResult, ScoreFn } from './best-of-n.js';
export { temperature, topK, topP, repetitionPenalty, penalizeSeen, seenTokens, LogitsProcessorError } from './logits-processors.js';
export { sampleCategorical } from './sample.js';
export { StoppingCriteria, StoppingError } from './stopping.js';
export type { FinishReason, StoppingOptions } from './stopping.js';

/** What the feedback studio's generation worker calls (see src/feedback/generation-worker.ts). */
export interface TextGenerator {
  generate(prompts: string[], opts: { maxNewTokens: number; temperature: number; topP?: number; seed?: number }): Promise<string[]>;
  dispose(): void;
}

/**
 * Loads a model directory for text generation: the model and its tokenizer (GPT-2's built-in one
 * when the directory has none and the vocabulary is GPT-2's). `generate` samples (greedy at temperature 0), stops at EOS,
 * and returns one continuation per prompt.
 */
export async function loadForGeneration(dir: string): Promise<TextGenerator> {
  const { model, tokenizer } = await loadPretrained(dir);
  let tok: Tokenizer;
  try {
    tok = tokenizerFor(dir, model.config.vocab_size, tokenizer);
    prepareForInference(model); // laid out for decoding once, not per request
  } catch (err) {
    model.dispose();
    throw err;
  }
  let disposed = false;
  return {
    async generate(prompts, opts) {
      if (disposed) throw new Error(`the model from ${dir} was disposed; load it again with loadForGeneration`);
      const results = generateText(model, tok, prompts, {
        maxNewTokens: opts.maxNewTokens,
        temperature: opts.temperature,
        topP: opts.topP ?? null,
        seed: opts.seed ?? null,
        eosTokenId: tok.eosTokenId ?? model.config.eos_token_id,
      });
      return results.map((r) => r.text);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}
