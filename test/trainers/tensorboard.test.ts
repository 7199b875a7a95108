// TensorBoard event files: CRC32C, TFRecord framing and the hand-written protobuf, pinned byte for byte against
// records derived by hand (and cross-checked with an independent Python encoder: struct.pack plus a bitwise CRC32C,
// since neither tensorboard nor protobuf is installed here), then whole files parsed back by a reference reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TensorBoardWriter,
  crc32c,
  encodeFileVersionEvent,
  encodeScalarsEvent,
  encodeSessionStartEvent,
  frameRecord,
  maskCrc,
} from '../../src/trainers/common/tensorboard.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-tb-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const ascii = (s: string) => new TextEncoder().encode(s);

test('crc32c: the standard check value and the RFC 3720 (iSCSI) test vectors', () => {
  assert.equal(crc32c(ascii('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // 32 zero bytes
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43); // 32 bytes of 0xff
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e); // 0x00, 0x01, …, 0x1f
});

test('maskCrc: rotate right 15, add 0xa282ead8, mod 2^32', () => {
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskCrc(0xffffffff), 0xa282ead7); // rotation keeps all ones; 0xffffffff + 0xa282ead8 wraps
  assert.equal(maskCrc(0x12345678), 0x4f730f40);
  assert.equal(maskCrc(crc32c(ascii('123456789'))), 0xc78ab0e5);
  assert.equal(maskCrc(crc32c(new Uint8Array(32))), 0x0fd7fffa);
});

// Event { wall_time: 1700000000.25, step: 300, summary { value { tag: "loss", simple_value: 0.5 } } }
//   0x09                     field 1 (wall_time), wire type 1 (fixed64): (1 << 3) | 1
//   00 00 10 40 fc 54 d9 41  1700000000.25 as a little-endian double (0x41d954fc40100000)
//   0x10                     field 2 (step), wire type 0 (varint): (2 << 3) | 0
//   ac 02                    300 = 0b10_0101100 → 0x2c | 0x80 (more follows), then 300 >> 7 = 2
//   0x2a 0x0d                field 5 (summary), wire type 2: (5 << 3) | 2; 13 bytes follow
//     0x0a 0x0b              Summary field 1 (value), wire type 2; 11 bytes follow
//       0x0a 0x04 l o s s    Value field 1 (tag), wire type 2, 4 bytes
//       0x15                 Value field 2 (simple_value), wire type 5 (fixed32): (2 << 3) | 5
//       00 00 00 3f          0.5 as a little-endian float32 (0x3f000000)
const LOSS_EVENT = [
  0x09, 0x00, 0x00, 0x10, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x10, 0xac, 0x02, 0x2a, 0x0d, 0x0a, 0x0b, 0x0a, 0x04, 0x6c,
  0x6f, 0x73, 0x73, 0x15, 0x00, 0x00, 0x00, 0x3f,
];
// The same event framed: length 27 as uint64 LE, masked CRC of those 8 bytes, the event, masked CRC of the event.
const LOSS_RECORD = [
  0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x0d, 0x9e, 0x13, ...LOSS_EVENT, 0x77, 0xf9, 0x90, 0xa0,
];

test('a scalar event and its TFRecord match the hand-derived bytes', () => {
  const event = encodeScalarsEvent([['loss', 0.5]], 300, 1700000000.25);
  assert.deepEqual([...event], LOSS_EVENT);
  assert.deepEqual([...frameRecord(event)], LOSS_RECORD);
});

test('the file-version event; step 0 is left out; several values and NaN in one event; negative steps', () => {
  // Event { wall_time: 1700000000, file_version: "brain.Event:2" }, framed (no step field: proto3 omits 0).
  const version = [
    0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa3, 0x7f, 0x4b, 0x22, 0x09, 0x00, 0x00, 0x00, 0x40, 0xfc, 0x54,
    0xd9, 0x41, 0x1a, 0x0d, ...ascii('brain.Event:2'), 0xec, 0xed, 0x8f, 0x9d,
  ];
  assert.deepEqual([...frameRecord(encodeFileVersionEvent(1700000000))], version);

  // Event { wall_time: 2, summary { value { tag: "a", simple_value: 1 } value { tag: "b", simple_value: NaN } } }
  const two = [
    0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x2a, 0x14, 0x0a, 0x08, 0x0a, 0x01, 0x61, 0x15, 0x00, 0x00,
    0x80, 0x3f, 0x0a, 0x08, 0x0a, 0x01, 0x62, 0x15, 0x00, 0x00, 0xc0, 0x7f,
  ];
  assert.deepEqual([...encodeScalarsEvent([['a', 1], ['b', NaN]], 0, 2)], two);

  // int64 -1 is ten varint bytes (two's complement as uint64).
  const neg = encodeScalarsEvent([], -1, 0);
  assert.deepEqual([...neg], [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x2a, 0x00]);
  assert.throws(() => encodeScalarsEvent([['x', 1]], 1.5, 0), RangeError);
});

// ---- a reference reader: TFRecord framing with both CRCs checked, then the Event protobuf ----

interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: Array<{ tag: string; value: number }>;
  sessionStatus?: number;
}

function readRecords(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const len = Number(view.getBigUint64(at, true));
    assert.equal(view.getUint32(at + 8, true), maskCrc(crc32c(bytes.subarray(at, at + 8))), `length CRC at ${at}`);
    const data = bytes.subarray(at + 12, at + 12 + len);
    assert.equal(view.getUint32(at + 12 + len, true), maskCrc(crc32c(data)), `data CRC at ${at}`);
    out.push(data);
    at += 12 + len + 4;
  }
  return out;
}

/** Fields of one message: [field number, wire type, value] with varints as bigint, fixed as raw bytes. */
function parseFields(b: Uint8Array): Array<[number, number, bigint | Uint8Array]> {
  const fields: Array<[number, number, bigint | Uint8Array]> = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = b[at++]!;
      v |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return v;
    }
  };
  while (at < b.length) {
    const key = Number(varint());
    const [field, wire] = [key >>> 3, key & 7];
    if (wire === 0) fields.push([field, wire, varint()]);
    else if (wire === 1) fields.push([field, wire, b.subarray(at, (at += 8))]);
    else if (wire === 5) fields.push([field, wire, b.subarray(at, (at += 4))]);
    else if (wire === 2) {
      const len = Number(varint());
      fields.push([field, wire, b.subarray(at, (at += len))]);
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return fields;
}

const bytesOf = (v: bigint | Uint8Array) => v as Uint8Array;
const dv = (v: bigint | Uint8Array) => new DataView(bytesOf(v).buffer, bytesOf(v).byteOffset, bytesOf(v).byteLength);

function decodeEvent(data: Uint8Array): DecodedEvent {
  const e: DecodedEvent = { wallTime: 0, step: 0 };
  for (const [field, , v] of parseFields(data)) {
    if (field === 1) e.wallTime = dv(v).getFloat64(0, true);
    else if (field === 2) e.step = Number(BigInt.asIntN(64, v as bigint));
    else if (field === 3) e.fileVersion = new TextDecoder().decode(bytesOf(v));
    else if (field === 5) {
      e.values = parseFields(bytesOf(v)).map(([, , val]) => {
        let tag = '';
        let value = NaN;
        for (const [f, , x] of parseFields(bytesOf(val))) {
          if (f === 1) tag = new TextDecoder().decode(bytesOf(x));
          if (f === 2) value = dv(x).getFloat32(0, true);
        }
        return { tag, value };
      });
    } else if (field === 6) e.sessionStatus = Number(parseFields(bytesOf(v))[0]![2] as bigint);
  }
  return e;
}

const readEvents = (file: string) => readRecords(new Uint8Array(readFileSync(file))).map(decodeEvent);

test('TensorBoardWriter: file name, version record first, scalars and a session start read back', () => {
  const dir = join(root, 'run');
  let clock = 1_700_000_000_500;
  const w = new TensorBoardWriter(dir, { now: () => clock });
  assert.equal(w.file, join(dir, `events.out.tfevents.1700000000.${hostname()}`));
  w.addScalar('train/loss', 0.6931, 1);
  clock += 10;
  w.addScalars({ 'train/loss': 0.5, 'train/lr': 1e-5, 'train/kl': Infinity }, 2);
  w.addScalar('eval/reward', -1.25, 2, 123.5);
  w.addSessionStart(2);
  w.close();
  w.close(); // twice is fine
  assert.throws(() => w.addScalar('x', 1, 3), /closed/);

  const events = readEvents(w.file);
  assert.deepEqual(events[0], { wallTime: 1_700_000_000.5, step: 0, fileVersion: 'brain.Event:2' });
  assert.deepEqual(events[1], { wallTime: 1_700_000_000.5, step: 1, values: [{ tag: 'train/loss', value: Math.fround(0.6931) }] });
  assert.deepEqual(events[2], {
    wallTime: 1_700_000_000.51,
    step: 2,
    values: [
      { tag: 'train/loss', value: 0.5 },
      { tag: 'train/lr', value: Math.fround(1e-5) },
      { tag: 'train/kl', value: Infinity },
    ],
  });
  assert.deepEqual(events[3], { wallTime: 123.5, step: 2, values: [{ tag: 'eval/reward', value: -1.25 }] });
  assert.deepEqual(events[4], { wallTime: 1_700_000_000.51, step: 2, sessionStatus: 1 });
  assert.equal(events.length, 5);
  assert.deepEqual([...encodeSessionStartEvent(2, 0)], [0x10, 0x02, 0x32, 0x02, 0x08, 0x01]);
});

test('TensorBoardWriter: a second writer in the same second gets its own file; records wait until a flush', () => {
  const dir = join(root, 'two');
  let clock = 1_700_000_100_000;
  const a = new TensorBoardWriter(dir, { now: () => clock, maxPending: 3, flushMs: 1000 });
  const b = new TensorBoardWriter(dir, { now: () => clock });
  assert.notEqual(a.file, b.file);
  assert.equal(b.file, `${a.file}.${process.pid}.1`);
  assert.deepEqual(readdirSync(dir).sort(), [a.file, b.file].map((f) => f.slice(dir.length + 1)).sort());

  a.addScalar('x', 1, 1);
  a.addScalar('x', 2, 2);
  assert.equal(readEvents(a.file).length, 1, 'two records held in memory');
  a.addScalar('x', 3, 3); // the third pending record triggers a write
  assert.equal(readEvents(a.file).length, 4);
  a.addScalar('x', 4, 4);
  assert.equal(readEvents(a.file).length, 4);
  clock += 1000;
  a.addScalar('x', 5, 5); // flushMs passed since the last write
  assert.deepEqual(readEvents(a.file).map((e) => e.values?.[0]?.value), [undefined, 1, 2, 3, 4, 5]);
  a.close();
  b.close();
  assert.equal(readEvents(b.file).length, 1);
});
