import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, readdir, copyFile, mkdir } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SAFETENSORS_DTYPES,
  SafetensorsError,
  bf16ToFloat32,
  dtypeItemSize,
  f16ToFloat32,
  float32ToBf16,
  float32ToF16,
  fromFloat32,
  fromTypedArray,
  parseSafetensors,
  parseSafetensorsHeader,
  planShards,
  readSafetensorsDir,
  readSafetensorsFile,
  readSafetensorsHeader,
  readShardedIndex,
  serializeSafetensors,
  shardFileName,
  toFloat32,
  toTypedArray,
  writeSafetensorsDir,
  writeSafetensorsFile,
} from './safetensors.js';
import type { RawTensor, SafetensorsDtype, SafetensorsErrorCode } from './safetensors.js';

// ---------------------------------------------------------------------------------------------------------------
// helpers

/** Deterministic PRNG (mulberry32) so every run sees the same "random" cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, rand: () => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
}

/** Concatenates into a fresh ArrayBuffer (offset 0, so alignment inside it is the file's own). */
function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

function bytes(...parts: Array<number[] | string | Uint8Array>): Uint8Array {
  return concat(parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p))));
}

function u64le(n: number): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return [...b];
}

/** A file from a header (JSON text or a value to stringify) and a data section (bytes, or a length of zeros). */
function fileFrom(header: string | object, data: Uint8Array | number = 0): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = new TextEncoder().encode(text);
  return bytes(u64le(h.byteLength), h, typeof data === 'number' ? new Uint8Array(data) : data);
}

function t(dtype: SafetensorsDtype, shape: number[], data: Uint8Array | number[]): RawTensor {
  return { dtype, shape, data: Uint8Array.from(data) };
}

function rejects(buf: Uint8Array, code: SafetensorsErrorCode, message: RegExp, source?: string): SafetensorsError {
  let caught: unknown;
  try {
    parseSafetensors(buf, source);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SafetensorsError, `expected a SafetensorsError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, message);
  return caught;
}

const f32bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]!;
const fromBits = (b: number): number => new Float32Array(Uint32Array.of(b).buffer)[0]!;
const toF16 = (x: number): number => float32ToF16(Float32Array.of(x))[0]!;
const toBf16 = (x: number): number => float32ToBf16(Float32Array.of(x))[0]!;
const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rlhf-safetensors-'));
}

// ---------------------------------------------------------------------------------------------------------------

describe('format: bytes on disk', () => {
  test('item sizes', () => {
    const sizes = Object.fromEntries(SAFETENSORS_DTYPES.map((d) => [d, dtypeItemSize(d)]));
    assert.deepEqual(sizes, {
      BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
    });
  });

  test('a hand-built file: serialize produces exactly these bytes and parse reads them back', () => {
    // Three tensors and metadata. The writer orders by dtype, widest first (F32, BF16, I8), so
    // offsets are b [0, 8), s [8, 10), a [10, 13). The header JSON is 193 bytes; 7 spaces pad it to 200.
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"s":{"dtype":"BF16","shape":[],"data_offsets":[8,10]},' +
      '"a":{"dtype":"I8","shape":[3],"data_offsets":[10,13]}}';
    assert.equal(json.length, 193);
    const expected = bytes(
      [200, 0, 0, 0, 0, 0, 0, 0], // N = 200, u64 little-endian
      json,
      '       ', // padding to a multiple of 8
      [0x00, 0x00, 0x80, 0x3f], // b[0] = 1.0f
      [0x00, 0x00, 0x00, 0xc0], // b[1] = -2.0f
      [0x80, 0x3f], // s = bf16 1.0
      [0x01, 0x02, 0xff], // a = [1, 2, -1] as i8
    );
    assert.equal(expected.byteLength, 8 + 200 + 13);

    const tensors = {
      a: t('I8', [3], [1, 2, 0xff]),
      b: fromFloat32('F32', [2], Float32Array.of(1, -2)),
      s: fromFloat32('BF16', [], Float32Array.of(1)),
    };
    assert.deepEqual(concat(serializeSafetensors(tensors, { format: 'pt' })), expected);

    const parsed = parseSafetensors(expected);
    assert.deepEqual([...parsed.tensors.keys()], ['b', 's', 'a']); // file order
    assert.deepEqual(parsed.metadata, { format: 'pt' });
    assert.deepEqual(parsed.tensors.get('a'), t('I8', [3], [1, 2, 0xff]));
    assert.deepEqual([...toFloat32(parsed.tensors.get('b')!)], [1, -2]);
    assert.deepEqual([...toFloat32(parsed.tensors.get('s')!)], [1]);
    assert.deepEqual(parsed.tensors.get('s')!.shape, []);
    assert.deepEqual([...toTypedArray({ dtype: 'I8', data: parsed.tensors.get('a')!.data })], [1, 2, -1]);
  });

  test("matches the reference crate's own test vectors", () => {
    // From huggingface/safetensors tensor.rs `test_serialization` and `test_empty`.
    const data = new Uint8Array(Float32Array.of(0, 1, 2, 3, 4, 5).buffer);
    const out = concat(serializeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data } }));
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'; // 64 bytes: no padding
    assert.deepEqual(out, bytes(u64le(64), json, data));
    assert.deepEqual(concat(serializeSafetensors({})), bytes(u64le(8), '{}      '));
    assert.deepEqual(
      concat(serializeSafetensors({}, { framework: 'pt' })),
      bytes(u64le(40), '{"__metadata__":{"framework":"pt"}}     '),
    );
  });

  test('round trip of every dtype keeps the exact bytes, and every tensor lands aligned', () => {
    const rand = rng(1);
    const tensors = new Map<string, RawTensor>();
    for (const dtype of SAFETENSORS_DTYPES) {
      for (const shape of [[2, 3], [], [0, 4], [5]]) {
        const n = shape.reduce((a, b) => a * b, 1) * dtypeItemSize(dtype);
        tensors.set(`${dtype.toLowerCase()}.${shape.join('x')}`, { dtype, shape, data: randomBytes(n, rand) });
      }
    }
    const file = concat(serializeSafetensors(tensors, { note: 'every dtype', format: 'pt' }));
    const back = parseSafetensors(file);
    assert.equal(back.tensors.size, tensors.size);
    assert.deepEqual(back.metadata, { format: 'pt', note: 'every dtype' });
    for (const [name, want] of tensors) {
      const got = back.tensors.get(name)!;
      assert.equal(got.dtype, want.dtype, name);
      assert.deepEqual(got.shape, want.shape, name);
      assert.deepEqual(got.data, want.data, name);
      assert.equal(got.data.byteOffset % dtypeItemSize(got.dtype), 0, `${name} is aligned`);
      assert.equal(got.data.buffer, file.buffer, `${name} is a view, not a copy`);
    }
    // serialize(parse(x)) reproduces x
    assert.deepEqual(concat(serializeSafetensors(back.tensors, back.metadata)), file);
    // the header is padded so the data section starts 8-aligned
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
  });

  test('writer order: widest dtype first (ties by the reference enum order), then name by code point', () => {
    const tensors = {
      'z': t('U8', [1], [0]),
      'b': t('F32', [1], [0, 0, 0, 0]),
      'a': t('F32', [1], [0, 0, 0, 0]),
      'i': t('I32', [1], [0, 0, 0, 0]),
      'u': t('U32', [1], [0, 0, 0, 0]),
      'd': t('F64', [1], new Uint8Array(8)),
      'l': t('I64', [1], new Uint8Array(8)),
      'h': t('F16', [1], [0, 0]),
      'g': t('BF16', [1], [0, 0]),
      'o': t('BOOL', [1], [1]),
      '\u{1F600}': t('F32', [1], [0, 0, 0, 0]), // U+1F600 sorts after U+FF5E in UTF-8, before it in UTF-16
      '\uFF5E': t('F32', [1], [0, 0, 0, 0]),
    };
    const header = parseSafetensorsHeader(concat(serializeSafetensors(tensors)));
    assert.deepEqual([...header.tensors.keys()], ['l', 'd', 'a', 'b', '\uFF5E', '\u{1F600}', 'u', 'i', 'g', 'h', 'z', 'o']);
  });

  test('reads files written without padding or alignment; typed-array views copy only when unaligned', () => {
    // An I8 first pushes the F32 to data offset 1: a legal file, but not one this writer would produce.
    const file = fileFrom(
      { x: { dtype: 'I8', shape: [1], data_offsets: [0, 1] }, y: { dtype: 'F32', shape: [2], data_offsets: [1, 9] } },
      bytes([7], new Uint8Array(Float32Array.of(1.5, -3).buffer)),
    );
    const { tensors } = parseSafetensors(file);
    const y = tensors.get('y')!;
    assert.notEqual(y.data.byteOffset % 4, 0);
    const values = toTypedArray({ dtype: 'F32', data: y.data });
    assert.deepEqual([...values], [1.5, -3]);
    assert.notEqual(values.buffer, file.buffer); // copied
    const aligned = fromTypedArray('F32', [2], Float32Array.of(4, 5));
    assert.equal(toTypedArray({ dtype: 'F32', data: aligned.data }).buffer, aligned.data.buffer); // not copied
  });

  test('metadata keys like "__proto__" stay plain keys', () => {
    const file = fileFrom('{"__metadata__":{"__proto__":"x","constructor":"y"}}');
    const { metadata } = parseSafetensors(file);
    assert.equal(Object.getPrototypeOf(metadata), Object.prototype);
    assert.deepEqual(Object.keys(metadata).sort(), ['__proto__', 'constructor']);
    assert.equal(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value, 'x');
  });
});

describe('reading rejects bad files with a clear SafetensorsError', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

  test('file shorter than 8 bytes', () => {
    rejects(new Uint8Array(5), 'too-short', /5 bytes, too short .* truncated/);
    rejects(new Uint8Array(0), 'too-short', /0 bytes/);
  });

  test('header length over 100 MB, or past the end of the file', () => {
    rejects(bytes(u64le(200_000_000), '{}'), 'header-too-large', /200000000 bytes is over the 100 MB limit/);
    rejects(bytes([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], '{}'), 'header-too-large', /18446744073709551615/);
    rejects(bytes(u64le(100), '{"a":1}'), 'header-length', /header length 100 bytes runs past the end of the 15-byte file — file truncated/);
  });

  test('names the file, and recognises common impostors', () => {
    const e = rejects(new Uint8Array(3), 'too-short', /^\/models\/gpt2\/model\.safetensors: /, '/models/gpt2/model.safetensors');
    assert.equal(e.source, '/models/gpt2/model.safetensors');
    const lfs = 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 548105171\n';
    rejects(bytes(lfs), 'header-too-large', /Git LFS pointer.*git lfs pull/);
    rejects(bytes([0x50, 0x4b, 0x03, 0x04], new Uint8Array(60)), 'header-length', /zip archive \(a PyTorch \.bin/);
    rejects(bytes('<!DOCTYPE html><html>'), 'header-too-large', /HTML/);
    rejects(bytes([0x80, 0x02], new Uint8Array(10)), 'header-length', /pickle/);
  });

  test('header not UTF-8, not JSON, not an object', () => {
    rejects(bytes(u64le(4), [0x7b, 0xff, 0xfe, 0x7d]), 'header-encoding', /not valid UTF-8/);
    rejects(fileFrom('{"a":'), 'header-json', /not valid JSON/);
    rejects(fileFrom('[1,2]'), 'header-json', /does not start with '\{'/);
    rejects(fileFrom('"{}"'), 'header-json', /does not start with '\{'/);
    rejects(fileFrom('\uFEFF{}'), 'header-json', /does not start with '\{'/); // a BOM is not allowed
    rejects(fileFrom('{} x'), 'header-json', /not valid JSON/);
  });

  test('entries of the wrong shape', () => {
    rejects(fileFrom({ w: 5 }), 'bad-entry', /tensor "w": entry is 5, expected/);
    rejects(fileFrom({ w: [1] }), 'bad-entry', /tensor "w": entry is \[1\]/);
    rejects(fileFrom({ w: { shape: [2], data_offsets: [0, 8] } }, 8), 'bad-entry', /tensor "w": entry has no "dtype"/);
    rejects(fileFrom({ w: { dtype: 'F32', data_offsets: [0, 8] } }, 8), 'bad-entry', /entry has no "shape"/);
    rejects(fileFrom({ w: { dtype: 'F32', shape: [2] } }, 8), 'bad-entry', /entry has no "data_offsets"/);
    rejects(fileFrom({ w: { ...ok, dtype: 5 } }, 8), 'bad-entry', /dtype is 5, expected a string/);
    rejects(fileFrom({ w: { ...ok, shape: '2' } }, 8), 'bad-entry', /shape is "2", expected an array/);
    rejects(fileFrom({ w: { ...ok, data_offsets: [0] } }, 8), 'bad-entry', /data_offsets is \[0\], expected \[begin, end\]/);
    rejects(fileFrom({ w: { ...ok, data_offsets: { begin: 0 } } }, 8), 'bad-entry', /data_offsets is \{"begin":0\}/);
  });

  test('unknown dtype', () => {
    rejects(fileFrom({ w: { ...ok, dtype: 'F128' } }, 8), 'unknown-dtype', /tensor "w": unknown dtype "F128" \(known: BOOL, U8/);
    rejects(fileFrom({ w: { ...ok, dtype: 'f32' } }, 8), 'unknown-dtype', /"f32"/);
  });

  test('shape entries must be non-negative safe integers', () => {
    for (const bad of [-1, 1.5, '2', null, 2 ** 53, [2]]) {
      rejects(fileFrom({ w: { ...ok, shape: [1, bad] } }, 8), 'bad-shape', /tensor "w": shape\[1\] is .*, expected a non-negative integer/);
    }
  });

  test('offsets: integers, begin ≤ end, within the data section', () => {
    rejects(fileFrom({ w: { ...ok, data_offsets: [0, 7.5] } }, 8), 'bad-offsets', /data_offsets \[0,7\.5\] must be two non-negative integers/);
    rejects(fileFrom({ w: { ...ok, data_offsets: [-8, 0] } }, 8), 'bad-offsets', /non-negative integers/);
    rejects(fileFrom({ w: { ...ok, data_offsets: ['0', 8] } }, 8), 'bad-offsets', /non-negative integers/);
    rejects(fileFrom({ w: { ...ok, data_offsets: [8, 0] } }, 8), 'bad-offsets', /\[8, 0\] begin after they end/);
    rejects(fileFrom({ w: ok }, 5), 'out-of-bounds', /tensor "w": data_offsets \[0, 8\] end past the data section, which has 5 bytes — file truncated — re-download or re-save/);
    rejects(fileFrom({ w: { ...ok, data_offsets: [0, 2 ** 60] } }, 8), 'bad-offsets', /non-negative integers/); // not a safe integer
  });

  test('byte length must equal prod(shape) × itemsize', () => {
    rejects(fileFrom({ w: { ...ok, shape: [3] } }, 8), 'size-mismatch', /tensor "w": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/);
    rejects(fileFrom({ w: { ...ok, shape: [] } }, 8), 'size-mismatch', /shape \[\] of F32 needs 4 bytes/);
    rejects(fileFrom({ w: { ...ok, shape: [2 ** 30, 2 ** 30, 2 ** 30] } }, 8), 'size-mismatch', /needs more than 2\^53 bytes/);
    rejects(fileFrom({ w: { ...ok, shape: [0, 2] } }, 8), 'size-mismatch', /needs 0 bytes/);
  });

  test('tensors must tile the data section: no overlap, no gap, no trailing bytes', () => {
    const a = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    rejects(fileFrom({ a, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), 'overlap', /tensor "b": data_offsets \[4, 12\] overlap tensor "a", which ends at 8/);
    rejects(fileFrom({ a, b: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 8), 'overlap', /overlap tensor "a"/);
    rejects(fileFrom({ a, b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }, 16), 'gap', /tensor "b": .* leave bytes \[8, 12\) of the data section unused/);
    rejects(fileFrom({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'gap', /bytes \[0, 4\)/);
    rejects(fileFrom({ a }, 10), 'trailing-data', /cover 8 bytes but the data section has 10: 2 bytes after the last tensor/);
    rejects(fileFrom({}, 1), 'trailing-data', /cover 0 bytes/);
    // zero-length tensors sit anywhere on the boundary between others
    const z = { dtype: 'F32', shape: [0], data_offsets: [8, 8] };
    assert.equal(parseSafetensors(fileFrom({ z, a, z2: { ...z, data_offsets: [0, 0] } }, 8)).tensors.size, 3);
  });

  test('__metadata__ must be an object of strings', () => {
    rejects(fileFrom({ __metadata__: { format: 1 } }), 'bad-metadata', /__metadata__\["format"\] is 1, expected a string/);
    rejects(fileFrom({ __metadata__: { nested: { a: 'b' } } }), 'bad-metadata', /__metadata__\["nested"\] is \{"a":"b"\}/);
    rejects(fileFrom({ __metadata__: ['pt'] }), 'bad-metadata', /__metadata__ is \["pt"\], expected an object of strings/);
    rejects(fileFrom({ __metadata__: 'pt' }), 'bad-metadata', /__metadata__ is "pt"/);
    assert.deepEqual(parseSafetensors(fileFrom({ __metadata__: null })).metadata, {});
  });

  test('fuzz: 2,000 mutations and truncations of a valid file give a SafetensorsError or a valid parse', () => {
    const rand = rng(42);
    const valid = concat(
      serializeSafetensors(
        {
          'transformer.wte.weight': fromFloat32('BF16', [4, 3], Float32Array.from({ length: 12 }, (_, i) => i / 7)),
          'transformer.h.0.attn.bias': t('BOOL', [2, 2], [1, 0, 1, 1]),
          'lm_head.weight': fromFloat32('F32', [3, 2], Float32Array.of(1, 2, 3, 4, 5, 6)),
          'step': fromTypedArray('I64', [], BigInt64Array.of(12n)),
          'empty': t('F16', [0, 5], []),
        },
        { format: 'pt' },
      ),
    );
    const n = Number(new DataView(valid.buffer).getBigUint64(0, true));
    const pick = (k: number): number => Math.floor(rand() * k);
    const mutations: Array<(b: Uint8Array) => Uint8Array> = [
      (b) => b.subarray(0, pick(b.byteLength)), // truncate
      (b) => { const c = b.slice(); c[pick(8 + n)] = pick(256); return c; }, // byte in length or header
      (b) => { const c = b.slice(); c[pick(c.byteLength)] ^= 1 << pick(8); return c; }, // bit flip anywhere
      (b) => { const c = b.slice(); new DataView(c.buffer).setBigUint64(0, BigInt(pick(n * 2)), true); return c; }, // length field
      (b) => { const c = b.slice(); c[pick(8)] = 0xff; return c; }, // huge length
      (b) => { // replace a digit of the header with another digit
        const c = b.slice();
        const digits = [...c.subarray(8, 8 + n).keys()].filter((i) => c[8 + i]! >= 0x30 && c[8 + i]! <= 0x39);
        c[8 + digits[pick(digits.length)]!] = 0x30 + pick(10);
        return c;
      },
      (b) => concat([b.subarray(0, 8 + pick(n)), b.subarray(8 + pick(n))]), // cut out part of the header
      (b) => concat([b, randomBytes(1 + pick(16), rand)]), // append garbage
      (b) => { // insert a structural character into the header
        const c = b.slice();
        c[8 + pick(n)] = '{}[],:"-. e'.charCodeAt(pick(11));
        return c;
      },
    ];
    let rejected = 0;
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      let buf = valid;
      for (let k = 1 + pick(3); k > 0; k--) buf = mutations[pick(mutations.length)]!(buf);
      try {
        const { tensors } = parseSafetensors(buf);
        accepted++;
        for (const [name, r] of tensors) {
          assert.equal(r.data.byteLength, r.shape.reduce((a, b) => a * b, 1) * dtypeItemSize(r.dtype), name);
        }
      } catch (err) {
        if (!(err instanceof SafetensorsError)) assert.fail(`mutation ${i} threw ${String(err)}\n${(err as Error).stack ?? ''}`);
        rejected++;
      }
    }
    assert.equal(accepted + rejected, 2000);
    assert.ok(rejected > 1000, `${rejected} rejected`);
    assert.ok(accepted > 0, 'some mutations (e.g. in the data section) leave a valid file');
  });
});

describe('writing rejects inconsistent tensors', () => {
  const fails = (fn: () => unknown, message: RegExp): void => {
    assert.throws(fn, (err: unknown) => err instanceof SafetensorsError && err.code === 'invalid-tensor' && message.test(err.message));
  };

  test('data length, dtype, shape, reserved and unencodable names, metadata', () => {
    fails(() => serializeSafetensors({ w: t('F32', [2], [0, 0, 0]) }), /tensor "w": shape \[2\] of F32 needs 8 bytes but data has 3/);
    fails(() => serializeSafetensors({ w: { dtype: 'F128' as SafetensorsDtype, shape: [], data: new Uint8Array(16) } }), /unknown dtype "F128"/);
    fails(() => serializeSafetensors({ w: t('U8', [-1], []) }), /shape must be an array of non-negative integers, got \[-1\]/);
    fails(() => serializeSafetensors({ w: { dtype: 'U8', shape: [2n] as unknown as number[], data: new Uint8Array(2) } }), /shape must be an array of non-negative integers, got an array/);
    fails(() => serializeSafetensors({ w: { dtype: 'F32', shape: [1], data: Float32Array.of(1) as unknown as Uint8Array } }), /data must be a Uint8Array of bytes, got a Float32Array/);
    fails(() => serializeSafetensors({ __metadata__: t('U8', [0], []) }), /"__metadata__" is reserved/);
    fails(() => serializeSafetensors({ ['bad\uD800']: t('U8', [0], []) }), /lone UTF-16 surrogate/);
    fails(() => serializeSafetensors({}, { format: 1 as unknown as string }), /metadata\["format"\] must be a string, got 1/);
    fails(() => fromTypedArray('F32', [3], Float32Array.of(1, 2)), /shape \[3\] of F32 needs 12 bytes but data has 8/);
  });

  test('big tensors are not copied: the chunks are the tensors’ own bytes', () => {
    const big = new Uint8Array(1 << 20);
    const chunks = serializeSafetensors({ w: { dtype: 'U8', shape: [1 << 20], data: big } });
    assert.equal(chunks.length, 2);
    assert.equal(chunks[1], big);
  });
});

describe('16-bit floats', () => {
  test('float32 → bfloat16 bit patterns', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3f80], [-2, 0xc000], [0, 0x0000], [-0, 0x8000], [0.5, 0x3f00],
      [Infinity, 0x7f80], [-Infinity, 0xff80],
      [fromBits(0x3f808000), 0x3f80], // exactly halfway, to the even 0x3f80
      [fromBits(0x3f818000), 0x3f82], // exactly halfway, to the even 0x3f82
      [fromBits(0x3f808001), 0x3f81], // just above halfway, up
      [fromBits(0x3f807fff), 0x3f80], // just below halfway, down
      [fromBits(0x7f7fffff), 0x7f80], // float32 max rounds up to inf
      [fromBits(0x00000001), 0x0000], // smallest float32 subnormal
      [3.140625, 0x4049],
    ];
    for (const [x, want] of cases) assert.equal(hex(toBf16(x)), hex(want), `bf16(${x})`);
    for (const nanBits of [0x7fc00000, 0x7f800001, 0xffc00000, 0x7fffffff]) {
      const b = toBf16(fromBits(nanBits));
      assert.equal(b & 0x7f80, 0x7f80);
      assert.notEqual(b & 0x7f, 0, `NaN 0x${nanBits.toString(16)} stays NaN`);
      assert.equal(b & 0x8000, (nanBits >>> 16) & 0x8000, 'sign kept');
    }
    assert.deepEqual([...bf16ToFloat32(Uint16Array.of(0x3f80, 0xc000, 0x4049, 0x0001))], [1, -2, 3.140625, 2 ** -133]);
    assert.ok(Number.isNaN(bf16ToFloat32(Uint16Array.of(0x7fc0))[0]));
  });

  test('float32 → float16 bit patterns', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00], [-2, 0xc000], [0, 0x0000], [-0, 0x8000], [0.1, 0x2e66], [1 / 3, 0x3555],
      [65504, 0x7bff], // largest finite half
      [65519, 0x7bff], // below the halfway point 65520: down
      [65520, 0x7c00], // halfway between 65504 and 65536 rounds to even, which is inf
      [1e6, 0x7c00], [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal ≈ 5.96e-8
      [5.96e-8, 0x0001],
      [2 ** -25, 0x0000], // halfway between 0 and 2^-24: to even (0)
      [1.5 * 2 ** -25, 0x0001], // above halfway: up
      [3 * 2 ** -25, 0x0002], // 1.5 × 2^-24: halfway between 1 and 2 subnormal steps, to even (2)
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -14 - 2 ** -25, 0x0400], // halfway between largest subnormal (odd) and smallest normal: up
      [1 + 2 ** -11, 0x3c00], // halfway between 0x3c00 and 0x3c01: to even
      [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: to even
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above halfway: up
      [1e-10, 0x0000], [-1e-10, 0x8000],
      [fromBits(0x00000001), 0x0000],
    ];
    for (const [x, want] of cases) assert.equal(hex(toF16(x)), hex(want), `f16(${x})`);
    for (const nanBits of [0x7fc00000, 0x7f800001, 0xffc00000]) {
      const h = toF16(fromBits(nanBits));
      assert.equal(h & 0x7c00, 0x7c00);
      assert.notEqual(h & 0x3ff, 0, 'NaN stays NaN');
      assert.equal(h & 0x8000, (nanBits >>> 16) & 0x8000, 'sign kept');
    }
    assert.deepEqual(
      [...f16ToFloat32(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x3555, 0xfc00, 0x8000))],
      [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125, -Infinity, -0],
    );
    assert.ok(Number.isNaN(f16ToFloat32(Uint16Array.of(0x7e00))[0]));
  });

  test('every 16-bit pattern survives 16 → 32 → 16 exactly (NaN payloads included)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    assert.deepEqual(float32ToF16(f16ToFloat32(all)), all);
    assert.deepEqual(float32ToBf16(bf16ToFloat32(all)), all);
  });

  test('float32 → float16 and → bfloat16 agree with a brute-force nearest-even oracle on 100,000 values', () => {
    // The oracle: all finite non-negative halves in order (their bit patterns are monotone), nearest by
    // exact float64 distance, ties to the even pattern; ≥ 65520 is inf.
    const halves = f16ToFloat32(Uint16Array.from({ length: 0x7c00 }, (_, i) => i));
    const oracleF16 = (x: number): number => {
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      const a = Math.abs(x);
      if (a >= 65520) return sign | 0x7c00;
      let lo = 0;
      let hi = 0x7bff;
      while (lo < hi) { // first index with halves[i] >= a
        const mid = (lo + hi) >> 1;
        if (halves[mid]! < a) lo = mid + 1;
        else hi = mid;
      }
      if (halves[lo] === a || lo === 0) return sign | lo;
      const below = a - halves[lo - 1]!;
      const above = halves[lo]! - a;
      return sign | (below < above ? lo - 1 : above < below ? lo : (lo & 1) === 0 ? lo : lo - 1);
    };
    const oracleBf16 = (bits: number): number => {
      const x = fromBits(bits);
      const lo = bits >>> 16;
      const down = fromBits((lo << 16) >>> 0);
      const up = lo === 0x7f7f || lo === 0xff7f ? Math.sign(x) * 2 ** 128 : fromBits(((lo + 1) << 16) >>> 0);
      const dDown = Math.abs(x - down);
      const dUp = Math.abs(up - x);
      return dDown < dUp ? lo : dUp < dDown ? (lo + 1) & 0xffff : (lo & 1) === 0 ? lo : (lo + 1) & 0xffff;
    };
    const rand = rng(7);
    const bits = new Uint32Array(100_000);
    for (let i = 0; i < bits.length; i++) {
      // exponents around the half range (subnormals, normals, overflow) most of the time, anything otherwise
      const exp = rand() < 0.8 ? 96 + Math.floor(rand() * 50) : Math.floor(rand() * 255);
      const mant = rand() < 0.2 ? (Math.floor(rand() * 1024) << 13) | (rand() < 0.5 ? 0x1000 : 0) : Math.floor(rand() * 0x800000);
      bits[i] = ((rand() < 0.5 ? 0x80000000 : 0) | (exp << 23) | mant) >>> 0;
    }
    const xs = new Float32Array(bits.buffer);
    const f16 = float32ToF16(xs);
    const bf16 = float32ToBf16(xs);
    for (let i = 0; i < xs.length; i++) {
      const [wantF16, wantBf16] = [oracleF16(xs[i]!), oracleBf16(bits[i]!)];
      if (f16[i] !== wantF16) assert.fail(`f16 of bits 0x${bits[i]!.toString(16)}: ${hex(f16[i]!)}, expected ${hex(wantF16)}`);
      if (bf16[i] !== wantBf16) assert.fail(`bf16 of bits 0x${bits[i]!.toString(16)}: ${hex(bf16[i]!)}, expected ${hex(wantBf16)}`);
    }
  });

  const torchPython = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
  test('float32 → float16/bfloat16 match PyTorch (when /usr/bin/python3 has torch)', { skip: !torchPython && 'no torch in /usr/bin/python3' }, async () => {
    const dir = await tempDir();
    try {
      const rand = rng(11);
      const bits = Uint32Array.from({ length: 50_000 }, () => {
        const exp = 90 + Math.floor(rand() * 60);
        return ((rand() < 0.5 ? 0x80000000 : 0) | (exp << 23) | Math.floor(rand() * 0x800000)) >>> 0;
      });
      await writeFile(join(dir, 'in.bin'), new Uint8Array(bits.buffer));
      const script = [
        'import sys, torch',
        `x = torch.frombuffer(bytearray(open(sys.argv[1] + "/in.bin", "rb").read()), dtype=torch.float32)`,
        'open(sys.argv[1] + "/f16.bin", "wb").write(x.to(torch.float16).view(torch.int16).numpy().tobytes())',
        'open(sys.argv[1] + "/bf16.bin", "wb").write(x.to(torch.bfloat16).view(torch.int16).numpy().tobytes())',
      ].join('\n');
      const r = spawnSync('/usr/bin/python3', ['-c', script, dir], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const xs = new Float32Array(bits.buffer);
      const theirF16 = new Uint16Array((await readFile(join(dir, 'f16.bin'))).buffer.slice(0));
      const theirBf16 = new Uint16Array((await readFile(join(dir, 'bf16.bin'))).buffer.slice(0));
      const oursF16 = float32ToF16(xs);
      const oursBf16 = float32ToBf16(xs);
      let diffs = 0;
      for (let i = 0; i < xs.length; i++) if (oursF16[i] !== theirF16[i] || oursBf16[i] !== theirBf16[i]) diffs++;
      assert.equal(diffs, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('toFloat32 decodes every numeric dtype', () => {
    assert.deepEqual([...toFloat32(fromTypedArray('F64', [2], Float64Array.of(0.1, -3)))], [Math.fround(0.1), -3]);
    assert.deepEqual([...toFloat32(fromTypedArray('I64', [2], BigInt64Array.of(-5n, 1n << 40n)))], [-5, 2 ** 40]);
    assert.deepEqual([...toFloat32(fromTypedArray('U64', [1], BigUint64Array.of(7n)))], [7]);
    assert.deepEqual([...toFloat32(fromTypedArray('I32', [1], Int32Array.of(-9)))], [-9]);
    assert.deepEqual([...toFloat32(fromTypedArray('U16', [1], Uint16Array.of(65535)))], [65535]);
    assert.deepEqual([...toFloat32(t('BOOL', [2], [1, 0]))], [1, 0]);
    assert.deepEqual([...toFloat32(t('F16', [1], [0x00, 0x3c]))], [1]);
    // FP8 (OCP): E4M3 1.0 = 0x38, max 448 = 0x7e, 0x7f NaN, smallest subnormal 2^-9; E5M2 1.0 = 0x3c, max 57344, 0x7c inf
    const e4m3 = toFloat32(t('F8_E4M3', [5], [0x38, 0x7e, 0x7f, 0x01, 0xb8]));
    assert.deepEqual([...e4m3.subarray(0, 2)], [1, 448]);
    assert.ok(Number.isNaN(e4m3[2]));
    assert.deepEqual([...e4m3.subarray(3)], [2 ** -9, -1]);
    assert.deepEqual([...toFloat32(t('F8_E5M2', [4], [0x3c, 0x7b, 0x7c, 0x01]))], [1, 57344, Infinity, 2 ** -16]);
  });
});

describe('files and directories', () => {
  test('write then read a file; errors name the path', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir, 'model.safetensors');
      const tensors = { 'a.weight': fromFloat32('F32', [2, 2], Float32Array.of(1, 2, 3, 4)), 'a.bias': fromFloat32('BF16', [2], Float32Array.of(0.5, -1)) };
      await writeSafetensorsFile(path, tensors, { format: 'pt' });
      assert.deepEqual((await readdir(dir)).sort(), ['model.safetensors']); // no temp file left
      const back = await readSafetensorsFile(path);
      assert.deepEqual(back.metadata, { format: 'pt' });
      assert.deepEqual(back.tensors.get('a.weight'), tensors['a.weight']);
      assert.deepEqual(back.tensors.get('a.bias'), tensors['a.bias']);
      assert.deepEqual(parseSafetensors(await readFile(path)).tensors, back.tensors); // the in-memory parser agrees

      const header = await readSafetensorsHeader(path);
      assert.deepEqual(header.tensors.get('a.bias'), { dtype: 'BF16', shape: [2], dataOffsets: [16, 20] });
      const some = await readSafetensorsFile(path, { filter: (name) => name.endsWith('.bias') });
      assert.deepEqual([...some.tensors.keys()], ['a.bias']);

      // truncated on disk
      const full = await readFile(path);
      await writeFile(join(dir, 'cut.safetensors'), full.subarray(0, full.byteLength - 3));
      await assert.rejects(readSafetensorsFile(join(dir, 'cut.safetensors')), (err: unknown) =>
        err instanceof SafetensorsError && err.code === 'out-of-bounds' && err.message.startsWith(`${join(dir, 'cut.safetensors')}: tensor "a.bias"`) && /truncated/.test(err.message));
      await writeFile(join(dir, 'tiny.safetensors'), 'abc');
      await assert.rejects(readSafetensorsFile(join(dir, 'tiny.safetensors')), /tiny\.safetensors: file is 3 bytes, too short/);
      await assert.rejects(readSafetensorsFile(join(dir, 'absent.safetensors')), (err: unknown) =>
        err instanceof SafetensorsError && err.code === 'io' && /absent\.safetensors: cannot open: ENOENT/.test(err.message) && err.cause instanceof Error);
      await assert.rejects(readSafetensorsFile(dir), (err: unknown) => err instanceof SafetensorsError && err.code === 'io' && /not a regular file/.test(err.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('truncating a file on disk at every length gives a SafetensorsError', async () => {
    const dir = await tempDir();
    try {
      const file = concat(serializeSafetensors({ a: fromFloat32('F16', [3], Float32Array.of(1, 2, 3)), b: t('U8', [2], [1, 2]) }));
      const path = join(dir, 'x.safetensors');
      for (let len = 0; len < file.byteLength; len++) {
        await writeFile(path, file.subarray(0, len));
        await assert.rejects(readSafetensorsFile(path), SafetensorsError, `length ${len}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('planShards: greedy in order, a tensor bigger than the limit gets its own shard', () => {
    const sized = (n: number): RawTensor => t('U8', [n], new Uint8Array(n));
    const plan = planShards([['a', sized(4)], ['b', sized(4)], ['c', sized(3)], ['huge', sized(20)], ['d', sized(1)]], 10);
    assert.deepEqual(plan, [['a', 'b'], ['c'], ['huge'], ['d']]);
    assert.deepEqual(planShards([], 10), [[]]);
    assert.equal(shardFileName(2, 13), 'model-00002-of-00013.safetensors');
  });

  test('sharded write and read round trip; switching between sharded and single leaves no stale files', async () => {
    const dir = await tempDir();
    try {
      const rand = rng(3);
      const tensors = new Map<string, RawTensor>();
      for (let layer = 0; layer < 4; layer++) {
        tensors.set(`h.${layer}.w`, { dtype: 'F32', shape: [4, 4], data: randomBytes(64, rand) });
        tensors.set(`h.${layer}.b`, { dtype: 'BF16', shape: [4], data: randomBytes(8, rand) });
      }
      // 72 bytes per layer: two layers do not fit in 100 bytes, so one shard per layer
      const files = await writeSafetensorsDir(dir, tensors, { maxShardBytes: 100 });
      assert.deepEqual(files, [1, 2, 3, 4].map((i) => shardFileName(i, 4)));
      assert.deepEqual((await readdir(dir)).sort(), [...files, 'model.safetensors.index.json']);

      const index = await readShardedIndex(dir);
      assert.equal(index.totalSize, 4 * (64 + 8));
      assert.deepEqual(index.shards, files);
      assert.equal(index.weightMap.get('h.0.w'), files[0]);
      assert.equal(index.weightMap.get('h.0.b'), files[0]);
      assert.equal(index.weightMap.get('h.3.b'), files[3]);
      const json = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
      assert.deepEqual(Object.keys(json.weight_map), [...tensors.keys()].sort()); // sorted, as HF writes it

      const back = await readSafetensorsDir(dir);
      assert.equal(back.tensors.size, tensors.size);
      for (const [name, want] of tensors) assert.deepEqual(back.tensors.get(name), want, name);
      assert.deepEqual(back.metadata, { format: 'pt' }); // the save id stamped on shards is not the model's metadata
      const biases = await readSafetensorsDir(dir, { filter: (name) => name.endsWith('.b') });
      assert.equal(biases.tensors.size, 4);

      // a smaller model saved into the same directory: one file, the index and the shards go away
      assert.deepEqual(await writeSafetensorsDir(dir, { x: t('U8', [1], [9]) }), ['model.safetensors']);
      assert.deepEqual(await readdir(dir), ['model.safetensors']);
      assert.deepEqual((await readSafetensorsDir(dir)).tensors.get('x'), t('U8', [1], [9]));

      // and back to sharded (two shards now): the single file goes away
      await writeSafetensorsDir(dir, tensors, { maxShardBytes: 150 });
      assert.deepEqual((await readdir(dir)).sort(), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
      assert.equal((await readSafetensorsDir(dir)).tensors.size, 8);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bad sharded checkpoints: missing shards listed, unsafe paths, index and shards that disagree', async () => {
    const root = await tempDir();
    try {
      const tensors = { a: t('U8', [4], [1, 2, 3, 4]), b: t('U8', [4], [5, 6, 7, 8]), c: t('U8', [4], [9, 9, 9, 9]) };
      const dir = join(root, 'm');
      await writeSafetensorsDir(dir, tensors, { maxShardBytes: 4 });
      const indexPath = join(dir, 'model.safetensors.index.json');
      const writeIndex = (v: unknown) => writeFile(indexPath, JSON.stringify(v));
      const code = (c: SafetensorsErrorCode, re: RegExp) => (err: unknown) => err instanceof SafetensorsError && err.code === c && re.test(err.message);

      await rm(join(dir, 'model-00002-of-00003.safetensors'));
      await rm(join(dir, 'model-00003-of-00003.safetensors'));
      await assert.rejects(readSafetensorsDir(dir), code('missing-shard', /2 of 3 shard files are missing: model-00002-of-00003\.safetensors, model-00003-of-00003\.safetensors — the download is incomplete/));
      await writeSafetensorsDir(dir, tensors, { maxShardBytes: 4 });
      const goodIndex = await readFile(indexPath, 'utf8');

      await writeIndex({ weight_map: { a: '../../etc/passwd' } });
      await assert.rejects(readShardedIndex(dir), code('bad-index', /weight_map\["a"\] names "\.\.\/\.\.\/etc\/passwd", which is not a file inside/));
      await writeIndex({ weight_map: { a: '/etc/passwd' } });
      await assert.rejects(readShardedIndex(dir), code('bad-index', /not a file inside/));
      await writeIndex({ weight_map: { a: 3 } });
      await assert.rejects(readShardedIndex(dir), code('bad-index', /weight_map\["a"\] is 3, expected a shard file name/));
      await writeIndex({ metadata: { total_size: 'big' }, weight_map: {} });
      await assert.rejects(readShardedIndex(dir), code('bad-index', /total_size" is "big"/));
      await writeIndex({ metadata: {} });
      await assert.rejects(readShardedIndex(dir), code('bad-index', /"weight_map" is missing/));
      await writeFile(indexPath, '{"weight_map": ');
      await assert.rejects(readShardedIndex(dir), code('bad-index', /model\.safetensors\.index\.json: not valid JSON/));

      // the index puts a tensor in the wrong shard, or names one no shard has
      const good = JSON.parse(goodIndex) as { metadata: Record<string, unknown>; weight_map: Record<string, string> };
      await writeIndex({ ...good, weight_map: { ...good.weight_map, a: 'model-00002-of-00003.safetensors', b: 'model-00001-of-00003.safetensors' } });
      await assert.rejects(readSafetensorsDir(dir), code('inconsistent-shards', /tensor "a": the index puts it in model-00002-of-00003\.safetensors but it is in model-00001-of-00003\.safetensors/));
      await writeIndex({ ...good, weight_map: { ...good.weight_map, ghost: 'model-00002-of-00003.safetensors' } });
      await assert.rejects(readSafetensorsDir(dir), code('inconsistent-shards', /tensor "ghost": .* but none of its shards has it/));
      await writeFile(indexPath, goodIndex);
      assert.equal((await readSafetensorsDir(dir)).tensors.size, 3);

      // a save interrupted between shard renames: shard 2 from another save of the same layout
      const other = join(root, 'other');
      await writeSafetensorsDir(other, tensors, { maxShardBytes: 4 });
      await copyFile(join(other, 'model-00002-of-00003.safetensors'), join(dir, 'model-00002-of-00003.safetensors'));
      await assert.rejects(readSafetensorsDir(dir), code('inconsistent-shards', /shard model-00002-of-00003\.safetensors is from a different save than the index \(a save was interrupted\?\)/));

      // nothing to read
      const empty = join(root, 'empty');
      await mkdir(empty);
      await writeFile(join(empty, 'adapter_model.safetensors'), '');
      await assert.rejects(readSafetensorsDir(empty), code('io', /no model\.safetensors or model\.safetensors\.index\.json here \(it has adapter_model\.safetensors/));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
