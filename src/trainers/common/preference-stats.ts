// TRL's stats of a pairwise preference loss, shared by DPO, ORPO and SimPO (and KTO's held-out
// pairs): what the implicit rewards of chosen and rejected responses say about the policy.
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import type { Stats } from './masked.js';

export type PreferenceStatName = 'rewards/chosen' | 'rewards/rejected' | 'rewards/accuracies' | 'rewards/margins' | 'logps/chosen' | 'logps/rejected';

/**
 * TRL's stats of a pairwise preference loss, from the per-pair implicit rewards' log terms
 * (B) — log π/π_ref for DPO, the length-averaged log π for ORPO and SimPO — scaled by β:
 *   rewards/chosen = mean β·chosen, rewards/rejected likewise, rewards/accuracies = mean(β·chosen >
 *   β·rejected), rewards/margins = mean β·(chosen − rejected), logps/chosen and logps/rejected = the
 *   mean policy log-probs the loss saw.
 */
export function preferenceStats(beta: number, chosen: Tensor, rejected: Tensor, policyChosen: Tensor, policyRejected: Tensor): Stats<PreferenceStatName> {
  return torch.noGrad(() => {
    const rc = chosen.detach().mul(beta), rr = rejected.detach().mul(beta); // (B)
    return {
      'rewards/chosen': rc.mean(),
      'rewards/rejected': rr.mean(),
      'rewards/accuracies': rc.gt(rr).to(rc.dtype).mean(),
      'rewards/margins': rc.sub(rr).mean(),
      'logps/chosen': policyChosen.detach().mean(),
      'logps/rejected': policyRejected.detach().mean(),
    };
  });
}
