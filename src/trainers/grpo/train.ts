// GRPO (Shao et al. 2024, "DeepSeekMath", Algorithm 1), top to bottom, as TRL's GRPOTrainer does it:
//   0. policy; a frozen reference only when β > 0; the scorer (reward model and/or functions);
//      dropout off
//   per iteration, on a batch of B prompts:
//   1. roll out: G responses per prompt (N = B·G rows), left-padded prompts, temperature T, cut
//      after EOS (src/trainers/common/rollout.ts, as PPO)
//   2. score each prompt + response with the weighted rewards; penalise responses that never ended
//   3. recompute the old policy's log-probs (only when the policy changes before the loss reads
//      them: μ > 1 or several steps per rollout) and the reference's (β > 0)
//   4. group-relative advantages Â_i = (r_i − mean_group)/(std_group + ε), or unscaled (Dr. GRPO)
//   5. μ passes over the rollout, each split into steps-per-generation optimizer steps: the clipped
//      per-token objective + β·k3 KL, averaged as --loss-type says
// and then log, checkpoint, repeat. No value model: the group is the baseline.
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
import { grpoAdvantages, grpoLoss } from './loss.js';
import { grpoConfig, type GRPOConfig, type GRPOConfigInput } from './config.js';

export type GRPOResult = OnlineTrainerResult<GRPOConfig>;

const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function grpo(input: GRPOConfigInput, opts: OnlineTrainerOptions = {}): Promise<GRPOResult> {
  const cfg = grpoConfig.parse(input);
  const say = opts.onLog ?? ((): void => {});
  const rewardFns = [...(cfg.rewardFn ?? []), ...(opts.rewardFns ?? [])];
  if (!cfg.rewardModel && rewardFns.length === 0) throw new TrainerError('GRPO needs a reward: --reward-model DIR (a trained reward model) and/or --reward-fn FILE.ts (a function of prompts and responses; repeat it for several).');
  checkSampling(cfg, 'GRPO');
  const B = cfg.batchSize;
  const G = cfg.numGenerations;
  const N = B * G;
  if (N % (cfg.stepsPerGeneration * cfg.gradAccum) !== 0) {
    throw new TrainerError(`--batch-size × --num-generations (${B} × ${G} = ${N} responses) must be divisible by --steps-per-generation × --grad-accum (${cfg.stepsPerGeneration} × ${cfg.gradAccum}).`);
  }
  const stepRows = N / cfg.stepsPerGeneration;
  const microRows = stepRows / cfg.gradAccum;
  // The policy changes before the loss reads the old log-probs only after a first optimizer step on this rollout.
  const needOldLogprobs = cfg.numIterations > 1 || cfg.stepsPerGeneration > 1;
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 0. models: policy; frozen reference when β > 0; the scorer
  const owned: { dispose(): void }[] = [];
  const { policy, ref, tokenizer, eos, pad } = await loadPolicy(cfg.model, cfg.beta > 0, 'GRPO', cfg.revision);
  owned.push(policy);
  if (ref) owned.push(ref);
  try {
    const scorer = await createScorer({ rewardModel: cfg.rewardModel, rewardFn: rewardFns, rewardWeights: cfg.rewardWeights, tokenizer });
    owned.push(scorer);
    const prompts = loadPrompts(cfg, tokenizer, { batchSize: B, maxNewTokens: cfg.maxCompletionLength, nPositions: policy.config.n_positions, trainer: 'GRPO', lengthFlag: '--max-completion-length' });

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
    const progress = opts.progressStream ? new Progress({ total: totalIters, label: 'grpo', stream: opts.progressStream }) : null;

    for (let it = first; it < totalIters; it++) {
      const epoch = Math.floor(it / itersPerEpoch);
      const rows = promptBatches(prompts.texts.length, B, cfg.seed, epoch)[it % itersPerEpoch] as number[];

      // 1.–3. G responses per prompt, their rewards, the old and reference log-probs
      const ro = await sampleAndScore({ policy, ref, tokenizer, scorer }, { texts: rows.map((i) => prompts.texts[i] as string), ids: rows.map((i) => prompts.ids[i] as number[]) }, {
        samplesPerPrompt: G, maxNewTokens: cfg.maxCompletionLength, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
        rolloutDtype: cfg.rolloutDtype, dtype: cfg.dtype, missingEosPenalty: cfg.missingEosPenalty, eos, pad, seed: rolloutSeed(cfg.seed, it), policyLogprobs: needOldLogprobs,
      });
      const tTrain = performance.now();

      // 4. group-relative advantages, one per response; the loss mask (truncated responses out, if asked)
      const adv = tidy(() => {
        const a = grpoAdvantages(tensor(ro.scores), G, cfg.scaleRewards);
        const lossMask = cfg.maskTruncatedCompletions ? ro.respMask.mul(tensor(ro.endedWithEos.map((e) => (e ? 1 : 0))).unsqueeze(1)) : ro.respMask.clone(); // (N, R)
        return { advantages: a.advantages, lossMask, stats: a.stats };
      });
      const advStats = readStats(adv.stats);
      const lossTokens = ro.responses.map((r, i) => (cfg.maskTruncatedCompletions && !ro.endedWithEos[i] ? 0 : r.length));

      // 5. μ passes; each: steps-per-generation optimizer steps of grad-accum micro-batches
      const sums: Record<string, number> = {};
      let nStats = 0;
      let stepLossSum = 0;
      let nSteps = 0;
      let gradNorm = 0;
      const perm = permutation(N, mulberry32(rolloutSeed(cfg.seed, it) ^ 0x5bd1e995)); // one shuffle, reused by every pass (TRL)
      for (let k = 0; k < cfg.numIterations; k++) {
        for (let s = 0; s < cfg.stepsPerGeneration; s++) {
          const stepIdx = perm.slice(s * stepRows, (s + 1) * stepRows);
          const stepTokens = stepIdx.reduce((a, i) => a + (lossTokens[i] as number), 0);
          let stepLoss = 0;
          for (let u = 0; u < cfg.gradAccum; u++) {
            const micro = stepIdx.slice(u * microRows, (u + 1) * microRows);
            const stats = tidy(() => {
              const idx = tensor(micro, { dtype: 'int64' }); // (b)
              const pick = (t: Tensor): Tensor => t.indexSelect(0, idx);
              const [sq, mk, tg, lm] = [pick(ro.seq), pick(ro.mask), pick(ro.targets), pick(adv.lossMask)];
              const r = maybeAutocast(cfg.dtype, () => responseLogprobs(policy, sq, mk, tg, ro.P, { temperature: cfg.temperature, withEntropy: true }));
              const newLp = r.logprobs; // (b, R)
              const oldLp = ro.logprobs ? pick(ro.logprobs) : newLp.detach(); // μ = 1, one step: π_old = π_θ
              const refLp = ro.refLogprobs ? pick(ro.refLogprobs) : null;
              const l = grpoLoss(newLp, oldLp, refLp, pick(adv.advantages), lm, {
                epsilon: cfg.epsilon, epsilonHigh: cfg.epsilonHigh, beta: cfg.beta, lossType: cfg.lossType, maxCompletionLength: cfg.maxCompletionLength, stepTokens,
              });
              // dapo's value is already this micro-batch's share of the step; the others are means over micro-batches
              const share = cfg.lossType === 'dapo' ? l.loss : l.loss.div(cfg.gradAccum);
              share.backward();
              return readStats({ loss: share, ...l.stats, entropy: maskedMean(r.entropy as Tensor, lm) }); // one host copy
            });
            stepLoss += stats.loss as number;
            for (const [key, v] of Object.entries(stats)) if (key !== 'loss') sums[key] = (sums[key] ?? 0) + v;
            nStats++;
            opts.onMinibatch?.({ iteration: it, pass: k, step: s, micro: u, stats });
          }
          gradNorm = optimizerStep(params, optimizer, scheduler, cfg.maxGradNorm);
          stepLossSum += stepLoss;
          nSteps++;
        }
      }
      const tEnd = performance.now();
      disposeAll(adv);

      const lengths = ro.responses.map((r) => r.length);
      const record: Record<string, number> = {
        loss: stepLossSum / Math.max(1, nSteps),
        ...Object.fromEntries(Object.entries(sums).map(([key, v]) => [key, v / Math.max(1, nStats)])),
        ...advStats,
        'objective/scores': mean(ro.scores),
        'objective/raw_scores': mean(ro.rawScores),
        ...rewardSourceStats(ro.bySource),
        'completions/mean_length': mean(lengths),
        'completions/min_length': Math.min(...lengths),
        'completions/max_length': Math.max(...lengths),
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
