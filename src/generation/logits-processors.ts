// Logits processors: pure functions from next-token logits (B, V) to new logits (B, V), as in
// transformers' LogitsProcessor / LogitsWarper. Removed tokens get −∞, so softmax gives them
// probability 0. None of them changes its input; each returns a new tensor.
//
//   let l = repetitionPenalty(logits, ids, 1.2);   // CTRL (Keskar et al., 2019), §4.1
//   l = temperature(l, 0.7);                        // logits / T
//   l = topK(l, 50);                                // keep the k largest
//   l = topP(l, 0.9);                               // nucleus (Holtzman et al., 2019)
//   const next = l.softmax(-1).multinomial(1);     // (B, 1)
import type { Tensor } from '../torch/tensor.js';
import { ones, zeros, where } from '../torch/index.js';

/** A processing option that cannot be applied (wrong range or shape); the message names the option and the fix. */
export class LogitsProcessorError extends Error {
  override name = 'LogitsProcessorError';
}

function vocab(logits: Tensor, what: string): number {
  if (logits.ndim !== 2) throw new LogitsProcessorError(`${what}: expected logits of shape (B, V), got [${logits.shape.join(', ')}]`);
  return logits.size(1);
}

/** logits / T. T must be > 0 (T → 0 is greedy decoding: use argmax instead). */
export function temperature(logits: Tensor, T: number): Tensor {
  if (!(T > 0) || !Number.isFinite(T)) throw new LogitsProcessorError(`temperature must be a positive number, got ${T}; use greedy decoding for temperature 0`);
  return T === 1 ? logits.clone() : logits.div(T);
}

/**
 * Keeps the k largest logits of each row and sets the rest to −∞. Ties with the k-th value are
 * kept (as transformers does). k ≥ V keeps everything.
 */
export function topK(logits: Tensor, k: number): Tensor {
  const V = vocab(logits, 'topK');
  if (!Number.isInteger(k) || k < 1) throw new LogitsProcessorError(`topK: k must be a positive integer, got ${k}`);
  if (k >= V) return logits.clone();
  const kth = logits.topk(k, -1).values.narrow(1, k - 1, 1); // (B, 1) the k-th largest
  return logits.maskedFill(logits.lt(kth), -Infinity);
}

/**
 * Nucleus sampling (Holtzman et al., 2019, §3.1): keeps the most likely tokens whose cumulative
 * probability reaches p and sets the rest to −∞. transformers' rule: sort ascending, drop the
 * tokens whose cumulative probability is ≤ 1 − p, but never the `minTokensToKeep` most likely.
 */
export function topP(logits: Tensor, p: number, minTokensToKeep = 1): Tensor {
  const V = vocab(logits, 'topP');
  if (!(p > 0 && p <= 1)) throw new LogitsProcessorError(`topP: p must be in (0, 1], got ${p}`);
  if (!Number.isInteger(minTokensToKeep) || minTokensToKeep < 1) throw new LogitsProcessorError(`topP: minTokensToKeep must be a positive integer, got ${minTokensToKeep}`);
  if (p === 1) return logits.clone();
  const { values, indices } = logits.sort(-1, false); // (B, V) ascending
  const cumulative = values.softmax(-1).cumsum(-1); // (B, V)
  const removeSorted = cumulative.le(1 - p); // (B, V) bool, in sorted order
  const m = Math.min(minTokensToKeep, V);
  removeSorted.narrow(1, V - m, m).fill_(false); // the m most likely always stay
  const remove = removeSorted.scatter(1, indices, removeSorted); // (B, V) back to vocabulary order
  return logits.maskedFill(remove, -Infinity);
}

/**
 * The set of tokens already in each row, as a (B, V) bool tensor: true where token v occurs in
 * ids[b] at a position the attention mask marks real (padding does not count).
 */
export function seenTokens(ids: Tensor, vocabSize: number, attentionMask: Tensor | null = null): Tensor {
  const [B] = ids.shape as [number, number];
  const weight = attentionMask ? attentionMask.to('float32') : ones(ids.shape, { device: ids.device as 'cpu' }); // (B, T) 1 per real token
  const counts = zeros([B, vocabSize], { device: ids.device as 'cpu' }).scatterAdd(1, ids.long(), weight); // (B, V)
  return counts.gt(0);
}

/**
 * The CTRL repetition penalty (Keskar et al., 2019, §4.1) as transformers applies it: for every
 * token already in the sequence (prompt included), a positive logit is divided by θ and a negative
 * one multiplied by θ, so θ > 1 makes repeats less likely whatever the sign. `seen` is (B, V) bool
 * (see seenTokens).
 */
export function penalizeSeen(logits: Tensor, seen: Tensor, penalty: number): Tensor {
  vocab(logits, 'repetitionPenalty');
  if (!(penalty > 0) || !Number.isFinite(penalty)) throw new LogitsProcessorError(`repetitionPenalty must be a positive number (1 = off, 1.1–1.3 typical), got ${penalty}`);
  if (penalty === 1) return logits.clone();
  const penalized = where(logits.lt(0), logits.mul(penalty), logits.div(penalty)); // (B, V)
  return where(seen, penalized, logits);
}

/** repetitionPenalty over the tokens of ids (B, T); attentionMask (B, T) excludes padding. */
export function repetitionPenalty(logits: Tensor, ids: Tensor, penalty: number, attentionMask: Tensor | null = null): Tensor {
  const V = vocab(logits, 'repetitionPenalty');
  return penalizeSeen(logits, seenTokens(ids, V, attentionMask), penalty);
}
