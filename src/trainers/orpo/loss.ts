// ORPO's loss on the policy's log-probabilities of chosen and rejected responses: per row the sum
// over response tokens and their count (B each; the trainer gets them from pairLogprobs in
// common/preference.ts). No reference model.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import type { LossOutput } from '../common/masked.js';
import type { SequenceLogprobs } from '../common/logprobs.js';
import { averageLogps, meanTokenNll } from '../common/sequence-logps.js';
import { preferenceStats, type PreferenceStatName } from '../common/preference-stats.js';

export type ORPOStatName = PreferenceStatName | 'nll_loss' | 'log_odds_ratio' | 'log_odds_chosen';

/**
 * log(1 − e^x) for x < 0, without cancellation (Mächler 2012, "Accurately computing log(1 − exp(−|a|))";
 * TRL's log1mexp): log(−expm1(x)) near 0, log1p(−e^x) below −ln 2. x is clamped just below 0, where
 * the value is −∞ (a response the model predicts with probability 1 in float32).
 */
export function log1mexp(x: Tensor): Tensor {
  return torch.tidy(() => {
    const t = x.clamp(null, -1e-12);
    return torch.where(t.lt(-Math.LN2), t.exp().neg().log1p(), t.expm1().neg().log());
  });
}

/**
 * ORPO (Hong et al. 2024, "ORPO: Monolithic Preference Optimization without Reference Model",
 * eq. 6–7; TRL ORPOTrainer.odds_ratio_loss):
 *   log P(y|x)    = (1/|y|)·Σ_t log π(y_t | x, y_<t)            length-averaged (B)
 *   log odds(y|x) = log P(y|x) − log(1 − P(y|x))
 *   L_OR          = −log σ(log odds(y_c|x) − log odds(y_r|x))    (B)
 *   L_SFT         = −Σ_b Σ_t log π(y_c,t | …) / Σ_b |y_c|        NLL of the chosen responses, per token
 *   loss          = L_SFT + λ·mean_b L_OR
 * L_SFT covers the chosen response's tokens (the paper's L_SFT of y given x); TRL's ORPOTrainer
 * also puts it on the prompt tokens. Stats as TRL: rewards = λ·log P (so rewards/accuracies is the
 * fraction with P(y_c) > P(y_r)), nll_loss = L_SFT, log_odds_ratio = mean log σ(log-odds
 * difference), log_odds_chosen = mean log-odds difference.
 */
export function orpoLoss(chosen: SequenceLogprobs, rejected: SequenceLogprobs, lambda: number): LossOutput<ORPOStatName> {
  if (!(lambda > 0)) throw new RangeError(`orpoLoss: λ must be > 0, got ${lambda}`);
  return torch.tidy(() => {
    const logPc = averageLogps(chosen), logPr = averageLogps(rejected); // (B)
    const logOdds = logPc.sub(logPr).sub(log1mexp(logPc).sub(log1mexp(logPr))); // (B) log odds(y_c) − log odds(y_r)
    const ratio = logOdds.logSigmoid(); // (B) −L_OR
    const nll = meanTokenNll(chosen); // 0-d
    const loss = nll.sub(ratio.mean().mul(lambda));
    const stats = {
      ...preferenceStats(lambda, logPc, logPr, logPc, logPr),
      nll_loss: nll.detach(),
      log_odds_ratio: ratio.detach().mean(),
      log_odds_chosen: logOdds.detach().mean(),
    };
    return { loss, stats };
  });
}
