// A toy sentiment task for the demo: short movie-review sentences with a known label, written for
// this project (no downloaded data set), plus the sentiment lexicon that both generates them and
// scores any text, model outputs included.
//
//   generateReviews(3, 0)
//   → { text: 'the pacing in this story was fantastic .', label: 1, score: 0.46 }
//     { text: 'the twists are lovely and the editing is remarkably brilliant .', label: 1, score: 0.85 }
//     …
//   generateReviews(8, 0)[4]
//   → { text: 'the editing was fine but the cast was really awful .', label: 0, score: -0.55 }
//
// Text looks like SST-2: lower case, words and punctuation separated by spaces, "n't" split from
// its verb ("did n't"). Sentences are built from 16 structures (see STRUCTURES) over a vocabulary
// of positive, negative and neutral adjectives, verbs, nouns of film criticism and film words,
// with intensifiers, negation and mixed "A but B" sentences.
//
// The label of a sentence is the sentiment it is built to express, and the rule for the mixed ones
// is: in "A but B" the clause after "but" decides (A has the opposite polarity, B the label's).
// `lexiconScore` implements the same rule (before a "but", a sentence's score counts half), so the
// lexicon agrees with the labels by construction; the tests check it does on ≥ 95% of sentences.

import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { Rng } from '../data/rng.js';
import { mixSeed, mulberry32 } from '../data/rng.js';
import { atomicWriteFiles } from '../util/atomic.js';

// ---------------------------------------------------------------------------------------------------------------
// The lexicon

/** Strong positive adjectives (polarity +1). */
const POSITIVE_ADJ = [
  'great', 'excellent', 'wonderful', 'brilliant', 'superb', 'charming', 'delightful', 'beautiful', 'gripping',
  'clever', 'powerful', 'touching', 'memorable', 'stunning', 'engaging', 'hilarious', 'compelling', 'entertaining',
  'impressive', 'fantastic', 'moving', 'fresh', 'witty', 'heartfelt', 'lovely', 'smart', 'good', 'funny', 'original',
  'thrilling',
] as const;
/** Mild positive adjectives (+0.5). */
const MILD_POSITIVE_ADJ = ['decent', 'solid', 'fine', 'pleasant', 'nice', 'watchable'] as const;
/** Strong negative adjectives (−1). */
const NEGATIVE_ADJ = [
  'bad', 'terrible', 'awful', 'boring', 'dull', 'tedious', 'clumsy', 'lifeless', 'painful', 'pointless', 'horrible',
  'forgettable', 'bland', 'weak', 'messy', 'lazy', 'stale', 'shallow', 'disappointing', 'annoying', 'flat',
  'confusing', 'poor', 'mediocre', 'awkward', 'silly', 'incoherent', 'empty',
] as const;
/** Mild negative adjectives (−0.5). */
const MILD_NEGATIVE_ADJ = ['predictable', 'slow', 'uneven', 'thin', 'overlong', 'clichéd'] as const;
/** Adjectives with no sentiment: fillers that make "a long and moving film" as likely as "a long and dull one". */
const NEUTRAL_ADJ = ['long', 'short', 'quiet', 'loud', 'simple', 'old', 'new', 'dark', 'strange', 'small', 'unusual', 'familiar', 'modern', 'french'] as const;

/** Other words with a polarity: verbs, nouns and adverbs the structures and clauses use. */
const OTHER_POLAR: ReadonlyArray<readonly [string, number]> = [
  ['love', 1], ['loved', 1], ['loves', 1], ['enjoy', 1], ['enjoyed', 1], ['like', 0.7], ['liked', 0.7], ['likes', 0.7], ['adored', 1],
  ['recommend', 1], ['recommended', 1], ['moved', 1], ['impressed', 1], ['hooked', 1], ['worth', 1],
  ['treat', 1], ['joy', 1], ['gem', 1], ['masterpiece', 1], ['favorite', 1], ['best', 1], ['fun', 1], ['special', 0.5],
  ['beautifully', 1], ['wonderfully', 1], ['brilliantly', 1], ['expertly', 1],
  ['hate', -1], ['hated', -1], ['disliked', -1], ['regret', -1], ['waste', -1], ['wasted', -1], ['bored', -1],
  ['asleep', -1], ['avoid', -1], ['mess', -1], ['disaster', -1], ['disappointed', -1], ['worst', -1], ['failure', -1],
  ['poorly', -1], ['badly', -1], ['lazily', -1], ['clumsily', -1],
];

/**
 * The word → polarity table the generator uses and `lexiconScore` reads: +1 / −1 for clear
 * sentiment words, ±0.5 (or 0.7) for mild ones. Neutral words are absent (polarity 0).
 */
export const sentimentLexicon: ReadonlyMap<string, number> = new Map<string, number>([
  ...POSITIVE_ADJ.map((w) => [w, 1] as const),
  ...MILD_POSITIVE_ADJ.map((w) => [w, 0.5] as const),
  ...NEGATIVE_ADJ.map((w) => [w, -1] as const),
  ...MILD_NEGATIVE_ADJ.map((w) => [w, -0.5] as const),
  ...OTHER_POLAR,
]);

/** Words that flip the polarity of the next NEGATION_SCOPE words. */
export const NEGATORS: ReadonlySet<string> = new Set(['not', 'never', 'no', "n't", 'hardly', 'nothing', 'without', 'cannot']);
/** Words that multiply the polarity of the next word by INTENSIFIER_SCALE (they stack: "very very good" is ×2.25). */
export const INTENSIFIERS: ReadonlySet<string> = new Set([
  'very', 'really', 'truly', 'incredibly', 'extremely', 'so', 'highly', 'remarkably', 'absolutely', 'utterly', 'totally', 'most',
]);
/** Conjunctions that end a negation's scope ("not funny and boring": "boring" is not negated). */
const CONJUNCTIONS: ReadonlySet<string> = new Set(['and', 'or', 'but', 'yet', 'though', 'although', 'however', 'while']);
/** Contrast words: what came before them in the sentence counts CONTRAST_WEIGHT. */
const CONTRAST: ReadonlySet<string> = new Set(['but', 'however']);

/** How many words after a negator it reaches. */
const NEGATION_SCOPE = 3;
/** A negated word's polarity is multiplied by this: "not bad" is mildly positive (+0.5), "not good" −0.5. */
const NEGATION_FACTOR = -0.5;
const INTENSIFIER_SCALE = 1.5;
const CONTRAST_WEIGHT = 0.5;
/** score = tanh(sum / SCORE_TEMPERATURE): one plain sentiment word scores tanh(0.5) ≈ 0.46. */
const SCORE_TEMPERATURE = 2;

/**
 * Lower-cases and splits text into words and punctuation, SST style: "didn't" → "did n't",
 * "great." → "great .". Works on any text (a model's ungrammatical output too).
 */
export function lexiconTokens(text: string): string[] {
  const spaced = text.toLowerCase().replace(/[’`]/g, "'").replace(/n't\b/g, " n't");
  return spaced.match(/n't|[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu) ?? [];
}

/**
 * A sentiment score of any text, in (−1, 1): tanh(S / 2), where S sums the polarity of every
 * lexicon word, read left to right:
 *   - intensifiers (very, really, …) scale the next word by 1.5 (a neutral word in between resets them);
 *   - a negator (not, never, no, n't, hardly, nothing, without) multiplies the polarity of each of the
 *     next 3 words by −0.5, until punctuation or a conjunction ends its scope; a second negator
 *     restarts the scope rather than cancelling (no double negation);
 *   - at "but" / "however" the sentence so far is halved, so in "A but B" the clause B decides;
 *   - sentences (ended by . ! ?) are summed.
 *   lexiconScore('good') ≈ 0.46, lexiconScore('very good') ≈ 0.64, lexiconScore('not bad') ≈ 0.24,
 *   lexiconScore('not good') ≈ −0.24, lexiconScore('the acting was great but the plot was dull') ≈ −0.24.
 * The tanh bounds the score, so repeating "great" cannot push it past 1.
 */
export function lexiconScore(text: string): number {
  let total = 0; // finished sentences
  let sentence = 0; // the current sentence
  let negationLeft = 0; // words still inside a negation's scope
  let boost = 1; // product of the intensifiers just before
  for (const token of lexiconTokens(text)) {
    if (/^[.!?]$/.test(token)) {
      total += sentence;
      sentence = 0;
      negationLeft = 0;
      boost = 1;
    } else if (!/[\p{L}\p{N}]/u.test(token)) {
      negationLeft = 0; // other punctuation ends a negation's scope, not the sentence
      boost = 1;
    } else if (CONJUNCTIONS.has(token)) {
      if (CONTRAST.has(token)) sentence *= CONTRAST_WEIGHT;
      negationLeft = 0;
      boost = 1;
    } else if (NEGATORS.has(token)) {
      negationLeft = NEGATION_SCOPE;
    } else if (INTENSIFIERS.has(token)) {
      boost *= INTENSIFIER_SCALE;
      if (negationLeft > 0) negationLeft--;
    } else {
      const polarity = sentimentLexicon.get(token) ?? 0;
      if (polarity !== 0) sentence += polarity * boost * (negationLeft > 0 ? NEGATION_FACTOR : 1);
      boost = 1;
      if (negationLeft > 0) negationLeft--;
    }
  }
  return Math.tanh((total + sentence) / SCORE_TEMPERATURE);
}

/** 1 when `lexiconScore(text) > 0`, else 0. */
export function lexiconLabel(text: string): 0 | 1 {
  return lexiconScore(text) > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The generator

export interface Review {
  text: string;
  /** 1 positive, 0 negative: the sentiment the sentence was built to express. */
  label: 0 | 1;
  /** lexiconScore(text). */
  score: number;
}

export interface GenerateReviewsOptions {
  /** The probability of a positive sentence. Default 0.5. */
  positiveFraction?: number;
}

interface Noun {
  word: string;
  plural: boolean;
}
const NOUNS: readonly Noun[] = [
  ...['acting', 'plot', 'script', 'soundtrack', 'ending', 'cast', 'pacing', 'dialogue', 'direction', 'cinematography',
    'humor', 'editing', 'premise', 'villain', 'finale', 'writing', 'music', 'lead', 'score', 'setting'].map((word) => ({ word, plural: false })),
  ...['characters', 'visuals', 'performances', 'effects', 'jokes', 'twists', 'costumes', 'songs'].map((word) => ({ word, plural: true })),
];
const FILM_WORDS = ['movie', 'film', 'picture', 'story', 'comedy', 'drama', 'thriller', 'sequel'] as const;
const FILM_PLURALS: Readonly<Record<string, string>> = {
  movie: 'movies', film: 'films', picture: 'pictures', story: 'stories', comedy: 'comedies', drama: 'dramas', thriller: 'thrillers', sequel: 'sequels',
};
const INTENSIFIER_WORDS = ['very', 'really', 'truly', 'incredibly', 'extremely', 'remarkably', 'absolutely'] as const;
const TOPICS = ['a small town', 'two brothers', 'the war', 'growing up', 'a family', 'an old house', 'a road trip', 'a detective', 'a chess player', 'first jobs'] as const;
const TAILS = ['from start to finish', 'on the big screen', 'last weekend', 'with my family', 'the second time', 'at the festival'] as const;
const PARTICIPLES = ['shot', 'written', 'acted', 'directed', 'edited', 'made', 'cast', 'paced'] as const;
const ADVERBS = { pos: ['beautifully', 'wonderfully', 'brilliantly', 'expertly'], neg: ['poorly', 'badly', 'lazily', 'clumsily'] } as const;
/** Lead-ins for "{lead-in} , but …", the same for both labels so they give nothing away. */
const LEAD_INS = ['i was not sure what to expect', 'i went in blind', 'i had heard mixed things', 'i watched it last night', 'the trailer looked odd', 'it starts slowly'] as const;
/** Verb phrases of "i … this {film}", by polarity; their first words are shared ("i was moved" / "i was bored"). */
const VERB_PHRASES = {
  pos: ['loved', 'really enjoyed', 'adored', 'liked', 'would recommend', 'was moved by', 'was impressed by', 'was never bored by', 'did not hate', 'did enjoy', 'truly loved'],
  neg: ['hated', 'disliked', "did n't enjoy", 'regret watching', 'would not recommend', 'was bored by', 'was disappointed by', 'was never moved by', 'did not love', 'wasted my time on'],
} as const;
/** Closing clauses, by polarity. */
const CLAUSES = {
  pos: ['i loved every minute', 'truly worth watching', 'a real treat', 'highly recommended', 'it kept me hooked', 'what a joy', 'a small gem', 'an instant favorite', 'a true masterpiece', 'pure fun'],
  neg: ['a complete waste of time', 'i almost fell asleep', 'i was bored the whole time', 'avoid it', 'what a mess', 'a total disaster', 'not worth the ticket', 'i regret watching it', 'a real failure', 'i hated every minute'],
} as const;

type Polarity = 1 | -1;

/** The pieces a structure draws from. */
class Parts {
  constructor(private readonly rng: Rng) {}

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rng() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.rng() < p;
  }
  /** An adjective of polarity `pol`; `strong` leaves out the mild ones. */
  adj(pol: Polarity, strong = false): string {
    const mildP = strong ? 0 : 0.2;
    if (pol > 0) return this.chance(mildP) ? this.pick(MILD_POSITIVE_ADJ) : this.pick(POSITIVE_ADJ);
    return this.chance(mildP) ? this.pick(MILD_NEGATIVE_ADJ) : this.pick(NEGATIVE_ADJ);
  }
  /** An adjective, sometimes with an intensifier before it. */
  adjPhrase(pol: Polarity, strong = false, pIntensifier = 0.35): string {
    const adj = this.adj(pol, strong);
    return this.chance(pIntensifier) ? `${this.pick(INTENSIFIER_WORDS)} ${adj}` : adj;
  }
  neutralAdj(): string {
    return this.pick(NEUTRAL_ADJ);
  }
  noun(): Noun {
    return this.pick(NOUNS);
  }
  /** Two different nouns. */
  twoNouns(): [Noun, Noun] {
    const a = this.noun();
    let b = this.noun();
    while (b.word === a.word) b = this.noun();
    return [a, b];
  }
  film(): string {
    return this.pick(FILM_WORDS);
  }
  /** "was"/"is" (or "were"/"are"), the tense drawn per call. */
  be(noun: Noun, past = this.chance(0.7)): string {
    return noun.plural ? (past ? 'were' : 'are') : past ? 'was' : 'is';
  }
  clause(pol: Polarity): string {
    return this.pick(pol > 0 ? CLAUSES.pos : CLAUSES.neg);
  }
}

/** "a" or "an" before `phrase`. */
function article(phrase: string): string {
  return /^[aeiou]/.test(phrase) ? 'an' : 'a';
}

/** One sentence structure: the words of a sentence with polarity `pol` (its label is 1 when pol = +1). */
type Structure = (p: Parts, pol: Polarity) => string;

const STRUCTURES: readonly Structure[] = [
  // the plot in this movie was incredibly dull .
  (p, pol) => {
    const n = p.noun();
    const where = p.chance(0.5) ? ` in this ${p.film()}` : '';
    return `the ${n.word}${where} ${p.be(n)} ${p.adjPhrase(pol)} ${p.chance(0.3) ? `${p.pick(TAILS)} ` : ''}.`;
  },
  // the cast was charming and the jokes were fresh .
  (p, pol) => {
    const [a, b] = p.twoNouns();
    const past = p.chance(0.7);
    return `the ${a.word} ${p.be(a, past)} ${p.adjPhrase(pol)} and the ${b.word} ${p.be(b, past)} ${p.adjPhrase(pol)} .`;
  },
  // i was moved by this drama last weekend .
  (p, pol) => `i ${p.pick(pol > 0 ? VERB_PHRASES.pos : VERB_PHRASES.neg)} this ${p.film()} ${p.chance(0.4) ? `${p.pick(TAILS)} ` : ''}.`,
  // incredibly stale dialogue , a complete waste of time .
  (p, pol) => {
    const lead = p.chance(0.5) ? `${p.pick(INTENSIFIER_WORDS)} ${p.adj(pol)}` : p.adj(pol);
    return `${lead} ${p.noun().word} and ${p.adj(pol)} ${p.noun().word} , ${p.clause(pol)} .`;
  },
  // the ending was not bad at all .  /  this film was hardly original .
  (p, pol) => {
    const n = p.noun();
    const subject = p.chance(0.5) ? `the ${n.word} ${p.be(n)}` : `this ${p.film()} ${p.chance(0.7) ? 'was' : 'is'}`;
    const negator = p.chance(0.75) ? 'not' : 'hardly';
    return `${subject} ${negator} ${p.adj(-pol as Polarity, true)}${negator === 'not' && p.chance(0.7) ? ' at all' : ''} .`;
  },
  // a long and moving film with superb performances .
  (p, pol) => {
    const first = p.chance(0.4) ? p.neutralAdj() : p.adj(pol);
    const last = p.chance(0.3) ? p.neutralAdj() : p.adjPhrase(pol, false, 0.2);
    const n = p.noun();
    return `${article(first)} ${first} and ${p.adj(pol)} ${p.film()} with ${n.plural ? '' : `${article(last)} `}${last} ${n.word} .`;
  },
  // the acting was great but the plot was dull .   (label: the clause after "but")
  (p, pol) => {
    const [a, b] = p.twoNouns();
    return `the ${a.word} ${p.be(a)} ${p.adjPhrase(-pol as Polarity)} but the ${b.word} ${p.be(b)} ${p.adjPhrase(pol, true)} .`;
  },
  // i went in blind , but the ending was wonderful .
  (p, pol) => {
    const n = p.noun();
    return `${p.pick(LEAD_INS)} , but the ${n.word} ${p.be(n)} ${p.adjPhrase(pol, true)} .`;
  },
  // the pacing in this film is never boring .
  (p, pol) => {
    const n = p.noun();
    const where = p.chance(0.5) ? ` in this ${p.film()}` : '';
    return `the ${n.word}${where} ${p.be(n)} never ${p.adj(-pol as Polarity, true)} .`;
  },
  // i thought this movie was really clever , a real treat .
  (p, pol) => `i thought this ${p.film()} was ${p.adjPhrase(pol)}${p.chance(0.5) ? ` , ${p.clause(pol)}` : ''} .`,
  // one of the most tedious comedies i have seen .
  (p, pol) => {
    const films = FILM_PLURALS[p.film()]!;
    if (p.chance(0.3)) return `one of the ${pol > 0 ? 'best' : 'worst'} ${films} of the year .`;
    return `one of the most ${p.adj(pol, true)} ${films} i have seen ${p.chance(0.4) ? 'in years ' : ''}.`;
  },
  // the script and the characters were painfully thin .
  (p, pol) => {
    const [a, b] = p.twoNouns();
    return `the ${a.word} and the ${b.word} ${p.chance(0.7) ? 'were' : 'are'} ${p.adjPhrase(pol)} .`;
  },
  // a moving drama about two brothers , highly recommended .
  (p, pol) => {
    const adj = p.adjPhrase(pol, false, 0.2);
    return `${article(adj)} ${adj} ${p.film()} about ${p.pick(TOPICS)}${p.chance(0.5) ? ` , ${p.clause(pol)}` : ''} .`;
  },
  // this film was beautifully shot , and the score is lovely .
  (p, pol) => {
    const n = p.noun();
    const adverb = p.pick(pol > 0 ? ADVERBS.pos : ADVERBS.neg);
    return `this ${p.film()} was ${adverb} ${p.pick(PARTICIPLES)} , and the ${n.word} ${p.be(n)} ${p.adjPhrase(pol)} .`;
  },
  // the plot was thin , the dialogue was flat , and the ending was silly .
  (p, pol) => {
    const [a, b] = p.twoNouns();
    let c = p.noun();
    while (c.word === a.word || c.word === b.word) c = p.noun();
    return `the ${a.word} ${p.be(a, true)} ${p.adj(pol)} , the ${b.word} ${p.be(b, true)} ${p.adj(pol)} , and the ${c.word} ${p.be(c, true)} ${p.adj(pol)} .`;
  },
  // what a wonderful film ! the cast is superb .
  (p, pol) => {
    const adj = p.adj(pol, true);
    const n = p.noun();
    return `what ${article(adj)} ${adj} ${p.film()} ! the ${n.word} ${p.be(n)} ${p.adjPhrase(pol)} .`;
  },
];

/**
 * `n` review sentences with their labels and lexicon scores, the same for the same seed.
 * Each sentence draws its label (positive with probability `positiveFraction`), then a structure,
 * then words. The structure is drawn independently of the label, so both labels share every
 * sentence opening ("the plot was", "i thought this").
 */
export function generateReviews(n: number, seed: number, options: GenerateReviewsOptions = {}): Review[] {
  const positiveFraction = options.positiveFraction ?? 0.5;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`generateReviews: n must be a non-negative integer, got ${n}`);
  if (!(positiveFraction >= 0 && positiveFraction <= 1)) {
    throw new RangeError(`generateReviews: positiveFraction must be in [0, 1], got ${positiveFraction}`);
  }
  const rng = mulberry32(seed);
  const parts = new Parts(rng);
  const out: Review[] = [];
  for (let i = 0; i < n; i++) {
    const label: 0 | 1 = rng() < positiveFraction ? 1 : 0;
    const text = parts.pick(STRUCTURES)(parts, label === 1 ? 1 : -1).replace(/ +/g, ' ');
    out.push({ text, label, score: lexiconScore(text) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Prompts

/** Whether a word says anything about sentiment (a lexicon word, a negator or an intensifier). */
function isSentimentWord(word: string): boolean {
  return sentimentLexicon.has(word) || NEGATORS.has(word) || INTENSIFIERS.has(word);
}

/**
 * `n` prompt prefixes for PPO and evaluation, the same for the same seed: the first 2–4 words of
 * generated sentences (of both labels equally), cut before the first word that carries sentiment,
 * and kept only when at least 2 words remain ("the plot", "i thought this", "this movie was",
 * "one of the"). Prompts repeat, with the frequencies the generator gives them.
 */
export function reviewPrompts(n: number, seed: number): string[] {
  const rng = mulberry32(mixSeed(seed, 1));
  const prompts: string[] = [];
  let batch = 0;
  while (prompts.length < n) {
    for (const { text } of generateReviews(Math.max(64, 2 * (n - prompts.length)), mixSeed(seed, 2, batch++))) {
      const words = text.split(' ');
      let k = 2 + Math.floor(rng() * 3); // 2–4 words
      const firstSentiment = words.findIndex(isSentimentWord);
      if (firstSentiment >= 0) k = Math.min(k, firstSentiment);
      const firstPunctuation = words.findIndex((w) => !/\p{L}/u.test(w));
      if (firstPunctuation >= 0) k = Math.min(k, firstPunctuation); // never reach punctuation
      if (k >= 2) prompts.push(words.slice(0, k).join(' '));
      if (prompts.length === n) break;
    }
  }
  return prompts;
}

/** Openings the generator never uses: the first word of each is never the first word of a generated sentence. */
const OOD_OPENERS = [
  'honestly ,', 'to be fair ,', 'my friends said', 'compared to the book', 'after the first hour', 'my kids thought',
  'for a sequel ,', 'on paper ,', 'if you ask me', 'everyone told me', 'as a fan of the genre ,', 'from the trailer',
  'in my opinion', 'my sister said', 'according to the critics', 'at first glance', 'years later ,', 'by the end ,',
] as const;

/**
 * `n` out-of-distribution prompts, the same for the same seed: an opening the generator never uses
 * ("honestly ,", "my friends said", "compared to the book") followed by "the", "this {film}" or
 * "the {noun}" — to see whether what PPO learned carries over to contexts the SFT data lacks.
 */
export function oodReviewPrompts(n: number, seed: number): string[] {
  const parts = new Parts(mulberry32(mixSeed(seed, 3)));
  const prompts: string[] = [];
  for (let i = 0; i < n; i++) {
    const opener = parts.pick(OOD_OPENERS);
    const r = parts.pick([0, 1, 2]);
    const rest = r === 0 ? 'the' : r === 1 ? `this ${parts.film()}` : `the ${parts.noun().word}`;
    prompts.push(`${opener} ${rest}`);
  }
  return prompts;
}

// ---------------------------------------------------------------------------------------------------------------
// Files

export interface DemoDataOptions {
  /** Training sentences. Default 20000. */
  nTrain?: number;
  /** Prompts in prompts.txt and in prompts-ood.txt. Default 512. */
  nPrompts?: number;
  seed?: number;
}

export interface DemoDataFiles {
  /** `{"text": …}` per line: the SFT corpus. */
  train: string;
  /** `{"text": …, "label": 0|1}` per line: the same sentences as train.jsonl, in the same order, with labels. */
  labels: string;
  /** One in-distribution prompt per line (reviewPrompts). */
  prompts: string;
  /** One out-of-distribution prompt per line (oodReviewPrompts). */
  promptsOod: string;
}

/** Writes the demo's data into `dir` (created if needed), each file atomically; returns the paths. */
export async function writeDemoData(dir: string, options: DemoDataOptions = {}): Promise<DemoDataFiles> {
  const { nTrain = 20000, nPrompts = 512, seed = 0 } = options;
  const reviews = generateReviews(nTrain, seed);
  const files: DemoDataFiles = {
    train: join(dir, 'train.jsonl'),
    labels: join(dir, 'labels.jsonl'),
    prompts: join(dir, 'prompts.txt'),
    promptsOod: join(dir, 'prompts-ood.txt'),
  };
  const lines = (items: readonly string[]): string => items.map((s) => `${s}\n`).join('');
  await mkdir(dir, { recursive: true });
  await atomicWriteFiles([
    { path: files.train, data: lines(reviews.map((r) => JSON.stringify({ text: r.text }))) },
    { path: files.labels, data: lines(reviews.map((r) => JSON.stringify({ text: r.text, label: r.label }))) },
    { path: files.prompts, data: lines(reviewPrompts(nPrompts, seed)) },
    { path: files.promptsOod, data: lines(oodReviewPrompts(nPrompts, seed)) },
  ]);
  return files;
}
