// metrics.jsonl: one line per step, non-finite values round-trip, torn last lines, truncation on resume,
// and the TensorBoard events written beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsFileError, MetricsLogger, readMetrics } from '../../src/trainers/common/metrics-log.js';
import { crc32c, maskCrc } from '../../src/trainers/common/tensorboard.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-metrics-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

test('log writes one JSON line per step with an ISO time; non-finite values read back as numbers', () => {
  const dir = join(root, 'a');
  let clock = T0;
  const m = new MetricsLogger(dir, { tensorboard: false, now: () => clock });
  m.log(1, { loss: 0.5, lr: 1e-5 });
  clock += 1500;
  m.log(2, { loss: NaN, kl: Infinity, 'neg/inf': -Infinity });
  m.close();
  const lines = readFileSync(m.file, 'utf8').split('\n');
  assert.equal(lines[0], '{"step":1,"time":"2025-01-01T12:00:00.000Z","loss":0.5,"lr":0.00001}');
  assert.equal(lines[1], '{"step":2,"time":"2025-01-01T12:00:01.500Z","loss":"NaN","kl":"Infinity","neg/inf":"-Infinity"}');
  assert.equal(lines[2], '');
  assert.deepEqual(readMetrics(m.file), [
    { step: 1, time: '2025-01-01T12:00:00.000Z', metrics: { loss: 0.5, lr: 1e-5 } },
    { step: 2, time: '2025-01-01T12:00:01.500Z', metrics: { loss: NaN, kl: Infinity, 'neg/inf': -Infinity } },
  ]);
  assert.deepEqual(readdirSync(dir), ['metrics.jsonl'], 'no TensorBoard file when tensorboard: false');
  assert.throws(() => m.log(3, { step: 1 }), /"step" is reserved/);
  assert.throws(() => m.log(1.5, { loss: 1 }), RangeError);
});

test('readMetrics skips a torn last line but names the file and line of a bad line in the middle', () => {
  const file = join(root, 'torn.jsonl');
  writeFileSync(file, '{"step":1,"time":"t","loss":1}\n{"step":2,"time":"t","loss":2}\n{"step":3,"ti');
  assert.deepEqual(readMetrics(file).map((r) => r.step), [1, 2]);
  // A whole row that only lacks its newline is kept.
  writeFileSync(file, '{"step":1,"time":"t","loss":1}\n{"step":2,"time":"t","loss":2}');
  assert.deepEqual(readMetrics(file).map((r) => r.step), [1, 2]);
  writeFileSync(file, '{"step":1,"time":"t","loss":1}\n{"step":2,"ti\n{"step":3,"time":"t","loss":3}\n');
  assert.throws(() => readMetrics(file), (e: Error) => e instanceof MetricsFileError && e.message.startsWith(`${file}:2:`));
  writeFileSync(file, '{"step":1,"time":"t","loss":"high"}\n');
  assert.throws(() => readMetrics(file), /:1: metric "loss" is not a number/);
});

test('a new logger on a file with a torn tail removes it before appending', () => {
  const dir = join(root, 'resume-torn');
  const first = new MetricsLogger(dir, { tensorboard: false, now: () => T0 });
  first.log(1, { loss: 1 });
  first.close();
  appendFileSync(first.file, '{"step":2,"time":"2025-01-0');
  const second = new MetricsLogger(dir, { tensorboard: false, now: () => T0 });
  second.log(2, { loss: 0.9 });
  second.close();
  assert.deepEqual(readMetrics(first.file).map((r) => [r.step, r.metrics.loss]), [[1, 1], [2, 0.9]]);
});

test('truncateAfter drops the lines past the resumed step, and the torn tail', () => {
  const dir = join(root, 'resume');
  const first = new MetricsLogger(dir, { tensorboard: false, now: () => T0 });
  for (let step = 1; step <= 5; step++) first.log(step, { loss: 1 / step });
  first.close();
  appendFileSync(first.file, '{"step":6,"ti');

  const resumed = new MetricsLogger(dir, { tensorboard: false, now: () => T0 });
  resumed.truncateAfter(3);
  resumed.log(4, { loss: 0.2 });
  resumed.close();
  assert.deepEqual(readMetrics(first.file).map((r) => [r.step, r.metrics.loss]), [[1, 1], [2, 0.5], [3, 1 / 3], [4, 0.2]]);
  assert.ok(readFileSync(first.file, 'utf8').endsWith('\n'));
  // No file yet: nothing to truncate.
  const fresh = new MetricsLogger(join(root, 'fresh'), { tensorboard: false });
  fresh.truncateAfter(10);
  fresh.close();
});

test('with tensorboard, the scalars and the resume marker go to an event file in outDir', () => {
  const dir = join(root, 'tb');
  const m = new MetricsLogger(dir, { now: () => T0 });
  m.log(1, { 'train/loss': 0.25 });
  m.truncateAfter(0);
  m.close();
  const [events] = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));
  assert.ok(events, 'an event file');
  const bytes = new Uint8Array(readFileSync(join(dir, events)));
  // Walk the TFRecords, checking each data CRC; three: file version, the scalar, the session start at step 1.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const len = Number(view.getBigUint64(at, true));
    const data = bytes.subarray(at + 12, at + 12 + len);
    assert.equal(view.getUint32(at + 12 + len, true), maskCrc(crc32c(data)));
    records.push(data);
    at += 16 + len;
  }
  assert.equal(records.length, 3);
  assert.ok(Buffer.from(records[1]!).includes('train/loss'));
  // Event { wall_time, step: 1, session_log { status: START } }: ends 0x10 0x01 0x32 0x02 0x08 0x01
  assert.deepEqual([...records[2]!.subarray(-6)], [0x10, 0x01, 0x32, 0x02, 0x08, 0x01]);
});
