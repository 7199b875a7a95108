// Readers: JSONL, JSON, CSV (RFC 4180 quoting), TSV and TXT; BOM, CRLF, non-UTF-8 bytes, empty
// files, bad rows (file:line in the error, or skipped and counted), and --columns renaming.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DataError, parseColumnsFlag, readRecords, renameColumns } from '../../src/data/index.js';
import { fixture, throwsData } from './helpers.js';

const values = (file: string, opts = {}): Record<string, unknown>[] => readRecords(file, opts).records.map((r) => r.values);
const lines = (file: string, opts = {}): number[] => readRecords(file, opts).records.map((r) => r.line);

describe('CSV', () => {
  test('quoted fields with commas, newlines and doubled quotes; lines are where each record starts', () => {
    const f = fixture('quotes.csv', 'text,label\n"hello, world",1\n"two\nlines",0\n"she said ""hi""",1\nplain,0\n');
    const r = readRecords(f);
    assert.deepEqual(r.columns, ['text', 'label']);
    assert.deepEqual(
      r.records.map((x) => x.values),
      [
        { text: 'hello, world', label: '1' },
        { text: 'two\nlines', label: '0' },
        { text: 'she said "hi"', label: '1' },
        { text: 'plain', label: '0' },
      ],
    );
    assert.deepEqual(lines(f), [2, 3, 5, 6]);
  });

  test('empty fields, a last row without newline, blank lines ignored', () => {
    const f = fixture('empty.csv', 'a,b,c\n1,,3\n\n"",x,\n4,5,6');
    assert.deepEqual(values(f), [
      { a: '1', b: '', c: '3' },
      { a: '', b: 'x', c: '' },
      { a: '4', b: '5', c: '6' },
    ]);
    assert.deepEqual(lines(f), [2, 4, 5]);
  });

  test('BOM and CRLF', () => {
    const f = fixture('bom.csv', '\uFEFFtext,label\r\n"a\r\nb",1\r\nc,0\r\n');
    const r = readRecords(f);
    assert.deepEqual(r.columns, ['text', 'label']); // not "\uFEFFtext"
    assert.deepEqual(values(f), [
      { text: 'a\nb', label: '1' },
      { text: 'c', label: '0' },
    ]);
    assert.deepEqual(lines(f), [2, 4]);
  });

  test('wrong column count: DataError with file:line and the fix, or skipped and counted', () => {
    const f = fixture('count.csv', 'text,label\nok,1\nhello, world,0\nfine,1\n');
    const e = throwsData(() => readRecords(f), `${f}:3:`, 'expected 2 columns (text, label), found 3', 'quote fields that contain commas');
    assert.equal(e.file, f);
    assert.equal(e.line, 3);
    const r = readRecords(f, { skipInvalid: true });
    assert.equal(r.records.length, 2);
    assert.equal(r.skipped, 1);
    assert.match(r.skipReasons[0]!, /^line 3: expected 2 columns/);
  });

  test('an unclosed quote names the line where it opens', () => {
    const f = fixture('unclosed.csv', 'text,label\nok,1\n"never closed,0\nmore,1\n');
    throwsData(() => readRecords(f), `${f}:3:`, 'never closed');
    const g = fixture('stray.csv', 'text,label\n"closed"x,1\n');
    throwsData(() => readRecords(g), `${g}:2:`, 'must be doubled');
  });

  test('header problems: duplicate and empty names; header but no rows', () => {
    throwsData(() => readRecords(fixture('dup.csv', 'a,a\n1,2\n')), 'names column "a" twice');
    throwsData(() => readRecords(fixture('noname.csv', 'a,\n1,2\n')), 'column 2 of the header row has no name');
    throwsData(() => readRecords(fixture('header.csv', 'text,label\n')), 'header row but no data rows');
  });
});

describe('TSV', () => {
  test('splits on tabs, keeps quotes and commas as text, CRLF accepted', () => {
    const f = fixture('a.tsv', 'sentence\tlabel\r\nit\'s "great", really \t1\r\nbad\t0\r\n');
    assert.deepEqual(values(f), [
      { sentence: 'it\'s "great", really ', label: '1' },
      { sentence: 'bad', label: '0' },
    ]);
  });

  test('wrong column count says a field cannot hold a tab', () => {
    const f = fixture('b.tsv', 'sentence\tlabel\na\tb\t1\nok\t1\n');
    throwsData(() => readRecords(f), `${f}:2:`, 'found 3', 'cannot contain a tab');
    assert.equal(readRecords(f, { skipInvalid: true }).skipped, 1);
  });
});

describe('JSON and JSONL', () => {
  test('JSON array: records keep the line where each object starts', () => {
    const f = fixture('a.json', '[\n  {"text": "a"},\n  {\n    "text": "b [x], {y}"\n  },\n  {"text": "c"}\n]\n');
    assert.deepEqual(values(f), [{ text: 'a' }, { text: 'b [x], {y}' }, { text: 'c' }]);
    assert.deepEqual(lines(f), [2, 3, 6]);
  });

  test('JSON object with one array field; several array fields are an error', () => {
    const f = fixture('b.json', '{"version": 1, "meta": {"tags": ["x"]},\n "data": [\n {"text": "a"},\n {"text": "b"}]}');
    assert.deepEqual(values(f), [{ text: 'a' }, { text: 'b' }]);
    assert.deepEqual(lines(f), [3, 4]);
    throwsData(() => readRecords(fixture('c.json', '{"a": [], "b": []}')), 'exactly one array field', 'a (an array), b (an array)');
    throwsData(() => readRecords(fixture('d.json', '42')), 'array of objects');
  });

  test('JSON that does not parse: the error names the line', () => {
    const f = fixture('bad.json', '[\n {"text": "a"},\n {"text": "b",}\n]');
    const e = throwsData(() => readRecords(f), 'not valid JSON');
    assert.equal(e.line, 3);
  });

  test('a JSON array element that is not an object: error, or skipped', () => {
    const f = fixture('e.json', '[{"text": "a"},\n "b",\n {"text": "c"}]');
    throwsData(() => readRecords(f), `${f}:2:`, 'element 1', 'must be an object');
    assert.deepEqual(values(f, { skipInvalid: true }), [{ text: 'a' }, { text: 'c' }]);
  });

  test('JSONL with a bad line: DataError names file:line; skipInvalid counts it', () => {
    const f = fixture('a.jsonl', '{"text": "a"}\n\n{"text": "b"\n{"text": "c"}\n[1, 2]\n{"text": "d"}\n');
    const e = throwsData(() => readRecords(f), `${f}:3:`, 'not valid JSON', 'one JSON object');
    assert.ok(e instanceof Error);
    assert.equal(e.line, 3);
    const r = readRecords(f, { skipInvalid: true });
    assert.deepEqual(
      r.records.map((x) => [x.line, x.values['text']]),
      [
        [1, 'a'],
        [4, 'c'],
        [6, 'd'],
      ],
    );
    assert.equal(r.skipped, 2);
    assert.equal(r.skipReasons.length, 2);
    assert.match(r.skipReasons[1]!, /^line 5: expected a JSON object/);
  });

  test('JSONL with BOM and CRLF', () => {
    const f = fixture('b.jsonl', '\uFEFF{"text": "a"}\r\n{"text": "b"}\r\n');
    assert.deepEqual(values(f), [{ text: 'a' }, { text: 'b' }]);
  });

  test('skip reasons keep only the first few', () => {
    const f = fixture('many.jsonl', ['{"text": "ok"}', ...Array.from({ length: 9 }, () => 'nope')].join('\n'));
    const r = readRecords(f, { skipInvalid: true });
    assert.equal(r.skipped, 9);
    assert.equal(r.skipReasons.length, 5);
  });
});

describe('TXT and whole-file errors', () => {
  test('.txt: one text per non-blank line', () => {
    const f = fixture('a.txt', 'first line\n\n  \nsecond line\r\n');
    assert.deepEqual(readRecords(f).records, [
      { line: 1, values: { text: 'first line' } },
      { line: 4, values: { text: 'second line' } },
    ]);
  });

  test('empty files say so', () => {
    for (const name of ['e.jsonl', 'e.json', 'e.csv', 'e.tsv', 'e.txt']) throwsData(() => readRecords(fixture(name, '')), 'the file is empty');
    throwsData(() => readRecords(fixture('ws.jsonl', '\uFEFF\n  \n')), 'the file is empty');
  });

  test('non-UTF-8 bytes: the error names file and line', () => {
    const bytes = Buffer.concat([Buffer.from('text,label\nok,1\ncaf'), Buffer.from([0xe9]), Buffer.from(',0\n')]);
    const f = fixture('latin1.csv', bytes);
    const e = throwsData(() => readRecords(f), `${f}:3:`, 'not valid UTF-8', '0xE9', 'iconv');
    assert.equal(e.line, 3);
  });

  test('unknown extension and missing file', () => {
    throwsData(() => readRecords(fixture('a.parquet', 'x')), '".parquet"', '.jsonl, .json, .csv, .tsv or .txt');
    throwsData(() => readRecords('/nonexistent/dir/x.jsonl'), 'no such file');
    assert.deepEqual(values(fixture('x.data', '{"text": "a"}'), { fileKind: 'jsonl' }), [{ text: 'a' }]);
  });

  test('limit reads only the first records', () => {
    const f = fixture('lim.jsonl', '{"text": "a"}\n{"text": "b"}\n{"text": "c"}\n');
    assert.deepEqual(values(f, { limit: 2 }), [{ text: 'a' }, { text: 'b' }]);
  });
});

describe('--columns', () => {
  test('parseColumnsFlag', () => {
    assert.deepEqual(parseColumnsFlag('text=sentence,label=label'), { text: 'sentence', label: 'label' });
    assert.deepEqual(parseColumnsFlag(' prompt = question , '), { prompt: 'question' });
    assert.throws(() => parseColumnsFlag('text'), (e: unknown) => e instanceof DataError && e.message.includes('is not new=old'));
    assert.throws(() => parseColumnsFlag('a=b,a=c'), /mapped twice/);
  });

  test('renaming before detection, including a swap; a missing source column is an error', () => {
    const f = fixture('cols.tsv', 'sentence\tlabel\textra\nhi\t1\tx\n');
    const r = readRecords(f, { columns: { text: 'sentence' } });
    assert.deepEqual(r.records[0]!.values, { label: '1', extra: 'x', text: 'hi' });
    assert.deepEqual(r.columns, ['label', 'extra', 'text']);
    assert.deepEqual(renameColumns({ a: 1, b: 2 }, { a: 'b', b: 'a' }), { a: 2, b: 1 });
    throwsData(() => readRecords(f, { columns: { text: 'sentense' } }), '--columns text=sentense', 'no column "sentense"', 'sentence, label, extra');
  });
});
