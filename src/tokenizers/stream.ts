// Streaming decode: turn ids into text one id at a time, as they are sampled, without ever
// printing half a character. A byte-level token can end in the middle of a UTF-8 sequence ("😀"
// is 4 bytes, and GPT-2 spends 2 or 3 tokens on it); decoding such a prefix ends in U+FFFD, so the
// text before that U+FFFD is released now and the character itself once its last byte arrives.
//
// The decoder re-decodes a short window (the ids since the last release plus the few before it)
// rather than single ids, because some decoders read context: a SentencePiece "▁Hello" only
// becomes " Hello" when something came before it. This is the prefix/read offset scheme of Hugging
// Face's text-generation-inference.

import { TokenizerError } from './errors.js';

/** What a stream decoder needs from a tokenizer. */
export interface Decodes {
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
}

export class StreamDecoder {
  private readonly ids: number[] = [];
  private prefixOffset = 0; // start of the context window
  private readOffset = 0; // the text of ids before this has been released
  private released = 0; // characters of the text after readOffset already released (complete ones before a partial character)

  constructor(
    private readonly tokenizer: Decodes,
    private readonly options: { skipSpecialTokens?: boolean } = {},
  ) {}

  /** Adds one or more ids; returns the text they completed (often '', e.g. after half an emoji). */
  push(ids: number | readonly number[]): string {
    for (const id of typeof ids === 'number' ? [ids] : ids) {
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`StreamDecoder.push: ids must be non-negative integers, got ${id}`);
      this.ids.push(id);
    }
    const tail = this.unreleased();
    // An incomplete character at the end decodes as U+FFFD: release only what comes before it.
    let complete = tail.length;
    while (complete > 0 && tail.charCodeAt(complete - 1) === 0xfffd) complete--;
    if (complete === tail.length && tail.length > 0) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      const out = tail.slice(this.released);
      this.released = 0;
      return out;
    }
    if (complete <= this.released) return '';
    const out = tail.slice(this.released, complete);
    this.released = complete;
    return out;
  }

  /** Ends the stream: returns whatever is still held back (an incomplete character decodes as U+FFFD). */
  end(): string {
    const out = this.unreleased().slice(this.released);
    this.prefixOffset = this.readOffset = this.ids.length;
    this.released = 0;
    return out;
  }

  // The text of the ids after readOffset, decoded in the context of those from prefixOffset on.
  private unreleased(): string {
    const window = this.ids.slice(this.prefixOffset);
    const prefixText = this.tokenizer.decode(window.slice(0, this.readOffset - this.prefixOffset), this.options);
    const newText = this.tokenizer.decode(window, this.options);
    return newText.length > prefixText.length ? newText.slice(prefixText.length) : '';
  }
}
