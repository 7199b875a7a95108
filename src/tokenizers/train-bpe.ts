// Training a byte-level BPE tokenizer (GPT-2 style) on a corpus, so a small model trained from
// scratch can have a vocabulary of a few thousand tokens instead of GPT-2's 50,257.
//
//   const tok = trainByteLevelBpe(texts, { vocabSize: 2000 });
//   saveTokenizer(tok, 'out/tokenizer');   // tokenizer.json, vocab.json, merges.txt, tokenizer_config.json
//
// The algorithm (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword
// Units", on bytes as in GPT-2, Radford et al. 2019):
//   1. cut the texts into pieces with GPT-2's pre-tokenization regex and count each distinct piece
//      ("word"); special tokens found in the texts are cut out and not learned from;
//   2. every word starts as its UTF-8 bytes: the 256 byte symbols are ids 0–255, id b for byte b,
//      written as GPT-2's stand-in characters (byte 0x20 is "Ġ");
//   3. repeatedly merge the most frequent adjacent pair of symbols, counted over words × their
//      frequency, into a new symbol; ties go to the pair whose left token string is smallest, then
//      whose right one is (JavaScript string order), so training is deterministic;
//   4. stop when the vocabulary is full or no pair occurs `minFrequency` times.
// Pair counts are kept up to date incrementally: a merge only revisits the words that contain its
// pair (an index pair → words), and a max-heap with lazy deletion finds the next best pair.
//
// Ids: 0–255 the bytes, then the merged tokens in the order they were learned, then the special
// tokens. With the default `specialTokens: ['<|endoftext|>']` and a corpus rich enough to fill the
// vocabulary, '<|endoftext|>' is id vocabSize − 1, as 50256 is in GPT-2; with a small corpus the
// vocabulary stops short and the special tokens come right after the last merge. The first special
// token is bos = eos = unk = pad, as in the GPT-2 tokenizer; any others are additional special tokens.

import type { AddedToken } from './added-tokens.js';
import { AddedTokenSplitter } from './added-tokens.js';
import { ByteLevelBpeBackend } from './bpe-backend.js';
import type { BpeData } from './bpe.js';
import { BYTE_TO_CHAR, forEachPiece, utf8Bytes } from './byte-level.js';
import { TokenizerError } from './errors.js';
import { GPT2_EOS_TOKEN } from './gpt2.js';
import type { Tokenizer } from './tokenizer.js';
import { createTokenizer } from './tokenizer.js';

export interface TrainBpeOptions {
  /** The whole vocabulary: 256 bytes + learned merges + special tokens (an upper bound; a small corpus may give fewer). */
  vocabSize: number;
  /** Tokens matched whole in text and never split; the first is bos/eos/unk/pad. Default ['<|endoftext|>']. */
  specialTokens?: readonly string[];
  /** A pair is merged only if it occurs at least this many times (as Hugging Face's BpeTrainer). Default 2. */
  minFrequency?: number;
  /** The tokenizer's `modelMaxLength` (the model's context length). Default: none (Infinity). */
  modelMaxLength?: number;
}

/** Ids must fit a pair into one exact double: key = left · 2^21 + right. */
const PAIR_BASE = 2 ** 21;

/**
 * Learns a byte-level BPE vocabulary and merges from `texts` (steps 1–4 above). The vocabulary holds
 * the bytes, the merged tokens and the special tokens, in id order.
 */
export function learnByteLevelBpe(texts: readonly string[], options: TrainBpeOptions): BpeData {
  const specials = options.specialTokens ?? [GPT2_EOS_TOKEN];
  const minFrequency = options.minFrequency ?? 2;
  validate(options.vocabSize, specials, minFrequency);
  const tokenBudget = options.vocabSize - specials.length; // bytes + merged tokens

  // 1. Word frequencies.
  const splitter = new AddedTokenSplitter(specials.map((content, id) => ({ content, id, special: true })));
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const segment of splitter.split(text)) {
      if (typeof segment === 'string') forEachPiece(segment, (piece) => wordCounts.set(piece, (wordCounts.get(piece) ?? 0) + 1));
    }
  }

  // 2. Words as byte symbols.
  const tokens: string[] = [...BYTE_TO_CHAR]; // id → token string
  const idOfToken = new Map<string, number>(tokens.map((t, id) => [t, id]));
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, count] of wordCounts) {
    words.push(Array.from(utf8Bytes(piece)));
    freqs.push(count);
  }

  // Pair counts over all words, and for each pair the words it occurs in (never pruned: a word
  // listed for a pair it no longer has is simply skipped when visited).
  const pairCount = new Map<number, number>();
  const wordsWithPair = new Map<number, Set<number>>();
  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.length; i++) {
      const key = word[i]! * PAIR_BASE + word[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + freqs[w]!);
      let set = wordsWithPair.get(key);
      if (set === undefined) wordsWithPair.set(key, (set = new Set()));
      set.add(w);
    }
  });
  const heap = new PairHeap(tokens);
  for (const [key, count] of pairCount) heap.push(key, count);

  // 3. Merge the best pair until the vocabulary is full.
  const merges: Array<[string, string]> = [];
  while (tokens.length < tokenBudget && heap.size > 0) {
    const { key, count } = heap.pop();
    if ((pairCount.get(key) ?? 0) !== count) continue; // stale: the count changed after this entry was pushed
    if (count < minFrequency) break; // 4. nothing frequent enough is left
    const a = Math.floor(key / PAIR_BASE);
    const b = key - a * PAIR_BASE;
    const left = tokens[a]!;
    const right = tokens[b]!;
    const mergedToken = left + right;
    let m = idOfToken.get(mergedToken); // two merges can spell the same token ("ab c", "a bc"): one id
    if (m === undefined) {
      if (specials.includes(mergedToken)) {
        throw new TokenizerError(
          `trainByteLevelBpe: the corpus teaches the token ${JSON.stringify(mergedToken)}, which is also a special token; ` +
            'use special tokens that cannot occur as text, such as "<|pad|>"',
        );
      }
      m = tokens.length;
      tokens.push(mergedToken);
      idOfToken.set(mergedToken, m);
    }
    merges.push([left, right]);

    // Re-count only the words that contain (a, b): remove their old pairs, merge, add the new pairs.
    const delta = new Map<number, number>();
    for (const w of wordsWithPair.get(key)!) {
      const word = words[w]!;
      const f = freqs[w]!;
      const merged = mergePair(word, a, b, m);
      if (merged === null) continue;
      for (let i = 0; i + 1 < word.length; i++) {
        const k = word[i]! * PAIR_BASE + word[i + 1]!;
        delta.set(k, (delta.get(k) ?? 0) - f);
      }
      for (let i = 0; i + 1 < merged.length; i++) {
        const k = merged[i]! * PAIR_BASE + merged[i + 1]!;
        delta.set(k, (delta.get(k) ?? 0) + f);
        let set = wordsWithPair.get(k);
        if (set === undefined) wordsWithPair.set(k, (set = new Set()));
        set.add(w);
      }
      words[w] = merged;
    }
    for (const [k, d] of delta) {
      if (d === 0 || k === key) continue;
      const c = (pairCount.get(k) ?? 0) + d;
      if (c > 0) {
        pairCount.set(k, c);
        heap.push(k, c);
      } else {
        pairCount.delete(k);
      }
    }
    pairCount.delete(key); // every occurrence of (a, b) is merged now
    wordsWithPair.delete(key);
  }

  const vocab = new Map<string, number>(tokens.map((t, id) => [t, id]));
  specials.forEach((s, i) => vocab.set(s, tokens.length + i));
  return { vocab, merges };
}

/**
 * Trains a byte-level BPE tokenizer on `texts` (see the top of this file): GPT-2's pre-tokenization,
 * byte fallback (any text encodes, and `decode(encode(x)) === x`), the special tokens as added
 * tokens after the learned ones, bos = eos = unk = pad = the first special token. `saveTokenizer`
 * writes it as a standard Hugging Face tokenizer (tokenizer.json, vocab.json, merges.txt).
 */
export function trainByteLevelBpe(texts: readonly string[], options: TrainBpeOptions): Tokenizer {
  const specials = options.specialTokens ?? [GPT2_EOS_TOKEN];
  const data = learnByteLevelBpe(texts, options);
  const addedTokens: AddedToken[] = specials.map((content) => ({ content, id: data.vocab.get(content)!, special: true }));
  const main = specials[0] ?? null;
  return createTokenizer(new ByteLevelBpeBackend(data, { addedTokens }), {
    name: `byte-level BPE (${data.vocab.size} tokens, trained on ${texts.length} texts)`,
    bosToken: main,
    eosToken: main,
    unkToken: main,
    additionalSpecialTokens: specials.slice(1),
    modelMaxLength: options.modelMaxLength,
    tokenizerClass: 'GPT2Tokenizer',
  });
}

function validate(vocabSize: number, specials: readonly string[], minFrequency: number): void {
  const min = 256 + specials.length;
  if (!Number.isInteger(vocabSize) || vocabSize < min || vocabSize > PAIR_BASE) {
    throw new TokenizerError(
      `trainByteLevelBpe: vocabSize must be an integer from ${min} (256 bytes + ${specials.length} special tokens) to ${PAIR_BASE}, got ${vocabSize}`,
    );
  }
  if (new Set(specials).size !== specials.length || specials.some((s) => s === '')) {
    throw new TokenizerError(`trainByteLevelBpe: specialTokens must be distinct non-empty strings, got ${JSON.stringify(specials)}`);
  }
  const bytes = new Set(BYTE_TO_CHAR);
  const clash = specials.find((s) => bytes.has(s));
  if (clash !== undefined) throw new TokenizerError(`trainByteLevelBpe: the special token ${JSON.stringify(clash)} is a byte token; pick another, such as "<|pad|>"`);
  if (!Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new TokenizerError(`trainByteLevelBpe: minFrequency must be a positive integer, got ${minFrequency}`);
  }
}

/** `word` with every (a, b) fused into m, left to right; null when it has no (a, b). */
function mergePair(word: readonly number[], a: number, b: number, m: number): number[] | null {
  let out: number[] | null = null;
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
      out ??= word.slice(0, i);
      out.push(m);
      i++;
    } else if (out !== null) {
      out.push(word[i]!);
    }
  }
  return out;
}

/**
 * A max-heap of (pair, count) entries: highest count first, ties to the smaller left token string,
 * then the smaller right one. Entries are never updated in place: a changed count is pushed again
 * and the old entry is recognised as stale when popped.
 */
class PairHeap {
  private readonly keys: number[] = [];
  private readonly counts: number[] = [];

  constructor(private readonly tokens: readonly string[]) {}

  get size(): number {
    return this.keys.length;
  }

  push(key: number, count: number): void {
    let i = this.keys.length;
    this.keys.push(key);
    this.counts.push(count);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(key, count, this.keys[parent]!, this.counts[parent]!)) break;
      this.keys[i] = this.keys[parent]!;
      this.counts[i] = this.counts[parent]!;
      i = parent;
    }
    this.keys[i] = key;
    this.counts[i] = count;
  }

  pop(): { key: number; count: number } {
    const top = { key: this.keys[0]!, count: this.counts[0]! };
    const lastKey = this.keys.pop()!;
    const lastCount = this.counts.pop()!;
    const n = this.keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.before(this.keys[r]!, this.counts[r]!, this.keys[l]!, this.counts[l]!) ? r : l;
        if (!this.before(this.keys[c]!, this.counts[c]!, lastKey, lastCount)) break;
        this.keys[i] = this.keys[c]!;
        this.counts[i] = this.counts[c]!;
        i = c;
      }
      this.keys[i] = lastKey;
      this.counts[i] = lastCount;
    }
    return top;
  }

  // Whether entry x comes out before entry y.
  private before(xKey: number, xCount: number, yKey: number, yCount: number): boolean {
    if (xCount !== yCount) return xCount > yCount;
    if (xKey === yKey) return false;
    const xa = Math.floor(xKey / PAIR_BASE);
    const ya = Math.floor(yKey / PAIR_BASE);
    const xLeft = this.tokens[xa]!;
    const yLeft = this.tokens[ya]!;
    if (xLeft !== yLeft) return xLeft < yLeft;
    return this.tokens[xKey - xa * PAIR_BASE]! < this.tokens[yKey - ya * PAIR_BASE]!;
  }
}
