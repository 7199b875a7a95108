// Per-token log-probabilities of chosen tokens under a causal LM — what PPO, DPO and their family
// compute again and again. The LM head runs only on the positions that predict those tokens, and
// through the fused linear-log-softmax op: the (N, V) logits never exist at once.
import type { Tensor } from '../../torch/tensor.js';
import { F, onesLike, zeros } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';

export interface TokenLogprobs {
  /** (B, R) log softmax(logits / T) of each target token. */
  logprobs: Tensor;
  /** (B, R) entropy of each position's distribution (no gradient), when asked for. */
  entropy: Tensor | null;
}

/**
 * log π(y_t | x, y_<t) for the R tokens after position `start` of each row:
 *   seq (B, L) = [prompt (left-padded, P) | response (right-padded, R)], start = P
 *   targets (B, R) = seq[:, P:P+R]; the hidden state at t − 1 predicts token t.
 * `temperature` divides the logits, as the sampler did (DESIGN step 3). Targets of −100 give 0.
 */
export function responseLogprobs(
  model: CausalLM,
  seq: Tensor,
  attentionMask: Tensor,
  targets: Tensor,
  start: number,
  opts: { temperature?: number; withEntropy?: boolean } = {},
): TokenLogprobs {
  const R = targets.size(1);
  const hidden = model.forwardHidden(seq, { attentionMask }); // (B, L, C)
  const h = hidden.narrow(1, start - 1, R); // (B, R, C): the states that predict the response tokens
  const { logprobs, entropy } = F.linearLogProbs(h, model.outputEmbeddings(), targets, { temperature: opts.temperature ?? 1, withEntropy: opts.withEntropy ?? false });
  return { logprobs, entropy: entropy ?? null };
}

export interface LabelledStates {
  /** (n, C) the hidden states that predict the labelled tokens. */
  h: Tensor;
  /** (n) the labelled tokens. */
  y: Tensor;
  /** (n) flat positions b·(T − 1) + t of them, in the (B, T − 1) grid of predicting states. */
  rows: Tensor;
}

/**
 * The hidden states that predict labelled tokens (labels aligned with inputIds, unshifted, −100
 * where nothing is scored: the state at t predicts token t + 1) — what SFT's loss and DPO's
 * sequence log-probs feed to the LM head, so neither prompts nor padding reach it.
 */
export function labelledStates(model: CausalLM, inputIds: Tensor, attentionMask: Tensor | null, labels: Tensor): LabelledStates {
  const [B, T] = inputIds.shape as [number, number];
  const hidden = model.forwardHidden(inputIds, { attentionMask }); // (B, T, C)
  const C = hidden.size(2);
  const h = hidden.narrow(1, 0, T - 1).reshape(B * (T - 1), C); // (N, C)
  const y = labels.narrow(1, 1, T - 1).reshape(B * (T - 1)); // (N)
  const rows = y.ne(-100).nonzero().squeeze(1); // (n)
  return { h: h.indexSelect(0, rows), y: y.indexSelect(0, rows), rows };
}

export interface SequenceLogprobs {
  /** (B) Σ_t log π(y_t | …) over each row's labelled tokens. */
  sum: Tensor;
  /** (B) how many tokens each row has labelled (float32), for length-averaged variants. */
  count: Tensor;
}

/**
 * Sequence log-probabilities for rows whose labels mark the tokens to score (−100 elsewhere:
 * prompt and padding), as DPO needs for prompt + chosen / prompt + rejected. Labels are aligned
 * with inputIds (unshifted). Only labelled positions reach the LM head.
 */
export function labelledSequenceLogprobs(model: CausalLM, inputIds: Tensor, attentionMask: Tensor | null, labels: Tensor): SequenceLogprobs {
  const [B, T] = inputIds.shape as [number, number];
  const { h, y, rows } = labelledStates(model, inputIds, attentionMask, labels);
  const { logprobs } = F.linearLogProbs(h, model.outputEmbeddings(), y); // (n)
  const owner = rows.div(T - 1).floor().long(); // (n) the row each position belongs to
  const sum = zeros([B]).scatterAdd(0, owner, logprobs); // (B)
  const count = zeros([B]).scatterAdd(0, owner, onesLike(logprobs)); // (B)
  return { sum, count };
}
