// Reference-based text metrics for generated responses (BLEU, ROUGE-L), a diversity metric (distinct-n), and
// seeded input perturbations for robustness curves. Plain strings in, numbers out; no tensors.
//
// Tokenisation (`tokenize`), the same for every metric unless its options say otherwise:
//   - a token is a number with inner '.' or ',' ("3.14", "1,000"), a run of letters/digits/marks/underscore
//     ("don", "GPT2", "naïve"), or one punctuation or symbol character ("'", ".", "$");
//   - so whitespace separates tokens and punctuation is split off words: "don't stop." → don ' t stop .
//   - `lowercase` folds case; `punctuation: 'drop'` keeps only the word and number tokens.
// BLEU uses it case-sensitive with punctuation kept (like sacrebleu's default), ROUGE-L lowercased with
// punctuation dropped (like Google's rouge-score: lowercase, non-alphanumerics removed), distinct-n the same
// as ROUGE-L. Scores therefore differ slightly from tools that tokenise otherwise (sacrebleu's 13a keeps
// "don't"-style contractions split the same way, but also escapes a few HTML entities).
import { mulberry32, permutation, randInt, shuffleInPlace } from '../data/rng.js';
import type { Rng } from '../data/rng.js';

// ----- tokenisation -------------------------------------------------------------------------------------------

export interface TokenizeOptions {
  /** Fold to lower case before splitting. */
  lowercase?: boolean;
  /** 'split': punctuation characters become tokens; 'drop': they are removed. */
  punctuation?: 'split' | 'drop';
}

const TOKEN = /\p{N}+(?:[.,]\p{N}+)+|[\p{L}\p{N}\p{M}_]+|[^\s\p{L}\p{N}\p{M}_]/gu;
const WORDLIKE = /[\p{L}\p{N}]/u;

/** Splits text into tokens as described at the top of this file. */
export function tokenize(text: string, options: TokenizeOptions = {}): string[] {
  const s = options.lowercase ? text.normalize('NFC').toLowerCase() : text.normalize('NFC');
  const tokens = s.match(TOKEN) ?? [];
  return options.punctuation === 'drop' ? tokens.filter((t) => WORDLIKE.test(t)) : tokens;
}

/** Counts of the n-grams of `tokens` (keys join the tokens with U+0000). */
export function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

// ----- BLEU ---------------------------------------------------------------------------------------------------

export interface BleuOptions {
  /** Longest n-gram order N; weights are uniform, w_n = 1/N. Default 4 (BLEU-4). */
  maxOrder?: number;
  /**
   * 'none': the paper's BLEU (any order without a match makes the score 0). 'add-one': BLEU+1 of Lin & Och
   * (2004), adding 1 to the matches and to the total of every order n ≥ 2 (unigrams stay unsmoothed), the
   * usual choice for sentence-level scores. Default 'none'.
   */
  smoothing?: 'none' | 'add-one';
  /** Case-insensitive matching. Default false (as sacrebleu). */
  lowercase?: boolean;
}

export interface BleuResult {
  /** BLEU in [0, 1] (multiply by 100 for the scale sacrebleu prints). */
  bleu: number;
  /** Modified n-gram precisions p_1 … p_N, after smoothing. */
  precisions: number[];
  /** Clipped n-gram matches per order (before smoothing). */
  matches: number[];
  /** Hypothesis n-grams per order (before smoothing). */
  totals: number[];
  /** BP = 1 if c > r, else exp(1 − r/c). */
  brevityPenalty: number;
  /** c: total hypothesis length in tokens. */
  hypLength: number;
  /** r: sum over sentences of the reference length closest to the hypothesis length (the shorter on a tie). */
  refLength: number;
}

/**
 * Modified n-gram precision (Papineni et al. 2002, §2.1) of one hypothesis: each hypothesis n-gram counts at
 * most as often as it occurs in any single reference, Count_clip = min(Count, max_ref Count_ref).
 */
export function modifiedPrecision(hypothesis: readonly string[], references: ReadonlyArray<readonly string[]>, n: number): { matches: number; total: number } {
  const hyp = ngramCounts(hypothesis, n);
  const maxRef = new Map<string, number>();
  for (const ref of references) {
    for (const [g, c] of ngramCounts(ref, n)) if (c > (maxRef.get(g) ?? 0)) maxRef.set(g, c);
  }
  let matches = 0, total = 0;
  for (const [g, c] of hyp) {
    matches += Math.min(c, maxRef.get(g) ?? 0);
    total += c;
  }
  return { matches, total };
}

/**
 * Corpus BLEU (Papineni et al. 2002): BLEU = BP · exp(Σ_n w_n log p_n), with p_n the corpus-level modified
 * precision (clipped matches summed over all sentences / hypothesis n-grams summed over all sentences),
 * w_n = 1/N, and BP = exp(1 − r/c) when c ≤ r (c = hypothesis tokens, r = effective reference length, the sum
 * of each sentence's closest reference length). `references[i]` are the references of `hypotheses[i]`.
 */
export function corpusBleu(hypotheses: readonly string[], references: ReadonlyArray<readonly string[]>, options: BleuOptions = {}): BleuResult {
  if (hypotheses.length !== references.length) {
    throw new RangeError(`corpusBleu: ${hypotheses.length} hypotheses but ${references.length} reference lists; pass one list of references per hypothesis`);
  }
  const N = options.maxOrder ?? 4;
  if (!(Number.isInteger(N) && N >= 1)) throw new RangeError(`corpusBleu: maxOrder must be a positive integer, got ${N}`);
  const tok: TokenizeOptions = { lowercase: options.lowercase ?? false, punctuation: 'split' };
  const matches = new Array<number>(N).fill(0);
  const totals = new Array<number>(N).fill(0);
  let c = 0, r = 0;
  hypotheses.forEach((h, i) => {
    const refs = references[i]!;
    if (refs.length === 0) throw new RangeError(`corpusBleu: hypothesis ${i} has no references; give at least one`);
    const hyp = tokenize(h, tok);
    const refToks = refs.map((x) => tokenize(x, tok));
    c += hyp.length;
    r += closestRefLength(hyp.length, refToks.map((x) => x.length));
    for (let n = 1; n <= N; n++) {
      const m = modifiedPrecision(hyp, refToks, n);
      matches[n - 1]! += m.matches;
      totals[n - 1]! += m.total;
    }
  });

  // p_n, smoothed for n ≥ 2 when asked (Lin & Och 2004)
  const addOne = options.smoothing === 'add-one';
  const precisions = matches.map((m, k) => {
    const plus = addOne && k > 0 ? 1 : 0;
    const t = totals[k]! + plus;
    return t === 0 ? 0 : (m + plus) / t;
  });
  const brevityPenalty = c === 0 ? 0 : c > r ? 1 : Math.exp(1 - r / c);
  const logMean = precisions.some((p) => p === 0) ? -Infinity : precisions.reduce((s, p) => s + Math.log(p) / N, 0);
  return { bleu: brevityPenalty * Math.exp(logMean), precisions, matches, totals, brevityPenalty, hypLength: c, refLength: r };
}

/** BLEU of one hypothesis against its references: corpus BLEU of a one-sentence corpus. */
export function sentenceBleu(hypothesis: string, references: readonly string[], options: BleuOptions = {}): BleuResult {
  return corpusBleu([hypothesis], [references], options);
}

/** The reference length closest to c; on a tie the shorter one (as NLTK and sacrebleu). */
export function closestRefLength(c: number, refLengths: readonly number[]): number {
  let best = refLengths[0]!;
  for (const len of refLengths) {
    const d = Math.abs(len - c), bd = Math.abs(best - c);
    if (d < bd || (d === bd && len < best)) best = len;
  }
  return best;
}

// ----- ROUGE-L ------------------------------------------------------------------------------------------------

export interface RougeLOptions {
  /**
   * β of F_lcs = (1 + β²)·R·P / (R + β²·P). Lin (2004) sets β = P/R → ∞ (recall only) for DUC; rouge-score
   * and most papers today report the F1, β = 1, which is the default here.
   */
  beta?: number;
  /** Default true (rouge-score lowercases). */
  lowercase?: boolean;
}

export interface RougeScore {
  /** LCS / hypothesis length. */
  precision: number;
  /** LCS / reference length. */
  recall: number;
  /** F_β of the two (0 when the LCS is empty). */
  f: number;
}

/** Length of the longest common subsequence of two token sequences (dynamic programming, O(m·n) time, O(n) memory). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * Sentence-level ROUGE-L (Lin 2004, §3.1): R = LCS(X, Y)/m, P = LCS(X, Y)/n for reference X of m tokens and
 * hypothesis Y of n tokens, F = (1 + β²)RP/(R + β²P). With several references the one with the highest F is
 * reported (as rouge-score's score_multi). Text is tokenised lowercased with punctuation dropped.
 */
export function rougeL(hypothesis: string, references: string | readonly string[], options: RougeLOptions = {}): RougeScore {
  const beta = options.beta ?? 1;
  if (!(beta > 0)) throw new RangeError(`rougeL: beta must be positive, got ${beta}`);
  const refs = typeof references === 'string' ? [references] : references;
  if (refs.length === 0) throw new RangeError('rougeL: no references; give at least one');
  const tok: TokenizeOptions = { lowercase: options.lowercase ?? true, punctuation: 'drop' };
  const hyp = tokenize(hypothesis, tok);
  let best: RougeScore = { precision: 0, recall: 0, f: 0 };
  for (const ref of refs) {
    const x = tokenize(ref, tok);
    const lcs = lcsLength(x, hyp);
    if (lcs === 0) continue;
    const R = lcs / x.length, P = lcs / hyp.length;
    const f = ((1 + beta * beta) * R * P) / (R + beta * beta * P);
    if (f > best.f) best = { precision: P, recall: R, f };
  }
  return best;
}

// ----- distinct-n ---------------------------------------------------------------------------------------------

/**
 * distinct-n over a set of responses (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural
 * Conversation Models"): the number of unique n-grams divided by the total number of n-grams, counted over all
 * responses together (n-grams do not cross from one response into the next). Li et al. divide by the number
 * of generated tokens; for n = 1 that is the same, for n = 2 it differs by one per response. NaN when there
 * are no n-grams. Tokens are lowercased words (punctuation dropped) unless `options` says otherwise.
 */
export function distinctN(responses: readonly string[], n: number, options: TokenizeOptions = { lowercase: true, punctuation: 'drop' }): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`distinctN: n must be a positive integer, got ${n}`);
  const unique = new Set<string>();
  let total = 0;
  for (const r of responses) {
    for (const [g, c] of ngramCounts(tokenize(r, options), n)) {
      unique.add(g);
      total += c;
    }
  }
  return total === 0 ? Number.NaN : unique.size / total;
}

// ----- perturbations ------------------------------------------------------------------------------------------

export type PerturbKind = 'truncate' | 'typos' | 'shuffle';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * A copy of `text` damaged by `strength` s ∈ [0, 1], for curves of reward (or accuracy) against input noise.
 * Words are the whitespace-separated pieces; the whitespace between kept words is kept as it was.
 *   - 'truncate': keeps the first round((1 − s)·W) of the W words (s = 1 gives '').
 *   - 'typos':    one random edit (swap two neighbouring characters, drop one, or replace one with a random
 *                 letter) in each of round(s·W) randomly chosen words.
 *   - 'shuffle':  permutes the words at round(s·W) randomly chosen positions among themselves (rotating them
 *                 by one if the draw left every word in place).
 * s = 0 returns `text` unchanged. `rng` is a generator from src/data/rng.ts or a seed for mulberry32; the same
 * seed gives the same output.
 */
export function perturb(text: string, kind: PerturbKind, strength: number, rng: Rng | number): string {
  if (!(strength >= 0 && strength <= 1)) throw new RangeError(`perturb: strength must be in [0, 1], got ${strength}`);
  if (strength === 0) return text;
  const random = typeof rng === 'number' ? mulberry32(rng) : rng;
  // parts alternates word, separator, word, …; a leading or trailing separator sits beside an empty word
  const parts = text.split(/(\s+)/);
  const wordAt: number[] = [];
  parts.forEach((p, i) => {
    if (i % 2 === 0 && p !== '') wordAt.push(i);
  });
  const W = wordAt.length;

  switch (kind) {
    case 'truncate': {
      const keep = Math.round((1 - strength) * W);
      return keep === 0 ? '' : parts.slice(0, wordAt[keep - 1]! + 1).join('');
    }
    case 'typos': {
      const k = Math.round(strength * W);
      for (const w of permutation(W, random).slice(0, k)) parts[wordAt[w]!] = typo(parts[wordAt[w]!]!, random);
      return parts.join('');
    }
    case 'shuffle': {
      const k = Math.round(strength * W);
      if (k < 2) return text;
      const slots = permutation(W, random).slice(0, k).sort((a, b) => a - b).map((w) => wordAt[w]!);
      const words = slots.map((i) => parts[i]!);
      let moved = shuffleInPlace([...words], random);
      if (moved.every((w, i) => w === words[i])) moved = [...words.slice(1), words[0]!];
      slots.forEach((i, j) => (parts[i] = moved[j]!));
      return parts.join('');
    }
    default: {
      const never: never = kind;
      throw new RangeError(`perturb: unknown kind ${String(never)}; use 'truncate', 'typos' or 'shuffle'`);
    }
  }
}

/** One character-level edit of a word: swap neighbours, drop one, or replace one (one-character words: replace). */
function typo(word: string, rng: Rng): string {
  const chars = Array.from(word);
  const op = chars.length < 2 ? 'replace' : (['swap', 'drop', 'replace'] as const)[randInt(rng, 3)]!;
  if (op === 'swap') {
    const i = randInt(rng, chars.length - 1);
    if (chars[i] === chars[i + 1]) return replaceOne(chars, rng); // swapping "ll" would change nothing
    [chars[i], chars[i + 1]] = [chars[i + 1]!, chars[i]!];
  } else if (op === 'drop') {
    chars.splice(randInt(rng, chars.length), 1);
  } else {
    return replaceOne(chars, rng);
  }
  return chars.join('');
}

/** Replaces one character with a random lowercase letter other than itself. */
function replaceOne(chars: string[], rng: Rng): string {
  const i = randInt(rng, chars.length);
  const old = LETTERS.indexOf(chars[i]!.toLowerCase());
  let j = randInt(rng, old < 0 ? LETTERS.length : LETTERS.length - 1);
  if (old >= 0 && j >= old) j += 1;
  chars[i] = LETTERS[j]!;
  return chars.join('');
}
