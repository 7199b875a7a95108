// batchEncode: padding left/right, 'longest'/'max_length', truncation sides, exact arrays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenizer, gpt2Tokenizer, padBatch, TokenizerError } from '../../src/tokenizers/index.js';

const tok = gpt2Tokenizer();
const texts = ['Hello world', ' the', 'Hello']; // [15496, 995], [262], [15496]
const E = 50256; // eos, which pads for GPT-2

test('padding right (default) to the longest', () => {
  assert.deepEqual(tok.batchEncode(texts), {
    inputIds: [[15496, 995], [262, E], [15496, E]],
    attentionMask: [[1, 1], [1, 0], [1, 0]],
  });
});

test('padding left, per call or per tokenizer', () => {
  const expected = {
    inputIds: [[15496, 995], [E, 262], [E, 15496]],
    attentionMask: [[1, 1], [0, 1], [0, 1]],
  };
  assert.deepEqual(tok.batchEncode(texts, { paddingSide: 'left' }), expected);
  assert.deepEqual(tok.withOptions({ paddingSide: 'left' }).batchEncode(texts), expected);
  assert.equal(tok.paddingSide, 'right', 'withOptions leaves the original alone');
});

test("padding 'max_length' and padToMultipleOf", () => {
  assert.deepEqual(tok.batchEncode(['Hello world', ' the'], { padding: 'max_length', maxLength: 4 }), {
    inputIds: [[15496, 995, E, E], [262, E, E, E]],
    attentionMask: [[1, 1, 0, 0], [1, 0, 0, 0]],
  });
  assert.deepEqual(tok.batchEncode(['Hello world', ' the'], { padToMultipleOf: 3, paddingSide: 'left' }), {
    inputIds: [[E, 15496, 995], [E, E, 262]],
    attentionMask: [[0, 1, 1], [0, 0, 1]],
  });
  // Longer than max_length without truncation: left as is, as transformers does.
  assert.deepEqual(tok.batchEncode(['Hello world'], { padding: 'max_length', maxLength: 1 }).inputIds, [[15496, 995]]);
});

test('truncation right and left', () => {
  const long = ['Hello world the', 'Hello']; // [15496, 995, 262], [15496]
  assert.deepEqual(tok.batchEncode(long, { truncation: true, maxLength: 2 }), {
    inputIds: [[15496, 995], [15496, E]],
    attentionMask: [[1, 1], [1, 0]],
  });
  assert.deepEqual(tok.batchEncode(long, { truncation: true, maxLength: 2, truncationSide: 'left', paddingSide: 'left' }), {
    inputIds: [[995, 262], [E, 15496]],
    attentionMask: [[1, 1], [0, 1]],
  });
  // Without maxLength, truncation uses modelMaxLength (1024 for GPT-2).
  assert.equal(tok.batchEncode(['a'.repeat(5000) + ' b'.repeat(2000)], { truncation: true }).inputIds[0]!.length, 1024);
});

test('no padding gives ragged rows', () => {
  assert.deepEqual(tok.batchEncode(texts, { padding: false }), {
    inputIds: [[15496, 995], [262], [15496]],
    attentionMask: [[1, 1], [1], [1]],
  });
  assert.deepEqual(tok.batchEncode([]), { inputIds: [], attentionMask: [] });
});

test('a configured pad token', () => {
  const t = tok.withOptions({ padToken: '!' }); // id 0
  assert.equal(t.padTokenId, 0);
  assert.deepEqual(t.batchEncode(texts).inputIds, [[15496, 995], [262, 0], [15496, 0]]);
});

test('errors: no pad token, no length', () => {
  const noEos = createTokenizer(tok.backend, { name: 'no specials' });
  assert.equal(noEos.padTokenId, null);
  assert.throws(() => noEos.batchEncode(texts), (e: unknown) => e instanceof TokenizerError && /no pad token/.test(e.message));
  assert.throws(() => noEos.batchEncode(texts, { truncation: true, padding: false }), (e: unknown) => e instanceof TokenizerError && /need maxLength/.test(e.message));
  assert.throws(() => padBatch([[1]], { padId: 0, side: 'left', multipleOf: 0 }), TokenizerError);
});
