// Tokenised examples with the built-in GPT-2 tokenizer: SFT loss masks (text, completion-only,
// assistant-only through a chat template), packing, preference truncation, the reward text rule,
// and prompts for PPO.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  packSequences,
  readPrompts,
  rewardExamples,
  rewardInputIds,
  tokenizeKto,
  tokenizeLabels,
  tokenizePreference,
  tokenizeRatings,
  tokenizeRewardPairs,
  tokenizeSft,
  toDataset,
} from '../../src/data/index.js';
import { REWARD_FORMATS } from '../../src/data/index.js';
import type { LabelRow, PreferenceRow, RatingRow, SftExample } from '../../src/data/index.js';
import { gpt2Tokenizer } from '../../src/tokenizers/index.js';
import type { ChatMessage } from '../../src/tokenizers/index.js';
import { fixture, throwsData } from './helpers.js';

const tok = gpt2Tokenizer();
const EOS = 50256;

/** The tokens where the mask is 1, decoded as one string per contiguous span. */
function maskedSpans(ex: SftExample): string[] {
  const spans: string[] = [];
  let cur: number[] = [];
  ex.lossMask.forEach((m, i) => {
    if (m === 1) cur.push(ex.inputIds[i]!);
    else if (cur.length > 0) {
      spans.push(tok.decode(cur));
      cur = [];
    }
  });
  if (cur.length > 0) spans.push(tok.decode(cur));
  return spans;
}

describe('tokenizeSft', () => {
  test('text: loss on every token, EOS appended', () => {
    const [ex] = tokenizeSft([{ line: 1, text: 'Hello world' }], tok);
    assert.deepEqual(ex!.inputIds, [15496, 995, EOS]);
    assert.deepEqual(ex!.lossMask, [1, 1, 1]);
    const [noEos] = tokenizeSft([{ line: 1, text: 'Hello world' }], tok, { appendEos: false });
    assert.deepEqual(noEos!.inputIds, [15496, 995]);
  });

  test('prompt/completion: loss on the completion (+ EOS) only; ids are those of the joined string', () => {
    const [ex] = tokenizeSft([{ line: 1, chat: false, prompt: 'Question: what is 2+2?\nAnswer:', completion: ' four' }], tok);
    assert.deepEqual(ex!.inputIds, [...tok.encode('Question: what is 2+2?\nAnswer: four'), EOS]);
    assert.deepEqual(maskedSpans(ex!), [' four<|endoftext|>']);
    assert.equal(ex!.lossMask[0], 0);
  });

  test('a prompt ending in a space: the merged token moves to the completion, ids stay exact', () => {
    assert.deepEqual(tok.encode('Answer: '), [33706, 25, 220]);
    const [ex] = tokenizeSft([{ line: 1, chat: false, prompt: 'Answer: ', completion: 'yes' }], tok, { appendEos: false });
    assert.deepEqual(ex!.inputIds, tok.encode('Answer: yes'));
    assert.deepEqual(ex!.lossMask, [0, 0, 1]);
    assert.deepEqual(maskedSpans(ex!), [' yes']);
  });

  test('dolly rows train on the response after the template', () => {
    const d = toDataset([{ line: 1, values: { instruction: 'Say hi.', response: 'Hi!' } }], 'mem.jsonl');
    assert.equal(d.format, 'dolly');
    const [ex] = tokenizeSft(d.format === 'dolly' ? d.rows : [], tok);
    assert.equal(tok.decode(ex!.inputIds), '### Instruction:\nSay hi.\n\n### Response:\nHi!<|endoftext|>');
    assert.deepEqual(maskedSpans(ex!), ['Hi!<|endoftext|>']);
  });

  const conversation: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi!' },
    { role: 'assistant', content: 'Hello.' },
    { role: 'user', content: 'Name a colour.' },
    { role: 'assistant', content: 'Blue.' },
  ];

  test('messages (ChatML, the default template): loss on assistant turns only, end-of-turn included', () => {
    const [ex] = tokenizeSft([{ line: 1, messages: conversation }], tok);
    assert.deepEqual(ex!.inputIds, tok.encodeChat(conversation)); // no EOS appended to chat renderings
    assert.deepEqual(maskedSpans(ex!), ['Hello.<|im_end|>\n', 'Blue.<|im_end|>\n']);
  });

  test('messages with a simple custom template', () => {
    const simple = tok.withOptions({
      chatTemplate:
        "{% for m in messages %}{{ m['role'] | upper }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}",
    });
    const [ex] = tokenizeSft([{ line: 1, messages: conversation }], simple);
    assert.equal(simple.decode(ex!.inputIds), 'SYSTEM: Be brief.\nUSER: Hi!\nASSISTANT: Hello.\nUSER: Name a colour.\nASSISTANT: Blue.\n');
    assert.deepEqual(maskedSpans(ex!), [' Hello.\n', ' Blue.\n']);
  });

  test('conversational prompt/completion: loss on the rendered continuation', () => {
    const [ex] = tokenizeSft(
      [{ line: 1, chat: true, prompt: [{ role: 'user', content: 'Hi!' }], completion: [{ role: 'assistant', content: 'Hello.' }] }],
      tok,
    );
    assert.equal(tok.decode(ex!.inputIds), '<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n');
    assert.deepEqual(maskedSpans(ex!), ['Hello.<|im_end|>\n']);
  });

  test('completionOnly: false puts the loss on every token', () => {
    const [ex] = tokenizeSft([{ line: 1, chat: false, prompt: 'Q:', completion: ' A' }], tok, { completionOnly: false });
    assert.deepEqual(ex!.lossMask, [1, 1, 1, 1]);
    const [m] = tokenizeSft([{ line: 1, messages: conversation }], tok, { completionOnly: false });
    assert.ok(m!.lossMask.every((x) => x === 1));
  });

  test('truncation keeps the start', () => {
    const [ex] = tokenizeSft([{ line: 1, chat: false, prompt: 'one two three', completion: ' four five six' }], tok, { maxLength: 4 });
    assert.deepEqual(ex!.inputIds, tok.encode('one two three four'));
    assert.deepEqual(ex!.lossMask, [0, 0, 0, 1]);
  });

  test('dropCutOff leaves out only the examples whose labelled tokens truncation cut off entirely', () => {
    const rows = [
      { line: 1, chat: false as const, prompt: 'one two three', completion: ' four five six' }, // 3 prompt tokens: nothing labelled is left at 3
      { line: 2, chat: false as const, prompt: 'one', completion: ' two' }, // [one, two, EOS]: fits
      { line: 3, text: 'one two three four five' }, // cut, but still labelled
      { line: 4, chat: false as const, prompt: 'one two', completion: ' three four' }, // [one, two, three]: one labelled token left
    ];
    const kept = tokenizeSft(rows, tok, { maxLength: 3 });
    assert.deepEqual(kept.map((e) => e.lossMask), [[0, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1]]);
    assert.deepEqual(tokenizeSft(rows, tok, { maxLength: 3, dropCutOff: true }), kept.slice(1));
    // an example that never had a label is not the truncation's doing: kept
    assert.equal(tokenizeSft([{ line: 1, messages: [{ role: 'user', content: 'hi' }] }], tok, { maxLength: 3, dropCutOff: true }).length, 1);
  });
});

describe('packSequences', () => {
  const ex = (n: number, start: number): SftExample => ({
    inputIds: Array.from({ length: n }, (_, i) => start + i),
    lossMask: Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0)),
  });
  const examples = [ex(5, 100), ex(7, 200), ex(4, 300)]; // 16 tokens

  test('blocks of exactly blockSize; the remainder dropped', () => {
    const b4 = packSequences(examples, 4);
    assert.equal(b4.length, 4);
    assert.ok(b4.every((b) => b.inputIds.length === 4 && b.lossMask.length === 4));
    assert.deepEqual(b4[1]!.inputIds, [104, 200, 201, 202]);
    assert.deepEqual(b4[1]!.lossMask, [1, 1, 0, 1]);
    const b5 = packSequences(examples, 5);
    assert.equal(b5.length, 3);
    assert.deepEqual(b5.flatMap((b) => b.inputIds), examples.flatMap((e) => e.inputIds).slice(0, 15));
  });

  test('keepRemainder keeps a shorter last block', () => {
    const b5 = packSequences(examples, 5, { keepRemainder: true });
    assert.deepEqual(b5.map((b) => b.inputIds.length), [5, 5, 5, 1]);
    assert.deepEqual(b5[3]!.inputIds, [303]);
    assert.throws(() => packSequences(examples, 0), /blockSize/);
  });

  test('on SFT examples: EOS separates documents inside a block', () => {
    const sft = tokenizeSft([{ line: 1, text: 'Hello world' }, { line: 2, text: 'Hello world' }], tok);
    assert.deepEqual(packSequences(sft, 6)[0]!.inputIds, [15496, 995, EOS, 15496, 995, EOS]);
  });
});

describe('tokenizePreference', () => {
  const row: PreferenceRow = { line: 1, chat: false, prompt: 'one two three four five', chosen: ' six seven eight', rejected: ' nine', margin: 1.5 };

  test('without truncation: prompt + response ids are exactly those of the joined string', () => {
    const [ex] = tokenizePreference([row], tok);
    assert.deepEqual([...ex!.promptIds, ...ex!.chosenIds], tok.encode(row.prompt + row.chosen));
    assert.deepEqual([...ex!.promptIds, ...ex!.rejectedIds], tok.encode(row.prompt + row.rejected));
    assert.equal(ex!.margin, 1.5);
  });

  test('the prompt is left-truncated to maxPromptLength; responses cut so prompt + response ≤ maxLength', () => {
    const [ex] = tokenizePreference([row], tok, { maxLength: 5, maxPromptLength: 3 });
    assert.deepEqual(ex!.promptIds, tok.encode(' three four five'));
    assert.deepEqual(ex!.chosenIds, tok.encode(' six seven'));
    assert.deepEqual(ex!.rejectedIds, tok.encode(' nine'));
    const [long] = tokenizePreference([row], tok, { maxLength: 3 });
    assert.deepEqual(long!.promptIds, tok.encode(' four five'));
    assert.deepEqual(long!.chosenIds, tok.encode(' six'));
  });

  test('appendEos adds EOS to both responses', () => {
    const [ex] = tokenizePreference([row], tok, { appendEos: true });
    assert.equal(ex!.chosenIds.at(-1), EOS);
    assert.equal(ex!.rejectedIds.at(-1), EOS);
  });

  test('chat rows: prompt rendered with the generation prompt, responses as continuations', () => {
    const chat: PreferenceRow = {
      line: 1,
      chat: true,
      prompt: [{ role: 'user', content: 'Sky colour?' }],
      chosen: [{ role: 'assistant', content: 'Blue.' }],
      rejected: [{ role: 'assistant', content: 'Green.' }],
    };
    const [ex] = tokenizePreference([chat], tok);
    assert.equal(tok.decode(ex!.promptIds), '<|im_start|>user\nSky colour?<|im_end|>\n<|im_start|>assistant\n');
    assert.equal(tok.decode(ex!.chosenIds), 'Blue.<|im_end|>\n');
    assert.deepEqual([...ex!.promptIds, ...ex!.rejectedIds], tok.encodeChat([...chat.prompt, ...chat.rejected]));
  });

  test('kto rows split the same way', () => {
    const [ex] = tokenizeKto([{ line: 1, chat: false, prompt: 'Q:', completion: ' yes', label: true }], tok);
    assert.deepEqual(ex, { promptIds: tok.encode('Q:'), completionIds: tok.encode(' yes'), label: true });
  });
});

describe('the reward text rule', () => {
  test('rewardInputIds is encode(prompt + response), nothing appended; maxLength keeps the end', () => {
    assert.deepEqual(rewardInputIds(tok, 'Answer: ', 'yes'), tok.encode('Answer: yes'));
    assert.ok(!rewardInputIds(tok, 'a', ' b').includes(EOS));
    assert.deepEqual(rewardInputIds(tok, 'one two three', ' four', 2), tok.encode(' three four'));
  });

  test('labels, ratings and reward pairs all use it', () => {
    const labels: LabelRow[] = [{ line: 1, prompt: 'Q', response: ' A', label: 1, rawLabel: 1 }, { line: 2, prompt: '', response: 'great film', label: 0, rawLabel: 0 }];
    assert.deepEqual(tokenizeLabels(labels, tok), [
      { ids: rewardInputIds(tok, 'Q', ' A'), label: 1 },
      { ids: tok.encode('great film'), label: 0 },
    ]);
    const ratings: RatingRow[] = [{ line: 1, prompt: 'Q', response: ' A', scores: { helpful: 4 } }];
    assert.deepEqual(tokenizeRatings(ratings, tok), [{ ids: rewardInputIds(tok, 'Q', ' A'), scores: { helpful: 4 } }]);
    const pairs = tokenizeRewardPairs([{ line: 1, chat: false, prompt: 'Q', chosen: ' good', rejected: ' bad', margin: 1 }], tok);
    assert.deepEqual(pairs, [{ chosenIds: rewardInputIds(tok, 'Q', ' good'), rejectedIds: rewardInputIds(tok, 'Q', ' bad'), margin: 1 }]);
    const chat = tokenizeRewardPairs(
      [{ line: 1, chat: true, prompt: [{ role: 'user', content: 'Q' }], chosen: [{ role: 'assistant', content: 'good' }], rejected: [{ role: 'assistant', content: 'bad' }] }],
      tok,
    );
    const promptText = tok.applyChatTemplate([{ role: 'user', content: 'Q' }], { addGenerationPrompt: true });
    assert.deepEqual(chat[0]!.chosenIds, rewardInputIds(tok, promptText, 'good<|im_end|>\n'));
  });
});

test('rewardExamples: one call for any reward dataset, examples tagged by kind', () => {
  const mk = (values: Record<string, unknown>[]) => toDataset(values.map((v, i) => ({ line: i + 1, values: v })), 'mem.jsonl', { expectFormat: REWARD_FORMATS });
  const p = rewardExamples(mk([{ prompt: 'Q', chosen: ' a', rejected: ' b' }]), tok);
  assert.deepEqual(p, { kind: 'preference', dimensions: [], examples: [{ kind: 'preference', chosenIds: rewardInputIds(tok, 'Q', ' a'), rejectedIds: rewardInputIds(tok, 'Q', ' b') }] });
  const r = rewardExamples(mk([{ prompt: 'Q', response: ' a', helpful: 3 }]), tok, { maxLength: 1 });
  assert.deepEqual(r, { kind: 'ratings', dimensions: ['helpful'], examples: [{ kind: 'ratings', ids: [257], scores: { helpful: 3 } }] });
  const l = rewardExamples(mk([{ text: 'nice', label: 'pos' }, { text: 'bad', label: 'neg' }]), tok);
  assert.deepEqual(l.examples.map((e) => e.kind === 'labels' && e.label), [1, 0]);
});

describe('readPrompts', () => {
  test('.txt: one prompt per line', () => {
    assert.deepEqual(readPrompts(fixture('prompts.txt', 'The movie was\n\nI think\n')), ['The movie was', 'I think']);
  });

  test('prompt, query or text columns; --columns', () => {
    assert.deepEqual(readPrompts(fixture('p.jsonl', '{"prompt": "a", "chosen": "x", "rejected": "y"}\n{"prompt": "b", "chosen": "x", "rejected": "y"}\n')), ['a', 'b']);
    assert.deepEqual(readPrompts(fixture('q.csv', 'id,query\n1,"hi, you"\n')), ['hi, you']);
    assert.deepEqual(readPrompts(fixture('s.tsv', 'sentence\tlabel\nnice\t1\n'), { columns: { text: 'sentence' } }), ['nice']);
    throwsData(() => readPrompts(fixture('n.tsv', 'sentence\tlabel\nnice\t1\n')), 'no prompt column', 'sentence, label', '--columns prompt=');
  });

  test('messages: rendered with the generation prompt, trailing assistant turns dropped; a tokenizer is needed', () => {
    const f = fixture('m.jsonl', JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }] }) + '\n');
    assert.deepEqual(readPrompts(f, { tokenizer: tok }), ['<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n']);
    throwsData(() => readPrompts(f), 'needs a tokenizer');
  });
});
