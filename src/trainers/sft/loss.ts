// The causal language-modelling loss (Radford et al. 2018, eq. 1):
//   L = −(1/N) Σ_t log p(x_t | x_<t), over the N positions whose label is not −100.
// Labels arrive unshifted, aligned with inputIds; the hidden state at t predicts token t+1. Only
// the positions with a label go through the LM head, and through the fused linear-cross-entropy
// op, so neither padding nor prompt tokens nor the (N, V) logits cost anything.
import type { Tensor } from '../../torch/tensor.js';
import { F } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { labelledStates } from '../common/logprobs.js';

export interface LmLoss {
  /** Mean negative log-likelihood over the labelled tokens (0-d). */
  loss: Tensor;
  /** How many tokens were labelled. */
  tokens: number;
}

/** inputIds, attentionMask, labels: (B, T); attentionMask null when every token is real. */
export function causalLmLoss(model: CausalLM, inputIds: Tensor, attentionMask: Tensor | null, labels: Tensor): LmLoss {
  const { h, y } = labelledStates(model, inputIds, attentionMask, labels); // (n, C), (n)
  const n = y.size(0);
  if (n === 0) return { loss: h.sum().mul(0), tokens: 0 };
  return { loss: F.linearCrossEntropy(h, model.outputEmbeddings(), y), tokens: n }; // mean NLL over the n labelled tokens
}
