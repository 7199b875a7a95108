// REINFORCE++ (Hu 2025), top to bottom, as OpenRLHF runs it (advantage_estimator "reinforce"):
//   0. policy (LoRA adapters on it when --lora-r is set); a frozen reference when β > 0 (with LoRA
//      the policy with its adapters off: one copy of the weights); the scorer (reward model and/or
//      functions); dropout off
//   per iteration, on a batch of B prompts:
//   1. roll out: G responses per prompt (usually 1), cut after EOS (src/trainers/common/rollout.ts)
//   2. score each prompt + response; penalise responses that never ended; with --group-baseline
//      subtract the mean score of the prompt's samples
//   3. recompute the old policy's and the reference's log-probs
//   4. per-token reward −β·KL_t, plus the score on the last response token (PPO's
//      klPenaltyRewards); returns G_t = Σ_{s≥t} γ^{s−t} r_s, with no critic
//   5. advantages = returns, normalised over every valid token of the whole batch
//   6. epochs of shuffled minibatches of PPO's clipped policy loss
//   7. log, checkpoint, repeat; at the end OUT gets the policy (with LoRA, a PEFT adapter).
// What every online trainer does the same way (steps 0–3, the epochs of step 6, step 7) is
// src/trainers/common/online-loop.ts.
import { disposeAll, tensor, tidy } from '../../torch/index.js';
import { rewardSourceStats } from '../common/rewards.js';
import type { OnlineTrainerOptions, OnlineTrainerResult } from '../common/rollout.js';
import { checkRolloutSplit, mean, onlineRewards, startOnlineRun } from '../common/online-loop.js';
import { TrainerError } from '../common/setup.js';
import { maskedMean, readStats } from '../common/masked.js';
import { klPenaltyRewards, ppoPolicyLoss } from '../ppo/loss.js';
import { discountedReturns, normalizeAdvantagesGlobal, subtractGroupMean } from './loss.js';
import { reinforcePPConfig, type ReinforcePPConfig, type ReinforcePPConfigInput } from './config.js';

export type ReinforcePPResult = OnlineTrainerResult<ReinforcePPConfig>;

export async function reinforcePP(input: ReinforcePPConfigInput, opts: OnlineTrainerOptions = {}): Promise<ReinforcePPResult> {
  const cfg = reinforcePPConfig.parse(input);
  const rewardFns = onlineRewards(cfg, opts.rewardFns ?? [], 'REINFORCE++');
  if (cfg.groupBaseline && cfg.samplesPerPrompt < 2) throw new TrainerError('--group-baseline subtracts the mean score of each prompt\'s samples; it needs --samples-per-prompt 2 or more.');
  const B = cfg.batchSize;
  const G = cfg.samplesPerPrompt;
  checkRolloutSplit({ batchSize: B, samplesPerPrompt: G, samplesFlag: '--samples-per-prompt', steps: cfg.numMiniBatches, stepsFlag: '--num-mini-batches', gradAccum: cfg.gradAccum });
  const needOldLogprobs = cfg.klCoef > 0 || cfg.ppoEpochs > 1 || cfg.numMiniBatches > 1;

  // 0. models: policy (+ LoRA); reference when β > 0; the scorer; the prompts; the optimizer (--resume)
  const run = await startOnlineRun(cfg, opts, {
    trainer: 'REINFORCE++', label: 'reinforce++', reference: cfg.klCoef > 0, rewardFns, maxNewTokens: cfg.maxNewTokens, lengthFlag: '--max-new-tokens',
    scoreName: 'score', progress: { score: 'objective/scores', kl: 'objective/kl', len: 'response/length' },
  });
  try {
    await run.begin({ optimizerSteps: run.totalIters * cfg.ppoEpochs * cfg.numMiniBatches });
    for (let it = run.first; it < run.totalIters; it++) {
      // 1.–3. responses, their scores, the old and reference log-probs
      const ro = await run.rollout(it, { samplesPerPrompt: G, policyLogprobs: needOldLogprobs });

      // 4.–5. token-level KL-penalised rewards, returns, globally normalised advantages
      const adv = tidy(() => {
        const scores = cfg.groupBaseline ? subtractGroupMean(tensor(ro.scores), G) : tensor(ro.scores); // (N)
        const lastIndex = ro.responses.map((r) => Math.max(0, r.length - 1));
        const lp = ro.logprobs ?? ro.respMask.mul(0); // (N, R); with β = 0 the KL term is 0 whatever lp is
        const shaped = klPenaltyRewards(lp, ro.refLogprobs ?? lp, ro.respMask, scores, cfg.klCoef, cfg.klEstimator, lastIndex); // (N, R)
        const returns = discountedReturns(shaped.rewards, ro.respMask, cfg.gamma); // (N, R)
        const advantages = normalizeAdvantagesGlobal(returns, ro.respMask); // (N, R)
        return {
          advantages,
          stats: {
            'objective/kl': shaped.stats['objective/kl'], 'objective/non_score_reward': shaped.stats['objective/non_score_reward'],
            'objective/rlhf_reward': shaped.stats['objective/rlhf_reward'], 'returns/mean': maskedMean(returns, ro.respMask),
          },
        };
      });
      const advStats = readStats(adv.stats);

      // 6. epochs of shuffled minibatches of the clipped policy loss
      const t = run.train(ro, it, { passes: cfg.ppoEpochs, stepsPerPass: cfg.numMiniBatches, reshuffle: true }, (mb) => {
        const rm = mb.pick(ro.respMask);
        const { logprobs: newLp, entropy } = mb.policy(); // (b, R)
        const oldLp = ro.logprobs ? mb.pick(ro.logprobs) : newLp.detach(); // one step per rollout and β = 0: π_old = π_θ
        const pg = ppoPolicyLoss(newLp, oldLp, mb.pick(adv.advantages), rm, cfg.clipRange);
        return { loss: pg.loss.div(cfg.gradAccum), stats: { 'loss/policy': pg.loss, ...pg.stats, 'policy/entropy_avg': maskedMean(entropy, rm) } };
      });
      disposeAll(adv);

      // 7. log, checkpoint
      const lengths = ro.responses.map((r) => r.length);
      const record: Record<string, number> = {
        'objective/scores': mean(ro.scores),
        'objective/raw_scores': mean(ro.rawScores),
        ...advStats,
        ...t.mean,
        ...rewardSourceStats(ro.bySource),
        'response/length': mean(lengths),
        'val/num_eos_tokens': ro.endedWithEos.filter(Boolean).length,
        kl_coef: cfg.klCoef,
        lr: run.lr,
        grad_norm: t.gradNorm,
        ...run.progressStats(ro, it),
      };
      await run.endIteration(it, ro, record);
    }
    return await run.finish();
  } catch (err) {
    run.dispose();
    throw err;
  }
}
