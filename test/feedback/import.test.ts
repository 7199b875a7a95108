// Reading items from JSONL: every accepted shape, and errors that name the line, the field and the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImportError } from '../../src/feedback/errors.js';
import { parseItemsJsonl, parsePrompts } from '../../src/feedback/import-jsonl.js';
import { parseTaskSpec } from '../../src/feedback/schemas.js';
import { InvalidInputError } from '../../src/feedback/errors.js';

function importError(fn: () => unknown): ImportError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ImportError, `expected ImportError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an ImportError');
}

test('pairwise: "responses" strings or {text, model}, or response_a/response_b; extra fields kept as metadata', () => {
  const text = [
    JSON.stringify({ id: 7, prompt: 'p1', responses: ['a', { text: 'b', model: 'm2' }], source: 'hh' }),
    '',
    JSON.stringify({ prompt: 'p2', response_a: 'x', response_b: 'y', model_a: 'A', model_b: 'B', meta: { split: 'test' } }),
  ].join('\n');
  const items = parseItemsJsonl(text, 'pairwise', 'pairs.jsonl');
  assert.deepEqual(items, [
    { externalId: '7', prompt: 'p1', responses: [{ text: 'a', model: null }, { text: 'b', model: 'm2' }], meta: { source: 'hh' } },
    { externalId: null, prompt: 'p2', responses: [{ text: 'x', model: 'A' }, { text: 'y', model: 'B' }], meta: { split: 'test' } },
  ]);
});

test('rating, ranking and edit shapes', () => {
  assert.deepEqual(parseItemsJsonl('{"prompt":"p","response":"r","model":"m"}', 'rating')[0]!.responses, [{ text: 'r', model: 'm' }]);
  assert.equal(parseItemsJsonl('{"prompt":"p","responses":["a","b","c","d"]}', 'ranking')[0]!.responses.length, 4);
  assert.deepEqual(parseItemsJsonl('{"prompt":"p"}', 'edit')[0]!.responses, []);
  assert.deepEqual(parseItemsJsonl('{"prompt":"p","response":"draft"}', 'edit')[0]!.responses, [{ text: 'draft', model: null }]);
});

test('bad lines are reported by number and field, and nothing is imported', () => {
  const lines = [
    '{"prompt": "ok", "responses": ["a", "b"]}',
    '{"promt": "typo", "responses": ["a", "b"]}',
    '{"prompt": "one", "responses": ["a"]}',
    'not json',
    '[1, 2]',
    '{"prompt": 5, "responses": ["a", "b"]}',
    '{"prompt": "x", "response_a": "only a"}',
  ];
  const err = importError(() => parseItemsJsonl(lines.join('\n'), 'pairwise', 'pairs.jsonl'));
  assert.deepEqual(err.lines.map((l) => l.line), [2, 3, 4, 5, 6, 7]);
  assert.match(err.message, /^6 bad lines in pairs\.jsonl; nothing was imported:/);
  assert.match(err.message, /pairs\.jsonl line 2: missing "prompt" \(expected string\)/);
  assert.match(err.message, /line 3: has 1: a pairwise item needs exactly 2 responses/);
  assert.match(err.message, /line 4: not valid JSON/);
  assert.match(err.message, /line 5: expected a JSON object/);
  assert.match(err.message, /line 6: "prompt": Invalid input: expected string, received number/);
  assert.match(err.message, /line 7: missing \(a pair needs both "response_a" and "response_b"\)/);
});

test('line numbers count blank lines; an empty file is an error', () => {
  const err = importError(() => parseItemsJsonl('\n\n{"prompt": ""}\n', 'edit', 'demos.jsonl'));
  assert.deepEqual(err.lines, [{ line: 3, message: '"prompt": the prompt is empty' }]);
  assert.match(importError(() => parseItemsJsonl('\n  \n', 'edit', 'e.jsonl')).message, /the file has no items/);
});

test('ranking accepts 2–10 responses; rating exactly one', () => {
  importError(() => parseItemsJsonl(JSON.stringify({ prompt: 'p', responses: Array(11).fill('x') }), 'ranking'));
  assert.match(importError(() => parseItemsJsonl('{"prompt":"p","responses":["a","b"]}', 'rating')).message, /a rating item needs exactly 1 response/);
});

test('prompt files: plain lines or JSONL with "prompt"', () => {
  assert.deepEqual(parsePrompts('first\n\n second \n'), ['first', 'second']);
  assert.deepEqual(parsePrompts('{"prompt":"a"}\n{"prompt":"b","x":1}\n'), ['a', 'b']);
  assert.match(importError(() => parsePrompts('{"prompt":"a"}\n{"text":"b"}\n', 'p.jsonl')).message, /p\.jsonl line 2: missing "prompt"/);
});

test('task specs: defaults, rating dimensions, and named errors', () => {
  assert.deepEqual(parseTaskSpec({ name: 'r1', kind: 'rating' }).dimensions, ['coherence', 'creativity', 'relevance', 'fluency']);
  const p = parseTaskSpec({ name: 'p1', kind: 'pairwise' });
  assert.equal(p.perItem, 2);
  assert.deepEqual(p.dimensions, []);
  assert.throws(() => parseTaskSpec({ name: 'bad name!', kind: 'pairwise' }), (e: unknown) => e instanceof InvalidInputError && /task names are 1–64 letters/.test(e.message));
  assert.throws(() => parseTaskSpec({ name: 'x', kind: 'pairwise', dimensions: ['a'] }), /only rating tasks have dimensions/);
  assert.throws(() => parseTaskSpec({ name: 'x', kind: 'rating', dimensions: ['prompt'] }), /used by the ratings export/);
  assert.throws(() => parseTaskSpec({ name: 'x', kind: 'rating', dimensions: ['a', 'a'] }), /distinct/);
  assert.throws(() => parseTaskSpec({ name: 'x', kind: 'vote' }), /"kind"/);
  assert.throws(() => parseTaskSpec({ name: 'x', kind: 'edit', colour: 'red' }), /unknown field "colour"/);
});
