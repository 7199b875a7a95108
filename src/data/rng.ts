// A tiny seeded pseudo-random generator (mulberry32) for everything in the toolkit that must be
// reproducible from a seed: train/eval splits, the batch order of each epoch (so a resumed run
// sees the same batches), sampling subsets. Not for cryptography, and independent of libtorch's
// generator (torch.manualSeed), so data order does not shift when a model draws random numbers.

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32 (Tommy Ettinger, public domain): a 32-bit state, period 2^32, passes gjrand/PractRand
 * at the sizes we use. The same seed gives the same sequence on every platform.
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Combines a seed with further integers (epoch, rank, …) into one 32-bit seed, so that
 * (seed, epoch) pairs give unrelated streams. Non-integer parts are rejected.
 */
export function mixSeed(seed: number, ...parts: number[]): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const p of [seed, ...parts]) {
    if (!Number.isInteger(p)) throw new RangeError(`mixSeed: seeds must be integers, got ${p}`);
    // murmur3's 32-bit finaliser over each part, folded into h
    let k = Math.imul((p >>> 0) ^ Math.floor(p / 4294967296), 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** An integer in [0, n). */
export function randInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Fisher–Yates shuffle in place; returns the same array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const tmp = items[i]!;
    items[i] = items[j]!;
    items[j] = tmp;
  }
  return items;
}

/** A random permutation of 0 … n−1. */
export function permutation(n: number, rng: Rng): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), rng);
}
