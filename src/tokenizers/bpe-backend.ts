// Our byte-level BPE tokenizer, text in and ids out:
//   1. cut out added tokens ("<|endoftext|>" → 50256) from the raw text;
//   2. cut the rest into pieces with GPT-2's regex (byte-level.ts);
//   3. run BPE on each piece's bytes (bpe.ts).
// Decoding concatenates the bytes of every id and reads them as UTF-8.

import type { AddedToken } from './added-tokens.js';
import { AddedTokenSplitter } from './added-tokens.js';
import type { TokenizerBackend } from './backend.js';
import type { BpeData } from './bpe.js';
import { BpeModel } from './bpe.js';
import { forEachPiece, utf8Bytes } from './byte-level.js';

export interface ByteLevelBpeOptions {
  /** Tokens matched whole in text before BPE, e.g. `{ content: '<|endoftext|>', id: 50256, special: true }`. */
  addedTokens?: readonly AddedToken[];
  /** Ids put before every sequence when special tokens are added (a BOS, for models that want one). */
  prefixIds?: readonly number[];
  /** Ids put after every sequence when special tokens are added (an EOS, for models that want one). */
  suffixIds?: readonly number[];
}

export class ByteLevelBpeBackend implements TokenizerBackend {
  readonly kind = 'byte-level-bpe';
  readonly model: BpeModel;
  readonly addedTokens: readonly AddedToken[];
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];
  readonly vocabSize: number;
  private readonly splitter: AddedTokenSplitter;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  // Invalid bytes become U+FFFD, like Rust's from_utf8_lossy; a leading BOM is text, not a marker.
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(data: BpeData | BpeModel, options: ByteLevelBpeOptions = {}) {
    this.model = data instanceof BpeModel ? data : new BpeModel(data);
    this.addedTokens = options.addedTokens ?? [];
    this.prefixIds = options.prefixIds ?? [];
    this.suffixIds = options.suffixIds ?? [];
    this.splitter = new AddedTokenSplitter(this.addedTokens);
    let maxId = this.model.idToToken.length - 1;
    for (const t of this.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      maxId = Math.max(maxId, t.id);
    }
    this.vocabSize = maxId + 1;
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    const ids: number[] = addSpecialTokens ? [...this.prefixIds] : [];
    const pushPiece = (piece: string): void => {
      for (const id of this.model.encodePiece(piece)) ids.push(id);
    };
    for (const segment of this.splitter.split(text)) {
      if (typeof segment === 'string') forEachPiece(segment, pushPiece);
      else ids.push(segment.id);
    }
    if (addSpecialTokens) ids.push(...this.suffixIds);
    return ids;
  }

  decode(ids: readonly number[]): string {
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      const bytes = this.bytesOf(id);
      if (bytes === null) continue; // unknown id: skipped, as Hugging Face does
      chunks.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let offset = 0;
    for (const c of chunks) {
      all.set(c, offset);
      offset += c.length;
    }
    return this.utf8.decode(all);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken[id];
  }

  // The bytes of one id: an added token is its text as is; a vocabulary token maps its stand-in
  // characters back to bytes (a token with other characters is taken as plain text, as HF does).
  private bytesOf(id: number): Uint8Array | null {
    const added = this.addedById.get(id);
    if (added !== undefined) return utf8Bytes(added.content);
    const bytes = this.model.bytesOf(id);
    if (bytes !== null) return bytes;
    const token = this.model.idToToken[id];
    return token === undefined ? null : utf8Bytes(token);
  }
}
