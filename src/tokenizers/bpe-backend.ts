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
  /** The id of a byte the vocabulary lacks (the unk token's), as transformers maps it; null or absent: an error. */
  unkId?: number | null;
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
  private readonly idBytes: Array<Uint8Array | null | undefined> = []; // decode cache, filled on first use
  // Invalid bytes become U+FFFD, like Rust's from_utf8_lossy; a leading BOM is text, not a marker.
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(data: BpeData | BpeModel, options: ByteLevelBpeOptions = {}) {
    this.model = data instanceof BpeModel ? data : new BpeModel(data, { unkId: options.unkId ?? null });
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
    let buf = new Uint8Array(ids.length * 4 + 16);
    let n = 0;
    for (const id of ids) {
      const bytes = this.bytesOf(id);
      if (bytes === null) continue; // unknown id: skipped, as Hugging Face does
      if (n + bytes.length > buf.length) {
        const bigger = new Uint8Array(2 * (n + bytes.length));
        bigger.set(buf.subarray(0, n));
        buf = bigger;
      }
      for (let i = 0; i < bytes.length; i++) buf[n++] = bytes[i]!;
    }
    return this.utf8.decode(buf.subarray(0, n));
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
    const known = this.idBytes[id];
    if (known !== undefined) return known;
    const added = this.addedById.get(id);
    const token = this.model.idToToken[id];
    let bytes: Uint8Array | null = null;
    if (added !== undefined) bytes = utf8Bytes(added.content);
    else if (token !== undefined) bytes = this.model.bytesOf(id) ?? utf8Bytes(token);
    if (Number.isInteger(id) && id >= 0 && id < this.vocabSize) this.idBytes[id] = bytes;
    return bytes;
  }
}
