// Train/eval splits and the batch order of each epoch, both reproducible from a seed (rng.ts).

import { mixSeed, mulberry32, permutation } from './rng.js';

export interface TrainEvalSplit<T> {
  train: T[];
  eval: T[];
}

/**
 * A seeded split: a shuffled permutation picks round(n·evalFraction) items for eval (at least 1
 * when evalFraction > 0 and n ≥ 2, and never all of them). Both sets keep the items' original
 * order. The same (items, evalFraction, seed) always gives the same split.
 */
export function trainEvalSplit<T>(items: readonly T[], evalFraction: number, seed: number): TrainEvalSplit<T> {
  if (!(evalFraction >= 0 && evalFraction < 1)) throw new RangeError(`trainEvalSplit: evalFraction must be in [0, 1), got ${evalFraction}`);
  const n = items.length;
  let nEval = 0;
  if (evalFraction > 0 && n >= 2) nEval = Math.min(n - 1, Math.max(1, Math.round(n * evalFraction)));
  if (nEval === 0) return { train: [...items], eval: [] };
  const isEval = new Uint8Array(n);
  for (const i of permutation(n, mulberry32(mixSeed(seed, 0x5e11))).slice(0, nEval)) isEval[i] = 1;
  const train: T[] = [];
  const evalItems: T[] = [];
  items.forEach((x, i) => (isEval[i] === 1 ? evalItems : train).push(x));
  return { train, eval: evalItems };
}

export interface BatchOptions {
  /** Drop the last batch when it is smaller than batchSize. Default false. */
  dropLast?: boolean;
  /** Keep the items in order (no shuffle), e.g. for evaluation. Default false. */
  sequential?: boolean;
}

/**
 * The batches of one epoch as lists of indices into 0 … n−1: a permutation seeded by (seed, epoch),
 * cut into batches of batchSize. The order depends only on (n, batchSize, seed, epoch), so a run
 * resumed at epoch e, batch b sees exactly the batches it would have seen.
 */
export function batchIndices(n: number, batchSize: number, seed: number, epoch: number, options: BatchOptions = {}): number[][] {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`batchIndices: n must be a non-negative integer, got ${n}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchIndices: batchSize must be a positive integer, got ${batchSize}`);
  const order = options.sequential === true ? Array.from({ length: n }, (_, i) => i) : permutation(n, mulberry32(mixSeed(seed, epoch)));
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length < batchSize && options.dropLast === true) break;
    batches.push(b);
  }
  return batches;
}
