// The causal language-modelling loss (Radford et al. 2018, eq. 1):
//   L = −(1/N) Σ_t log p(x_t | x_<t), over the N positions whose label is not −100.
// Labels arrive unshifted, aligned with inputIds; the hidden state at t predicts token t+1. Only
// the positions with a label go through the LM head, and through the fused linear-cross-entropy
// op, so neither padding nor prompt tokens nor the (N, V) logits cost anything.
import type { Tensor } from '../../torch/tensor.js';
import { F } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';

export interface LmLoss {
  /** Mean negative log-likelihood over the labelled tokens (0-d). */
  loss: Tensor;
  /** How many tokens were labelled. */
  tokens: number;
}

/** inputIds, attentionMask, labels: (B, T); attentionMask null when every token is real. */
export function causalLmLoss(model: CausalLM, inputIds: Tensor, attentionMask: Tensor | null, labels: Tensor): LmLoss {
  const [B, T] = inputIds.shape as [number, number];
  const hidden = model.forwardHidden(inputIds, { attentionMask }); // (B, T, C)
  const C = hidden.size(2);
  const h = hidden.narrow(1, 0, T - 1).reshape(B * (T - 1), C); // (N, C): positions 0..T−2 predict 1..T−1
  const y = labels.narrow(1, 1, T - 1).reshape(B * (T - 1)); // (N)
  const rows = y.ne(-100).nonzero().squeeze(1); // (n) the labelled positions
  const n = rows.size(0);
  if (n === 0) return { loss: h.sum().mul(0), tokens: 0 };
  const loss = F.linearCrossEntropy(h.indexSelect(0, rows), model.outputEmbeddings(), y.indexSelect(0, rows)); // (n, C) · (V, C)ᵀ → mean NLL
  return { loss, tokens: n };
}
