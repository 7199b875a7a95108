// Format detection for every format (TRL, ShareGPT, studio exports, Dolly/Alpaca, KTO, ratings,
// labels), typed rows, label mapping, expectFormat, and the errors when nothing matches.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeJsonl } from '../../src/feedback/export.js';
import {
  DataError,
  REWARD_FORMATS,
  SFT_FORMATS,
  dollyPrompt,
  readDataset,
  toDataset,
} from '../../src/data/index.js';
import type { DataFormat, DatasetOf, FormatOptions } from '../../src/data/index.js';
import { fixture, throwsData } from './helpers.js';

/** A dataset from in-memory rows (line i+1 for row i). */
function ds<F extends DataFormat = DataFormat>(rows: Record<string, unknown>[], opts: FormatOptions<F> = {}): DatasetOf<F> {
  return toDataset(
    rows.map((values, i) => ({ line: i + 1, values })),
    'mem.jsonl',
    opts,
  );
}

describe('detection', () => {
  test('text', () => {
    const d = ds([{ text: 'hello' }, { text: 'world' }]);
    assert.equal(d.format, 'text');
    assert.deepEqual(d.rows, [
      { line: 1, text: 'hello' },
      { line: 2, text: 'world' },
    ]);
  });

  test('prompt_completion: strings, and the conversational form', () => {
    const d = ds([{ prompt: 'Q: 2+2?', completion: ' 4' }]);
    assert.equal(d.format, 'prompt_completion');
    assert.deepEqual(d.rows[0], { line: 1, chat: false, prompt: 'Q: 2+2?', completion: ' 4' });
    const c = ds([{ prompt: [{ role: 'user', content: 'Hi' }], completion: [{ role: 'assistant', content: 'Hello' }] }]);
    assert.equal(c.format, 'prompt_completion');
    assert.deepEqual(c.rows[0], { line: 1, chat: true, prompt: [{ role: 'user', content: 'Hi' }], completion: [{ role: 'assistant', content: 'Hello' }] });
  });

  test('messages, also from a CSV cell holding JSON', () => {
    const msgs = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
    ];
    const d = ds([{ messages: msgs }]);
    assert.equal(d.format, 'messages');
    assert.deepEqual(d.rows[0]!.messages, msgs);
    const f = fixture('msgs.csv', `messages\n"${JSON.stringify(msgs).replaceAll('"', '""')}"\n`);
    const fromCsv = readDataset(f);
    assert.equal(fromCsv.format, 'messages');
    assert.deepEqual(fromCsv.format === 'messages' && fromCsv.rows[0]!.messages, msgs);
    throwsData(() => ds([{ messages: [{ role: 'user' }] }]), 'mem.jsonl:1:', 'field "messages"', 'message 0 must be {"role": string, "content": string}');
  });

  test('preference: TRL strings with prompt and margin', () => {
    const d = ds([{ prompt: 'Q', chosen: ' good', rejected: ' bad', margin: 2 }, { prompt: 'Q2', chosen: 'a', rejected: 'b' }]);
    assert.equal(d.format, 'preference');
    assert.equal(d.layout, 'prompt, chosen, rejected (TRL preference)');
    assert.deepEqual(d.rows, [
      { line: 1, chat: false, prompt: 'Q', chosen: ' good', rejected: ' bad', margin: 2 },
      { line: 2, chat: false, prompt: 'Q2', chosen: 'a', rejected: 'b' },
    ]);
  });

  test('preference: implicit prompt (TRL extract_prompt), strings and messages', () => {
    const d = ds([{ chosen: 'The sky is blue.', rejected: 'The sky is green.' }]);
    assert.deepEqual(d.rows[0], { line: 1, chat: false, prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' });
    const u = { role: 'user', content: 'Colour of the sky?' };
    const c = ds([{ chosen: [u, { role: 'assistant', content: 'Blue.' }], rejected: [u, { role: 'assistant', content: 'Green.' }] }]);
    assert.deepEqual(c.rows[0], { line: 1, chat: true, prompt: [u], chosen: [{ role: 'assistant', content: 'Blue.' }], rejected: [{ role: 'assistant', content: 'Green.' }] });
    throwsData(() => ds([{ chosen: [u], rejected: [u] }]), 'do not differ');
  });

  test('preference: TRL conversational with explicit prompt', () => {
    const d = ds([{ prompt: [{ role: 'user', content: 'Q' }], chosen: [{ role: 'assistant', content: 'A' }], rejected: [{ role: 'assistant', content: 'B' }] }]);
    assert.equal(d.format, 'preference');
    assert.equal(d.rows[0]!.chat, true);
  });

  test('preference: ShareGPT conversations + chosen + rejected, with a system column', () => {
    const d = ds([
      {
        conversations: [
          { from: 'human', value: 'Hi' },
          { from: 'gpt', value: 'Hello!' },
          { from: 'human', value: 'Joke?' },
        ],
        chosen: { from: 'gpt', value: 'A funny one.' },
        rejected: { from: 'gpt', value: 'No.' },
        system: 'Be nice.',
      },
    ]);
    assert.equal(d.format, 'preference');
    assert.match(d.layout, /ShareGPT/);
    assert.deepEqual(d.rows[0], {
      line: 1,
      chat: true,
      prompt: [
        { role: 'system', content: 'Be nice.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Joke?' },
      ],
      chosen: [{ role: 'assistant', content: 'A funny one.' }],
      rejected: [{ role: 'assistant', content: 'No.' }],
    });
    throwsData(() => ds([{ conversations: [{ from: 'robot', value: 'x' }], chosen: { from: 'gpt', value: 'a' }, rejected: { from: 'gpt', value: 'b' } }]), '"from": "robot"', 'human');
  });

  test('ShareGPT conversations alone are messages', () => {
    const d = ds([{ conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Yo' }] }]);
    assert.equal(d.format, 'messages');
    assert.deepEqual(d.format === 'messages' && d.rows[0]!.messages.map((m) => m.role), ['user', 'assistant']);
  });

  test('preference: input_text / candidate_0 / candidate_1 / choice; ties dropped and counted', () => {
    const d = ds([
      { input_text: 'P', candidate_0: 'x', candidate_1: 'y', choice: 1 },
      { input_text: 'P', candidate_0: 'x', candidate_1: 'y', choice: '0' },
      { input_text: 'P', candidate_0: 'x', candidate_1: 'y', choice: 0.5 },
    ]);
    assert.equal(d.format, 'preference');
    assert.deepEqual(d.rows, [
      { line: 1, chat: false, prompt: 'P', chosen: 'y', rejected: 'x' },
      { line: 2, chat: false, prompt: 'P', chosen: 'x', rejected: 'y' },
    ]);
    assert.equal(d.skipped, 1);
    assert.match(d.skipReasons[0]!, /line 3: choice 0.5 is a tie/);
    throwsData(() => ds([{ candidate_0: 'x', candidate_1: 'y', choice: 2 }]), 'field "choice"', 'must be 0');
  });

  test('ratings: a score column, detected numeric dimensions, or the dimensions option', () => {
    const s = ds([{ prompt: 'P', response: 'R', score: '4.5' }]);
    assert.equal(s.format, 'ratings');
    assert.deepEqual(s.format === 'ratings' && [s.dimensions, s.rows[0]], [['score'], { line: 1, prompt: 'P', response: 'R', scores: { score: 4.5 } }]);
    const d = ds([{ prompt: 'P', response: 'R', model: 'sft', coherence: 4, creativity: 2.5, n_ratings: 2, id: 7 }]);
    assert.equal(d.format, 'ratings');
    assert.deepEqual(d.format === 'ratings' && d.dimensions, ['coherence', 'creativity']);
    const o = ds([{ response: 'R', coherence: 4, creativity: 2 }], { dimensions: ['creativity'] });
    assert.deepEqual(o.format === 'ratings' && o.rows[0]!.scores, { creativity: 2 });
    assert.deepEqual(o.format === 'ratings' && o.rows[0]!.prompt, '');
    throwsData(() => ds([{ response: 'R', coherence: 4 }, { response: 'S', coherence: 'high' }]), 'mem.jsonl:2:', 'field "coherence"', 'expected a number');
  });

  test('labels: {text, label} and {prompt, response, label}', () => {
    const d = ds([{ text: 'great', label: 1 }, { text: 'awful', label: 0 }]);
    assert.equal(d.format, 'labels');
    assert.deepEqual(d.format === 'labels' && d.rows, [
      { line: 1, prompt: '', response: 'great', label: 1, rawLabel: 1 },
      { line: 2, prompt: '', response: 'awful', label: 0, rawLabel: 0 },
    ]);
    const p = ds([{ prompt: 'Q', response: 'A', label: 'good' }, { prompt: 'Q', response: 'B', label: 'bad' }]);
    assert.deepEqual(p.format === 'labels' && p.rows.map((r) => r.label), [1, 0]);
  });

  test('dolly and alpaca → prompt/completion with the documented template', () => {
    const d = ds([{ instruction: 'Summarise.', context: 'Long text.', response: 'Short.', category: 'summarization' }, { instruction: 'Say hi.', context: '', response: 'Hi.' }]);
    assert.equal(d.format, 'dolly');
    assert.deepEqual(d.format === 'dolly' && d.rows.map((r) => r.prompt), [
      '### Instruction:\nSummarise.\n\n### Context:\nLong text.\n\n### Response:\n',
      '### Instruction:\nSay hi.\n\n### Response:\n',
    ]);
    assert.equal(d.format === 'dolly' && d.rows[0]!.completion, 'Short.');
    const a = ds([{ instruction: 'Add.', input: '2 and 2', output: '4' }]);
    assert.equal(a.format, 'dolly');
    assert.equal(a.format === 'dolly' && a.rows[0]!.prompt, dollyPrompt('Add.', '2 and 2'));
  });

  test('kto: prompt, completion, boolean label', () => {
    const d = ds([{ prompt: 'Q', completion: 'A', label: true }, { prompt: 'Q', completion: 'B', label: 'false' }]);
    assert.equal(d.format, 'kto');
    assert.deepEqual(d.format === 'kto' && d.rows.map((r) => r.label), [true, false]);
    throwsData(() => ds([{ prompt: 'Q', completion: 'A', label: 'maybe' }]), 'field "label"', 'expected a boolean');
  });

  test('a raw studio export is refused with the formats to export instead', () => {
    throwsData(() => ds([{ task: 't', kind: 'pairwise', item_id: 1, prompt: 'P', responses: [], value: {} }]), '--format trl|pairs|ratings|sft');
  });

  test('nothing matches: the error lists the columns found, the formats, and --columns', () => {
    const e = throwsData(() => ds([{ sentence: 'x', label: 1 }]), 'no known format matches', 'Columns found: sentence, label', 'prompt_completion', 'preference', '--columns');
    assert.equal(e.line, 1);
  });
});

describe('expectFormat', () => {
  test('the same columns read as text for SFT and as labels for the reward model', () => {
    const rows = [{ text: 'good film', label: 1 }];
    assert.equal(ds(rows, { expectFormat: SFT_FORMATS }).format, 'text');
    assert.equal(ds(rows, { expectFormat: REWARD_FORMATS }).format, 'labels');
  });

  test('a file of another family: the error says what it looks like and what is needed', () => {
    throwsData(
      () => ds([{ prompt: 'P', completion: 'C' }], { expectFormat: ['preference'] }),
      'looks like prompt_completion',
      'this needs preference',
      'chosen, rejected',
    );
  });
});

describe('rows that do not fit', () => {
  test('missing and wrong-typed fields name file, line and field; skipInvalid counts them', () => {
    const rows = [{ prompt: 'a', completion: 'b' }, { prompt: 'c' }, { prompt: 'd', completion: 5 }, { prompt: 'e', completion: 'f' }];
    const m = throwsData(() => ds(rows), 'mem.jsonl:2:', 'field "completion"', 'missing');
    assert.equal(m.field, 'completion');
    assert.equal(m.line, 2);
    const d = ds(rows, { skipInvalid: true });
    assert.equal(d.rows.length, 2);
    assert.equal(d.skipped, 2);
    assert.match(d.skipReasons[1]!, /line 3: field "completion": expected a string, got a number \(5\)/);
  });

  test('no usable rows at all is an error', () => {
    throwsData(() => ds([{ text: 1 }], { skipInvalid: true }), 'no usable rows');
  });
});

describe('labels: which one is positive', () => {
  test('recognised names: 1, true, positive, pos, good (any case)', () => {
    for (const [pos, neg] of [[1, 0], [true, false], ['Positive', 'Negative'], ['pos', 'neg'], ['GOOD', 'bad'], ['1', '-1']] as const) {
      const d = ds([{ text: 'a', label: pos }, { text: 'b', label: neg }]);
      assert.deepEqual(d.format === 'labels' && d.rows.map((r) => r.label), [1, 0], String(pos));
    }
  });

  test('otherwise an error listing the distinct values and --positive-label', () => {
    throwsData(() => ds([{ text: 'a', label: 'yes' }, { text: 'b', label: 'no' }]), '2 distinct values: "no", "yes"', '--positive-label');
    throwsData(() => ds([{ text: 'a', label: 0 }, { text: 'b', label: 1 }, { text: 'c', label: 2 }]), '3 distinct values: "0", "1", "2"', '--positive-label');
  });

  test('positiveLabel picks the class (one against the rest); an unknown one is an error', () => {
    const d = ds([{ text: 'a', label: 'yes' }, { text: 'b', label: 'no' }, { text: 'c', label: 'maybe' }], { positiveLabel: 'YES' });
    assert.deepEqual(d.format === 'labels' && [d.positiveLabel, d.rows.map((r) => r.label)], ['yes', [1, 0, 0]]);
    throwsData(() => ds([{ text: 'a', label: 'yes' }], { positiveLabel: 'ok' }), '--positive-label "ok" is not among the label values: "yes"');
  });
});

describe('files written by `rlhf studio export`', () => {
  const exported = (name: string, rows: Record<string, unknown>[]): string => {
    const p = fixture(name, '');
    writeJsonl(p, rows);
    return p;
  };

  test('trl → preference', () => {
    const d = readDataset(exported('trl.jsonl', [{ prompt: 'P0', chosen: 'good0', rejected: 'bad0' }]), { expectFormat: ['preference'] });
    assert.deepEqual(d.rows[0], { line: 1, chat: false, prompt: 'P0', chosen: 'good0', rejected: 'bad0' });
  });

  test('pairs (ties included) → preference, the tie dropped', () => {
    const d = readDataset(
      exported('pairs.jsonl', [
        { input_text: 'P0', candidate_0: 'good0', candidate_1: 'bad0', choice: 0 },
        { input_text: 'P2', candidate_0: 'x2', candidate_1: 'y2', choice: 0.5 },
      ]),
      { expectFormat: REWARD_FORMATS },
    );
    assert.equal(d.format, 'preference');
    assert.equal(d.rows.length, 1);
    assert.equal(d.skipped, 1);
  });

  test('ratings (majority and per label) → ratings over the task dimensions', () => {
    const f = exported('ratings.jsonl', [
      { prompt: 'A?', response: 'ra', model: 'sft', helpful: 4.5, safe: 5, n_ratings: 2 },
      { prompt: 'B?', response: 'rb', model: 'base', helpful: 2, safe: 4, n_ratings: 1 },
    ]);
    const d = readDataset(f, { expectFormat: REWARD_FORMATS });
    assert.equal(d.format, 'ratings');
    assert.deepEqual(d.format === 'ratings' && [d.dimensions, d.rows[0]!.scores], [['helpful', 'safe'], { helpful: 4.5, safe: 5 }]);
    const g = exported('ratings-none.jsonl', [{ prompt: 'A?', response: 'ra', model: 'sft', helpful: 5, safe: 5, annotator: 'u2', comment: 'nice' }]);
    const e = readDataset(g);
    assert.deepEqual(e.format === 'ratings' && e.dimensions, ['helpful', 'safe']);
  });

  test('sft → prompt_completion', () => {
    const d = readDataset(exported('sft.jsonl', [{ prompt: 'P', completion: 'edited' }]), { expectFormat: SFT_FORMATS });
    assert.equal(d.format, 'prompt_completion');
  });
});

test('DataError is an Error subclass with file, line, field', () => {
  const e = new DataError({ file: 'x.csv', line: 4, field: 'label' }, 'is empty');
  assert.ok(e instanceof Error);
  assert.equal(e.message, 'x.csv:4: field "label": is empty');
  assert.equal(e.name, 'DataError');
});
