// PNG and animated PNG (APNG) encoding of RGBA frames with node:zlib, no dependency.
//
// A PNG is an 8-byte signature and chunks, each `length, type, data, CRC-32(type + data)`:
// IHDR (size, 8-bit RGBA), IDAT (the zlib-deflated rows, each row prefixed by a filter byte; we use
// filter 0, "none"), IEND. APNG (https://wiki.mozilla.org/APNG_Specification) adds acTL (frame count,
// loop count) before the first IDAT, an fcTL (frame size, offset, delay) before each frame, and
// carries frames after the first in fdAT chunks (a sequence number, then the same data as IDAT).
// A viewer without APNG support shows the first frame.
import { deflateSync } from 'node:zlib';

// CRC-32 (ISO 3309, the polynomial PNG uses), table-driven; node:zlib's crc32 needs Node ≥ 20.15.
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(data: Uint8Array, start = 0): number {
  let c = ~start >>> 0;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width·height·4 bytes, row by row, RGBA. */
  pixels: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(Buffer.from(type, 'latin1'))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

function ihdr(width: number, height: number): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = 8; // bit depth
  d[9] = 6; // colour type: RGBA
  d[10] = 0; // compression: deflate
  d[11] = 0; // filter method 0
  d[12] = 0; // no interlace
  return chunk('IHDR', d);
}

/** The zlib stream of an image's rows, each prefixed with filter type 0. */
function deflateRows(img: RgbaImage): Buffer {
  const stride = img.width * 4;
  if (img.pixels.length !== stride * img.height) throw new RangeError(`encodePng: ${img.pixels.length} bytes for a ${img.width}×${img.height} RGBA image (expected ${stride * img.height})`);
  const raw = Buffer.alloc((stride + 1) * img.height);
  for (let y = 0; y < img.height; y++) raw.set(img.pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return deflateSync(raw, { level: 9 });
}

/** One still PNG. */
export function encodePng(img: RgbaImage): Buffer {
  return Buffer.concat([SIGNATURE, ihdr(img.width, img.height), chunk('IDAT', deflateRows(img)), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * An animated PNG that loops forever. delaysMs: one delay per frame (or one for all). Every frame
 * must have the first frame's size.
 */
export function encodeApng(frames: readonly RgbaImage[], delaysMs: number | readonly number[]): Buffer {
  const first = frames[0];
  if (first === undefined) throw new RangeError('encodeApng: no frames');
  const parts: Buffer[] = [SIGNATURE, ihdr(first.width, first.height)];
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(frames.length, 0);
  actl.writeUInt32BE(0, 4); // loop forever
  parts.push(chunk('acTL', actl));
  let seq = 0;
  frames.forEach((f, i) => {
    if (f.width !== first.width || f.height !== first.height) throw new RangeError(`encodeApng: frame ${i} is ${f.width}×${f.height}, the first is ${first.width}×${first.height}`);
    const delay = typeof delaysMs === 'number' ? delaysMs : (delaysMs[i] ?? delaysMs[delaysMs.length - 1] ?? 100);
    const fctl = Buffer.alloc(26);
    fctl.writeUInt32BE(seq++, 0);
    fctl.writeUInt32BE(f.width, 4);
    fctl.writeUInt32BE(f.height, 8);
    fctl.writeUInt32BE(0, 12); // x offset
    fctl.writeUInt32BE(0, 16); // y offset
    fctl.writeUInt16BE(Math.max(0, Math.min(65535, Math.round(delay))), 20); // delay numerator
    fctl.writeUInt16BE(1000, 22); // delay denominator: milliseconds
    fctl[24] = 0; // dispose op: none
    fctl[25] = 0; // blend op: source (replace the whole frame)
    parts.push(chunk('fcTL', fctl));
    const data = deflateRows(f);
    if (i === 0) parts.push(chunk('IDAT', data));
    else {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(seq++, 0);
      parts.push(chunk('fdAT', Buffer.concat([head, data])));
    }
  });
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** The chunks of a PNG file, for tests and checks: type and data of each, CRCs verified. */
export function readPngChunks(file: Uint8Array): { type: string; data: Buffer }[] {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new RangeError('readPngChunks: not a PNG (bad signature)');
  const out: { type: string; data: Buffer }[] = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    const crc = buf.readUInt32BE(off + 8 + len);
    if ((crc32(data, crc32(Buffer.from(type, 'latin1'))) >>> 0) !== crc) throw new RangeError(`readPngChunks: bad CRC in chunk ${type} at byte ${off}`);
    out.push({ type, data });
    off += 12 + len;
  }
  return out;
}
