// Truncation and padding of id sequences into a rectangular batch (plain arrays; the tensor layer
// turns them into tensors). Left padding is what decoder-only generation wants: every prompt then
// ends at the last column, where the next token is sampled.
//   padBatch([[1, 2, 3], [4]], { padId: 0, side: 'left' })
//     → inputIds [[1, 2, 3], [0, 0, 4]], attentionMask [[1, 1, 1], [0, 0, 1]]

import { TokenizerError } from './errors.js';

export type Side = 'left' | 'right';

export interface BatchEncoding {
  /** (B, T) token ids. */
  inputIds: number[][];
  /** (B, T): 1 for a real token, 0 for padding. */
  attentionMask: number[][];
}

/** Keeps at most `maxLength` ids: the first ones (side 'right' cuts the right end) or the last ones ('left'). */
export function truncateIds(ids: readonly number[], maxLength: number, side: Side): number[] {
  if (ids.length <= maxLength) return ids.slice();
  return side === 'right' ? ids.slice(0, maxLength) : ids.slice(ids.length - maxLength);
}

export interface PadOptions {
  /** The id written into padding positions. */
  padId: number;
  /** Where padding goes. */
  side: Side;
  /** Pad to this length; default the longest sequence. Longer sequences are left as they are. */
  length?: number;
  /** Round the length up to a multiple of this (8 or 64 suits tensor cores). */
  multipleOf?: number;
}

/** Pads sequences to one length and builds the attention mask. */
export function padBatch(sequences: ReadonlyArray<readonly number[]>, options: PadOptions): BatchEncoding {
  let length = options.length ?? Math.max(0, ...sequences.map((s) => s.length));
  const m = options.multipleOf;
  if (m !== undefined) {
    if (!Number.isInteger(m) || m < 1) throw new TokenizerError(`padToMultipleOf must be a positive integer, got ${m}`);
    length = Math.ceil(length / m) * m;
  }
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  for (const seq of sequences) {
    const n = Math.max(0, length - seq.length); // number of pad positions
    const pad = new Array<number>(n).fill(options.padId);
    const zeros = new Array<number>(n).fill(0);
    const ones = new Array<number>(seq.length).fill(1);
    if (options.side === 'left') {
      inputIds.push([...pad, ...seq]);
      attentionMask.push([...zeros, ...ones]);
    } else {
      inputIds.push([...seq, ...pad]);
      attentionMask.push([...ones, ...zeros]);
    }
  }
  return { inputIds, attentionMask };
}
