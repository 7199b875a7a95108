// The built-in GPT-2 tokenizer: exact ids against well-known values and against OpenAI's own
// encoder.py (fixtures/gpt2-reference.json, made by fixtures/make-gpt2-reference.py), round trips,
// the heap BPE against the naive loop, and the pieces of GPT-2's pre-tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  BYTE_TO_CHAR,
  ByteLevelBpeBackend,
  GPT2_EOS_ID,
  gpt2Tokenizer,
  preTokenize,
  TokenizerError,
} from '../../src/tokenizers/index.js';
import { AddedTokenSplitter } from '../../src/tokenizers/added-tokens.js';
import { utf8Bytes } from '../../src/tokenizers/byte-level.js';

const tok = gpt2Tokenizer();

interface RefCase {
  text: string;
  ids: number[];
}
const reference = JSON.parse(readFileSync(new URL('./fixtures/gpt2-reference.json', import.meta.url), 'utf8')) as { cases: RefCase[] };

test('well-known GPT-2 ids', () => {
  assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  assert.deepEqual(tok.encode(' the'), [262]);
  assert.deepEqual(tok.encode('<|endoftext|>'), [50256]);
  assert.deepEqual(tok.encode(''), []);
});

test('tricky strings: exact ids', () => {
  const pinned: Array<[string, number[]]> = [
    ['  leading', [220, 3756]],
    ['trailing   ', [9535, 4386, 220, 220, 220]],
    ['a  b   c', [64, 220, 275, 220, 220, 269]],
    ['\n\n\nx\n', [628, 198, 87, 198]],
    ['12345 678901', [10163, 2231, 718, 40401, 486]],
    ["don't I'm we'll they've she'd it's", [9099, 470, 314, 1101, 356, 1183, 484, 1053, 673, 1549, 340, 338]],
    ['café naïve Ålborg', [66, 1878, 2634, 41492, 6184, 227, 23160, 2398]],
    ['日本語のテキスト', [33768, 98, 17312, 105, 45739, 252, 5641, 24336, 25084, 43302]],
    ['😀 👩‍👩‍👧 🇫🇷', [47249, 222, 50169, 102, 447, 235, 41840, 102, 447, 235, 41840, 100, 12520, 229, 104, 8582, 229, 115]],
    ['x<|endoftext|>y <|endoftext|> z', [87, 50256, 88, 220, 50256, 1976]],
    ['Hello<|endoftext|> world', [15496, 50256, 995]],
    ['\t\ttab', [197, 197, 8658]],
  ];
  for (const [text, ids] of pinned) assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
});

test(`matches OpenAI's encoder.py on ${reference.cases.length} reference strings`, () => {
  for (const { text, ids } of reference.cases) assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
});

test('decode(encode(s)) === s for every reference string', () => {
  for (const { text } of reference.cases) assert.equal(tok.decode(tok.encode(text)), text, JSON.stringify(text));
  assert.equal(tok.decode(tok.encode('\ufeffstarts with a BOM')), '\ufeffstarts with a BOM'); // a BOM is kept, not eaten
});

test('lone surrogates encode as U+FFFD, like every UTF-8 encoder', () => {
  assert.deepEqual(tok.encode('a\ud83d'), tok.encode('a\ufffd'));
});

test('special-token ids, sizes and defaults', () => {
  assert.equal(tok.vocabSize, 50257);
  assert.equal(tok.eosTokenId, GPT2_EOS_ID);
  assert.equal(tok.bosTokenId, 50256);
  assert.equal(tok.unkTokenId, 50256);
  assert.equal(tok.padTokenId, 50256, 'GPT-2 has no pad token: eos pads');
  assert.equal(tok.paddingSide, 'right');
  assert.equal(tok.modelMaxLength, 1024);
  assert.equal(tok.tokenToId('Ġthe'), 262);
  assert.equal(tok.idToToken(262), 'Ġthe');
  assert.equal(tok.idToToken(50256), '<|endoftext|>');
  assert.equal(tok.idToToken(99999), undefined);
  assert.equal(gpt2Tokenizer(), tok, 'cached');
  assert.deepEqual(tok.encode('Hello', { addSpecialTokens: true }), [15496], 'GPT-2 adds no BOS');
});

test('decode: skipSpecialTokens, unknown ids, clean-up', () => {
  const ids = [15496, 50256, 995, 50256];
  assert.equal(tok.decode(ids), 'Hello<|endoftext|> world<|endoftext|>');
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'Hello world');
  assert.equal(tok.decode([15496, 123456, 995]), 'Hello world', 'unknown ids are skipped, as Hugging Face does');
  assert.equal(tok.decode([]), '');
  const spaced = tok.encode("Hello , world . I 'm here");
  assert.equal(tok.decode(spaced), "Hello , world . I 'm here", 'no clean-up by default: decode is exact');
  assert.equal(tok.decode(spaced, { cleanUpTokenizationSpaces: true }), "Hello, world. I'm here");
  assert.equal(tok.batchDecode([[15496], [995]]).join('|'), 'Hello| world');
});

test('a half character decodes as U+FFFD', () => {
  assert.deepEqual(tok.encode('😀'), [47249, 222]);
  assert.equal(tok.decode([47249]), '\ufffd');
});

test('heap BPE equals the naive loop (fast against naive)', () => {
  const model = (tok.backend as ByteLevelBpeBackend).model;
  const pool = ['a', 'b', 'e', 'r', 's', 't', 'th', ' ', '  ', 'é', '日', '😀', '0', '1', '.', 'ing', 'the', 'aa'];
  let seed = 42;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let k = 0; k < 300; k++) {
    let s = '';
    for (let i = 0, n = 1 + rand(120); i < n; i++) s += pool[rand(pool.length)]!;
    const symbols = Array.from(utf8Bytes(s), (b) => model.vocab.get(BYTE_TO_CHAR[b]!)!);
    assert.deepEqual(model.mergeHeap(symbols), model.mergeNaive(symbols), JSON.stringify(s));
  }
  assert.deepEqual(model.mergeHeap([]), []);
});

test('long pieces stay fast (heap path) and exact', () => {
  for (const piece of ['a'.repeat(100_000), '7'.repeat(50_000), ' '.repeat(50_000) + 'x']) {
    const t0 = performance.now();
    const ids = tok.encode(piece);
    assert.ok(performance.now() - t0 < 3000, 'a single long piece must not be quadratic');
    assert.equal(tok.decode(ids), piece);
  }
});

test("pre-tokenizer pieces follow GPT-2's regex", () => {
  assert.deepEqual(preTokenize("Hello world's  end"), ['Hello', ' world', "'s", ' ', ' end']);
  assert.deepEqual(preTokenize('a   b\n\n c '), ['a', '  ', ' b', '\n\n', ' c', ' ']);
  assert.deepEqual(preTokenize('x123y!?'), ['x', '123', 'y', '!?']);
  // \s is Unicode White_Space, as in Python's regex and Oniguruma: U+0085 is a space, U+FEFF is not.
  assert.deepEqual(preTokenize('a\u0085\u0085b'), ['a', '\u0085', '\u0085', 'b']);
  assert.deepEqual(preTokenize(' \ufeffa'), [' \ufeff', 'a']);
});

test('added tokens: longest match first, lstrip/rstrip, single_word', () => {
  const splitter = new AddedTokenSplitter([
    { content: '<|im', id: 1, special: false },
    { content: '<|im_start|>', id: 2, special: true },
    { content: '<r>', id: 3, special: true, rstrip: true, lstrip: true },
    { content: 'cat', id: 4, special: false, singleWord: true },
  ]);
  const show = (text: string) => splitter.split(text).map((s) => (typeof s === 'string' ? s : `#${s.id}`));
  assert.deepEqual(show('a<|im_start|>b<|imx'), ['a', '#2', 'b', '#1', 'x']);
  assert.deepEqual(show('x  <r>  y'), ['x', '#3', 'y']);
  assert.deepEqual(show('cat concat cat.'), ['#4', ' concat ', '#4', '.']);
});

test('clear errors', () => {
  assert.throws(() => tok.withOptions({ padToken: '<pad>' }), (e: unknown) => e instanceof TokenizerError && /pad_token "<pad>" is not in the vocabulary/.test(e.message));
  assert.throws(() => tok.encode(42 as unknown as string), TokenizerError);
});
