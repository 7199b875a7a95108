// PPO for language models, top to bottom, following the checklist in DESIGN.md:
//   0. policy and frozen reference from the SFT model; the value model from the reward model;
//      dropout off in all of them
//   per iteration, on a batch of prompts:
//   1. roll out: sample responses (left-padded prompts, temperature T), truncated after EOS
//   2. score prompt + response with the reward model (or a reward function) at the last token;
//      penalise responses that never ended
//   3. recompute policy and reference log-probs (logits / T) and the values, in the training dtype
//   4. per-token reward −β·KL plus the score on the last response token; adapt β
//   5. GAE right to left; returns = advantages + values; whiten the advantages
//   6. K epochs of shuffled minibatches: clipped policy loss + c_v · clipped value loss
// and then log, checkpoint, repeat.
import type { Tensor } from '../../torch/tensor.js';
import { disposeAll, manualSeed, tensor, tidy } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { ScalarHeadModel } from '../../models/heads.js';
import { copyModel, loadScalarModel } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { mulberry32, permutation } from '../../data/index.js';
import type { RewardFn } from '../common/reward-fn.js';
import { createScorer, rewardSourceStats } from '../common/rewards.js';
import { checkSampling, disposeRollout, inChunks, loadPolicy, loadPrompts, promptBatches, rollout as sampleAndScore, rolloutSeed } from '../common/rollout.js';
import { loadLatestCheckpoint, saveCheckpoint, type CheckpointParts } from '../common/checkpoint.js';
import { createOptimizer, maybeAutocast, optimizerStep, prepareOutDir, saveFinalModel, totalOptimizerSteps, TrainerError } from '../common/setup.js';
import { responseLogprobs } from '../common/logprobs.js';
import { adapterDisabledReference, applyLoraFromConfig, saveTrainedModel, trainableParameters } from '../common/lora.js';
import type { LoraModel } from '../../nn/lora.js';
import { maskedMean, readStats } from '../common/masked.js';
import { MetricsLogger } from '../common/metrics-log.js';
import { Progress } from '../../cli/progress.js';
import { type KLControllerState, AdaptiveKLController, FixedKLController, explainedVariance, gae, klPenaltyRewards, ppoPolicyLoss, ppoValueLoss, whiten } from './loss.js';
import { ppoConfig, type PPOConfig, type PPOConfigInput } from './config.js';

export { rolloutSeed };

export interface PPOOptions {
  /** A reward function given in code; it joins --reward-model and --reward-fn (weighted last by --reward-weights). */
  rewardFn?: RewardFn;
  /** Progress and sample lines go here (the CLI passes stderr/stdout); default: nowhere. */
  onLog?: (line: string) => void;
  /** Progress bar stream; default: none. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Called after every PPO minibatch with its stats (tests check the invariants of the first one). */
  onMinibatch?: (info: { iteration: number; epoch: number; minibatch: number; stats: Record<string, number> }) => void;
  /** Called after every iteration with its record (what metrics.jsonl gets). */
  onIteration?: (iteration: number, record: Record<string, number>) => void;
}

export interface PPOResult {
  policy: CausalLM;
  valueModel: ScalarHeadModel;
  tokenizer: Tokenizer;
  /** One record per iteration: what metrics.jsonl holds. */
  history: Record<string, number>[];
  config: PPOConfig;
  /** Frees every model the run created. */
  dispose(): void;
}

export async function ppo(input: PPOConfigInput, opts: PPOOptions = {}): Promise<PPOResult> {
  const cfg = ppoConfig.parse(input);
  const say = opts.onLog ?? ((): void => {});
  const rewardFns = [...(cfg.rewardFn ?? []), ...(opts.rewardFn ? [opts.rewardFn] : [])];
  if (!cfg.rewardModel && rewardFns.length === 0) throw new TrainerError('PPO needs a reward: --reward-model DIR (a trained reward model) or --reward-fn FILE.ts (a function of prompts and responses).');
  checkSampling(cfg, 'PPO');
  const B = cfg.batchSize;
  if (B % (cfg.numMiniBatches * cfg.gradAccum) !== 0) {
    throw new TrainerError(`--batch-size ${B} must be divisible by --num-mini-batches × --grad-accum (${cfg.numMiniBatches} × ${cfg.gradAccum}).`);
  }
  const miniBatch = B / cfg.numMiniBatches;
  const microBatch = miniBatch / cfg.gradAccum;
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 0. models: policy, frozen reference, reward (model and/or functions), value — dropout off in all
  const owned: { dispose(): void }[] = [];
  // with LoRA the reference is the policy with its adapters off (no copy of the weights)
  const { policy, ref: refCopy, tokenizer, eos, pad } = await loadPolicy(cfg.model, cfg.loraR === 0, 'PPO', cfg.revision);
  owned.push(policy, ...(refCopy ? [refCopy] : []));
  try {
    const lora = applyLoraFromConfig(policy, cfg, say);
    if (lora) owned.push(lora);
    const ref = refCopy ?? adapterDisabledReference(policy, lora as LoraModel);
    const scorer = await createScorer({ rewardModel: cfg.rewardModel, rewardFn: rewardFns, rewardWeights: cfg.rewardWeights, tokenizer });
    owned.push(scorer);
    let valueModel: ScalarHeadModel;
    if (cfg.valueModel) valueModel = (await loadScalarModel(cfg.valueModel)).model;
    else if (scorer.rewardModel) valueModel = copyModel(scorer.rewardModel);
    else valueModel = ScalarHeadModel.fromCausalLM(copyModel(policy) as CausalLM & { transformer: ScalarHeadModel['transformer'] });
    owned.push(valueModel);
    valueModel.requiresGrad_(true);
    if (valueModel.config.vocab_size !== policy.config.vocab_size) {
      throw new TrainerError(`the value model's vocabulary (${valueModel.config.vocab_size}) differs from the policy's (${policy.config.vocab_size}); it reads the policy's tokens, so pass --value-model DIR with the policy's tokenizer.`);
    }
    valueModel.eval();

    // Prompts, tokenised once; a prompt keeps its last maxPromptLength tokens.
    const prompts = loadPrompts(cfg, tokenizer, { batchSize: B, maxNewTokens: cfg.maxNewTokens, nPositions: policy.config.n_positions, trainer: 'PPO', lengthFlag: '--max-new-tokens' });

    // Optimizer over policy and value parameters together (as TRL's PolicyAndValueWrapper).
    const itersPerEpoch = Math.floor(prompts.texts.length / B);
    const totalIters = totalOptimizerSteps(itersPerEpoch, cfg);
    const params = [...new Set([...trainableParameters(policy, lora), ...valueModel.parameters()])];
    const { optimizer, scheduler } = createOptimizer(params, cfg, totalIters * cfg.ppoEpochs * cfg.numMiniBatches);
    owned.push(optimizer);
    const klCtl = cfg.adaptiveKl ? new AdaptiveKLController(cfg.klCoef, cfg.klTarget, cfg.klHorizon) : new FixedKLController(cfg.klCoef);
    const parts: CheckpointParts = { models: { ...(lora ? { adapter: lora } : { policy }), value: valueModel }, optimizers: { main: optimizer }, schedules: { main: scheduler } };

    let first = 0;
    const logger = new MetricsLogger(out);
    if (cfg.resume) {
      const st = await loadLatestCheckpoint(out, parts);
      if (st) {
        first = st.step;
        klCtl.loadState(st.extra.kl as KLControllerState);
        say(`resuming from iteration ${first} of ${totalIters}`);
      }
      logger.truncateAfter(first);
    }
    const history: Record<string, number>[] = [];
    const progress = opts.progressStream ? new Progress({ total: totalIters, label: 'ppo', stream: opts.progressStream }) : null;

    for (let it = first; it < totalIters; it++) {
      const epoch = Math.floor(it / itersPerEpoch);
      const rows = promptBatches(prompts.texts.length, B, cfg.seed, epoch)[it % itersPerEpoch] as number[];

      // 1.–3. roll out, score, recompute policy and reference log-probs (src/trainers/common/rollout.ts)
      const ro = await sampleAndScore({ policy, ref, tokenizer, scorer }, { texts: rows.map((i) => prompts.texts[i] as string), ids: rows.map((i) => prompts.ids[i] as number[]) }, {
        samplesPerPrompt: 1, maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
        rolloutDtype: cfg.rolloutDtype, dtype: cfg.dtype, missingEosPenalty: cfg.missingEosPenalty, eos, pad, seed: rolloutSeed(cfg.seed, it), policyLogprobs: true,
      });
      const { P, R, responses, endedWithEos, promptTexts, responseTexts } = ro;
      const scores = Array.from(ro.scores);
      const rawScores = Array.from(ro.rawScores);

      // 3.–5. under one scope: everything the epochs need is kept, the rest freed
      const tTrainStart = performance.now();
      const { respMask } = ro;
      const logprobs = ro.logprobs as Tensor; // (B, R)
      const refLogprobs = ro.refLogprobs as Tensor; // (B, R)
      const computed = tidy(() => {
        // 3. the values V(s_t) before each response token t
        const values = inChunks(ro, cfg.dtype, (sq, mk) => valueModel.forward(sq, { attentionMask: mk }).values.narrow(1, P - 1, R).float()).mul(respMask); // (B, R)
        // 4. per-token rewards: −β·KL, plus the score on the last response token
        const lastIndex = tensor(responses.map((r) => Math.max(0, r.length - 1)), { dtype: 'int64' }); // (B)
        const scoreT = tensor(scores); // (B)
        const kl = klPenaltyRewards(logprobs, refLogprobs, respMask, scoreT, klCtl.value, cfg.klEstimator, lastIndex);
        const rewards = cfg.whitenRewards ? whiten(kl.rewards, respMask, false) : kl.rewards; // (B, R)
        // 5. GAE, returns, whitened advantages
        const { advantages, returns } = gae(rewards, values, respMask, cfg.gamma, cfg.lam); // (B, R) each
        const adv = whiten(advantages, respMask).mul(respMask); // (B, R)
        return {
          values, returns, advantages: adv,
          klPerSeq: kl.stats['objective/kl'], nonScore: kl.stats['objective/non_score_reward'], entropySeq: kl.stats['objective/entropy'],
        };
      });
      const rollout = { ...computed, seq: ro.seq, mask: ro.mask, targets: ro.targets, respMask, logprobs };
      const { kl: klMean, nonScore: nonScoreReward, entropy: entropyPerSeq } = readStats({ kl: rollout.klPerSeq, nonScore: rollout.nonScore, entropy: rollout.entropySeq });

      // 6. K epochs of shuffled minibatches
      const sums: Record<string, number> = {};
      let nStats = 0;
      const rand = mulberry32(rolloutSeed(cfg.seed, it) ^ 0x5bd1e995);
      let gradNorm = 0;
      for (let k = 0; k < cfg.ppoEpochs; k++) {
        const perm = permutation(B, rand);
        for (let m = 0; m < B; m += miniBatch) {
          for (let u = m; u < m + miniBatch; u += microBatch) {
            const stats = tidy(() => {
              const idx = tensor(perm.slice(u, u + microBatch), { dtype: 'int64' }); // (b)
              const pick = (t: Tensor): Tensor => t.indexSelect(0, idx);
              const [sq, mk, tg, rm] = [pick(rollout.seq), pick(rollout.mask), pick(rollout.targets), pick(rollout.respMask)];
              const { newLp, entropy, vpred } = maybeAutocast(cfg.dtype, () => {
                const r = responseLogprobs(policy, sq, mk, tg, P, { temperature: cfg.temperature, withEntropy: true });
                const v = valueModel.forward(sq, { attentionMask: mk }).values.narrow(1, P - 1, R).float(); // (b, R)
                return { newLp: r.logprobs, entropy: r.entropy as Tensor, vpred: v };
              });
              const pg = ppoPolicyLoss(newLp, pick(rollout.logprobs), pick(rollout.advantages), rm, cfg.clipRange);
              const vf = ppoValueLoss(vpred, pick(rollout.values), pick(rollout.returns), rm, cfg.clipRangeValue);
              const loss = pg.loss.add(vf.loss.mul(cfg.vfCoef)); // total = pg + c_v · vf
              loss.div(cfg.gradAccum).backward();
              return readStats({ 'loss/policy': pg.loss, 'loss/value': vf.loss, ...pg.stats, ...vf.stats, 'policy/entropy_avg': maskedMean(entropy, rm) }); // one host copy
            });
            for (const [key, v] of Object.entries(stats)) sums[key] = (sums[key] ?? 0) + v;
            nStats++;
            opts.onMinibatch?.({ iteration: it, epoch: k, minibatch: (u - m) / microBatch + m / miniBatch * cfg.gradAccum, stats });
          }
          gradNorm = optimizerStep(params, optimizer, scheduler, cfg.maxGradNorm);
        }
      }
      const tEnd = performance.now();
      const ev = tidy(() => explainedVariance(rollout.values, rollout.returns, rollout.respMask).item());
      disposeAll(computed);
      disposeRollout(ro);
      klCtl.update(klMean, B);

      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const record: Record<string, number> = {
        'objective/scores': mean(scores),
        'objective/raw_scores': mean(rawScores),
        'objective/kl': klMean,
        'objective/non_score_reward': nonScoreReward,
        'objective/entropy': entropyPerSeq,
        'objective/rlhf_reward': mean(scores) + nonScoreReward,
        ...Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, nStats)])),
        'val/explained_variance': ev,
        'val/num_eos_tokens': endedWithEos.filter(Boolean).length,
        'response/length': mean(responses.map((r) => r.length)),
        kl_coef: klCtl.value,
        lr: scheduler.lastLr,
        grad_norm: gradNorm,
        ...rewardSourceStats(ro.bySource),
        'time/generation': ro.timings.generation,
        'time/scoring': ro.timings.scoring,
        'time/training': ro.timings.logprobs + (tEnd - tTrainStart) / 1000,
        episodes: (it + 1) * B,
      };
      history.push(record);
      opts.onIteration?.(it + 1, record);
      if ((it + 1) % cfg.logEvery === 0 || it + 1 === totalIters) logger.log(it + 1, record);
      progress?.update(it + 1, { score: record['objective/scores'] as number, kl: klMean, len: record['response/length'] as number });
      if (cfg.sampleEvery > 0 && (it + 1) % cfg.sampleEvery === 0) {
        say(`iteration ${it + 1}: ${JSON.stringify(promptTexts[0])} → ${JSON.stringify(responseTexts[0])} (score ${(rawScores[0] as number).toFixed(3)})`);
      }
      const isLast = it + 1 === totalIters;
      if (!isLast && cfg.saveEvery > 0 && (it + 1) % cfg.saveEvery === 0) {
        await saveCheckpoint(out, { step: it + 1, epoch, batchInEpoch: (it % itersPerEpoch) + 1, extra: { kl: klCtl.state() } }, parts, { keep: cfg.keepCheckpoints, config: cfg });
      }
    }
    progress?.done();
    logger.close();
    await saveFinalModel(valueModel, `${out}/value_model`, tokenizer, cfg);
    await saveTrainedModel(policy, lora, out, tokenizer, cfg); // rlhf_config.json, written last, marks the run finished
    const keepModels = new Set<unknown>([policy, valueModel]);
    for (const o of owned) if (!keepModels.has(o)) o.dispose();
    return {
      policy, valueModel, tokenizer, history, config: cfg,
      dispose: () => {
        policy.dispose();
        valueModel.dispose();
      },
    };
  } catch (err) {
    for (const o of owned) o.dispose();
    throw err;
  }
}
