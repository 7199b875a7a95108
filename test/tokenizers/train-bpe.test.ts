// trainByteLevelBpe: merges in frequency order on a corpus checked by hand, the incremental trainer
// against a naive one that recounts every pair before each merge, byte fallback (decode(encode(x))
// is x for any text), determinism, and save → load (our BPE and @huggingface/tokenizers) with the
// same ids. Also prints how long a 2,000-token vocabulary takes on the demo's reviews.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { generateReviews } from '../../src/demo/reviews.js';
import { mulberry32 } from '../../src/data/rng.js';
import {
  BYTE_TO_CHAR,
  ByteLevelBpeBackend,
  learnByteLevelBpe,
  loadTokenizer,
  preTokenize,
  saveTokenizer,
  TokenizerError,
  trainByteLevelBpe,
} from '../../src/tokenizers/index.js';
import type { Tokenizer } from '../../src/tokenizers/index.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-train-bpe-'));
after(() => rmSync(root, { recursive: true, force: true }));

const mergesOf = (tok: Tokenizer): string[] => (tok.backend as ByteLevelBpeBackend).model.merges.map(([a, b]) => `${a} ${b}`);

/** Random text over ASCII, Latin-1, Greek, CJK, emoji (surrogate pairs), combining marks and odd whitespace. */
function randomText(rng: () => number, length: number): string {
  const pools = [
    'abcdefghijklmnopqrstuvwxyz     ',
    'ABCXYZ0123456789.,;:!?\'"()-',
    'éèüßñøåçÀÉ',
    'αβγδεζ',
    '中文字符日本語한국어',
    '\t\n\r\u00a0\u2003\u3000',
    '\u0301\u0308',
  ];
  const emoji = ['😀', '🎬', '👍🏽', '🇫🇷', '𝔘'];
  let s = '';
  while (s.length < length) {
    const r = rng();
    if (r < 0.05) s += emoji[Math.floor(rng() * emoji.length)];
    else if (r < 0.07) s += '<|endoftext|>';
    else {
      const pool = pools[Math.floor(rng() * pools.length)]!;
      s += pool[Math.floor(rng() * pool.length)];
    }
  }
  return s;
}

test('merges come out in frequency order, ties to the smaller token string (checked by hand)', () => {
  // Words: "hug" ×1, " hug" ×4, " pug" ×2, " pun" ×1, " bun" ×1.
  //   1. (u, g) 7   2. (h, ug) 5   3. (Ġ, hug) 4   4. (Ġ, p) 3
  //   5. (u, n) 2 and (Ġp, ug) 2 tie: "u" < "Ġp" (U+0075 < U+0120), so (u, n) first   6. (Ġp, ug) 2
  //   then every pair occurs once, below minFrequency 2.
  const tok = trainByteLevelBpe(['hug hug hug hug hug pug pug pun bun'], { vocabSize: 300 });
  assert.deepEqual(mergesOf(tok), ['u g', 'h ug', 'Ġ hug', 'Ġ p', 'u n', 'Ġp ug']);
  assert.equal(tok.vocabSize, 256 + 6 + 1, 'the corpus runs out of pairs before vocabSize');
  assert.equal(tok.idToToken(256), 'ug');
  assert.equal(tok.idToToken(261), 'Ġpug');
  assert.equal(tok.eosTokenId, 262, '<|endoftext|> right after the merges');
  // ids: 256 ug, 257 hug, 258 Ġhug, 259 Ġp, 260 un, 261 Ġpug
  assert.deepEqual(tok.encode(' hug pug pun'), [258, 261, 259, 260]);
  // with minFrequency 1 the single pairs are merged too
  const all = trainByteLevelBpe(['hug hug hug hug hug pug pug pun bun'], { vocabSize: 300, minFrequency: 1 });
  assert.deepEqual(mergesOf(all).slice(0, 6), mergesOf(tok));
  assert.ok(mergesOf(all).length > 6);
  // vocabSize caps the merges: 256 bytes + 3 merges + 1 special token
  const capped = trainByteLevelBpe(['hug hug hug hug hug pug pug pun bun'], { vocabSize: 260 });
  assert.deepEqual(mergesOf(capped), ['u g', 'h ug', 'Ġ hug']);
  assert.equal(capped.vocabSize, 260);
  assert.equal(capped.eosTokenId, 259, '<|endoftext|> is id vocabSize − 1 when the vocabulary fills');
});

// The yardstick: recount every pair over every word before each merge.
function naiveMerges(texts: readonly string[], nMerges: number, minFrequency: number): string[] {
  const counts = new Map<string, number>();
  for (const t of texts) {
    for (const part of t.split('<|endoftext|>')) for (const p of preTokenize(part)) counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  const words = [...counts].map(([p, f]) => ({ symbols: Array.from(Buffer.from(p, 'utf8'), (b) => BYTE_TO_CHAR[b]!), f }));
  const vocab = new Set(BYTE_TO_CHAR);
  const merges: string[] = [];
  while (merges.length < nMerges) {
    const pairs = new Map<string, number>();
    for (const { symbols, f } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const k = JSON.stringify([symbols[i], symbols[i + 1]]);
        pairs.set(k, (pairs.get(k) ?? 0) + f);
      }
    }
    let best: [string, string] | null = null;
    let bestCount = 0;
    for (const [k, c] of pairs) {
      const pair = JSON.parse(k) as [string, string];
      const better = c > bestCount || (c === bestCount && best !== null && (pair[0] < best[0] || (pair[0] === best[0] && pair[1] < best[1])));
      if (better) [best, bestCount] = [pair, c];
    }
    if (best === null || bestCount < minFrequency) break;
    const [a, b] = best;
    merges.push(`${a} ${b}`);
    vocab.add(a + b);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.symbols[i]!);
      }
      w.symbols = out;
    }
  }
  return merges;
}

test('the incremental trainer learns the same merges as the naive full recount', () => {
  const rng = mulberry32(7);
  const corpora: string[][] = [
    generateReviews(300, 3).map((r) => r.text),
    Array.from({ length: 40 }, () => randomText(rng, 80)),
    ['aaaaaaa aaaa aa a aaa', 'abababab abab ba'], // repeated symbols: (a, a) merges must not overlap
  ];
  for (const texts of corpora) {
    const fast = mergesOf(trainByteLevelBpe(texts, { vocabSize: 256 + 300 + 1 }));
    assert.deepEqual(fast, naiveMerges(texts, 300, 2));
  }
});

test('byte fallback: decode(encode(x)) === x for arbitrary unicode text', () => {
  const tok = trainByteLevelBpe(generateReviews(2000, 1).map((r) => r.text), { vocabSize: 600 });
  const rng = mulberry32(11);
  for (let i = 0; i < 300; i++) {
    const text = randomText(rng, 1 + Math.floor(rng() * 120));
    assert.equal(tok.decode(tok.encode(text)), text, JSON.stringify(text));
  }
  assert.deepEqual(tok.encode('<|endoftext|>'), [tok.eosTokenId]);
  assert.equal(tok.decode(tok.encode('great film<|endoftext|>'), { skipSpecialTokens: true }), 'great film');
});

test('special tokens: ids, settings like GPT-2, and none learned from the corpus', () => {
  const texts = ['the film was great<|endoftext|>the film was dull<|pad|>', 'the film was fine'];
  const tok = trainByteLevelBpe(texts, { vocabSize: 400, specialTokens: ['<|endoftext|>', '<|pad|>'], modelMaxLength: 64 });
  const n = tok.vocabSize;
  assert.equal(tok.eosTokenId, n - 2);
  assert.equal(tok.bosTokenId, n - 2);
  assert.equal(tok.padTokenId, n - 2, 'pad = eos, as GPT-2');
  assert.equal(tok.unkTokenId, n - 2);
  assert.deepEqual(tok.specialTokens.additional, ['<|pad|>']);
  assert.equal(tok.tokenToId('<|pad|>'), n - 1);
  assert.equal(tok.modelMaxLength, 64);
  for (const m of mergesOf(tok)) assert.ok(!m.includes('<|') && !m.includes('|>'), `learned from a special token: ${m}`);
  assert.throws(() => trainByteLevelBpe(texts, { vocabSize: 256 }), TokenizerError);
  assert.throws(() => trainByteLevelBpe(texts, { vocabSize: 300, specialTokens: ['a'] }), /byte token/);
  assert.throws(() => trainByteLevelBpe(texts, { vocabSize: 300, minFrequency: 0 }), /minFrequency/);
  assert.throws(() => trainByteLevelBpe(['the the the the'], { vocabSize: 300, specialTokens: ['Ġthe'] }), /also a special token/);
});

test('training is deterministic', () => {
  const texts = generateReviews(3000, 5).map((r) => r.text);
  const a = learnByteLevelBpe(texts, { vocabSize: 800 });
  const b = learnByteLevelBpe([...texts], { vocabSize: 800 });
  assert.deepEqual(a.merges, b.merges);
  assert.deepEqual([...a.vocab], [...b.vocab]);
  // the order of the texts changes the counts' insertion order, not the result
  const c = learnByteLevelBpe([...texts].reverse(), { vocabSize: 800 });
  assert.deepEqual(c.merges, a.merges);
});

test('save → load: the same ids through our BPE (tokenizer.json, vocab.json + merges.txt) and @huggingface/tokenizers', () => {
  const texts = generateReviews(5000, 2).map((r) => r.text);
  const tok = trainByteLevelBpe(texts, { vocabSize: 700 });
  const dir = join(root, 'reviews');
  saveTokenizer(tok, dir);
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.equal(json['model']!['type'], 'BPE');
  assert.equal(json['pre_tokenizer']!['type'], 'ByteLevel');
  assert.equal(json['decoder']!['type'], 'ByteLevel');
  assert.equal(Object.keys(json['model']!['vocab'] as object).length, tok.vocabSize);
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config['eos_token'], '<|endoftext|>');
  assert.equal(config['tokenizer_class'], 'GPT2Tokenizer');

  const ours = loadTokenizer(dir);
  const viaHf = loadTokenizer(dir, { backend: 'hf' });
  const vmDir = join(root, 'vocab-merges');
  cpSync(dir, vmDir, { recursive: true });
  unlinkSync(join(vmDir, 'tokenizer.json'));
  const fromVocabMerges = loadTokenizer(vmDir);
  const hf = new HfTokenizer(json, config);
  assert.equal(ours.backend.kind, 'byte-level-bpe');
  assert.equal(viaHf.backend.kind, 'hf-tokenizers');
  const rng = mulberry32(3);
  const corpus = [
    ...generateReviews(200, 99).map((r) => r.text),
    "i didn't like it , but the cast's work was GREAT !!",
    'the film   was\tlong\n\nand dull<|endoftext|>next',
    ...Array.from({ length: 50 }, () => randomText(rng, 60)),
  ];
  for (const text of corpus) {
    const ids = tok.encode(text);
    assert.deepEqual(ours.encode(text), ids, JSON.stringify(text));
    assert.deepEqual(fromVocabMerges.encode(text), ids, `vocab.json + merges.txt: ${JSON.stringify(text)}`);
    assert.deepEqual(viaHf.encode(text), ids, `hf backend: ${JSON.stringify(text)}`);
    assert.deepEqual(hf.encode(text).ids, ids, `@huggingface/tokenizers: ${JSON.stringify(text)}`);
    assert.equal(hf.decode(ids, { clean_up_tokenization_spaces: false }), text);
  }
  for (const t of [ours, viaHf, fromVocabMerges]) {
    assert.equal(t.vocabSize, tok.vocabSize);
    assert.equal(t.eosTokenId, tok.eosTokenId);
    assert.equal(t.bosTokenId, tok.bosTokenId);
    assert.equal(t.padTokenId, tok.padTokenId);
  }
});

test('time to train a 2,000-token vocabulary on generateReviews(20000, 0) (printed, not asserted)', () => {
  const texts = generateReviews(20000, 0).map((r) => r.text);
  const chars = texts.reduce((n, t) => n + t.length, 0);
  const t0 = performance.now();
  const tok = trainByteLevelBpe(texts, { vocabSize: 2000 });
  const ms = performance.now() - t0;
  const tokens = texts.reduce((n, t) => n + tok.encode(t).length, 0);
  console.log(
    `train-bpe: ${texts.length} reviews (${(chars / 1e6).toFixed(2)} MB) → ${tok.vocabSize} tokens ` +
      `(${mergesOf(tok).length} merges${tok.vocabSize < 2000 ? '; the corpus ran out of pairs seen twice' : ''}) in ${ms.toFixed(0)} ms; ` +
      `${(tokens / texts.length).toFixed(1)} tokens per review`,
  );
  assert.ok(tok.vocabSize <= 2000);
});
