// PPO for language models, top to bottom, following the checklist in DESIGN.md:
//   0. policy and frozen reference from the SFT model (with --lora-r: adapters on the policy, and
//      the reference is the policy with its adapters off); the value model from the reward model;
//      dropout off in all of them
//   per iteration, on a batch of prompts:
//   1. roll out: sample responses (left-padded prompts, temperature T), truncated after EOS
//   2. score prompt + response with the reward model (or a reward function) at the last token;
//      penalise responses that never ended
//   3. recompute policy and reference log-probs (logits / T) and the values, in the training dtype
//   4. per-token reward −β·KL plus the score on the last response token; adapt β
//   5. GAE right to left; returns = advantages + values; whiten the advantages
//   6. K epochs of shuffled minibatches: clipped policy loss + c_v · clipped value loss
// and then log, checkpoint, repeat. What every online trainer does the same way (step 0 but the
// value model, steps 1–3, the epochs of step 6, the logging and checkpoints) is
// src/trainers/common/online-loop.ts.
import type { Tensor } from '../../torch/tensor.js';
import { disposeAll, tensor, tidy } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { ScalarHeadModel } from '../../models/heads.js';
import { copyModel, loadScalarModel } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import type { RewardFn } from '../common/reward-fn.js';
import { rewardSourceStats } from '../common/rewards.js';
import { checkSampling, inChunks, rolloutSeed } from '../common/rollout.js';
import { checkRolloutSplit, mean, startOnlineRun, type OnlineHooks } from '../common/online-loop.js';
import { maybeAutocast, TrainerError } from '../common/setup.js';
import { responseLogprobs } from '../common/logprobs.js';
import { trainableParameters } from '../common/lora.js';
import { maskedMean, readStats } from '../common/masked.js';
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
  const rewardFns = [...(cfg.rewardFn ?? []), ...(opts.rewardFn ? [opts.rewardFn] : [])];
  if (!cfg.rewardModel && rewardFns.length === 0) throw new TrainerError('PPO needs a reward: --reward-model DIR (a trained reward model) or --reward-fn FILE.ts (a function of prompts and responses).');
  checkSampling(cfg, 'PPO');
  const B = cfg.batchSize;
  checkRolloutSplit({ batchSize: B, samplesPerPrompt: 1, samplesFlag: null, steps: cfg.numMiniBatches, stepsFlag: '--num-mini-batches', gradAccum: cfg.gradAccum });

  // 0. models: policy (+ LoRA), frozen reference (with LoRA the policy with its adapters off: no copy
  //    of the weights), reward (model and/or functions), the prompts; then the value model — dropout off in all
  const { onMinibatch } = opts; // PPO numbers a micro-batch by its epoch and its place in the epoch
  const hooks: OnlineHooks = {
    onLog: opts.onLog, progressStream: opts.progressStream, onIteration: opts.onIteration,
    onMinibatch: onMinibatch && ((m) => onMinibatch({ iteration: m.iteration, epoch: m.pass, minibatch: m.step * cfg.gradAccum + m.micro, stats: m.stats })),
  };
  const run = await startOnlineRun(cfg, hooks, {
    trainer: 'PPO', label: 'ppo', reference: true, rewardFns, maxNewTokens: cfg.maxNewTokens, lengthFlag: '--max-new-tokens',
    scoreName: 'score', progress: { score: 'objective/scores', kl: 'objective/kl', len: 'response/length' },
  });
  try {
    const { policy, scorer } = run;
    let valueModel: ScalarHeadModel;
    if (cfg.valueModel) valueModel = (await loadScalarModel(cfg.valueModel)).model;
    else if (scorer.rewardModel) valueModel = copyModel(scorer.rewardModel);
    else valueModel = ScalarHeadModel.fromCausalLM(copyModel(policy) as CausalLM & { transformer: ScalarHeadModel['transformer'] });
    run.own(valueModel);
    valueModel.requiresGrad_(true);
    if (valueModel.config.vocab_size !== policy.config.vocab_size) {
      throw new TrainerError(`the value model's vocabulary (${valueModel.config.vocab_size}) differs from the policy's (${policy.config.vocab_size}); it reads the policy's tokens, so pass --value-model DIR with the policy's tokenizer.`);
    }
    valueModel.eval();

    // Optimizer over policy and value parameters together (as TRL's PolicyAndValueWrapper); the KL controller's state in the checkpoints.
    const klCtl = cfg.adaptiveKl ? new AdaptiveKLController(cfg.klCoef, cfg.klTarget, cfg.klHorizon) : new FixedKLController(cfg.klCoef);
    await run.begin({
      optimizerSteps: run.totalIters * cfg.ppoEpochs * cfg.numMiniBatches,
      params: [...new Set([...trainableParameters(policy, run.lora), ...valueModel.parameters()])],
      models: { value: valueModel },
      state: { save: () => ({ kl: klCtl.state() }), load: (saved) => klCtl.loadState(saved.kl as KLControllerState) },
    });

    for (let it = run.first; it < run.totalIters; it++) {
      // 1.–3. roll out, score, recompute policy and reference log-probs (src/trainers/common/rollout.ts)
      const ro = await run.rollout(it, { samplesPerPrompt: 1, policyLogprobs: true });
      const { P, R, responses, endedWithEos } = ro;
      const scores = Array.from(ro.scores);
      const rawScores = Array.from(ro.rawScores);

      // 3.–5. under one scope: everything the epochs need is kept, the rest freed
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
      const { kl: klMean, nonScore: nonScoreReward, entropy: entropyPerSeq } = readStats({ kl: computed.klPerSeq, nonScore: computed.nonScore, entropy: computed.entropySeq });

      // 6. K epochs of shuffled minibatches: clipped policy loss + c_v · clipped value loss
      const t = run.train(ro, it, { passes: cfg.ppoEpochs, stepsPerPass: cfg.numMiniBatches, reshuffle: true }, ({ pick }) => {
        const [sq, mk, tg, rm] = [pick(ro.seq), pick(ro.mask), pick(ro.targets), pick(respMask)];
        const { newLp, entropy, vpred } = maybeAutocast(cfg.dtype, () => {
          const r = responseLogprobs(policy, sq, mk, tg, P, { temperature: cfg.temperature, withEntropy: true });
          const v = valueModel.forward(sq, { attentionMask: mk }).values.narrow(1, P - 1, R).float(); // (b, R)
          return { newLp: r.logprobs, entropy: r.entropy as Tensor, vpred: v };
        });
        const pg = ppoPolicyLoss(newLp, pick(logprobs), pick(computed.advantages), rm, cfg.clipRange);
        const vf = ppoValueLoss(vpred, pick(computed.values), pick(computed.returns), rm, cfg.clipRangeValue);
        const loss = pg.loss.add(vf.loss.mul(cfg.vfCoef)); // total = pg + c_v · vf
        return { loss: loss.div(cfg.gradAccum), stats: { 'loss/policy': pg.loss, 'loss/value': vf.loss, ...pg.stats, ...vf.stats, 'policy/entropy_avg': maskedMean(entropy, rm) } };
      });
      const ev = tidy(() => explainedVariance(computed.values, computed.returns, respMask).item());
      disposeAll(computed);
      klCtl.update(klMean, B);

      // log, checkpoint
      const record: Record<string, number> = {
        'objective/scores': mean(scores),
        'objective/raw_scores': mean(rawScores),
        'objective/kl': klMean,
        'objective/non_score_reward': nonScoreReward,
        'objective/entropy': entropyPerSeq,
        'objective/rlhf_reward': mean(scores) + nonScoreReward,
        ...t.mean,
        'val/explained_variance': ev,
        'val/num_eos_tokens': endedWithEos.filter(Boolean).length,
        'response/length': mean(responses.map((r) => r.length)),
        kl_coef: klCtl.value,
        lr: run.lr,
        grad_norm: t.gradNorm,
        ...rewardSourceStats(ro.bySource),
        ...run.progressStats(ro, it),
      };
      await run.endIteration(it, ro, record);
    }
    const r = await run.finish({ value_model: valueModel }); // rlhf_config.json, written last, marks the run finished
    return {
      ...r, valueModel,
      dispose: () => {
        r.policy.dispose();
        valueModel.dispose();
      },
    };
  } catch (err) {
    run.dispose();
    throw err;
  }
}
