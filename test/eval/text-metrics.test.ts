// Text metrics against textbook examples: Papineni et al. (2002) for BLEU's modified precision, NLTK's documented
// values for sentence and corpus BLEU on the same sentences, hand-worked brevity penalty and smoothing, Lin (2004)
// for ROUGE-L, hand counts for distinct-n; perturbations are deterministic under a seed and identity at 0.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  closestRefLength,
  corpusBleu,
  distinctN,
  lcsLength,
  modifiedPrecision,
  perturb,
  rougeL,
  sentenceBleu,
  tokenize,
} from '../../src/eval/text-metrics.js';
import { mulberry32 } from '../../src/data/rng.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

// Papineni et al. 2002, §2.1, Example 2 (the paper counts words, so the final period is left off)
const CAND1 = 'It is a guide to action which ensures that the military always obeys the commands of the party';
const CAND2 = 'It is to insure the troops forever hearing the activity guidebook that party direct';
const REF1 = 'It is a guide to action that ensures that the military will forever heed Party commands';
const REF2 = 'It is the guiding principle which guarantees the military forces always being under the command of the Party';
const REF3 = 'It is the practical guide for the army always to heed the directions of the party';
const REFS = [REF1, REF2, REF3];

describe('tokenize', () => {
  test('words, numbers and single punctuation characters; lowercase and drop on request', () => {
    assert.deepEqual(tokenize("Don't pay $3.14, or 1,000 naïve GPT2 tokens!"), ['Don', "'", 't', 'pay', '$', '3.14', ',', 'or', '1,000', 'naïve', 'GPT2', 'tokens', '!']);
    assert.deepEqual(tokenize('Hello, World!', { lowercase: true, punctuation: 'drop' }), ['hello', 'world']);
    assert.deepEqual(tokenize('  \n '), []);
  });
});

describe('BLEU', () => {
  test("Papineni's modified n-gram precisions: 17/18 and 10/17 for candidate 1, 8/14 and 1/13 for candidate 2", () => {
    const refs = REFS.map((r) => tokenize(r));
    assert.deepEqual(modifiedPrecision(tokenize(CAND1), refs, 1), { matches: 17, total: 18 });
    assert.deepEqual(modifiedPrecision(tokenize(CAND1), refs, 2), { matches: 10, total: 17 });
    assert.deepEqual(modifiedPrecision(tokenize(CAND2), refs, 1), { matches: 8, total: 14 });
    assert.deepEqual(modifiedPrecision(tokenize(CAND2), refs, 2), { matches: 1, total: 13 });
  });

  test('"the the the the the the the" has modified unigram precision 2/7 (case-insensitive, as in the paper)', () => {
    const r = sentenceBleu('the the the the the the the', ['The cat is on the mat.', 'There is a cat on the mat.'], { lowercase: true, maxOrder: 1 });
    close(r.precisions[0]!, 2 / 7);
    // case-sensitive, "The" is a different word: only one "the" per reference
    close(sentenceBleu('the the the the the the the', ['The cat is on the mat.'], { maxOrder: 1 }).precisions[0]!, 1 / 7);
  });

  test('sentence and corpus BLEU equal NLTK’s documented values on the same sentences', () => {
    // nltk.translate.bleu_score docs: sentence_bleu([ref1a, ref1b, ref1c], hyp1) = 0.5045666840058485
    const s = sentenceBleu(CAND1, REFS);
    close(s.bleu, 0.5045666840058485);
    assert.deepEqual(s.matches, [17, 10, 7, 4]);
    assert.deepEqual(s.totals, [18, 17, 16, 15]);
    assert.equal(s.brevityPenalty, 1);
    // corpus_bleu([[ref1a, ref1b, ref1c], [ref2a]], [hyp1, hyp2]) = 0.5920778868801042
    const hyp2 = 'he read the book because he was interested in world history';
    const ref2a = 'he was interested in world history because he read the book';
    close(corpusBleu([CAND1, hyp2], [REFS, [ref2a]]).bleu, 0.5920778868801042);
  });

  test('a perfect match scores 1; an empty hypothesis 0', () => {
    assert.equal(sentenceBleu('the cat sat on the mat .', ['the cat sat on the mat .']).bleu, 1);
    assert.equal(corpusBleu(['a b c d e', 'x y z w v u'], [['a b c d e'], ['x y z w v u']]).bleu, 1);
    assert.equal(sentenceBleu('', ['the cat']).bleu, 0);
  });

  test('no trigram or 4-gram overlap gives 0 without smoothing; BLEU+1 by hand with smoothing', () => {
    // hyp bigrams: "the quick" ✓, "quick fox", "fox brown", "brown jumps" → p2 = 1/4; no trigram matches
    const hyp = 'the quick fox brown jumps', ref = 'the quick brown fox jumps';
    const plain = sentenceBleu(hyp, [ref]);
    assert.deepEqual(plain.matches, [5, 1, 0, 0]);
    assert.equal(plain.bleu, 0);
    // Lin & Och: +1 on matches and totals for n ≥ 2: p = 5/5, 2/5, 1/4, 1/3; BP = 1
    const smoothed = sentenceBleu(hyp, [ref], { smoothing: 'add-one' });
    close(smoothed.precisions[1]!, 2 / 5);
    close(smoothed.bleu, (1 * (2 / 5) * (1 / 4) * (1 / 3)) ** (1 / 4));
    // smoothing leaves a perfect match at 1
    close(sentenceBleu(ref, [ref], { smoothing: 'add-one' }).bleu, 1);
  });

  test('brevity penalty: exp(1 − r/c) for a short hypothesis, closest reference length with ties to the shorter', () => {
    // every n-gram of the 5-token hypothesis is in the 6-token reference: BLEU = BP = exp(1 − 6/5)
    const r = sentenceBleu('the cat sat on the', ['the cat sat on the mat']);
    assert.deepEqual([r.hypLength, r.refLength], [5, 6]);
    close(r.brevityPenalty, Math.exp(1 - 6 / 5));
    close(r.bleu, Math.exp(-0.2));
    // c = 5 between references of 4 and 6: the shorter (4) wins the tie, c > r, no penalty
    assert.equal(closestRefLength(5, [6, 4]), 4);
    assert.equal(sentenceBleu('the cat sat on the', ['the cat sat on the mat', 'the cat sat on']).brevityPenalty, 1);
    // longer than every reference: no penalty either
    assert.equal(closestRefLength(10, [3, 7]), 7);
  });

  test('corpus BLEU pools counts over sentences (it is not the mean of sentence BLEU)', () => {
    const hyps = ['the cat sat on the mat', 'a dog'];
    const refs = [['the cat sat on the mat'], ['a dog barked loudly today']];
    const c = corpusBleu(hyps, refs);
    assert.deepEqual(c.matches, [8, 6, 4, 3]);
    assert.deepEqual(c.totals, [8, 6, 4, 3]);
    assert.deepEqual([c.hypLength, c.refLength], [8, 11]);
    close(c.bleu, Math.exp(1 - 11 / 8));
    assert.throws(() => corpusBleu(['a'], []), RangeError);
    assert.throws(() => corpusBleu(['a'], [[]]), RangeError);
  });
});

describe('ROUGE-L', () => {
  test('LCS length on the CLRS example (ABCBDAB, BDCABA → 4)', () => {
    assert.equal(lcsLength([...'ABCBDAB'], [...'BDCABA']), 4);
    assert.equal(lcsLength([], ['a']), 0);
  });

  test('Lin (2004) §3.1: S2 scores 3/4 and S3 2/4 against "police killed the gunman" (β = 1)', () => {
    const S1 = 'police killed the gunman';
    close(rougeL('police kill the gunman', S1).f, 3 / 4);
    close(rougeL('the gunman kill police', S1).f, 2 / 4);
  });

  test('precision ≠ recall: LCS "one three five" = 3, P = 3/4, R = 3/6, F1 = 0.6, F(β = 2) = 15/28', () => {
    const ref = 'one two three four five six', hyp = 'one seven three five';
    const r = rougeL(hyp, ref);
    close(r.precision, 3 / 4);
    close(r.recall, 1 / 2);
    close(r.f, 0.6);
    close(rougeL(hyp, ref, { beta: 2 }).f, (5 * 0.75 * 0.5) / (0.5 + 4 * 0.75));
  });

  test('case and punctuation are ignored; several references give the best F; no overlap gives 0', () => {
    close(rougeL('Police KILLED the gunman!', 'police killed the gunman.').f, 1);
    close(rougeL('police kill the gunman', ['the gunman kill police', 'police killed the gunman']).f, 3 / 4);
    assert.deepEqual(rougeL('abc', 'xyz'), { precision: 0, recall: 0, f: 0 });
  });
});

describe('distinct-n', () => {
  test('unique / total n-grams over the set, not across responses', () => {
    const responses = ['The cat sat.', 'the cat ran'];
    // unigrams: the cat sat the cat ran → 4 unique / 6
    close(distinctN(responses, 1), 4 / 6);
    // bigrams: "the cat", "cat sat", "the cat", "cat ran" ("sat the" spans two responses and is not counted) → 3 / 4
    close(distinctN(responses, 2), 3 / 4);
    assert.equal(distinctN(['same words', 'same words'], 2), 0.5);
    assert.ok(Number.isNaN(distinctN(['one'], 2)));
  });
});

describe('perturb', () => {
  const text = 'the quick brown fox jumps over the lazy dog today';
  const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);

  test('strength 0 is the identity for every kind', () => {
    for (const kind of ['truncate', 'typos', 'shuffle'] as const) assert.equal(perturb(`  ${text}\n`, kind, 0, 1), `  ${text}\n`);
  });

  test('deterministic under a seed; a seed and mulberry32(seed) give the same result', () => {
    for (const kind of ['typos', 'shuffle'] as const) {
      assert.equal(perturb(text, kind, 0.5, 42), perturb(text, kind, 0.5, 42));
      assert.equal(perturb(text, kind, 0.5, 42), perturb(text, kind, 0.5, mulberry32(42)));
      assert.notEqual(perturb(text, kind, 0.5, 1), perturb(text, kind, 0.5, 2));
    }
  });

  test('truncate keeps the first (1 − s) of the words', () => {
    assert.equal(perturb(text, 'truncate', 0.3, 0), 'the quick brown fox jumps over the');
    assert.equal(perturb('a b\nc d', 'truncate', 0.5, 0), 'a b');
    assert.equal(perturb(text, 'truncate', 1, 0), '');
  });

  test('typos change exactly round(s·W) words, one edit each', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const out = words(perturb(text, 'typos', 0.5, seed));
      const orig = words(text);
      assert.equal(out.length, orig.length);
      const changed = out.filter((w, i) => w !== orig[i]!);
      assert.equal(changed.length, 5);
      for (const [i, w] of out.entries()) assert.ok(Math.abs(w.length - orig[i]!.length) <= 1, `one edit: ${orig[i]} → ${w}`);
    }
  });

  test('shuffle keeps the words and moves at most round(s·W) of them; s = 1 reorders', () => {
    for (const seed of [1, 2, 3]) {
      const out = words(perturb(text, 'shuffle', 0.4, seed));
      const orig = words(text);
      assert.deepEqual([...out].sort(), [...orig].sort());
      assert.ok(out.filter((w, i) => w !== orig[i]).length <= 4);
    }
    assert.notEqual(perturb(text, 'shuffle', 1, 7), text);
    assert.equal(perturb('a b', 'shuffle', 1, 3), 'b a'); // two words: the only change is a swap
  });

  test('strength outside [0, 1] is a RangeError', () => {
    assert.throws(() => perturb(text, 'typos', 1.5, 0), RangeError);
    assert.throws(() => perturb(text, 'typos', -0.1, 0), RangeError);
  });
});
