// Stopping: EOS ids, stop strings on the decoded text (incrementally, per row), max new tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generate, generateText, responseText, StoppingCriteria, StoppingError } from '../../src/generation/index.js';
import { gpt2Tokenizer } from '../../src/tokenizers/index.js';
import { leftPad, letters, tinyModel } from './helpers.js';

test('StoppingCriteria: EOS, stop strings across token boundaries, max new tokens, per row', () => {
  // letters: id i → two letters; 0 → "ad", 1 → "bk", 2 → "cr", 3 → "dy"
  const s = new StoppingCriteria(3, { eosTokenIds: [9], stopStrings: ['kc'], maxNewTokens: 3, tokenizer: letters });
  assert.equal(s.push(0, 1), null); // "bk"
  assert.equal(s.push(0, 2), 'stop'); // "bkcr" contains "kc", spanning the two tokens
  assert.equal(s.stopEnd[0], 3);
  assert.equal(s.push(0, 5), null); // finished rows ignore further tokens
  assert.equal(s.generated[0], 2);
  assert.equal(s.push(1, 9), 'eos');
  assert.equal(s.push(2, 0), null);
  assert.equal(s.allDone, false);
  assert.equal(s.push(2, 0), null);
  assert.equal(s.push(2, 0), 'length');
  assert.equal(s.allDone, true);
  assert.deepEqual(s.finishReason, ['stop', 'eos', 'length']);
  assert.throws(() => new StoppingCriteria(1, { eosTokenIds: [], stopStrings: ['x'], maxNewTokens: 3 }), StoppingError);
});

test('stop strings stop each row at the token that completes them', () => {
  const model = tinyModel(1);
  const prompts = [[5, 17, 3], [40, 2, 9, 11, 77, 8, 1], [60, 61, 62, 63, 64]];
  const run = (stopStrings: string[]) => {
    const { inputIds, attentionMask } = leftPad(prompts);
    const out = generate(model, { inputIds, attentionMask }, { greedy: true, maxNewTokens: 20, eosTokenId: null, stopStrings, tokenizer: letters });
    out.sequences.dispose(); out.responseMask.dispose();
    inputIds.dispose();
    attentionMask.dispose();
    return out;
  };
  const free = run([]);
  const text0 = letters.decode(free.responseIds[0] as number[]);
  const stop = text0.slice(5, 8); // the end of token 2 and all of token 3
  const out = run([stop]);
  prompts.forEach((_, b) => {
    const r = free.responseIds[b] as number[];
    let j = 0;
    while (j < r.length && !letters.decode(r.slice(0, j + 1)).includes(stop)) j++;
    if (j < r.length) {
      assert.deepEqual(out.responseIds[b], r.slice(0, j + 1), `row ${b}`);
      assert.equal(out.finishReason[b], 'stop');
      assert.equal(out.logprobs[b]!.length, j + 1);
    } else {
      assert.deepEqual(out.responseIds[b], r);
      assert.equal(out.finishReason[b], 'length');
    }
  });
  assert.equal(out.finishReason[0], 'stop');
  assert.ok((out.responseIds[0] as number[]).length <= 4);
});

test('generateText: left-pads prompts, decodes, cuts text before a stop string, keeps tokens', () => {
  const tok = gpt2Tokenizer();
  const model = tinyModel(2, { vocab_size: 50257, eos_token_id: 50256, bos_token_id: 50256, n_embd: 16, n_head: 2, initializer_range: 0.2 });
  const prompts = ['Hello there', 'A much longer prompt, with more tokens in it', ''];
  const free = generateText(model, tok, prompts, { greedy: true, maxNewTokens: 12, eosTokenId: null });
  assert.equal(free.length, 3);
  assert.deepEqual(free[0]!.promptTokens, tok.encode('Hello there'));
  assert.deepEqual(free[2]!.promptTokens, [50256]); // an empty prompt starts from BOS
  for (const r of free) {
    assert.equal(r.tokens.length, 12);
    assert.equal(r.logprobs.length, 12);
    assert.equal(r.text, tok.decode(r.tokens, { skipSpecialTokens: true }));
    assert.equal(r.finishReason, 'length');
  }
  // one by one gives the same
  const single = generateText(model, tok, [prompts[1] as string], { greedy: true, maxNewTokens: 12, eosTokenId: null });
  assert.deepEqual(single[0]!.tokens, free[1]!.tokens);
  // batches of 2 give the same as one batch
  const inTwos = generateText(model, tok, prompts, { greedy: true, maxNewTokens: 12, eosTokenId: null, batchSize: 2 });
  assert.deepEqual(inTwos.map((r) => r.tokens), free.map((r) => r.tokens));
  // a stop string taken from the middle of row 0's text
  const t0 = free[0]!.text;
  const stop = t0.slice(Math.floor(t0.length / 2), Math.floor(t0.length / 2) + 3);
  const stopped = generateText(model, tok, prompts, { greedy: true, maxNewTokens: 12, eosTokenId: null, stopStrings: [stop] });
  assert.equal(stopped[0]!.finishReason, 'stop');
  assert.ok(stopped[0]!.text.length < t0.length && t0.startsWith(stopped[0]!.text) && !stopped[0]!.text.includes(stop));
  assert.equal(stopped[0]!.text, t0.slice(0, t0.indexOf(stop)));
  assert.ok(tok.decode(stopped[0]!.tokens).includes(stop)); // the token that completed it is kept
  assert.equal(responseText(tok, stopped[0]!.tokens, 'stop', [stop]), stopped[0]!.text);
});
