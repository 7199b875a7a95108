/**
 * safetensors: the tensor file format of the Hugging Face ecosystem, read and written in plain TypeScript.
 * This module works on raw bytes; the tensor engine turns a `RawTensor` into a libtorch tensor and back.
 *
 * Layout of a file (integers little-endian):
 *
 *   ┌─────────┬──────────────────────────────┬───────────────────────────────────────────┐
 *   │ N: u64  │ header: N bytes of UTF-8 JSON │ data section: the tensors' bytes, packed  │
 *   └─────────┴──────────────────────────────┴───────────────────────────────────────────┘
 *   0         8                              8+N                                   end of file
 *
 *   header = { "__metadata__"?: { "<key>": "<string value>", … },
 *              "<tensor name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, … }
 *
 * - `data_offsets` are byte offsets into the data section (not the file); `end` is exclusive.
 * - A tensor's bytes are its elements in row-major (C) order, little-endian, so
 *   end − begin = prod(shape) × itemsize. A scalar has shape [] (one element); a shape with a 0 has no bytes.
 * - The tensors tile the data section exactly: sorted by offset, the first begins at 0, each begins where the
 *   previous one ended, and the last ends at the end of the file. No gaps, no overlaps, no trailing bytes.
 * - The header starts with '{', is at most 100 MB, and writers pad it with spaces to a multiple of 8 bytes so
 *   the data section starts 8-aligned. Writers order tensors by descending dtype alignment (F64/I64/U64 first,
 *   BOOL/U8 last), ties by dtype then name, so every tensor starts at a multiple of its item size.
 *
 * These are the rules of the reference implementation (github.com/huggingface/safetensors, Rust crate:
 * `read_metadata`/`validate` for reading, `prepare` for the order and padding written here). A file written
 * here is byte-identical to what the reference writer produces for the same tensors and metadata (metadata keys
 * are written sorted, where the reference uses hash order).
 *
 * Reading never trusts the file: every size is checked against the file size before anything is allocated,
 * and every problem is a `SafetensorsError` naming the file, the tensor, what is wrong and the likely cause.
 *
 * A model directory holds either `model.safetensors` or, for big models, `model-00001-of-0000N.safetensors`
 * shards plus `model.safetensors.index.json` (`{ metadata: { total_size }, weight_map: { name: shard } }`),
 * as Hugging Face's `save_pretrained` writes them: see `readSafetensorsDir` / `writeSafetensorsDir`.
 *
 * This file is longer than most in the project because the format, its validation, file and directory I/O
 * and the 16-bit float conversions it needs belong together and are read together.
 */
import { open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join, resolve, relative, isAbsolute, sep } from 'node:path';
import { atomicWriteFile, atomicWriteFiles, atomicWriteJson, removeStaleTempFiles } from '../util/atomic.js';
import { makeDirs } from '../util/dirs.js';
import { errnoCode, readFailure } from '../util/fs-errors.js';

// ---------------------------------------------------------------------------------------------------------------
// dtypes

// Item size in bytes, and the position in the reference crate's `Dtype` enum (it sorts by that when writing).
const DTYPES = {
  BOOL: { size: 1, rank: 0 },
  U8: { size: 1, rank: 1 },
  I8: { size: 1, rank: 2 },
  F8_E5M2: { size: 1, rank: 3 },
  F8_E4M3: { size: 1, rank: 4 },
  I16: { size: 2, rank: 5 },
  U16: { size: 2, rank: 6 },
  F16: { size: 2, rank: 7 },
  BF16: { size: 2, rank: 8 },
  I32: { size: 4, rank: 9 },
  U32: { size: 4, rank: 10 },
  F32: { size: 4, rank: 11 },
  F64: { size: 8, rank: 12 },
  I64: { size: 8, rank: 13 },
  U64: { size: 8, rank: 14 },
} as const;

/** The element types a safetensors file can hold (the F8 types are stored and read as raw bytes). */
export type SafetensorsDtype = keyof typeof DTYPES;

/** Every dtype, smallest item first. */
export const SAFETENSORS_DTYPES = Object.keys(DTYPES) as SafetensorsDtype[];

export function isSafetensorsDtype(s: string): s is SafetensorsDtype {
  return Object.hasOwn(DTYPES, s);
}

/** Bytes per element: 8 for F64/I64/U64, 4 for F32/I32/U32, 2 for F16/BF16/I16/U16, 1 for the rest. */
export function dtypeItemSize(dtype: SafetensorsDtype): number {
  return DTYPES[dtype].size;
}

/** A tensor as bytes: `data` holds prod(shape) × itemsize bytes, row-major, little-endian. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** When read with `parseSafetensors`, a zero-copy view into the file's buffer (possibly unaligned). */
  data: Uint8Array;
}

/** A header entry: where a tensor's bytes are, relative to the start of the data section. */
export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [begin: number, end: number];
}

/** A parsed file: tensors in file order, and the `__metadata__` strings (empty when absent). */
export interface SafetensorsContents {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** A validated header: tensors in file (offset) order. */
export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Where the data section starts in the file: 8 + header length. */
  dataStart: number;
  /** Bytes in the data section (file size − dataStart). */
  dataLength: number;
}

// ---------------------------------------------------------------------------------------------------------------
// errors

export type SafetensorsErrorCode =
  | 'too-short' // fewer than 8 bytes
  | 'header-too-large' // N above 100 MB
  | 'header-length' // N runs past the end of the file
  | 'header-encoding' // header not UTF-8
  | 'header-json' // header not JSON, or not starting with '{'
  | 'bad-metadata' // __metadata__ not an object of strings
  | 'bad-entry' // entry not an object, or dtype/shape/data_offsets missing or of the wrong type
  | 'unknown-dtype'
  | 'bad-shape'
  | 'bad-offsets' // offsets not non-negative integers, or begin > end
  | 'out-of-bounds' // a tensor ends past the end of the file
  | 'size-mismatch' // byte length ≠ prod(shape) × itemsize
  | 'overlap'
  | 'gap'
  | 'trailing-data' // bytes after the last tensor
  | 'invalid-tensor' // a tensor given to the writer is inconsistent
  | 'io' // cannot open or read the file
  | 'bad-index' // model.safetensors.index.json is malformed
  | 'missing-shard'
  | 'inconsistent-shards'; // the shards and the index disagree

/** Anything wrong with a safetensors file, buffer, directory or tensor to write. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  readonly code: SafetensorsErrorCode;
  /** The file (or directory) the problem is in, when known. */
  readonly source: string | undefined;
  /** The tensor the problem is with, when there is one. */
  readonly tensor: string | undefined;

  constructor(
    code: SafetensorsErrorCode,
    detail: string,
    context: { source?: string | undefined; tensor?: string | undefined; cause?: unknown } = {},
  ) {
    const where = context.source ?? 'safetensors data';
    const which = context.tensor === undefined ? '' : `tensor ${quote(context.tensor)}: `;
    super(`${where}: ${which}${detail}`, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    this.source = context.source;
    this.tensor = context.tensor;
  }
}

interface Context {
  source: string | undefined;
}

const MAX_HEADER_BYTES = 100_000_000; // the reference reader's limit
const TRUNCATED = 'file truncated — re-download or re-save it';

// ---------------------------------------------------------------------------------------------------------------
// reading

/**
 * Parses a whole file held in memory. Tensor data are zero-copy views into `buf` (unaligned when the file was
 * not written aligned; `toTypedArray` copies those). `source` (a path) is used in error messages.
 */
export function parseSafetensors(buf: Uint8Array, source?: string): SafetensorsContents {
  const ctx: Context = { source };
  const n = readHeaderLength(buf.subarray(0, 64), buf.byteLength, ctx);
  const header = decodeHeader(buf.subarray(8, 8 + n), buf.byteLength - 8 - n, ctx);
  const tensors = new Map<string, RawTensor>();
  for (const [name, { dtype, shape, dataOffsets }] of header.tensors) {
    const [begin, end] = dataOffsets;
    // a plain Uint8Array view even when `buf` is a Buffer, so results look the same however they were read
    const data = new Uint8Array(buf.buffer, buf.byteOffset + header.dataStart + begin, end - begin);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata: header.metadata };
}

/** Parses and validates only the header of a file held in memory (`buf` must be the whole file). */
export function parseSafetensorsHeader(buf: Uint8Array, source?: string): SafetensorsHeader {
  const ctx: Context = { source };
  const n = readHeaderLength(buf.subarray(0, 64), buf.byteLength, ctx);
  return decodeHeader(buf.subarray(8, 8 + n), buf.byteLength - 8 - n, ctx);
}

export interface ReadOptions {
  /** Load only the tensors for which this returns true (the others are validated but not read). */
  filter?: (name: string, info: TensorInfo) => boolean;
}

/**
 * Reads a file: the header first (validated against the file size), then each tensor into its own buffer
 * (so every tensor is aligned, and files larger than one JS buffer can be read). Errors name `path`.
 */
export async function readSafetensorsFile(path: string, options: ReadOptions = {}): Promise<SafetensorsContents> {
  const ctx: Context = { source: path };
  return withFile(path, async (fh, size) => {
    const header = await readHeaderFrom(fh, size, ctx);
    const tensors = new Map<string, RawTensor>();
    for (const [name, info] of header.tensors) {
      if (options.filter && !options.filter(name, info)) continue;
      const [begin, end] = info.dataOffsets;
      const data = await readExactly(fh, end - begin, header.dataStart + begin, ctx, name);
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
    }
    return { tensors, metadata: header.metadata };
  });
}

/** Reads and validates only the header of a file: names, dtypes, shapes, metadata, without the data. */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const ctx: Context = { source: path };
  return withFile(path, (fh, size) => readHeaderFrom(fh, size, ctx));
}

async function withFile<T>(path: string, body: (fh: FileHandle, size: number) => Promise<T>): Promise<T> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const denied = errnoCode(err) === 'EACCES' || errnoCode(err) === 'EPERM'; // said as such, with the fix
    throw new SafetensorsError('io', `cannot open: ${denied ? readFailure(err, path) : errMessage(err)}`, { source: path, cause: err });
  }
  try {
    let size: number;
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file (a directory?)');
      size = st.size;
    } catch (err) {
      throw new SafetensorsError('io', `cannot read: ${errMessage(err)}`, { source: path, cause: err });
    }
    return await body(fh, size);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readHeaderFrom(fh: FileHandle, size: number, ctx: Context): Promise<SafetensorsHeader> {
  const head = await readExactly(fh, Math.min(size, 64), 0, ctx);
  const n = readHeaderLength(head, size, ctx);
  const headerBytes = await readExactly(fh, n, 8, ctx);
  return decodeHeader(headerBytes, size - 8 - n, ctx);
}

/** Reads `length` bytes at `position`; a short read means the file shrank or lied about its size. */
async function readExactly(
  fh: FileHandle,
  length: number,
  position: number,
  ctx: Context,
  tensor?: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let off = 0; off < length; ) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(out, off, Math.min(length - off, 1 << 30), position + off));
    } catch (err) {
      throw new SafetensorsError('io', `cannot read: ${errMessage(err)}`, { ...ctx, tensor, cause: err });
    }
    if (bytesRead === 0) {
      throw new SafetensorsError('io', `file ended at byte ${position + off} while reading (it changed while being read?) — ${TRUNCATED}`, { ...ctx, tensor });
    }
    off += bytesRead;
  }
  return out;
}

/** Checks the 8-byte header length against the file size; `head` is the file's first (up to) 64 bytes. */
function readHeaderLength(head: Uint8Array, fileLength: number, ctx: Context): number {
  if (fileLength < 8) {
    throw new SafetensorsError('too-short', `file is ${fileLength} bytes, too short for the 8-byte header length — ${sniff(head) ?? `${TRUNCATED}, or it is not a safetensors file`}`, ctx);
  }
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError('header-too-large', `header length ${n} bytes is over the 100 MB limit — ${sniff(head) ?? 'not a safetensors file, or its first bytes are corrupted'}`, ctx);
  }
  if (Number(n) + 8 > fileLength) {
    throw new SafetensorsError('header-length', `header length ${n} bytes runs past the end of the ${fileLength}-byte file — ${sniff(head) ?? TRUNCATED}`, ctx);
  }
  return Number(n);
}

/** Recognises files that are commonly mistaken for safetensors, to say what they are instead. */
function sniff(head: Uint8Array): string | undefined {
  const text = String.fromCharCode(...head.subarray(0, 64));
  if (text.startsWith('version https://git-lfs')) return 'this is a Git LFS pointer, not the weights; run `git lfs pull` to fetch them';
  if (text.startsWith('PK\x03\x04')) return 'this is a zip archive (a PyTorch .bin/.pt checkpoint?), not safetensors';
  if (head[0] === 0x80 && head[1] !== undefined && head[1] <= 5) return 'this is a Python pickle (a legacy PyTorch checkpoint?), not safetensors';
  if (/^\s*</.test(text)) return 'this looks like an HTML/XML page (a failed download?), not safetensors';
  if (/^\s*[{[]/.test(text)) return 'this looks like a JSON file, not safetensors';
  return undefined;
}

/** Decodes and validates the header bytes (everything but the data itself) against the data section's size. */
function decodeHeader(bytes: Uint8Array, dataLength: number, ctx: Context): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new SafetensorsError('header-encoding', `header is not valid UTF-8 — the file is corrupted or not a safetensors file`, { ...ctx, cause: err });
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError('header-json', `header does not start with '{' (it starts with ${quote(text.slice(0, 16))}) — the file is corrupted or not a safetensors file`, ctx);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError('header-json', `header is not valid JSON (${errMessage(err).slice(0, 200)}) — the file is corrupted`, { ...ctx, cause: err });
  }
  if (!isObject(json)) throw new SafetensorsError('header-json', `header is ${describe(json)}, expected a JSON object`, ctx);

  // 1. each entry on its own
  let metadata: Record<string, string> = {};
  const entries: Array<[string, TensorInfo]> = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(value, ctx);
    else entries.push([name, parseEntry(name, value, dataLength, ctx)]);
  }

  // 2. together, the tensors cover the data section exactly, in offset order
  entries.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous: string | undefined;
  for (const [name, { dataOffsets: [begin, end] }] of entries) {
    if (begin < cursor) {
      throw new SafetensorsError('overlap', `data_offsets [${begin}, ${end}] overlap tensor ${quote(previous ?? '')}, which ends at ${cursor} — the header is corrupted`, { ...ctx, tensor: name });
    }
    if (begin > cursor) {
      throw new SafetensorsError('gap', `data_offsets [${begin}, ${end}] leave bytes [${cursor}, ${begin}) of the data section unused (tensors must be packed back to back) — the header is corrupted`, { ...ctx, tensor: name });
    }
    cursor = end;
    previous = name;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError('trailing-data', `the tensors cover ${cursor} bytes but the data section has ${dataLength}: ${dataLength - cursor} bytes after the last tensor belong to none — data was appended to the file, or the header lost entries`, ctx);
  }
  return { tensors: new Map(entries), metadata, dataStart: bytes.byteLength + 8, dataLength };
}

function parseMetadata(value: unknown, ctx: Context): Record<string, string> {
  if (value === null) return {};
  if (!isObject(value)) throw new SafetensorsError('bad-metadata', `__metadata__ is ${describe(value)}, expected an object of strings`, ctx);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new SafetensorsError('bad-metadata', `__metadata__[${quote(key)}] is ${describe(v)}, expected a string`, ctx);
  }
  // fromEntries defines own properties, so a key like "__proto__" stays a plain key
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function parseEntry(name: string, value: unknown, dataLength: number, ctx: Context): TensorInfo {
  const fail = (code: SafetensorsErrorCode, detail: string): never => {
    throw new SafetensorsError(code, detail, { ...ctx, tensor: name });
  };
  if (!isObject(value)) return fail('bad-entry', `entry is ${describe(value)}, expected {"dtype", "shape", "data_offsets"}`);
  const { dtype, shape, data_offsets: offsets } = value;
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.hasOwn(value, key)) fail('bad-entry', `entry has no "${key}"`);
  }
  if (typeof dtype !== 'string') return fail('bad-entry', `dtype is ${describe(dtype)}, expected a string`);
  if (!isSafetensorsDtype(dtype)) return fail('unknown-dtype', `unknown dtype ${quote(dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
  if (!Array.isArray(shape)) return fail('bad-entry', `shape is ${describe(shape)}, expected an array of integers`);
  const dims: unknown[] = shape;
  dims.forEach((d, i) => {
    if (!isCount(d)) fail('bad-shape', `shape[${i}] is ${describe(d)}, expected a non-negative integer`);
  });
  if (!Array.isArray(offsets) || offsets.length !== 2) return fail('bad-entry', `data_offsets is ${describe(offsets)}, expected [begin, end]`);
  const [begin, end]: unknown[] = offsets;
  if (!isCount(begin) || !isCount(end)) return fail('bad-offsets', `data_offsets ${describe(offsets)} must be two non-negative integers`);
  if (begin > end) fail('bad-offsets', `data_offsets [${begin}, ${end}] begin after they end`);
  if (end > dataLength) fail('out-of-bounds', `data_offsets [${begin}, ${end}] end past the data section, which has ${dataLength} bytes — ${TRUNCATED}`);
  const counts = dims as number[];
  const expected = byteLength(dtype, counts);
  if (expected !== end - begin) {
    fail('size-mismatch', `shape [${counts.join(', ')}] of ${dtype} needs ${expected ?? 'more than 2^53'} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { dtype, shape: counts, dataOffsets: [begin, end] };
}

/** prod(shape) × itemsize, or undefined when that is not a safe integer. */
function byteLength(dtype: SafetensorsDtype, shape: readonly number[]): number | undefined {
  if (shape.includes(0)) return 0;
  let n = DTYPES[dtype].size;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// writing

/**
 * Serializes tensors to the chunks of a file, to be written one after another: the first holds the length
 * and the header, the rest are the tensors' own `data` (not copied), so a big model is never held twice.
 * Order and padding follow the reference writer (see the top of this file); metadata keys are sorted and
 * `__metadata__` is omitted when there are none. Throws `SafetensorsError` ('invalid-tensor') when a tensor's
 * data length does not match its dtype and shape, before anything is produced.
 */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, RawTensor> | Readonly<Record<string, RawTensor>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array[] {
  const entries = checkTensors(tensors);
  // descending dtype (hence alignment), then name by code point, like the reference crate
  entries.sort(([an, a], [bn, b]) => DTYPES[b.dtype].rank - DTYPES[a.dtype].rank || compareCodePoints(an, bn));

  const fields: string[] = [];
  const meta = checkMetadata(metadata);
  if (meta.length > 0) {
    fields.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  let offset = 0;
  for (const [name, t] of entries) {
    const end = offset + t.data.byteLength;
    fields.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const n = Math.ceil(json.byteLength / 8) * 8; // pad with spaces so the data section starts 8-aligned
  if (n > MAX_HEADER_BYTES) throw new SafetensorsError('invalid-tensor', `header would be ${n} bytes, over the 100 MB readers accept — too many tensors or too much metadata for one file; shard it`);

  const head = new Uint8Array(8 + n).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
  head.set(json, 8);
  return [head, ...entries.map(([, t]) => t.data).filter((d) => d.byteLength > 0)];
}

/** Writes tensors to `path` atomically (temp file, fsync, rename): a crash leaves the old file or the new one. */
export async function writeSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, RawTensor> | Readonly<Record<string, RawTensor>>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await atomicWriteFile(path, serializeSafetensors(tensors, metadata));
}

/** Validates what is about to be written; returns [name, tensor] pairs in the caller's order. */
function checkTensors(tensors: ReadonlyMap<string, RawTensor> | Readonly<Record<string, RawTensor>>): Array<[string, RawTensor]> {
  if (typeof tensors !== 'object' || tensors === null) {
    throw new SafetensorsError('invalid-tensor', `expected a Map or object of tensors, got ${describe(tensors)}`);
  }
  const entries: Array<[string, RawTensor]> = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') {
      throw new SafetensorsError('invalid-tensor', '"__metadata__" is reserved for the metadata and cannot name a tensor', { tensor: name });
    }
    checkText(name, 'the tensor name');
    checkTensor(t, name);
  }
  return entries;
}

/** The tensor's dtype, shape and data agree (these come from callers, maybe untyped JavaScript, so check all). */
function checkTensor(t: RawTensor, name: string | undefined): void {
  const fail = (detail: string): never => {
    throw new SafetensorsError('invalid-tensor', detail, { tensor: name });
  };
  if (typeof t !== 'object' || t === null) return fail(`expected {dtype, shape, data}, got ${describe(t)}`);
  if (typeof t.dtype !== 'string' || !isSafetensorsDtype(t.dtype)) return fail(`unknown dtype ${describe(t.dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
  if (!Array.isArray(t.shape) || !t.shape.every(isCount)) return fail(`shape must be an array of non-negative integers, got ${describe(t.shape)}`);
  if (!(t.data instanceof Uint8Array)) return fail(`data must be a Uint8Array of bytes, got ${describe(t.data)} (fromTypedArray wraps typed arrays)`);
  const expected = byteLength(t.dtype, t.shape);
  if (expected !== t.data.byteLength) fail(`shape [${t.shape.join(', ')}] of ${t.dtype} needs ${expected ?? 'more than 2^53'} bytes but data has ${t.data.byteLength}`);
}

/** The metadata as [key, value] pairs sorted by key, checked to be strings. */
function checkMetadata(metadata: Readonly<Record<string, string>> | undefined): Array<[string, string]> {
  if (metadata === undefined) return [];
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new SafetensorsError('invalid-tensor', `metadata must be an object of strings, got ${describe(metadata)}`);
  }
  const pairs = Object.entries(metadata);
  for (const [key, value] of pairs) {
    checkText(key, 'a metadata key');
    checkText(value, `metadata[${quote(key)}]`);
  }
  return pairs.sort(([a], [b]) => compareCodePoints(a, b));
}

function checkText(value: unknown, what: string): void {
  if (typeof value !== 'string') throw new SafetensorsError('invalid-tensor', `${what} must be a string, got ${describe(value)}`);
  // a lone UTF-16 surrogate cannot be encoded as UTF-8; other readers would reject the header
  if (/\p{Cs}/u.test(value)) throw new SafetensorsError('invalid-tensor', `${what} ${quote(value)} contains a lone UTF-16 surrogate`);
}

function compareCodePoints(a: string, b: string): number {
  // UTF-8 byte order = code point order, which is how the reference crate (and Python) sort strings
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---------------------------------------------------------------------------------------------------------------
// model directories: one file, or shards plus an index

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
/** Hugging Face's default `max_shard_size` ("5GB"). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;
// Stamped into the index's metadata and every shard's __metadata__ by writeSafetensorsDir, so a reader can
// tell shards from different saves apart (a save interrupted between two shard renames).
const SAVE_ID_KEY = 'rlhf_save_id';
const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** `model.safetensors.index.json`, validated. */
export interface ShardedIndex {
  /** The index's `metadata` object as written (`total_size` and anything else). */
  metadata: Record<string, unknown>;
  /** `metadata.total_size`: bytes of tensor data over all shards, when given. */
  totalSize: number | undefined;
  /** Tensor name → shard file name (relative to the directory). */
  weightMap: Map<string, string>;
  /** The distinct shard files, sorted. */
  shards: string[];
}

/** `model-00001-of-00003.safetensors`: Hugging Face's shard naming. */
export function shardFileName(index: number, count: number): string {
  return `model-${String(index).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
}

/**
 * Reads `dir/model.safetensors.index.json` and checks it: a JSON object with a `weight_map` of tensor name →
 * shard file, shard files inside `dir`, and all of them present (the missing ones are listed by name).
 */
export async function readShardedIndex(dir: string): Promise<ShardedIndex> {
  const path = join(dir, INDEX_FILE);
  const ctx = { source: path };
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > MAX_HEADER_BYTES) throw new Error(`${st.size} bytes is over the 100 MB limit`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SafetensorsError('io', `cannot read the shard index: ${errMessage(err)}`, { ...ctx, cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError('bad-index', `not valid JSON (${errMessage(err).slice(0, 200)}) — re-download or re-save it`, { ...ctx, cause: err });
  }
  if (!isObject(json)) throw new SafetensorsError('bad-index', `is ${describe(json)}, expected an object with "weight_map"`, ctx);
  const metadata = json.metadata ?? {};
  if (!isObject(metadata)) throw new SafetensorsError('bad-index', `"metadata" is ${describe(metadata)}, expected an object`, ctx);
  const totalSize = metadata.total_size;
  if (totalSize !== undefined && !(typeof totalSize === 'number' && Number.isFinite(totalSize) && totalSize >= 0)) {
    throw new SafetensorsError('bad-index', `"metadata.total_size" is ${describe(totalSize)}, expected a number of bytes`, ctx);
  }
  if (!isObject(json.weight_map)) throw new SafetensorsError('bad-index', `"weight_map" is ${describe(json.weight_map)}, expected an object of tensor name → shard file`, ctx);

  const weightMap = new Map<string, string>();
  const root = resolve(dir);
  for (const [name, file] of Object.entries(json.weight_map)) {
    if (typeof file !== 'string' || file === '') {
      throw new SafetensorsError('bad-index', `weight_map[${quote(name)}] is ${describe(file)}, expected a shard file name`, ctx);
    }
    const rel = relative(root, resolve(root, file));
    if (isAbsolute(file) || rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new SafetensorsError('bad-index', `weight_map[${quote(name)}] names ${quote(file)}, which is not a file inside ${dir}`, ctx);
    }
    weightMap.set(name, file);
  }
  if (weightMap.size === 0) throw new SafetensorsError('bad-index', `"weight_map" is empty`, ctx);

  const shards = [...new Set(weightMap.values())].sort();
  const missing: string[] = [];
  for (const file of shards) {
    const ok = await stat(join(dir, file)).then((s) => s.isFile(), () => false);
    if (!ok) missing.push(file);
  }
  if (missing.length > 0) {
    throw new SafetensorsError('missing-shard', `${missing.length} of ${shards.length} shard files are missing: ${missing.join(', ')} — the download is incomplete; fetch them or re-save the model`, ctx);
  }
  return { metadata, totalSize, weightMap, shards };
}

/**
 * Reads a model directory's weights: `model.safetensors` when present (as Hugging Face prefers), else the
 * shards listed in `model.safetensors.index.json`, merged, after checking that every tensor is in the shard
 * the index names and that no tensor is in two shards. Metadata is the first shard's.
 */
export async function readSafetensorsDir(dir: string, options: ReadOptions = {}): Promise<SafetensorsContents> {
  const single = join(dir, SINGLE_FILE);
  if (await isFile(single)) return readSafetensorsFile(single, options);
  if (!(await isFile(join(dir, INDEX_FILE)))) {
    const others = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.safetensors'));
    const hint = others.length > 0 ? ` (it has ${others.join(', ')}; read one with readSafetensorsFile)` : '';
    throw new SafetensorsError('io', `no ${SINGLE_FILE} or ${INDEX_FILE} here${hint}`, { source: dir });
  }

  const index = await readShardedIndex(dir);
  const ctx = { source: join(dir, INDEX_FILE) };
  const saveId = index.metadata[SAVE_ID_KEY];
  const tensors = new Map<string, RawTensor>();
  const foundIn = new Map<string, string>(); // every tensor in every shard's header, loaded or filtered out
  let metadata: Record<string, string> | undefined;
  for (const file of index.shards) {
    const filter = (name: string, info: TensorInfo): boolean => {
      const other = foundIn.get(name);
      if (other !== undefined) throw new SafetensorsError('inconsistent-shards', `is in both ${other} and ${file}`, { ...ctx, tensor: name });
      foundIn.set(name, file);
      return options.filter ? options.filter(name, info) : true;
    };
    const shard = await readSafetensorsFile(join(dir, file), { filter });
    if (typeof saveId === 'string' && shard.metadata[SAVE_ID_KEY] !== saveId) {
      throw new SafetensorsError('inconsistent-shards', `shard ${file} is from a different save than the index (a save was interrupted?) — re-save the model`, ctx);
    }
    if (metadata === undefined) {
      const { [SAVE_ID_KEY]: _saveId, ...rest } = shard.metadata; // bookkeeping of this module, not the model's
      metadata = rest;
    }
    for (const [name, t] of shard.tensors) tensors.set(name, t);
  }
  for (const [name, file] of index.weightMap) {
    const actual = foundIn.get(name);
    if (actual === file) continue;
    const where = actual === undefined ? 'none of its shards has it' : `it is in ${actual}`;
    throw new SafetensorsError('inconsistent-shards', `the index puts it in ${file} but ${where} — the shards and the index are from different saves; re-download or re-save`, { ...ctx, tensor: name });
  }
  return { tensors, metadata: metadata ?? {} };
}

export interface WriteDirOptions {
  /** Largest shard, in bytes of tensor data (Hugging Face's `max_shard_size`). A bigger tensor gets a shard of its own. */
  maxShardBytes?: number;
  /** Stored in every file's `__metadata__`, over the default `{ format: 'pt' }` that transformers checks. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Groups tensors, in the given order, into shards of at most `maxShardBytes` of data each (the greedy split
 * Hugging Face uses). Returns the names per shard.
 */
export function planShards(tensors: ReadonlyArray<readonly [string, RawTensor]>, maxShardBytes: number): string[][] {
  const shards: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const [name, t] of tensors) {
    if (current.length > 0 && bytes + t.data.byteLength > maxShardBytes) {
      shards.push(current);
      current = [];
      bytes = 0;
    }
    current.push(name);
    bytes += t.data.byteLength;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/**
 * Writes a model's weights into `dir` the way `save_pretrained` does: `model.safetensors` when they fit in one
 * shard, else `model-0000i-of-0000N.safetensors` plus `model.safetensors.index.json`. Each file is written
 * atomically, the shards before the index; weight files of an earlier save that the new one does not use are
 * removed afterwards. A crash at any point leaves a directory that reads as the old save or the new one, or
 * (shards overwritten in place by a save of the same shape, interrupted between renames) one that
 * `readSafetensorsDir` rejects because the shards' save ids differ. Returns the file names written.
 */
export async function writeSafetensorsDir(
  dir: string,
  tensors: ReadonlyMap<string, RawTensor> | Readonly<Record<string, RawTensor>>,
  options: WriteDirOptions = {},
): Promise<string[]> {
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!(maxShardBytes > 0)) throw new SafetensorsError('invalid-tensor', `maxShardBytes must be positive, got ${maxShardBytes}`, { source: dir });
  const entries = checkTensors(tensors);
  const byName = new Map(entries);
  const metadata = { format: 'pt', ...options.metadata };
  makeDirs(dir); // not mkdir({ recursive }): see util/dirs.ts
  await removeStaleTempFiles(dir, (target) => target === SINGLE_FILE || target === INDEX_FILE || SHARD_NAME.test(target));

  const plan = planShards(entries, maxShardBytes);
  const pick = (names: string[]) => new Map(names.map((n) => [n, byName.get(n)!]));
  let written: string[];
  if (plan.length === 1) {
    await atomicWriteFile(join(dir, SINGLE_FILE), serializeSafetensors(byName, metadata));
    written = [SINGLE_FILE];
    await removeIfPresent(join(dir, INDEX_FILE));
  } else {
    const saveId = randomUUID();
    const shardMeta = { ...metadata, [SAVE_ID_KEY]: saveId };
    written = plan.map((_, i) => shardFileName(i + 1, plan.length));
    await atomicWriteFiles(plan.map((names, i) => ({ path: join(dir, written[i]!), data: serializeSafetensors(pick(names), shardMeta) })));
    const weightMap: Array<[string, string]> = plan.flatMap((names, i) => names.map((n): [string, string] => [n, written[i]!]));
    weightMap.sort(([a], [b]) => compareCodePoints(a, b));
    const totalSize = entries.reduce((sum, [, t]) => sum + t.data.byteLength, 0);
    await atomicWriteJson(join(dir, INDEX_FILE), {
      metadata: { total_size: totalSize, [SAVE_ID_KEY]: saveId },
      weight_map: Object.fromEntries(weightMap),
    });
    await removeIfPresent(join(dir, SINGLE_FILE)); // else readers would prefer the old single file
  }
  const stale = (await readdir(dir)).filter((f) => SHARD_NAME.test(f) && !written.includes(f));
  for (const f of stale) await removeIfPresent(join(dir, f));
  return written;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    if (!(isObject(err) && err.code === 'ENOENT')) throw err;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// typed arrays and 16-bit floats

/** The typed array that holds each dtype's elements (16-bit floats and F8 as their raw bits). */
export interface DtypeArrays {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
  I32: Int32Array;
  U32: Uint32Array;
  I16: Int16Array;
  U16: Uint16Array;
  I8: Int8Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
  F8_E5M2: Uint8Array;
  F8_E4M3: Uint8Array;
}

const ARRAY_TYPES: { [D in SafetensorsDtype]: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => DtypeArrays[D] } = {
  F64: Float64Array,
  F32: Float32Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
  I32: Int32Array,
  U32: Uint32Array,
  I16: Int16Array,
  U16: Uint16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
  F8_E5M2: Uint8Array,
  F8_E4M3: Uint8Array,
};

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The tensor's elements as a typed array: a zero-copy view when `data` is aligned to the item size, a copy
 * when not (a view into a file written without alignment). 16-bit floats come back as their bits: use
 * `toFloat32` for values.
 */
export function toTypedArray<D extends SafetensorsDtype>(t: { dtype: D; data: Uint8Array }): DtypeArrays[D] {
  const size = DTYPES[t.dtype].size;
  if (!LITTLE_ENDIAN && size > 1) throw new SafetensorsError('invalid-tensor', 'typed-array views need a little-endian machine');
  if (t.data.byteLength % size !== 0) {
    throw new SafetensorsError('invalid-tensor', `${t.data.byteLength} bytes is not a whole number of ${t.dtype} elements`);
  }
  const data = t.data.byteOffset % size === 0 ? t.data : new Uint8Array(t.data); // a copy, in a fresh (aligned) buffer
  return new ARRAY_TYPES[t.dtype](data.buffer, data.byteOffset, data.byteLength / size);
}

/** Wraps a typed array as a tensor without copying (the bytes are shared). Checks the length against `shape`. */
export function fromTypedArray<D extends SafetensorsDtype>(dtype: D, shape: number[], values: DtypeArrays[D]): RawTensor {
  if (!LITTLE_ENDIAN && DTYPES[dtype].size > 1) throw new SafetensorsError('invalid-tensor', 'typed-array views need a little-endian machine');
  const t: RawTensor = { dtype, shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
  checkTensor(t, undefined);
  return t;
}

/** Any numeric tensor's values as float32 (F64 and 64-bit integers are rounded; BOOL gives 0/1). */
export function toFloat32(t: RawTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return Float32Array.from(toTypedArray({ dtype: 'F32', data: t.data }));
    case 'BF16':
      return bf16ToFloat32(toTypedArray({ dtype: 'BF16', data: t.data }));
    case 'F16':
      return f16ToFloat32(toTypedArray({ dtype: 'F16', data: t.data }));
    case 'F8_E4M3':
    case 'F8_E5M2': {
      const table = f8Table(t.dtype);
      return Float32Array.from(t.data, (b) => table[b]!);
    }
    case 'I64':
    case 'U64':
      return Float32Array.from(toTypedArray({ dtype: t.dtype, data: t.data }), (v) => Number(v));
    default:
      return Float32Array.from(toTypedArray({ dtype: t.dtype, data: t.data }));
  }
}

/** Float32 values as an F32, F16 or BF16 tensor (rounded to nearest, ties to even, for the 16-bit ones). */
export function fromFloat32(dtype: 'F32' | 'F16' | 'BF16', shape: number[], values: Float32Array): RawTensor {
  if (dtype === 'F32') return fromTypedArray('F32', shape, values);
  return fromTypedArray(dtype, shape, dtype === 'BF16' ? float32ToBf16(values) : float32ToF16(values));
}

/**
 * float32 → bfloat16 bits: the top 16 bits, rounded to nearest, ties to even (what PyTorch does).
 * Overflow rounds to ±inf. NaN stays NaN with its sign and top payload bits (PyTorch writes 0x7fc0 for every
 * NaN instead); only a NaN whose payload is all in the dropped bits gets the quiet bit, so that it stays NaN.
 */
export function float32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7fffffff) > 0x7f800000) out[i] = (x >>> 16) | ((x & 0x7f0000) === 0 ? 0x40 : 0);
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** bfloat16 bits → float32 (exact: bf16 is the top half of a float32). */
export function bf16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return out;
}

/**
 * float32 → IEEE 754 binary16 bits, rounded to nearest, ties to even: subnormals below 2^-14 (down to
 * 2^-24 ≈ 5.96e-8), ±inf beyond 65504 (from 65520 on, which rounds up), NaN kept as NaN with its top payload
 * bits (so every binary16 pattern survives f16 → f32 → f16 unchanged).
 */
export function float32ToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00; // inf
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload); // NaN, kept NaN (quiet only if it must be)
  }
  const e = exp - 127 + 15; // the exponent rebiased for half
  if (e >= 0x1f) return sign | 0x7c00; // too big even before rounding: inf
  if (e <= 0) {
    // subnormal half (or zero): value = m × 2^-24, drop 14 − e bits of the 24-bit significand
    if (e < -10) return sign; // below 2^-25: rounds to zero
    const m = mant | 0x800000;
    const shift = 14 - e;
    const kept = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (kept + (rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0)); // a carry makes it normal
  }
  const kept = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (kept + (rest > 0x1000 || (rest === 0x1000 && (kept & 1) === 1) ? 1 : 0)); // a carry may reach inf
}

/** IEEE 754 binary16 bits → float32 (exact, NaN payloads kept). */
export function f16ToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = f16BitsToF32Bits(src[i]!);
  return out;
}

function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf, NaN
  if (exp === 0) {
    if (mant === 0) return sign >>> 0; // ±0
    let e = 1; // subnormal: normalise so the leading 1 becomes implicit
    while ((mant & 0x400) === 0) {
      mant <<= 1;
      e--;
    }
    return (sign | ((e - 15 + 127) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
}

// F8 values by byte (OCP FP8: E4M3 "fn" has no inf and NaN at S.1111.111; E5M2 is the top byte of a binary16).
const f8Tables: Partial<Record<'F8_E4M3' | 'F8_E5M2', Float32Array>> = {};
function f8Table(dtype: 'F8_E4M3' | 'F8_E5M2'): Float32Array {
  let table = f8Tables[dtype];
  if (!table) {
    table = new Float32Array(256);
    for (let b = 0; b < 256; b++) {
      if (dtype === 'F8_E5M2') {
        table[b] = f16ToFloat32(new Uint16Array([b << 8]))[0]!;
      } else {
        const s = b & 0x80 ? -1 : 1;
        const e = (b >>> 3) & 0xf;
        const m = b & 7;
        table[b] = (b & 0x7f) === 0x7f ? NaN : e === 0 ? s * (m / 8) * 2 ** -6 : s * (1 + m / 8) * 2 ** (e - 7);
      }
    }
    f8Tables[dtype] = table;
  }
  return table;
}

// ---------------------------------------------------------------------------------------------------------------
// small helpers

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A value for an error message: its JSON, shortened, or its type. */
function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') return typeof v;
  if (v instanceof Uint8Array) return `a ${v.constructor.name}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  let json: string;
  try {
    json = JSON.stringify(v) ?? typeof v;
  } catch {
    json = Array.isArray(v) ? 'an array' : typeof v; // cycles, BigInts inside
  }
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** A name for an error message: quoted, control characters escaped, shortened. */
function quote(s: string): string {
  const q = JSON.stringify(s);
  return q.length > 120 ? `${q.slice(0, 117)}..."` : q;
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
