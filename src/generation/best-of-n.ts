// Best-of-n sampling: draw n responses per prompt and keep the one a reward scores highest —
// "rejection sampling (best-of-n)" against a reward model (Nakano et al. 2021, WebGPT; Stiennon
// et al. 2020). It needs no training and is the yardstick an RL policy must beat at the same KL:
// KL(best-of-n ‖ π) = log n − (n − 1)/n as Gao et al. 2022 compute it, an upper bound (Beirami et
// al. 2024).
//
//   const picks = await bestOfN(model, tokenizer, prompts, { n: 4, score: (p, r) => rewards, seed: 0, maxNewTokens: 32 });
//   picks[i].text, picks[i].score       // the chosen response to prompt i and its reward
//   picks[i].index, picks[i].scores     // which candidate won, and every candidate's reward
//
// The candidates come in n rounds, each one response per prompt (prompts left-padded in batches):
// round 0 is exactly plain sampling with the given seed, round k > 0 uses candidateSeed(seed, k).
// So best-of-1 *is* plain sampling, and best-of-n is never below plain sampling prompt by prompt —
// comparisons against the plain policy carry no sampling noise of their own.
//
// The reward is passed in (a reward model wrapped as a function, or code): this file knows nothing
// of trainers. selectBestOfN is the rule on its own, for callers with their own sampler (rlhf eval's
// random baseline, prompts truncated to fit a model).
import type { CausalLM } from '../models/types.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { mixSeed } from '../data/rng.js';
import { generateText } from './text.js';
import type { TextGeneration, TextGenerationOptions } from './text.js';

/** A reward: one number per (prompt, response), higher is better (an array or a typed array). */
export type ScoreFn = (prompts: string[], responses: string[]) => ArrayLike<number> | Promise<ArrayLike<number>>;

/** Bad best-of-n input (n, the scorer's answer); the message names it and the fix. */
export class BestOfNError extends Error {
  override name = 'BestOfNError';
}

/** One prompt's pick: the winning candidate, its score, its round, and every candidate's score (round order). */
export interface BestOfNPick<C> {
  best: C;
  score: number;
  /** The round (0 … n−1) the winner came from; the first one on ties. */
  index: number;
  scores: number[];
}

/**
 * The seed of candidate round k: the seed itself for k = 0 (plain sampling), a derived one in
 * [0, 2³¹ − 1) for k > 0; null (unseeded) stays null, and every round continues the stream.
 */
export function candidateSeed(seed: number | null | undefined, k: number): number | null {
  if (seed === null || seed === undefined) return null;
  return k === 0 ? seed : mixSeed(seed, k) % 2_147_483_647;
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new BestOfNError(`best-of-n needs n ≥ 1 candidates per prompt (an integer), got ${n}`);
}

/**
 * The rule: n rounds of candidates, `sampleRound(k)` giving one per prompt, each round scored with
 * `score(prompts, texts)`; per prompt the candidate of highest score wins, the earliest on ties:
 *   y* = argmax_{k < n} r(x, y_k)
 */
export async function selectBestOfN<C>(
  prompts: readonly string[],
  n: number,
  sampleRound: (k: number) => C[] | Promise<C[]>,
  textOf: (candidate: C) => string,
  score: ScoreFn,
  onRound?: (k: number, n: number) => void,
): Promise<BestOfNPick<C>[]> {
  checkN(n);
  const picks: BestOfNPick<C>[] = [];
  for (let k = 0; k < n; k++) {
    const candidates = await sampleRound(k);
    if (candidates.length !== prompts.length) throw new BestOfNError(`round ${k} gave ${candidates.length} candidates for ${prompts.length} prompts; the sampler must return one per prompt`);
    const texts = candidates.map(textOf);
    const got = await score([...prompts], texts);
    if (got === null || typeof got !== 'object' || typeof got.length !== 'number' || got.length !== texts.length) {
      const what = got !== null && typeof got === 'object' && typeof got.length === 'number' ? `${got.length} scores` : String(got);
      throw new BestOfNError(`the reward returned ${what} for ${texts.length} responses; it must return one number per response`);
    }
    Array.from(got).forEach((x, i) => {
      if (typeof x !== 'number' || Number.isNaN(x)) throw new BestOfNError(`the reward returned ${String(x)} for response ${i} (${JSON.stringify(texts[i]?.slice(0, 60))}); rewards must be numbers`);
      const c = candidates[i] as C;
      const p = picks[i];
      if (p === undefined) picks[i] = { best: c, score: x, index: 0, scores: [x] };
      else {
        p.scores.push(x);
        if (x > p.score) [p.best, p.score, p.index] = [c, x, k];
      }
    });
    onRound?.(k, n);
  }
  return picks;
}

export interface BestOfNOptions extends TextGenerationOptions {
  /** Candidates per prompt, n ≥ 1. */
  n: number;
  /** The reward the winner is chosen by. */
  score: ScoreFn;
  /** Called after each round is sampled and scored (progress). */
  onRound?: (k: number, n: number) => void;
}

/** A chosen response: the generation (text, ids, log-probs), its score, and every candidate's. */
export interface BestOfNResult extends TextGeneration {
  score: number;
  /** The winning round, 0 … n−1. */
  index: number;
  /** Every candidate's score, in round order. */
  scores: number[];
}

/**
 * Best-of-n from a causal LM: n rounds of generateText (round k seeded with candidateSeed(seed, k)),
 * each scored, the highest-scoring response kept per prompt. With n = 1 the result is exactly
 * generateText's with the same seed.
 */
export async function bestOfN(model: CausalLM, tokenizer: Tokenizer, prompts: readonly string[], opts: BestOfNOptions): Promise<BestOfNResult[]> {
  const { n, score, onRound, ...gen } = opts;
  const sampleRound = (k: number): TextGeneration[] => generateText(model, tokenizer, prompts, { ...gen, seed: candidateSeed(gen.seed, k) });
  const picks = await selectBestOfN(prompts, n, sampleRound, (g) => g.text, score, onRound);
  return picks.map((p) => ({ ...p.best, score: p.score, index: p.index, scores: p.scores }));
}
