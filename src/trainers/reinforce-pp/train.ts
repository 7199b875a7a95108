// REINFORCE++ (Hu 2025), top to bottom, as OpenRLHF runs it (advantage_estimator "reinforce"):
//   0. policy; a frozen reference when β > 0; the scorer (reward model and/or functions); dropout off
//   per iteration, on a batch of B prompts:
//   1. roll out: G responses per prompt (usually 1), cut after EOS (src/trainers/common/rollout.ts)
//   2. score each prompt + response; penalise responses that never ended; with --group-baseline
//      subtract the mean score of the prompt's samples
//   3. recompute the old policy's and the reference's log-probs
//   4. per-token reward −β·KL_t, plus the score on the last response token (PPO's
//      klPenaltyRewards); returns G_t = Σ_{s≥t} γ^{s−t} r_s, with no critic
//   5. advantages = returns, normalised over every valid token of the whole batch
//   6. epochs of shuffled minibatches of PPO's clipped policy loss
// and then log, checkpoint, repeat.
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
import { klPenaltyRewards, ppoPolicyLoss } from '../ppo/loss.js';
import { discountedReturns, normalizeAdvantagesGlobal, subtractGroupMean } from './loss.js';
import { reinforcePPConfig, type ReinforcePPConfig, type ReinforcePPConfigInput } from './config.js';

export type ReinforcePPResult = OnlineTrainerResult<ReinforcePPConfig>;

const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function reinforcePP(input: ReinforcePPConfigInput, opts: OnlineTrainerOptions = {}): Promise<ReinforcePPResult> {
  const cfg = reinforcePPConfig.parse(input);
  const say = opts.onLog ?? ((): void => {});
  const rewardFns = [...(cfg.rewardFn ?? []), ...(opts.rewardFns ?? [])];
  if (!cfg.rewardModel && rewardFns.length === 0) throw new TrainerError('REINFORCE++ needs a reward: --reward-model DIR (a trained reward model) and/or --reward-fn FILE.ts (a function of prompts and responses; repeat it for several).');
  checkSampling(cfg, 'REINFORCE++');
  if (cfg.groupBaseline && cfg.samplesPerPrompt < 2) throw new TrainerError('--group-baseline subtracts the mean score of each prompt\'s samples; it needs --samples-per-prompt 2 or more.');
  const B = cfg.batchSize;
  const G = cfg.samplesPerPrompt;
  const N = B * G;
  if (N % (cfg.numMiniBatches * cfg.gradAccum) !== 0) {
    throw new TrainerError(`--batch-size × --samples-per-prompt (${B} × ${G} = ${N} responses) must be divisible by --num-mini-batches × --grad-accum (${cfg.numMiniBatches} × ${cfg.gradAccum}).`);
  }
  const miniBatch = N / cfg.numMiniBatches;
  const microBatch = miniBatch / cfg.gradAccum;
  const needOldLogprobs = cfg.klCoef > 0 || cfg.ppoEpochs > 1 || cfg.numMiniBatches > 1;
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 0. models: policy; frozen reference when β > 0; the scorer
  const owned: { dispose(): void }[] = [];
  const { policy, ref, tokenizer, eos, pad } = await loadPolicy(cfg.model, cfg.klCoef > 0, 'REINFORCE++', cfg.revision);
  owned.push(policy);
  if (ref) owned.push(ref);
  try {
    const scorer = await createScorer({ rewardModel: cfg.rewardModel, rewardFn: rewardFns, rewardWeights: cfg.rewardWeights, tokenizer });
    owned.push(scorer);
    const prompts = loadPrompts(cfg, tokenizer, { batchSize: B, maxNewTokens: cfg.maxNewTokens, nPositions: policy.config.n_positions, trainer: 'REINFORCE++', lengthFlag: '--max-new-tokens' });

    const itersPerEpoch = Math.floor(prompts.texts.length / B);
    const totalIters = totalOptimizerSteps(itersPerEpoch, cfg);
    const params = policy.parameters();
    const { optimizer, scheduler } = createOptimizer(params, cfg, totalIters * cfg.ppoEpochs * cfg.numMiniBatches);
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
    const progress = opts.progressStream ? new Progress({ total: totalIters, label: 'reinforce++', stream: opts.progressStream }) : null;

    for (let it = first; it < totalIters; it++) {
      const epoch = Math.floor(it / itersPerEpoch);
      const rows = promptBatches(prompts.texts.length, B, cfg.seed, epoch)[it % itersPerEpoch] as number[];

      // 1.–3. responses, their scores, the old and reference log-probs
      const ro = await sampleAndScore({ policy, ref, tokenizer, scorer }, { texts: rows.map((i) => prompts.texts[i] as string), ids: rows.map((i) => prompts.ids[i] as number[]) }, {
        samplesPerPrompt: G, maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
        rolloutDtype: cfg.rolloutDtype, dtype: cfg.dtype, missingEosPenalty: cfg.missingEosPenalty, eos, pad, seed: rolloutSeed(cfg.seed, it), policyLogprobs: needOldLogprobs,
      });
      const tTrain = performance.now();

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
      const sums: Record<string, number> = {};
      let nStats = 0;
      let gradNorm = 0;
      const rand = mulberry32(rolloutSeed(cfg.seed, it) ^ 0x5bd1e995);
      for (let e = 0; e < cfg.ppoEpochs; e++) {
        const perm = permutation(N, rand);
        for (let m = 0; m < N; m += miniBatch) {
          for (let u = m; u < m + miniBatch; u += microBatch) {
            const stats = tidy(() => {
              const idx = tensor(perm.slice(u, u + microBatch), { dtype: 'int64' }); // (b)
              const pick = (t: Tensor): Tensor => t.indexSelect(0, idx);
              const [sq, mk, tg, rm] = [pick(ro.seq), pick(ro.mask), pick(ro.targets), pick(ro.respMask)];
              const r = maybeAutocast(cfg.dtype, () => responseLogprobs(policy, sq, mk, tg, ro.P, { temperature: cfg.temperature, withEntropy: true }));
              const oldLp = ro.logprobs ? pick(ro.logprobs) : r.logprobs.detach(); // one step per rollout and β = 0: π_old = π_θ
              const pg = ppoPolicyLoss(r.logprobs, oldLp, pick(adv.advantages), rm, cfg.clipRange);
              pg.loss.div(cfg.gradAccum).backward();
              return readStats({ 'loss/policy': pg.loss, ...pg.stats, 'policy/entropy_avg': maskedMean(r.entropy as Tensor, rm) }); // one host copy
            });
            for (const [key, v] of Object.entries(stats)) sums[key] = (sums[key] ?? 0) + v;
            nStats++;
            opts.onMinibatch?.({ iteration: it, pass: e, step: m / miniBatch, micro: (u - m) / microBatch, stats });
          }
          gradNorm = optimizerStep(params, optimizer, scheduler, cfg.maxGradNorm);
        }
      }
      const tEnd = performance.now();
      disposeAll(adv);

      const lengths = ro.responses.map((r) => r.length);
      const record: Record<string, number> = {
        'objective/scores': mean(ro.scores),
        'objective/raw_scores': mean(ro.rawScores),
        ...advStats,
        ...Object.fromEntries(Object.entries(sums).map(([key, v]) => [key, v / Math.max(1, nStats)])),
        ...rewardSourceStats(ro.bySource),
        'response/length': mean(lengths),
        'val/num_eos_tokens': ro.endedWithEos.filter(Boolean).length,
        kl_coef: cfg.klCoef,
        lr: scheduler.lastLr,
        grad_norm: gradNorm,
        'time/generation': ro.timings.generation,
        'time/scoring': ro.timings.scoring,
        'time/training': ro.timings.logprobs + (tEnd - tTrain) / 1000,
        episodes: (it + 1) * N,
      };
      const sample = { prompt: ro.promptTexts[0], response: ro.responseTexts[0], score: ro.rawScores[0] as number };
      disposeRollout(ro);
      history.push(record);
      opts.onIteration?.(it + 1, record);
      if ((it + 1) % cfg.logEvery === 0 || it + 1 === totalIters) logger.log(it + 1, record);
      progress?.update(it + 1, { score: record['objective/scores'] as number, kl: record['objective/kl'] as number, len: record['response/length'] as number });
      if (cfg.sampleEvery > 0 && (it + 1) % cfg.sampleEvery === 0) {
        say(`iteration ${it + 1}: ${JSON.stringify(sample.prompt)} → ${JSON.stringify(sample.response)} (score ${sample.score.toFixed(3)})`);
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
