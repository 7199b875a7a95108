// GRPO (Shao et al. 2024, "DeepSeekMath", Algorithm 1), top to bottom, as TRL's GRPOTrainer does it:
//   0. policy (LoRA adapters on it when --lora-r is set); a frozen reference only when β > 0 (with
//      LoRA the policy with its adapters off: one copy of the weights); the scorer (reward model
//      and/or functions); dropout off
//   per iteration, on a batch of B prompts:
//   1. roll out: G responses per prompt (N = B·G rows), left-padded prompts, temperature T, cut
//      after EOS (src/trainers/common/rollout.ts, as PPO)
//   2. score each prompt + response with the weighted rewards; penalise responses that never ended
//   3. recompute the old policy's log-probs (only when the policy changes before the loss reads
//      them: μ > 1 or several steps per rollout) and the reference's (β > 0)
//   4. group-relative advantages Â_i = (r_i − mean_group)/(std_group + ε), or unscaled (Dr. GRPO)
//   5. μ passes over the rollout, each split into steps-per-generation optimizer steps: the clipped
//      per-token objective + β·k3 KL, averaged as --loss-type says
//   6. log, checkpoint, repeat; at the end OUT gets the policy (with LoRA, a PEFT adapter).
// No value model: the group is the baseline. What every online trainer does the same way (steps
// 0–3, the passes of step 5, step 6) is src/trainers/common/online-loop.ts.
import { disposeAll, tensor, tidy } from '../../torch/index.js';
import { rewardSourceStats } from '../common/rewards.js';
import type { OnlineTrainerOptions, OnlineTrainerResult } from '../common/rollout.js';
import { checkRolloutSplit, mean, onlineRewards, startOnlineRun } from '../common/online-loop.js';
import { maskedMean, readStats } from '../common/masked.js';
import { grpoAdvantages, grpoLoss } from './loss.js';
import { grpoConfig, type GRPOConfig, type GRPOConfigInput } from './config.js';

export type GRPOResult = OnlineTrainerResult<GRPOConfig>;

export async function grpo(input: GRPOConfigInput, opts: OnlineTrainerOptions = {}): Promise<GRPOResult> {
  const cfg = grpoConfig.parse(input);
  const rewardFns = onlineRewards(cfg, opts.rewardFns ?? [], 'GRPO');
  const B = cfg.batchSize;
  const G = cfg.numGenerations;
  const N = B * G;
  checkRolloutSplit({ batchSize: B, samplesPerPrompt: G, samplesFlag: '--num-generations', steps: cfg.stepsPerGeneration, stepsFlag: '--steps-per-generation', gradAccum: cfg.gradAccum });
  // The policy changes before the loss reads the old log-probs only after a first optimizer step on this rollout.
  const needOldLogprobs = cfg.numIterations > 1 || cfg.stepsPerGeneration > 1;

  // 0. models: policy (+ LoRA); reference when β > 0; the scorer; the prompts; the optimizer (--resume)
  const run = await startOnlineRun(cfg, opts, {
    trainer: 'GRPO', label: 'grpo', reference: cfg.beta > 0, rewardFns, maxNewTokens: cfg.maxCompletionLength, lengthFlag: '--max-completion-length',
    scoreName: 'reward', progress: { reward: 'reward', len: 'completions/mean_length' },
  });
  try {
    await run.begin({ optimizerSteps: run.totalIters * cfg.numIterations * cfg.stepsPerGeneration });
    for (let it = run.first; it < run.totalIters; it++) {
      // 1.–3. G responses per prompt, their rewards, the old and reference log-probs
      const ro = await run.rollout(it, { samplesPerPrompt: G, policyLogprobs: needOldLogprobs });

      // 4. group-relative advantages, one per response; the loss mask (truncated responses out, if asked)
      const adv = tidy(() => {
        const a = grpoAdvantages(tensor(ro.scores), G, cfg.scaleRewards);
        const lossMask = cfg.maskTruncatedCompletions ? ro.respMask.mul(tensor(ro.endedWithEos.map((e) => (e ? 1 : 0))).unsqueeze(1)) : ro.respMask.clone(); // (N, R)
        return { advantages: a.advantages, lossMask, stats: a.stats };
      });
      const advStats = readStats(adv.stats);
      const lossTokens = ro.responses.map((r, i) => (cfg.maskTruncatedCompletions && !ro.endedWithEos[i] ? 0 : r.length));

      // 5. μ passes over one shuffle of the rollout (TRL); each: steps-per-generation optimizer steps of grad-accum micro-batches
      const t = run.train(ro, it, { passes: cfg.numIterations, stepsPerPass: cfg.stepsPerGeneration, reshuffle: false }, (mb) => {
        const lm = mb.pick(adv.lossMask);
        const { logprobs: newLp, entropy } = mb.policy(); // (b, R)
        const oldLp = ro.logprobs ? mb.pick(ro.logprobs) : newLp.detach(); // μ = 1, one step: π_old = π_θ
        const refLp = ro.refLogprobs ? mb.pick(ro.refLogprobs) : null;
        const stepTokens = mb.stepRows.reduce((a, i) => a + (lossTokens[i] as number), 0);
        const l = grpoLoss(newLp, oldLp, refLp, mb.pick(adv.advantages), lm, {
          epsilon: cfg.epsilon, epsilonHigh: cfg.epsilonHigh, beta: cfg.beta, lossType: cfg.lossType, maxCompletionLength: cfg.maxCompletionLength, stepTokens,
        });
        // dapo's value is already this micro-batch's share of the step; the others are means over micro-batches
        const share = cfg.lossType === 'dapo' ? l.loss : l.loss.div(cfg.gradAccum);
        return { loss: share, stats: { loss: share, ...l.stats, entropy: maskedMean(entropy, lm) } };
      });
      disposeAll(adv);

      // 6. log, checkpoint
      const lengths = ro.responses.map((r) => r.length);
      const record: Record<string, number> = {
        ...t.mean,
        loss: t.perStep.loss as number, // a step's loss (the sum of its micro-batches' shares), averaged over steps
        ...advStats,
        'objective/scores': mean(ro.scores),
        'objective/raw_scores': mean(ro.rawScores),
        ...rewardSourceStats(ro.bySource),
        'completions/mean_length': mean(lengths),
        'completions/min_length': Math.min(...lengths),
        'completions/max_length': Math.max(...lengths),
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
