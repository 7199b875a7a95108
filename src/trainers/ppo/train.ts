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
import { cat, disposeAll, manualSeed, noGrad, tensor, tidy } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { ScalarHeadModel } from '../../models/heads.js';
import { copyModel, loadPretrained, loadScalarModel } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { generate } from '../../generation/generate.js';
import { mulberry32, padLeft, permutation, readPrompts } from '../../data/index.js';
import { checkedRewardFn, loadRewardFn, type RewardFn } from '../common/reward-fn.js';
import { loadLatestCheckpoint, saveCheckpoint, type CheckpointParts } from '../common/checkpoint.js';
import { createOptimizer, maybeAutocast, optimizerStep, prepareOutDir, saveFinalModel, totalOptimizerSteps, TrainerError } from '../common/setup.js';
import { responseLogprobs } from '../common/logprobs.js';
import { maskedMean, readStats } from '../common/masked.js';
import { MetricsLogger } from '../common/metrics-log.js';
import { Progress } from '../../cli/progress.js';
import { scoreTexts } from '../reward/score.js';
import { type KLControllerState, AdaptiveKLController, FixedKLController, explainedVariance, gae, klPenaltyRewards, ppoPolicyLoss, ppoValueLoss, whiten } from './loss.js';
import { ppoConfig, type PPOConfig, type PPOConfigInput } from './config.js';

/**
 * Rows per no-grad forward when recomputing the rollout's log-probs and values (step 3), as TRL's
 * local_rollout_forward_batch_size: big batches are faster than the training micro-batches, and the
 * first minibatch's ratio is still 1 to float32 rounding (the tests hold it to 1e-6).
 */
const ROLLOUT_CHUNK = 64;

export interface PPOOptions {
  /** A reward function given in code (instead of --reward-model / --reward-fn). */
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

/** The seed of iteration `it`'s rollout: different every iteration, the same on a resumed run. */
export function rolloutSeed(seed: number, it: number): number {
  return (seed * 1_000_003 + (it + 1) * 7_919) % 2_147_483_647;
}

/** Rows of each prompt batch of an epoch: a seeded permutation cut into batches (the last partial one dropped). */
function epochBatches(n: number, batchSize: number, seed: number, epoch: number): number[][] {
  const perm = permutation(n, mulberry32(seed * 7_777 + epoch));
  const out: number[][] = [];
  for (let i = 0; i + batchSize <= n; i += batchSize) out.push(perm.slice(i, i + batchSize));
  return out;
}

export async function ppo(input: PPOConfigInput, opts: PPOOptions = {}): Promise<PPOResult> {
  const cfg = ppoConfig.parse(input);
  const say = opts.onLog ?? ((): void => {});
  const rewardSources = [cfg.rewardModel, cfg.rewardFn, opts.rewardFn].filter((x) => x !== null && x !== undefined).length;
  if (rewardSources === 0) throw new TrainerError('PPO needs a reward: --reward-model DIR (a trained reward model) or --reward-fn FILE.ts (a function of prompts and responses).');
  if (rewardSources > 1) throw new TrainerError('give one reward: --reward-model or --reward-fn, not both.');
  if ((cfg.topK !== null || cfg.topP !== null) && !cfg.allowSamplingMismatch) {
    throw new TrainerError('--top-k/--top-p sample from a different distribution than the policy PPO optimises (its log-probs are of softmax(logits/T)); drop them, or pass --allow-sampling-mismatch to accept the bias.');
  }
  const B = cfg.batchSize;
  if (B % (cfg.numMiniBatches * cfg.gradAccum) !== 0) {
    throw new TrainerError(`--batch-size ${B} must be divisible by --num-mini-batches × --grad-accum (${cfg.numMiniBatches} × ${cfg.gradAccum}).`);
  }
  const miniBatch = B / cfg.numMiniBatches;
  const microBatch = miniBatch / cfg.gradAccum;
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 0. models: policy, frozen reference, reward (model or function), value — dropout off in all
  const owned: { dispose(): void }[] = [];
  const { model: policy, tokenizer: tok } = await loadPretrained(cfg.model);
  owned.push(policy);
  try {
    if (!tok) throw new TrainerError(`${cfg.model} has no tokenizer files; PPO needs them to decode responses (save the SFT model with its tokenizer).`);
    const tokenizer = tok;
    const ref = copyModel(policy);
    owned.push(ref);
    ref.requiresGrad_(false);
    let rewardModel: ScalarHeadModel | null = null;
    let rewardTokenizer: Tokenizer = tokenizer;
    if (cfg.rewardModel) {
      const r = await loadScalarModel(cfg.rewardModel);
      rewardModel = r.model;
      owned.push(rewardModel);
      rewardModel.requiresGrad_(false);
      rewardTokenizer = r.tokenizer ?? tokenizer;
    }
    const rewardFn = opts.rewardFn ? checkedRewardFn(opts.rewardFn, 'rewardFn') : cfg.rewardFn ? await loadRewardFn(cfg.rewardFn) : null;
    let valueModel: ScalarHeadModel;
    if (cfg.valueModel) valueModel = (await loadScalarModel(cfg.valueModel)).model;
    else if (rewardModel) valueModel = copyModel(rewardModel);
    else valueModel = ScalarHeadModel.fromCausalLM(copyModel(policy) as CausalLM & { transformer: ScalarHeadModel['transformer'] });
    owned.push(valueModel);
    valueModel.requiresGrad_(true);
    if (valueModel.config.vocab_size !== policy.config.vocab_size) {
      throw new TrainerError(`the value model's vocabulary (${valueModel.config.vocab_size}) differs from the policy's (${policy.config.vocab_size}); it reads the policy's tokens, so pass --value-model DIR with the policy's tokenizer.`);
    }
    for (const m of [policy, ref, valueModel, rewardModel]) m?.eval();

    // Prompts, tokenised once; a prompt keeps its last maxPromptLength tokens.
    const prompts = readPrompts(cfg.prompts, { columns: cfg.columns, skipInvalid: cfg.skipInvalid, tokenizer });
    if (prompts.length < B) throw new TrainerError(`${cfg.prompts} has ${prompts.length} prompts; PPO needs at least --batch-size (${B}).`);
    const start = tokenizer.bosTokenId ?? tokenizer.eosTokenId ?? 0;
    const promptIds = prompts.map((p) => {
      const ids = tokenizer.encode(p);
      return ids.length === 0 ? [start] : ids.slice(Math.max(0, ids.length - cfg.maxPromptLength));
    });
    const longest = Math.max(...promptIds.map((p) => p.length));
    if (longest + cfg.maxNewTokens > policy.config.n_positions) {
      throw new TrainerError(`prompts of up to ${longest} tokens + --max-new-tokens ${cfg.maxNewTokens} exceed the model's ${policy.config.n_positions} positions; lower --max-prompt-length or --max-new-tokens.`);
    }
    const eos = tokenizer.eosTokenId ?? policy.config.eos_token_id;
    const pad = tokenizer.padTokenId ?? eos;

    // Optimizer over policy and value parameters together (as TRL's PolicyAndValueWrapper).
    const itersPerEpoch = Math.floor(prompts.length / B);
    const totalIters = totalOptimizerSteps(itersPerEpoch, cfg);
    const params = [...new Set([...policy.parameters(), ...valueModel.parameters()])];
    const { optimizer, scheduler } = createOptimizer(params, cfg, totalIters * cfg.ppoEpochs * cfg.numMiniBatches);
    owned.push(optimizer);
    const klCtl = cfg.adaptiveKl ? new AdaptiveKLController(cfg.klCoef, cfg.klTarget, cfg.klHorizon) : new FixedKLController(cfg.klCoef);
    const parts: CheckpointParts = { models: { policy, value: valueModel }, optimizers: { main: optimizer }, schedules: { main: scheduler } };

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
      const rows = epochBatches(prompts.length, B, cfg.seed, epoch)[it % itersPerEpoch] as number[];
      const queries = rows.map((i) => promptIds[i] as number[]);
      const promptTexts = rows.map((i) => prompts[i] as string);

      // 1. roll out
      const tGen = performance.now();
      const q = padLeft(queries, pad); // (B, P)
      const P = q.inputIds.size(1);
      let gen;
      try {
        gen = generate(policy, q, {
          maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
          eosTokenId: eos, padTokenId: pad, seed: rolloutSeed(cfg.seed, it), dtype: cfg.rolloutDtype,
        });
      } finally {
        q.inputIds.dispose();
        q.attentionMask.dispose();
      }
      gen.sequences.dispose();
      gen.responseMask.dispose();
      const responses = gen.responseIds; // up to and including EOS
      const endedWithEos = gen.finishReason.map((r) => r === 'eos');
      const R = Math.max(1, ...responses.map((r) => r.length));
      const responseTexts = responses.map((r) => tokenizer.decode(r, { skipSpecialTokens: true }));

      // 2. score prompt + response (the text, re-tokenised by the reward model's tokenizer, no EOS)
      const tScore = performance.now();
      const scores = rewardModel ? scoreTexts(rewardModel, rewardTokenizer, promptTexts, responseTexts) : await (rewardFn as RewardFn)(promptTexts, responseTexts);
      const rawScores = [...scores];
      if (cfg.missingEosPenalty !== null) for (let b = 0; b < B; b++) if (!endedWithEos[b]) scores[b] = (scores[b] as number) - cfg.missingEosPenalty;

      // 3.–5. under one scope: everything the epochs need is kept, the rest freed
      const tTrainStart = performance.now();
      const rollout = tidy(() => {
        const seqRows = rows.map((_, b) => {
          const qRow = (queries[b] as number[]);
          const r = responses[b] as number[];
          return [...new Array<number>(P - qRow.length).fill(pad), ...qRow, ...r, ...new Array<number>(R - r.length).fill(pad)];
        });
        const maskRows = rows.map((_, b) => {
          const n = (queries[b] as number[]).length;
          const r = (responses[b] as number[]).length;
          return [...new Array<number>(P - n).fill(0), ...new Array<number>(n).fill(1), ...new Array<number>(r).fill(1), ...new Array<number>(R - r).fill(0)];
        });
        const seq = tensor(seqRows, { dtype: 'int64' }); // (B, P+R)
        const mask = tensor(maskRows, { dtype: 'int64' }); // (B, P+R)
        const targets = seq.narrow(1, P, R).contiguous(); // (B, R)
        const respMask = mask.narrow(1, P, R).float().contiguous(); // (B, R) 1 up to and including EOS
        // 3. log-probs of the sampled tokens under policy and reference (logits / T), and values
        const lp: Tensor[] = [];
        const refLp: Tensor[] = [];
        const vals: Tensor[] = [];
        noGrad(() =>
          maybeAutocast(cfg.dtype, () => {
            for (let s = 0; s < B; s += ROLLOUT_CHUNK) {
              const n = Math.min(ROLLOUT_CHUNK, B - s);
              const [sq, mk, tg] = [seq.narrow(0, s, n), mask.narrow(0, s, n), targets.narrow(0, s, n)];
              lp.push(responseLogprobs(policy, sq, mk, tg, P, { temperature: cfg.temperature }).logprobs);
              refLp.push(responseLogprobs(ref, sq, mk, tg, P, { temperature: cfg.temperature }).logprobs);
              vals.push(valueModel.forward(sq, { attentionMask: mk }).values.narrow(1, P - 1, R).float()); // (b, R) V(s_t) before token t
            }
          }),
        );
        const logprobs = cat(lp, 0); // (B, R)
        const refLogprobs = cat(refLp, 0); // (B, R)
        const values = cat(vals, 0).mul(respMask); // (B, R)
        // 4. per-token rewards: −β·KL, plus the score on the last response token
        const lastIndex = tensor(responses.map((r) => Math.max(0, r.length - 1)), { dtype: 'int64' }); // (B)
        const scoreT = tensor(scores); // (B)
        const kl = klPenaltyRewards(logprobs, refLogprobs, respMask, scoreT, klCtl.value, cfg.klEstimator, lastIndex);
        const rewards = cfg.whitenRewards ? whiten(kl.rewards, respMask, false) : kl.rewards; // (B, R)
        // 5. GAE, returns, whitened advantages
        const { advantages, returns } = gae(rewards, values, respMask, cfg.gamma, cfg.lam); // (B, R) each
        const adv = whiten(advantages, respMask).mul(respMask); // (B, R)
        return {
          seq, mask, targets, respMask, logprobs, values, returns, advantages: adv,
          klPerSeq: kl.stats['objective/kl'], nonScore: kl.stats['objective/non_score_reward'], entropySeq: kl.stats['objective/entropy'],
        };
      });
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
      disposeAll(rollout);
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
        'time/generation': (tScore - tGen) / 1000,
        'time/scoring': (tTrainStart - tScore) / 1000,
        'time/training': (tEnd - tTrainStart) / 1000,
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
    await saveFinalModel(policy, out, tokenizer, cfg); // rlhf_config.json, written last, marks the run finished
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
