// Batches of token ids → int64 tensors. The only file of src/data that makes tensors.
//
//   padRight  (B, T) ids and attention mask, padding after: training, scoring
//   padLeft   (B, T) padding before, so every row's last real token is at T−1: generation
//   collateSft      inputIds, attentionMask, labels (B, T); labels = ids where the loss counts, −100
//                   elsewhere (prompt, padding). Labels are NOT shifted: the trainer compares
//                   logits[:, :-1] with labels[:, 1:], as Hugging Face models do internally.
//   collatePreference  chosen rows then rejected rows in one (2B, T) batch (one forward for both,
//                   TRL's "concatenated forward"), labels −100 on the prompt and padding.

import type { Device, Tensor } from '../torch/index.js';
import { tensor } from '../torch/index.js';
import type { PreferenceExample, SftExample } from './tokenize.js';

/** The value of `labels` where no loss is taken (PyTorch's cross-entropy ignore_index). */
export const IGNORE_INDEX = -100;

export interface CollateOptions {
  /** Pad to at least this length (default: the longest sequence). */
  length?: number;
  /** Round the padded length up to a multiple of this (tensor cores like multiples of 8). */
  padToMultipleOf?: number;
  device?: Device;
}

export interface PaddedBatch {
  /** (B, T) int64 */
  inputIds: Tensor;
  /** (B, T) int64: 1 for real tokens, 0 for padding. */
  attentionMask: Tensor;
}

export interface SftBatch extends PaddedBatch {
  /** (B, T) int64: the token id where the loss counts, IGNORE_INDEX elsewhere (not shifted). */
  labels: Tensor;
}

export interface PreferenceBatch extends SftBatch {
  /** B: rows 0 … B−1 are prompt+chosen, rows B … 2B−1 prompt+rejected. */
  pairs: number;
  /** (B) float32 margins, when every example has one. */
  margin?: Tensor;
}

function checkBatch(what: string, n: number, padId: number): void {
  if (n === 0) throw new RangeError(`${what}: the batch is empty`);
  if (!Number.isInteger(padId)) throw new RangeError(`${what}: padId must be an integer token id, got ${padId} (a tokenizer with no pad token: use its eos id)`);
}

function paddedLength(lengths: readonly number[], o: CollateOptions): number {
  let T = Math.max(o.length ?? 0, ...lengths);
  const m = o.padToMultipleOf;
  if (m !== undefined && m > 1) T = Math.ceil(T / m) * m;
  return T;
}

/** Fills (B, T) int64 buffers row by row; `left` puts the padding first. */
function pad(rows: ReadonlyArray<readonly number[]>, fill: number, T: number, left: boolean): BigInt64Array {
  const B = rows.length;
  const out = new BigInt64Array(B * T).fill(BigInt(fill));
  rows.forEach((r, b) => {
    const off = b * T + (left ? T - r.length : 0);
    for (let t = 0; t < r.length; t++) out[off + t] = BigInt(r[t]!);
  });
  return out;
}

function masks(lengths: readonly number[], T: number, left: boolean): BigInt64Array {
  return pad(lengths.map((n) => new Array<number>(n).fill(1)), 0, T, left);
}

function padSide(seqs: ReadonlyArray<readonly number[]>, padId: number, o: CollateOptions, left: boolean, what: string): PaddedBatch {
  checkBatch(what, seqs.length, padId);
  const lengths = seqs.map((s) => s.length);
  const T = paddedLength(lengths, o);
  const shape = [seqs.length, T];
  return {
    inputIds: tensor(pad(seqs, padId, T, left), { shape, device: o.device }), // (B, T)
    attentionMask: tensor(masks(lengths, T, left), { shape, device: o.device }), // (B, T)
  };
}

/** Right padding: (B, T) int64 ids and attention mask. */
export function padRight(seqs: ReadonlyArray<readonly number[]>, padId: number, options: CollateOptions = {}): PaddedBatch {
  return padSide(seqs, padId, options, false, 'padRight');
}

/** Left padding (for generation): (B, T) int64 ids and attention mask. */
export function padLeft(seqs: ReadonlyArray<readonly number[]>, padId: number, options: CollateOptions = {}): PaddedBatch {
  return padSide(seqs, padId, options, true, 'padLeft');
}

/** labels = id where mask is 1, IGNORE_INDEX where it is 0. */
function labelsOf(ids: readonly number[], lossMask: readonly number[]): number[] {
  return ids.map((id, t) => (lossMask[t] === 1 ? id : IGNORE_INDEX));
}

/** SFT batch, right-padded: inputIds, attentionMask, labels (B, T) int64. */
export function collateSft(examples: readonly SftExample[], padId: number, options: CollateOptions = {}): SftBatch {
  checkBatch('collateSft', examples.length, padId);
  const seqs = examples.map((e) => e.inputIds);
  const batch = padRight(seqs, padId, options);
  const T = batch.inputIds.shape[1]!;
  const labels = pad(examples.map((e) => labelsOf(e.inputIds, e.lossMask)), IGNORE_INDEX, T, false);
  return { ...batch, labels: tensor(labels, { shape: [examples.length, T], device: options.device }) }; // (B, T)
}

/** Preference batch: (2B, T) with chosen rows first, then rejected; labels only on the responses. */
export function collatePreference(examples: readonly PreferenceExample[], padId: number, options: CollateOptions = {}): PreferenceBatch {
  checkBatch('collatePreference', examples.length, padId);
  const B = examples.length;
  const rows: SftExample[] = [];
  for (const side of ['chosenIds', 'rejectedIds'] as const) {
    for (const e of examples) {
      rows.push({ inputIds: [...e.promptIds, ...e[side]], lossMask: [...e.promptIds.map(() => 0), ...e[side].map(() => 1)] });
    }
  }
  const batch = collateSft(rows, padId, options); // (2B, T)
  const out: PreferenceBatch = { ...batch, pairs: B };
  if (examples.every((e) => e.margin !== undefined)) {
    const m = examples.map((e) => e.margin!);
    out.margin = tensor(Float32Array.from(m), { device: options.device }); // (B)
  }
  return out;
}
