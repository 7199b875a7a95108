/**
 * A TensorBoard event-file writer for scalars, with no dependency: the few protobuf fields TensorBoard reads are
 * encoded by hand and framed as TFRecords.
 *
 * File: `<logdir>/events.out.tfevents.<unix seconds>.<hostname>` (TensorFlow's name; `.<pid>.<n>` is appended
 * when that name is taken, so two writers started in the same second never share a file). TensorBoard reads every
 * file in the directory whose name contains "tfevents", in name order.
 *
 * TFRecord framing (tensorflow/core/lib/io/record_writer.cc), little-endian:
 *   uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 *   masked_crc = ((crc >>> 15) | (crc << 17)) + 0xa282ead8   (mod 2^32)
 *
 * Data: a protobuf `Event` (tensorflow/core/util/event.proto); only these fields are written:
 *   Event      { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
 *                SessionLog session_log = 6; }
 *   Summary    { repeated Value value = 1; }
 *   Value      { string tag = 1; float simple_value = 2; }
 *   SessionLog { SessionStatus status = 1; }   // START = 1
 * Like any proto3 encoder, wall_time and step are left out when 0; simple_value sits in a oneof, so it is always
 * written. The first record of a file is the version event, file_version = "brain.Event:2".
 *
 * Non-finite values are written as they are (float32 NaN, ±Infinity): TensorBoard reads them and marks them on
 * the chart. Values beyond float32's range become ±Infinity, as in TensorFlow.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

// ---- CRC32C (Castagnoli, reflected polynomial 0x82f63b78), one table lookup per byte ----

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C of `bytes` (the iSCSI / TFRecord checksum). `crc32c("123456789") === 0xe3069283`. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 bits, add a constant (so a CRC of data holding CRCs stays strong). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, masked CRC of the length, the data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskCrc(crc32c(out.subarray(0, 8))), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskCrc(crc32c(data)), true);
  return out;
}

// ---- protobuf: the four wire types needed ----

/** Collects protobuf fields; each `field*` call appends tag and value. */
class ProtoWriter {
  private readonly parts: number[] = [];

  private varint(value: bigint): void {
    // int64 is written as its two's-complement uint64 (a negative value takes 10 bytes).
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
  }

  private tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  /** Wire type 0: int64, enum. */
  fieldVarint(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(BigInt(value));
    return this;
  }

  /** Wire type 1: double, little-endian. */
  fieldDouble(field: number, value: number): this {
    this.tag(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.parts.push(...b);
    return this;
  }

  /** Wire type 5: float, little-endian. */
  fieldFloat(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.parts.push(...b);
    return this;
  }

  /** Wire type 2: string (UTF-8) or embedded message. */
  fieldBytes(field: number, value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    this.tag(field, 2);
    this.varint(BigInt(bytes.length));
    for (const b of bytes) this.parts.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** The header of `Event` shared by every record: wall_time (seconds) and step, each left out when 0. */
function eventHead(wallTime: number, step: number): ProtoWriter {
  if (!Number.isSafeInteger(step)) throw new RangeError(`TensorBoard step must be an integer, got ${step}`);
  const w = new ProtoWriter();
  if (wallTime !== 0) w.fieldDouble(1, wallTime);
  if (step !== 0) w.fieldVarint(2, step);
  return w;
}

/** The `Event` that opens every file: file_version "brain.Event:2". */
export function encodeFileVersionEvent(wallTime: number): Uint8Array {
  return eventHead(wallTime, 0).fieldBytes(3, 'brain.Event:2').finish();
}

/** An `Event` holding one `Summary` with a simple_value per entry of `values` (tag → value). */
export function encodeScalarsEvent(values: ReadonlyArray<readonly [string, number]>, step: number, wallTime: number): Uint8Array {
  const summary = new ProtoWriter();
  for (const [tag, value] of values) {
    summary.fieldBytes(1, new ProtoWriter().fieldBytes(1, tag).fieldFloat(2, value).finish());
  }
  return eventHead(wallTime, step).fieldBytes(5, summary.finish()).finish();
}

/**
 * An `Event` with SessionLog START at `step`. On reading it TensorBoard drops the points it already holds at steps
 * >= `step` (tensorboard's `purge_orphaned_data`, on by default): what a run resumed from a checkpoint writes so the
 * steps logged after that checkpoint by the killed run disappear from the charts.
 */
export function encodeSessionStartEvent(step: number, wallTime: number): Uint8Array {
  const START = 1;
  return eventHead(wallTime, step).fieldBytes(6, new ProtoWriter().fieldVarint(1, START).finish()).finish();
}

// ---- the writer ----

export interface TensorBoardWriterOptions {
  /** Write to disk once this many records wait. Default 64. */
  maxPending?: number;
  /** Write to disk when a record is added this long (ms) after the last write. Default 2000. */
  flushMs?: number;
  /** Clock for wall_time and flushMs, in milliseconds since the epoch. Default Date.now. */
  now?: () => number;
}

/**
 * Appends scalar events to a new event file in `logdir`. Records are held in memory and written together, in one
 * synchronous write, when `maxPending` wait, when `flushMs` has passed since the last write, on `flush()` and on
 * `close()`; a crash loses at most the records not yet written.
 */
export class TensorBoardWriter {
  /** Path of the event file. */
  readonly file: string;
  private fd: number | null;
  private pending: Uint8Array[] = [];
  private lastFlush: number;
  private readonly maxPending: number;
  private readonly flushMs: number;
  private readonly now: () => number;

  constructor(logdir: string, options: TensorBoardWriterOptions = {}) {
    this.maxPending = options.maxPending ?? 64;
    this.flushMs = options.flushMs ?? 2000;
    this.now = options.now ?? Date.now;
    mkdirSync(logdir, { recursive: true });
    const start = this.now();
    const { file, fd } = createEventFile(logdir, start);
    this.file = file;
    this.fd = fd;
    this.lastFlush = start;
    this.pending.push(frameRecord(encodeFileVersionEvent(start / 1000)));
    this.flush();
  }

  /** One scalar at `step`. `wallTime` is in seconds since the epoch (TensorBoard's unit); default now. */
  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.add(encodeScalarsEvent([[tag, value]], step, wallTime ?? this.now() / 1000));
  }

  /** Several scalars at one step, in one event: `{ 'train/loss': 0.7, 'train/lr': 1e-5 }`. */
  addScalars(record: Record<string, number>, step: number, wallTime?: number): void {
    const values = Object.entries(record);
    if (values.length === 0) return;
    this.add(encodeScalarsEvent(values, step, wallTime ?? this.now() / 1000));
  }

  /** Marks a resume at `step`: TensorBoard drops the points it already has at steps >= `step`. */
  addSessionStart(step: number, wallTime?: number): void {
    this.add(encodeSessionStartEvent(step, wallTime ?? this.now() / 1000));
  }

  /** Writes the records held in memory to the file. */
  flush(): void {
    this.lastFlush = this.now();
    if (this.pending.length === 0) return;
    if (this.fd === null) throw new Error(`TensorBoardWriter for ${this.file} is closed`);
    const total = this.pending.reduce((n, r) => n + r.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const r of this.pending) {
      bytes.set(r, at);
      at += r.length;
    }
    this.pending = [];
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written);
  }

  /** Flushes and closes the file; later adds throw. Safe to call twice. */
  close(): void {
    if (this.fd === null) return;
    this.flush();
    closeSync(this.fd);
    this.fd = null;
  }

  private add(event: Uint8Array): void {
    if (this.fd === null) throw new Error(`TensorBoardWriter for ${this.file} is closed`);
    this.pending.push(frameRecord(event));
    if (this.pending.length >= this.maxPending || this.now() - this.lastFlush >= this.flushMs) this.flush();
  }
}

/** Creates the event file with TensorFlow's name, adding `.<pid>.<n>` when that name is already taken. */
function createEventFile(logdir: string, nowMs: number): { file: string; fd: number } {
  const seconds = String(Math.floor(nowMs / 1000)).padStart(10, '0');
  const base = join(logdir, `events.out.tfevents.${seconds}.${hostname()}`);
  for (let n = 0; ; n++) {
    const file = n === 0 ? base : `${base}.${process.pid}.${n}`;
    try {
      return { file, fd: openSync(file, 'wx') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw err;
    }
  }
}
