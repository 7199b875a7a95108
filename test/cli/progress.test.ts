// Progress: ETA arithmetic, number and duration formatting, the in-place terminal line and its throttle,
// and the cadence of plain lines when the stream is not a terminal. A fake stream and clock make it exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, etaSeconds, formatDuration, formatNumber, formatRate } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean, columns?: number) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (s: string) => writes.push(s) } };
}

test('etaSeconds: elapsed · (total − done) / done; undefined before the first item', () => {
  assert.equal(etaSeconds(25, 100, 10), 30); // 2.5 it/s, 75 left → 30 s
  assert.equal(etaSeconds(100, 100, 40), 0);
  assert.equal(etaSeconds(120, 100, 40), 0); // overshoot clamps
  assert.equal(etaSeconds(0, 100, 10), undefined);
  assert.equal(etaSeconds(5, 100, 0), undefined);
});

test('formatDuration: seconds, then minutes and seconds, hours and minutes, days and hours', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(0.4), '0s');
  assert.equal(formatDuration(59.4), '59s');
  assert.equal(formatDuration(59.6), '1m 00s');
  assert.equal(formatDuration(83), '1m 23s');
  assert.equal(formatDuration(3599), '59m 59s');
  assert.equal(formatDuration(3600 + 5 * 60 + 7), '1h 05m');
  assert.equal(formatDuration(2 * 86400 + 3 * 3600), '2d 03h');
  assert.equal(formatDuration(Infinity), '?');
});

test('formatNumber: 3 significant digits, compact', () => {
  const cases: Array<[number, string]> = [
    [0.693147, '0.693'],
    [1.5, '1.5'],
    [0.5, '0.5'],
    [1.0001, '1'],
    [0.0123456, '0.0123'],
    [-0.0123456, '-0.0123'],
    [0.001, '0.001'],
    [0.000123456, '1.23e-4'],
    [1e-5, '1e-5'],
    [12.345, '12.3'],
    [999.7, '1000'],
    [1234.5, '1235'],
    [12345.6, '1.23e4'],
    [250000.5, '2.5e5'],
    [42, '42'],
    [123456, '123456'],
    [1234567, '1.23e6'],
    [0, '0'],
    [NaN, 'nan'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
  ];
  for (const [x, s] of cases) assert.equal(formatNumber(x), s, String(x));
});

test('formatRate: it/s at one item a second or more, s/it below', () => {
  assert.equal(formatRate(50, 10), '5 it/s');
  assert.equal(formatRate(10, 3), '3.33 it/s');
  assert.equal(formatRate(4, 10), '2.5 s/it');
  assert.equal(formatRate(0, 10), '');
});

test('terminal: one line redrawn in place with bar, count, percent, elapsed<eta, rate and metrics', () => {
  let clock = 1_000_000;
  const { writes, stream } = fakeStream(true);
  const p = new Progress({ total: 1000, label: 'train', stream, now: () => clock });
  clock += 83_000;
  p.update(250, { loss: 0.693147, kl: 0.0123456, phase: 'rollout' });
  // 250 in 83 s → 3.01 it/s; eta = 83 · 750 / 250 = 249 s.
  assert.deepEqual(writes, ['\r\x1b[2Ktrain [█████░░░░░░░░░░░░░░░]  250/1000 25% 1m 23s<4m 09s 3.01 it/s loss=0.693 kl=0.0123 phase=rollout']);
  clock += 3000;
  p.update(260, { loss: 0.6 });
  assert.equal(writes.length, 2);
  assert.equal(writes[1], '\r\x1b[2Ktrain [█████░░░░░░░░░░░░░░░]  260/1000 26% 1m 26s<4m 05s 3.02 it/s loss=0.6');
  p.done();
  assert.equal(writes.length, 4, 'done redraws and ends the line');
  assert.equal(writes[3], '\n');
  p.done();
  p.update(999);
  assert.equal(writes.length, 4, 'nothing after done');
});

test('terminal: at most one redraw per 100 ms; to fit the terminal the bar goes first, then the tail', () => {
  let clock = 0;
  const { writes, stream } = fakeStream(true, 30);
  const p = new Progress({ total: 100, stream, now: () => clock });
  for (let i = 1; i <= 100; i++) {
    clock += 7; // 700 ms in all
    p.update(i);
  }
  // Draws at 7 ms, then each first update at least 100 ms after the last draw: 7, 112, 217, …, 637.
  assert.equal(writes.length, 7);
  for (const w of writes) assert.ok(w.length - '\r\x1b[2K'.length <= 29, w);
  p.done();
  assert.equal(writes.at(-2), '\r\x1b[2K100/100 100% 1s<0s 143 it/s');

  const wide = fakeStream(true, 120);
  const q = new Progress({ total: 100, stream: wide.stream, now: () => clock });
  q.update(1, { loss: 0.5 });
  assert.ok(wide.writes[0]!.includes('█') || wide.writes[0]!.includes('░'), 'the bar when it fits');
  const narrow = fakeStream(true, 12);
  new Progress({ total: 100, stream: narrow.stream, now: () => clock }).update(1, { loss: 0.5 });
  assert.equal(narrow.writes[0], '\r\x1b[2K  1/100 1% ');
});

test('not a terminal: plain lines every 5 s and one at the end, with the same information', () => {
  let clock = 0;
  const { writes, stream } = fakeStream(false);
  const p = new Progress({ total: 200, label: 'ppo', stream, now: () => clock });
  for (let step = 1; step <= 200; step++) {
    clock += 400; // 2.5 steps a second, 80 s in all
    p.update(step, { reward: step / 100 });
  }
  // One line per 5 s: at 5.2 s, 10.4 s, … (the first update at least 5 s after the previous line), 15 in 80 s.
  assert.equal(writes.length, 15);
  assert.ok(writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b')));
  assert.equal(writes[0], 'ppo 13/200 6% elapsed 5s eta 1m 15s 2.5 it/s reward=0.13\n');
  p.done();
  assert.equal(writes.length, 16);
  assert.equal(writes[15], 'ppo 200/200 100% elapsed 1m 20s eta 0s 2.5 it/s reward=2\n');
  p.done();
  assert.equal(writes.length, 16);
});

test('not a terminal: done prints nothing new when the last update was just printed; unknown total', () => {
  let clock = 0;
  const { writes, stream } = fakeStream(false);
  const p = new Progress({ total: 10, stream, now: () => clock });
  clock = 6000;
  p.update(3);
  p.done();
  assert.deepEqual(writes, ['3/10 30% elapsed 6s eta 14s 2 s/it\n']);

  const open = fakeStream(false);
  clock = 0;
  const q = new Progress({ total: 0, label: 'gen', stream: open.stream, now: () => clock });
  clock = 10_000;
  q.update(40);
  q.done();
  assert.deepEqual(open.writes, ['gen 40 elapsed 10s 4 it/s\n']);
});

test('isTTY defaults to the stream', () => {
  const { writes, stream } = fakeStream(true);
  const p = new Progress({ total: 2, stream, now: () => 0 });
  p.update(1);
  assert.ok(writes[0]!.startsWith('\r\x1b[2K'));
});
