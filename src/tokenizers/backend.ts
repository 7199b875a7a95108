// The part of a tokenizer that differs between implementations: text ↔ ids. Everything shared
// (special-token ids, padding, truncation, chat templates, streaming) lives in `Tokenizer`.
//   - `ByteLevelBpeBackend` (bpe-backend.ts): our byte-level BPE (GPT-2, and any vocab.json + merges.txt).
//   - `HfBackend` (hf.ts): any `tokenizer.json`, through `@huggingface/tokenizers`.

import type { AddedToken } from './added-tokens.js';

export interface TokenizerBackend {
  /** Which implementation this is. */
  readonly kind: 'byte-level-bpe' | 'hf-tokenizers';
  /** One more than the largest id (vocabulary and added tokens): the rows an embedding needs. */
  readonly vocabSize: number;
  /** The added tokens (those found whole in text), special or not. */
  readonly addedTokens: readonly AddedToken[];
  /** Text → ids. `addSpecialTokens` adds what the tokenizer adds around a sequence (e.g. a BOS). */
  encode(text: string, addSpecialTokens: boolean): number[];
  /** Ids → text, every id kept. Ids the tokenizer does not know are skipped, as Hugging Face does. */
  decode(ids: readonly number[]): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}
