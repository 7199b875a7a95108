// Byte-level byte-pair encoding (BPE): the model that turns one pre-tokenized piece into ids.
//
// A piece starts as its UTF-8 bytes, one symbol per byte. The merges file is a ranked list of
// pairs ("Ġ t", "Ġ a", "h e", …), learned in order from a corpus. Encoding repeatedly finds the
// adjacent pair with the best (lowest) rank and fuses it into one symbol, until no adjacent pair is
// in the list. Example with GPT-2's merges: " the" = [Ġ, t, h, e] → [Ġt, h, e] → [Ġt, he] → [Ġthe],
// which is id 262.
//
// Everything here works on integer ids, not strings: a pair (a, b) looks up its rank in a small
// hash table, and each rank knows the id of the merged symbol. Pieces repeat a lot in real text
// (" the", " and", "."), so results are cached per piece.

import { BYTE_TO_CHAR, tokenStringToBytes, utf8Bytes } from './byte-level.js';
import { TokenizerError } from './errors.js';

/** What a BPE model is made of: `vocab.json` (token → id) and the merges of `merges.txt`, best first. */
export interface BpeData {
  vocab: ReadonlyMap<string, number>;
  merges: ReadonlyArray<readonly [string, string]>;
}

const NO_RANK = 0x7fffffff;
/** The symbol of a byte the vocabulary lacks: positive (the heap merge marks absorbed symbols −1), never an id, never in a merge. */
const UNKNOWN_BYTE = 0x7ffffffe;
/** Pieces longer than this (in UTF-16 units) are not cached, like Hugging Face's BPE. */
const MAX_CACHED_PIECE = 256;
/** The cache is emptied when it reaches this many pieces, which bounds its memory. */
const CACHE_CAPACITY = 100_000;
/** Up to this many symbols the simple quadratic loop is fastest; longer pieces use a heap. */
const SHORT_WORD = 48;

export class BpeModel {
  /** token string → id, as in `vocab.json`. */
  readonly vocab: ReadonlyMap<string, number>;
  /** The merges, best first, as in `merges.txt`. */
  readonly merges: ReadonlyArray<readonly [string, string]>;
  /** id → token string (undefined for ids the vocabulary skips). */
  readonly idToToken: ReadonlyArray<string | undefined>;

  // Rank table: an open-addressing hash of (left id, right id) → rank.
  private readonly slotLeft: Int32Array;
  private readonly slotRight: Int32Array;
  private readonly slotRank: Int32Array;
  private readonly slotMask: number;
  // rank → left id, right id and the id of the merged symbol.
  private readonly mergeLeft: Int32Array;
  private readonly mergeRight: Int32Array;
  private readonly mergeId: Int32Array;
  // byte → id of the single-byte token (UNKNOWN_BYTE if the vocabulary lacks it).
  private readonly byteId: Int32Array;
  private readonly cache = new Map<string, readonly number[]>();
  /**
   * The id a byte missing from the vocabulary becomes, as transformers' GPT2Tokenizer does
   * (`encoder.get(token, encoder.get(unk_token))`); null: such text cannot be encoded.
   */
  readonly unkId: number | null;

  constructor(data: BpeData, options: { unkId?: number | null } = {}) {
    this.vocab = data.vocab;
    this.merges = data.merges;
    this.unkId = options.unkId ?? null;

    const idToToken: Array<string | undefined> = [];
    for (const [token, id] of data.vocab) idToToken[id] = token;
    this.idToToken = idToToken;

    this.byteId = new Int32Array(256).fill(UNKNOWN_BYTE);
    for (let b = 0; b < 256; b++) this.byteId[b] = data.vocab.get(BYTE_TO_CHAR[b]!) ?? UNKNOWN_BYTE;

    const n = data.merges.length;
    let size = 1;
    while (size < 2 * n + 2) size <<= 1; // load factor ≤ 1/2
    this.slotMask = size - 1;
    this.slotLeft = new Int32Array(size).fill(-1);
    this.slotRight = new Int32Array(size);
    this.slotRank = new Int32Array(size);
    this.mergeLeft = new Int32Array(n);
    this.mergeRight = new Int32Array(n);
    this.mergeId = new Int32Array(n);
    data.merges.forEach(([left, right], rank) => {
      const a = data.vocab.get(left);
      const b = data.vocab.get(right);
      const m = data.vocab.get(left + right);
      if (a === undefined || b === undefined || m === undefined) {
        const missing = a === undefined ? left : b === undefined ? right : left + right;
        throw new TokenizerError(
          `merge ${rank + 1} ("${left} ${right}") uses "${missing}", which is not in the vocabulary; ` +
            'the vocabulary and merges come from different tokenizers',
        );
      }
      this.mergeLeft[rank] = a;
      this.mergeRight[rank] = b;
      this.mergeId[rank] = m;
      this.insertRank(a, b, rank);
    });
  }

  /** The bytes the vocabulary has no single-byte token for (they encode as unkId). */
  missingBytes(): number[] {
    const out: number[] = [];
    for (let b = 0; b < 256; b++) if (this.byteId[b] === UNKNOWN_BYTE) out.push(b);
    return out;
  }

  /** Number of merges (the rank of the last merge + 1). */
  get mergeCount(): number {
    return this.merges.length;
  }

  /** The rank of merging ids `a` and `b`, or undefined when the pair is not a merge. */
  rankOf(a: number, b: number): number | undefined {
    const r = this.rank(a, b);
    return r === NO_RANK ? undefined : r;
  }

  /** Ids of one pre-tokenized piece of text (cached). */
  encodePiece(piece: string): readonly number[] {
    const hit = this.cache.get(piece);
    if (hit !== undefined) return hit;
    const symbols = this.initialSymbols(piece);
    let ids = this.bpe(symbols);
    if (symbols.includes(UNKNOWN_BYTE)) ids = this.unknownToUnk(piece, ids);
    if (piece.length <= MAX_CACHED_PIECE) {
      if (this.cache.size >= CACHE_CAPACITY) this.cache.clear();
      this.cache.set(piece, ids);
    }
    return ids;
  }

  /** The bytes an id stands for, or null when the id is unknown or is not made of byte stand-ins. */
  bytesOf(id: number): Uint8Array | null {
    const token = this.idToToken[id];
    return token === undefined ? null : tokenStringToBytes(token);
  }

  /**
   * The reference algorithm, as in GPT-2's encoder.py: find the best pair, merge every occurrence
   * left to right, repeat. Quadratic in the piece length; used for short pieces and by tests as the
   * yardstick for the heap version.
   */
  mergeNaive(symbols: number[]): number[] {
    const word = symbols.slice();
    let n = word.length;
    while (n > 1) {
      let best = NO_RANK;
      for (let i = 0; i + 1 < n; i++) {
        const r = this.rank(word[i]!, word[i + 1]!);
        if (r < best) best = r;
      }
      if (best === NO_RANK) break;
      const a = this.mergeLeft[best]!;
      const b = this.mergeRight[best]!;
      const m = this.mergeId[best]!;
      let out = 0;
      for (let i = 0; i < n; ) {
        if (i + 1 < n && word[i] === a && word[i + 1] === b) {
          word[out++] = m;
          i += 2;
        } else {
          word[out++] = word[i++]!;
        }
      }
      n = out;
    }
    word.length = n;
    return word;
  }

  /**
   * The same merges in O(n log n): symbols form a linked list and candidate pairs sit in a min-heap
   * keyed by (rank, position), so the leftmost best pair is always merged first, as in Hugging
   * Face's Rust BPE. Stale heap entries (a neighbour changed) are skipped when popped.
   */
  mergeHeap(symbols: number[]): number[] {
    const n = symbols.length;
    if (n === 0) return [];
    const sym = Int32Array.from(symbols);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    // Heap entries pack (rank, position) into one number: rank * 2^26 + position.
    const POS = 2 ** 26;
    if (n >= POS) throw new TokenizerError(`a single piece of ${n} bytes is too long to encode; split the text`);
    const heap = new MinHeap();
    const push = (i: number): void => {
      const j = next[i]!;
      if (j < 0) return;
      const r = this.rank(sym[i]!, sym[j]!);
      if (r !== NO_RANK) heap.push(r * POS + i);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const key = heap.pop();
      const i = key % POS;
      const r = (key - i) / POS;
      const j = next[i]!;
      // Skip entries made stale by an earlier merge: i was absorbed (sym -1) or its pair changed.
      if (sym[i]! < 0 || j < 0 || this.rank(sym[i]!, sym[j]!) !== r) continue;
      sym[i] = this.mergeId[r]!; // i absorbs j
      sym[j] = -1;
      const k = next[j]!;
      next[i] = k;
      if (k >= 0) prev[k] = i;
      if (prev[i]! >= 0) push(prev[i]!);
      push(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!); // position 0 is never absorbed
    return out;
  }

  private bpe(symbols: number[]): number[] {
    return symbols.length <= SHORT_WORD ? this.mergeNaive(symbols) : this.mergeHeap(symbols);
  }

  // The single-byte ids of a piece's UTF-8 bytes (ASCII pieces skip the UTF-8 encoder).
  private initialSymbols(piece: string): number[] {
    const out = new Array<number>(piece.length);
    let ascii = true;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      out[i] = this.symbolOfByte(c);
    }
    if (ascii) return out;
    return Array.from(utf8Bytes(piece), (b) => this.symbolOfByte(b));
  }

  private symbolOfByte(b: number): number {
    return this.byteId[b]!;
  }

  // A byte the vocabulary lacks is a symbol no merge uses (merges only name vocabulary tokens), so
  // it comes out of BPE alone and becomes the unknown token, one per byte, as in GPT2Tokenizer.
  private unknownToUnk(piece: string, ids: readonly number[]): number[] {
    const unk = this.unkId;
    if (unk === null) {
      const at = ids.indexOf(UNKNOWN_BYTE);
      const bytes = utf8Bytes(piece);
      const b = bytes.find((x) => this.byteId[x] === UNKNOWN_BYTE) ?? 0;
      throw new TokenizerError(
        `the vocabulary has no token for byte 0x${b.toString(16).padStart(2, '0')} ("${BYTE_TO_CHAR[b]}", in ${JSON.stringify(piece)}, symbol ${at + 1}) and the tokenizer names no unk_token to map it to, so this text cannot be encoded; ` +
          'set "unk_token" in tokenizer_config.json to a token of the vocabulary, or remove the character from the text',
      );
    }
    return ids.map((id) => (id === UNKNOWN_BYTE ? unk : id));
  }

  // Hash of a pair of non-negative ids into the slot table (multiplicative hashing).
  private slotOf(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) & this.slotMask;
  }

  private insertRank(a: number, b: number, rank: number): void {
    for (let s = this.slotOf(a, b); ; s = (s + 1) & this.slotMask) {
      if (this.slotLeft[s] === -1) {
        this.slotLeft[s] = a;
        this.slotRight[s] = b;
        this.slotRank[s] = rank;
        return;
      }
      if (this.slotLeft[s] === a && this.slotRight[s] === b) return; // a repeated merge keeps its first rank
    }
  }

  private rank(a: number, b: number): number {
    for (let s = this.slotOf(a, b); ; s = (s + 1) & this.slotMask) {
      const left = this.slotLeft[s]!;
      if (left === -1) return NO_RANK;
      if (left === a && this.slotRight[s] === b) return this.slotRank[s]!;
    }
  }
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(x: number): void {
    const h = this.items;
    let i = h.length;
    h.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]! <= x) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = x;
  }

  pop(): number {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]! < h[l]! ? r : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/** `vocab.json` contents → a Map, checking every id is an integer (`where` names the file in errors). */
export function vocabFromObject(obj: Readonly<Record<string, unknown>>, where: string): Map<string, number> {
  const vocab = new Map<string, number>();
  for (const token in obj) {
    const id = obj[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerError(`${where}: ${JSON.stringify(token)} must map to a non-negative integer id, got ${JSON.stringify(id)}`);
    }
    vocab.set(token, id);
  }
  return vocab;
}

/** Parses `merges.txt`: an optional "#version" line, then one "left right" pair per line. */
export function parseMerges(text: string, file = 'merges.txt'): Array<[string, string]> {
  const merges: Array<[string, string]> = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new TokenizerError(`${file} line ${i + 1}: expected "left right" (two tokens and one space), got ${JSON.stringify(line)}`);
    }
    merges.push([parts[0]!, parts[1]!]);
  });
  return merges;
}

/** Writes `merges.txt` in the format GPT-2 and Hugging Face use. */
export function formatMerges(merges: ReadonlyArray<readonly [string, string]>): string {
  return '#version: 0.2\n' + merges.map(([a, b]) => `${a} ${b}\n`).join('');
}
