// Streaming decode never releases half a character, even when an emoji spans several tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpt2Tokenizer, loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import type { Tokenizer } from '../../src/tokenizers/index.js';

const tok = gpt2Tokenizer();

function streamAll(t: Tokenizer, ids: number[], options = {}): string[] {
  const d = t.streamDecoder(options);
  const parts = ids.map((id) => d.push(id));
  parts.push(d.end());
  return parts;
}

test('an emoji split across two tokens comes out whole, once', () => {
  const ids = tok.encode('Hi 😀!'); // "Hi", " \xf0\x9f\x98", "\x80", "!"
  assert.deepEqual(ids, [17250, 30325, 222, 0]);
  assert.deepEqual(streamAll(tok, ids), ['Hi', ' ', '😀', '!', '']);
});

test('streamed pieces never contain U+FFFD and join to the text', () => {
  for (const text of ['👩‍👩‍👧‍👦 family', '日本語のテキスト', 'café 🇫🇷 naïve', 'a😀b😃c', 'plain text, nothing odd']) {
    const parts = streamAll(tok, tok.encode(text));
    assert.ok(parts.every((p) => !p.includes('\ufffd')), JSON.stringify(parts));
    assert.equal(parts.join(''), text);
  }
});

test('every reference string streams back exactly, one id at a time', () => {
  const reference = JSON.parse(readFileSync(new URL('./fixtures/gpt2-reference.json', import.meta.url), 'utf8')) as { cases: Array<{ text: string }> };
  for (const { text } of reference.cases) {
    const parts = streamAll(tok, tok.encode(text));
    assert.equal(parts.join(''), text, JSON.stringify(text));
    assert.ok(parts.every((p) => !p.includes('\ufffd')), JSON.stringify(text));
  }
  assert.deepEqual(streamAll(tok, tok.encode('a\ufffd')), ['a', '', '\ufffd'], 'a real U+FFFD is held until the end');
});

test('push accepts several ids; end() releases an incomplete tail as U+FFFD', () => {
  const d = tok.streamDecoder();
  assert.equal(d.push([17250, 30325]), 'Hi ');
  assert.equal(d.end(), '\ufffd');
});

test('skipSpecialTokens while streaming', () => {
  const ids = [...tok.encode('Hello'), 50256, ...tok.encode(' world')];
  assert.deepEqual(streamAll(tok, ids, { skipSpecialTokens: true }), ['Hello', '', ' world', '']);
  assert.deepEqual(streamAll(tok, ids), ['Hello', '<|endoftext|>', ' world', '']);
});

test('the same through @huggingface/tokenizers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rlhf-tok-stream-'));
  try {
    saveTokenizer(tok, dir);
    const hf = loadTokenizer(dir, { backend: 'hf' });
    assert.deepEqual(streamAll(hf, tok.encode('Hi 😀!')), ['Hi', ' ', '😀', '!', '']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
