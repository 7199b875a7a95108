// RLOO (Ahmadian et al. 2024), top to bottom, as TRL's RLOOTrainer does it:
//   0. policy (LoRA adapters on it when --lora-r is set); a frozen reference when β > 0 (with LoRA
//      the policy with its adapters off: one copy of the weights); the scorer (reward model and/or
//      functions); dropout off
//   per iteration, on a batch of B prompts:
//   1. roll out: k responses per prompt (N = B·k rows), cut after EOS (src/trainers/common/rollout.ts)
//   2. score each prompt + response; penalise responses that never ended
//   3. recompute the old policy's and the reference's log-probs
//   4. sequence reward r̃ = r − β·Σ_t KL_t; leave-one-out baseline b_i = mean of the other k − 1
//      rewards; A_i = r̃_i − b_i (optionally standardised over the batch)
//   5. μ passes over the rollout, each split into steps-per-generation optimizer steps of the
//      clipped sequence-level objective (at ρ = 1: REINFORCE with the baseline)
//   6. log, checkpoint, repeat; at the end OUT gets the policy (with LoRA, a PEFT adapter).
// No value model: the other samples are the baseline. What every online trainer does the same way
// (steps 0–3, the passes of step 5, step 6) is src/trainers/common/online-loop.ts.
import type { Tensor } from '../../torch/tensor.js';
import { disposeAll, tensor, tidy } from '../../torch/index.js';
import { rewardSourceStats } from '../common/rewards.js';
import type { OnlineTrainerOptions, OnlineTrainerResult } from '../common/rollout.js';
import { checkRolloutSplit, mean, onlineRewards, startOnlineRun } from '../common/online-loop.js';
import { maskedMean, readStats } from '../common/masked.js';
import { klPenalizedScores, normalizeBatch, rlooAdvantages, rlooLoss } from './loss.js';
import { rlooConfig, type RLOOConfig, type RLOOConfigInput } from './config.js';

export type RLOOResult = OnlineTrainerResult<RLOOConfig>;

export async function rloo(input: RLOOConfigInput, opts: OnlineTrainerOptions = {}): Promise<RLOOResult> {
  const cfg = rlooConfig.parse(input);
  const rewardFns = onlineRewards(cfg, opts.rewardFns ?? [], 'RLOO');
  const B = cfg.batchSize;
  const k = cfg.numGenerations;
  const N = B * k;
  checkRolloutSplit({ batchSize: B, samplesPerPrompt: k, samplesFlag: '--num-generations', steps: cfg.stepsPerGeneration, stepsFlag: '--steps-per-generation', gradAccum: cfg.gradAccum });
  // π_old is needed for the KL in the reward, and for the ratio once the policy has moved on this rollout.
  const needOldLogprobs = cfg.beta > 0 || cfg.numIterations > 1 || cfg.stepsPerGeneration > 1;

  // 0. models: policy (+ LoRA); reference when β > 0; the scorer; the prompts; the optimizer (--resume)
  const run = await startOnlineRun(cfg, opts, {
    trainer: 'RLOO', label: 'rloo', reference: cfg.beta > 0, rewardFns, maxNewTokens: cfg.maxCompletionLength, lengthFlag: '--max-completion-length',
    scoreName: 'reward', progress: { reward: 'reward', len: 'completions/mean_length' },
  });
  try {
    await run.begin({ optimizerSteps: run.totalIters * cfg.numIterations * cfg.stepsPerGeneration });
    for (let it = run.first; it < run.totalIters; it++) {
      // 1.–3. k responses per prompt, their rewards, the old and reference log-probs
      const ro = await run.rollout(it, { samplesPerPrompt: k, policyLogprobs: needOldLogprobs });

      // 4. KL-penalised sequence rewards, leave-one-out advantages; the loss mask
      const adv = tidy(() => {
        const scores = tensor(ro.scores); // (N)
        const shaped = ro.refLogprobs ? klPenalizedScores(scores, ro.logprobs as Tensor, ro.refLogprobs, ro.respMask, cfg.beta) : { rewards: scores, stats: { kl: tensor(0) } };
        const { advantages, baselines } = rlooAdvantages(shaped.rewards, k);
        const lossMask = cfg.maskTruncatedCompletions ? ro.respMask.mul(tensor(ro.endedWithEos.map((e) => (e ? 1 : 0))).unsqueeze(1)) : ro.respMask.clone(); // (N, R)
        return {
          advantages: cfg.normalizeAdvantages ? normalizeBatch(advantages) : advantages, lossMask,
          stats: { kl: shaped.stats.kl, rlhf_reward: shaped.rewards.mean(), baseline: baselines.mean(), 'advantages/mean': advantages.mean(), 'advantages/std': advantages.std() },
        };
      });
      const advStats = readStats(adv.stats);

      // 5. μ passes over one shuffle of the rollout; each: steps-per-generation optimizer steps of grad-accum micro-batches
      const t = run.train(ro, it, { passes: cfg.numIterations, stepsPerPass: cfg.stepsPerGeneration, reshuffle: false }, (mb) => {
        const lm = mb.pick(adv.lossMask);
        const { logprobs: newLp, entropy } = mb.policy(); // (b, R)
        const oldLp = ro.logprobs ? mb.pick(ro.logprobs) : newLp.detach(); // one step per rollout and β = 0: π_old = π_θ
        const l = rlooLoss(newLp, oldLp, mb.pick(adv.advantages), lm, { epsilon: cfg.epsilon, epsilonHigh: cfg.epsilonHigh });
        return { loss: l.loss.div(cfg.gradAccum), stats: { loss: l.loss, ...l.stats, entropy: maskedMean(entropy, lm) } };
      });
      disposeAll(adv);

      // 6. log, checkpoint
      const lengths = ro.responses.map((r) => r.length);
      const record: Record<string, number> = {
        ...t.mean,
        reward: mean(ro.scores),
        'objective/raw_scores': mean(ro.rawScores),
        ...advStats,
        ...rewardSourceStats(ro.bySource),
        'completions/mean_length': mean(lengths),
        'completions/clipped_ratio': ro.endedWithEos.filter((e) => !e).length / N,
        lr: run.lr,
        grad_norm: t.gradNorm,
        ...run.progressStats(ro, it),
      };
      if (cfg.beta === 0) delete record.kl;
      await run.endIteration(it, ro, record);
    }
    return await run.finish();
  } catch (err) {
    run.dispose();
    throw err;
  }
}
