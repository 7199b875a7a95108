// The demo's review generator and sentiment lexicon: closed-form lexicon values, agreement of the
// lexicon with the generator's labels, determinism, prompts that give nothing away, OOD prompts whose
// first words the generator never uses, and the files writeDemoData writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateReviews,
  INTENSIFIERS,
  lexiconLabel,
  lexiconScore,
  lexiconTokens,
  NEGATORS,
  oodReviewPrompts,
  reviewPrompts,
  sentimentLexicon,
  writeDemoData,
} from '../../src/demo/reviews.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-reviews-'));
after(() => rmSync(root, { recursive: true, force: true }));

const isSentimentWord = (w: string): boolean => sentimentLexicon.has(w) || NEGATORS.has(w) || INTENSIFIERS.has(w);

test('lexicon: negation, intensifiers, contrast, any text', () => {
  assert.ok(lexiconScore('not bad') > 0, 'not bad is mildly positive');
  assert.ok(lexiconScore('not good') < 0);
  assert.ok(lexiconScore('very good') > lexiconScore('good'));
  assert.ok(lexiconScore('not bad') < lexiconScore('good'), 'mildly');
  assert.ok(lexiconScore('the pacing is never boring .') > 0);
  assert.ok(lexiconScore("i didn't like it") < 0, "n't is split off and negates");
  assert.ok(lexiconScore('the acting was great but the plot was dull') < 0, 'after "but" decides');
  assert.ok(lexiconScore('the acting was dull but the plot was great') > 0);
  assert.ok(lexiconScore('not funny and boring') < 0, 'a conjunction ends the negation');
  assert.ok(lexiconScore('not , good') > 0, 'punctuation ends the negation');
  assert.ok(lexiconScore('not at all the kind of thing that is good') > 0, 'the scope is 3 words');
  // closed forms: tanh(S / 2)
  assert.ok(Math.abs(lexiconScore('good') - Math.tanh(0.5)) < 1e-12);
  assert.ok(Math.abs(lexiconScore('very good') - Math.tanh(0.75)) < 1e-12);
  assert.ok(Math.abs(lexiconScore('not bad') - Math.tanh(0.25)) < 1e-12);
  assert.equal(lexiconScore(''), 0);
  assert.equal(lexiconScore('the the the ., , !!'), 0);
  assert.ok(lexiconScore('great '.repeat(50)) <= 1, 'bounded');
  assert.ok(lexiconScore('GREAT movie!!!') > 0, 'case and punctuation of model outputs');
  assert.deepEqual(lexiconTokens("It wasn't great."), ['it', 'was', "n't", 'great', '.']);
  assert.equal(lexiconLabel('a wonderful film'), 1);
  assert.equal(lexiconLabel('a film'), 0);
});

test('the lexicon agrees with the generated labels on ≥ 95% of sentences', () => {
  const reviews = generateReviews(20000, 0);
  const agree = reviews.filter((r) => lexiconLabel(r.text) === r.label).length / reviews.length;
  console.log(`reviews: lexicon agreement ${(100 * agree).toFixed(2)}% on ${reviews.length} generated sentences`);
  assert.ok(agree >= 0.95, `agreement ${agree}`);
  for (const r of reviews.slice(0, 200)) assert.equal(r.score, lexiconScore(r.text));
  const pos = reviews.filter((r) => r.label === 1);
  const meanPos = pos.reduce((s, r) => s + r.score, 0) / pos.length;
  const neg = reviews.filter((r) => r.label === 0);
  const meanNeg = neg.reduce((s, r) => s + r.score, 0) / neg.length;
  assert.ok(meanPos > 0.4 && meanNeg < -0.4, `mean scores ${meanPos} / ${meanNeg}`);
});

test('sentences: SST-like form, mostly 6–16 words, varied, deterministic, positiveFraction', () => {
  const reviews = generateReviews(5000, 1);
  assert.deepEqual(generateReviews(5000, 1), reviews);
  assert.notDeepEqual(generateReviews(50, 2), reviews.slice(0, 50));
  for (const { text } of reviews) {
    assert.equal(text, text.toLowerCase());
    assert.match(text, /^[a-zé' ,.!-]+$/, text);
    assert.doesNotMatch(text, /\S[.,!]|[.,!]\S|  |^ | $/, `punctuation is spaced: ${text}`);
  }
  const lengths = reviews.map((r) => r.text.split(' ').length);
  assert.ok(lengths.filter((n) => n >= 6 && n <= 16).length / lengths.length >= 0.9);
  assert.ok(new Set(reviews.map((r) => r.text)).size > 0.9 * reviews.length, 'mostly distinct');
  const positives = (f: number): number => generateReviews(4000, 3, { positiveFraction: f }).filter((r) => r.label === 1).length / 4000;
  assert.ok(Math.abs(positives(0.5) - 0.5) < 0.03);
  assert.ok(Math.abs(positives(0.8) - 0.8) < 0.03);
  assert.equal(positives(0), 0);
  assert.throws(() => generateReviews(10, 0, { positiveFraction: 2 }), RangeError);
  // the things the brief asks for appear: negation, mixed sentences, intensifiers
  const texts = reviews.map((r) => r.text);
  assert.ok(texts.some((t) => / not \w+ at all \.$/.test(t)));
  assert.ok(texts.some((t) => / never \w+ \.$/.test(t)));
  assert.ok(texts.some((t) => / but the /.test(t)));
  assert.ok(texts.some((t) => /^i thought this /.test(t)));
});

test('prompts: 2–4 neutral words that do not give the label away, deterministic', () => {
  const prompts = reviewPrompts(2000, 0);
  assert.equal(prompts.length, 2000);
  assert.deepEqual(reviewPrompts(2000, 0), prompts);
  for (const p of prompts) {
    const words = p.split(' ');
    assert.ok(words.length >= 2 && words.length <= 4, p);
    assert.ok(!words.some(isSentimentWord), p);
    assert.ok(words.every((w) => /^[a-z]+$/.test(w)), p);
  }
  const distinct = new Set(prompts);
  assert.ok(distinct.size > 100, `${distinct.size} distinct prompts`);
  assert.ok(distinct.has('i thought this') && distinct.has('one of the'));
  // Among generated sentences that start with a common prompt, both labels are about as frequent.
  const reviews = generateReviews(40000, 1);
  for (const p of distinct) {
    const matching = reviews.filter((r) => r.text.startsWith(`${p} `));
    if (matching.length < 300) continue;
    const positive = matching.filter((r) => r.label === 1).length / matching.length;
    assert.ok(positive > 0.35 && positive < 0.65, `"${p}" is followed by positive sentences ${(100 * positive).toFixed(0)}% of the time`);
  }
});

test('OOD prompts start with words no generated sentence starts with', () => {
  const prompts = oodReviewPrompts(500, 0);
  assert.deepEqual(oodReviewPrompts(500, 0), prompts);
  const firstWords = new Set(generateReviews(20000, 0).map((r) => r.text.split(' ')[0]));
  for (const p of prompts) {
    const words = p.split(' ');
    assert.ok(!firstWords.has(words[0]), p);
    assert.ok(!words.some(isSentimentWord), p);
  }
  assert.ok(new Set(prompts).size > 100);
});

test('writeDemoData writes train.jsonl, labels.jsonl, prompts.txt, prompts-ood.txt', async () => {
  const dir = join(root, 'data');
  const files = await writeDemoData(dir, { nTrain: 300, nPrompts: 40, seed: 4 });
  assert.deepEqual(readdirSync(dir).sort(), ['labels.jsonl', 'prompts-ood.txt', 'prompts.txt', 'train.jsonl']);
  const jsonl = (path: string): unknown[] => readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
  const expected = generateReviews(300, 4);
  assert.deepEqual(jsonl(files.train), expected.map((r) => ({ text: r.text })));
  assert.deepEqual(jsonl(files.labels), expected.map((r) => ({ text: r.text, label: r.label })));
  assert.deepEqual(readFileSync(files.prompts, 'utf8').trimEnd().split('\n'), reviewPrompts(40, 4));
  assert.deepEqual(readFileSync(files.promptsOod, 'utf8').trimEnd().split('\n'), oodReviewPrompts(40, 4));
});
