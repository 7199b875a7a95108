// RLOO (Ahmadian et al. 2024), top to bottom, as TRL's RLOOTrainer does it:
//   0. policy; a frozen reference when β > 0; the scorer (reward model and/or functions); dropout off
//   per iteration, on a batch of B prompts:
//   1. roll out: k responses per prompt (N = B·k rows), cut after EOS (src/trainers/common/rollout.ts)
//   2. score each prompt + response; penalise responses that never ended
//   3. recompute the old policy's and the reference's log-probs
//   4. sequence reward r̃ = r − β·Σ_t KL_t; leave-one-out baseline b_i = mean of the other k − 1
//      rewards; A_i = r̃_i − b_i (optionally standardised over the batch)
//   5. μ passes over the rollout, each split into steps-per-generation optimizer steps of the
//      clipped sequence-level objective (at ρ = 1: REINFORCE with the baseline)
// and then log, checkpoint, repeat. No value model: the other samples are the baseline.
import type { Tensor } from '../../torch/tensor.js';
import { disposeAll, manualSeed, tensor, tidy } from '../../torch/index.js';
import { mulberry32, permutation } from '../../data/index.js';
import { createScorer, rewardSourceStats } from '../common/rewards.js';
import { checkSampling, disposeRollout, loadPolicy, loadPrompts, promptBatches, rollout as sampleAndScore, rolloutSeed, type OnlineTrainerOptions, type OnlineTrainerResult } from '../common/rollout.js';
import { loadLatestCheckpoint, saveCheckpoint, type CheckpointParts } from '../common/checkpoint.js';
import { createOptimizer, maybeAutocast, optimizerStep, prepareOutDir, saveFinalModel, totalOptimizerSteps, TrainerError } from '../common/setup.js';
import { responseLogprobs } from '../common/logprobs.js';
import { maskedMean, readStats } from '../common/masked.js';
import { MetricsLogger } from '../common/metrics-log.js';
import { Progress } from '../../cli/progress.js';
import { klPenalizedScores, normalizeBatch, rlooAdvantages, rlooLoss } from './loss.js';
import { rlooConfig, type RLOOConfig, type RLOOConfigInput } from './config.js';

export type RLOOResult = OnlineTrainerResult<RLOOConfig>;

const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function rloo(input: RLOOConfigInput, opts: OnlineTrainerOptions = {}): Promise<RLOOResult> {
  const cfg = rlooConfig.parse(input);
  const say = opts.onLog ?? ((): void => {});
  const rewardFns = [...(cfg.rewardFn ?? []), ...(opts.rewardFns ?? [])];
  if (!cfg.rewardModel && rewardFns.length === 0) throw new TrainerError('RLOO needs a reward: --reward-model DIR (a trained reward model) and/or --reward-fn FILE.ts (a function of prompts and responses; repeat it for several).');
  checkSampling(cfg, 'RLOO');
  const B = cfg.batchSize;
  const k = cfg.numGenerations;
  const N = B * k;
  if (N % (cfg.stepsPerGeneration * cfg.gradAccum) !== 0) {
    throw new TrainerError(`--batch-size × --num-generations (${B} × ${k} = ${N} responses) must be divisible by --steps-per-generation × --grad-accum (${cfg.stepsPerGeneration} × ${cfg.gradAccum}).`);
  }
  const stepRows = N / cfg.stepsPerGeneration;
  const microRows = stepRows / cfg.gradAccum;
  // π_old is needed for the KL in the reward, and for the ratio once the policy has moved on this rollout.
  const needOldLogprobs = cfg.beta > 0 || cfg.numIterations > 1 || cfg.stepsPerGeneration > 1;
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 0. models: policy; frozen reference when β > 0; the scorer
  const owned: { dispose(): void }[] = [];
  const { policy, ref, tokenizer, eos, pad } = await loadPolicy(cfg.model, cfg.beta > 0, 'RLOO', cfg.revision);
  owned.push(policy);
  if (ref) owned.push(ref);
  try {
    const scorer = await createScorer({ rewardModel: cfg.rewardModel, rewardFn: rewardFns, rewardWeights: cfg.rewardWeights, tokenizer });
    owned.push(scorer);
    const prompts = loadPrompts(cfg, tokenizer, { batchSize: B, maxNewTokens: cfg.maxCompletionLength, nPositions: policy.config.n_positions, trainer: 'RLOO', lengthFlag: '--max-completion-length' });

    const itersPerEpoch = Math.floor(prompts.texts.length / B);
    const totalIters = totalOptimizerSteps(itersPerEpoch, cfg);
    const params = policy.parameters();
    const { optimizer, scheduler } = createOptimizer(params, cfg, totalIters * cfg.numIterations * cfg.stepsPerGeneration);
    owned.push(optimizer);
    const parts: CheckpointParts = { models: { policy }, optimizers: { main: optimizer }, schedules: { main: scheduler } };

    let first = 0;
    const logger = new MetricsLogger(out);
    if (cfg.resume) {
      const st = await loadLatestCheckpoint(out, parts);
      if (st) {
        first = st.step;
        say(`resuming from iteration ${first} of ${totalIters}`);
      }
      logger.truncateAfter(first);
    }
    const history: Record<string, number>[] = [];
    const progress = opts.progressStream ? new Progress({ total: totalIters, label: 'rloo', stream: opts.progressStream }) : null;

    for (let it = first; it < totalIters; it++) {
      const epoch = Math.floor(it / itersPerEpoch);
      const rows = promptBatches(prompts.texts.length, B, cfg.seed, epoch)[it % itersPerEpoch] as number[];

      // 1.–3. k responses per prompt, their rewards, the old and reference log-probs
      const ro = await sampleAndScore({ policy, ref, tokenizer, scorer }, { texts: rows.map((i) => prompts.texts[i] as string), ids: rows.map((i) => prompts.ids[i] as number[]) }, {
        samplesPerPrompt: k, maxNewTokens: cfg.maxCompletionLength, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
        rolloutDtype: cfg.rolloutDtype, dtype: cfg.dtype, missingEosPenalty: cfg.missingEosPenalty, eos, pad, seed: rolloutSeed(cfg.seed, it), policyLogprobs: needOldLogprobs,
      });
      const tTrain = performance.now();

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

      // 5. μ passes; each: steps-per-generation optimizer steps of grad-accum micro-batches
      const sums: Record<string, number> = {};
      let nStats = 0;
      let gradNorm = 0;
      const perm = permutation(N, mulberry32(rolloutSeed(cfg.seed, it) ^ 0x5bd1e995)); // one shuffle, reused by every pass
      for (let p = 0; p < cfg.numIterations; p++) {
        for (let s = 0; s < cfg.stepsPerGeneration; s++) {
          for (let u = 0; u < cfg.gradAccum; u++) {
            const micro = perm.slice(s * stepRows + u * microRows, s * stepRows + (u + 1) * microRows);
            const stats = tidy(() => {
              const idx = tensor(micro, { dtype: 'int64' }); // (b)
              const pick = (t: Tensor): Tensor => t.indexSelect(0, idx);
              const [sq, mk, tg, lm] = [pick(ro.seq), pick(ro.mask), pick(ro.targets), pick(adv.lossMask)];
              const r = maybeAutocast(cfg.dtype, () => responseLogprobs(policy, sq, mk, tg, ro.P, { temperature: cfg.temperature, withEntropy: true }));
              const oldLp = ro.logprobs ? pick(ro.logprobs) : r.logprobs.detach(); // one step per rollout and β = 0: π_old = π_θ
              const l = rlooLoss(r.logprobs, oldLp, pick(adv.advantages), lm, { epsilon: cfg.epsilon, epsilonHigh: cfg.epsilonHigh });
              l.loss.div(cfg.gradAccum).backward();
              return readStats({ loss: l.loss, ...l.stats, entropy: maskedMean(r.entropy as Tensor, lm) }); // one host copy
            });
            for (const [key, v] of Object.entries(stats)) sums[key] = (sums[key] ?? 0) + v;
            nStats++;
            opts.onMinibatch?.({ iteration: it, pass: p, step: s, micro: u, stats });
          }
          gradNorm = optimizerStep(params, optimizer, scheduler, cfg.maxGradNorm);
        }
      }
      const tEnd = performance.now();
      disposeAll(adv);

      const lengths = ro.responses.map((r) => r.length);
      const record: Record<string, number> = {
        ...Object.fromEntries(Object.entries(sums).map(([key, v]) => [key, v / Math.max(1, nStats)])),
        reward: mean(ro.scores),
        'objective/raw_scores': mean(ro.rawScores),
        ...advStats,
        ...rewardSourceStats(ro.bySource),
        'completions/mean_length': mean(lengths),
        'completions/clipped_ratio': ro.endedWithEos.filter((e) => !e).length / N,
        lr: scheduler.lastLr,
        grad_norm: gradNorm,
        'time/generation': ro.timings.generation,
        'time/scoring': ro.timings.scoring,
        'time/training': ro.timings.logprobs + (tEnd - tTrain) / 1000,
        episodes: (it + 1) * N,
      };
      if (cfg.beta === 0) delete record.kl;
      const sample = { prompt: ro.promptTexts[0], response: ro.responseTexts[0], score: ro.rawScores[0] as number };
      disposeRollout(ro);
      history.push(record);
      opts.onIteration?.(it + 1, record);
      if ((it + 1) % cfg.logEvery === 0 || it + 1 === totalIters) logger.log(it + 1, record);
      progress?.update(it + 1, { reward: record.reward as number, len: record['completions/mean_length'] as number });
      if (cfg.sampleEvery > 0 && (it + 1) % cfg.sampleEvery === 0) {
        say(`iteration ${it + 1}: ${JSON.stringify(sample.prompt)} → ${JSON.stringify(sample.response)} (reward ${sample.score.toFixed(3)})`);
      }
      const isLast = it + 1 === totalIters;
      if (!isLast && cfg.saveEvery > 0 && (it + 1) % cfg.saveEvery === 0) {
        await saveCheckpoint(out, { step: it + 1, epoch, batchInEpoch: (it % itersPerEpoch) + 1, extra: {} }, parts, { keep: cfg.keepCheckpoints, config: cfg });
      }
    }
    progress?.done();
    logger.close();
    await saveFinalModel(policy, out, tokenizer, cfg); // rlhf_config.json, written last, marks the run finished
    for (const o of owned) if (o !== policy) o.dispose();
    return { policy, tokenizer, history, config: cfg, dispose: () => policy.dispose() };
  } catch (err) {
    for (const o of owned) o.dispose();
    throw err;
  }
}
