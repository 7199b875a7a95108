// Reward-model training, top to bottom:
//   1. the reward model: the SFT model's body plus a scalar head (score.weight (1, C), no bias),
//      scoring a text at its last real token — transformers' *ForSequenceClassification layout
//   2. the feedback, one of three kinds, every text tokenised as rewardInputIds(prompt, response):
//      - preferences (chosen ≻ rejected): Bradley–Terry, −log σ(r_c − r_r − margin) (loss.ts)
//      - ratings on D named dimensions: a (D, C) head regresses the standardised ratings; after
//        training the heads are folded into the one score head, w = Σ_d λ_d·u_d, so the saved
//        model's reward IS the weighted combination (exactly: the head is linear). The D heads
//        are kept in rating_heads.safetensors with the means and stds in rating_heads.json.
//      - labels: binary cross-entropy on the logit, so reward = logit and σ(reward) = P(positive)
//   3. train (AdamW, schedule, accumulation: common/loop.ts), dropout off as TRL does
//   4. evaluate on the held-out split (pairwise accuracy and margin; accuracy, precision, recall,
//      F1; Pearson and Spearman) and save
import { join } from 'node:path';
import type { Tensor } from '../../torch/tensor.js';
import { manualSeed, noGrad, tensor, tidy } from '../../torch/index.js';
import { Linear } from '../../nn/layers.js';
import { saveStateDict } from '../../nn/state-dict.js';
import { lastTokenIndex, type ScalarHeadModel } from '../../models/heads.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { REWARD_FORMATS, padRight, readDataset, rewardExamples, type RewardExample } from '../../data/index.js';
import { accuracy, f1, meanMargin, pairwiseAccuracy, pearson, precision, recall, spearman } from '../../eval/metrics.js';
import { atomicWriteJson } from '../../util/atomic.js';
import { prepareOutDir, trainAndHeldOut, TrainerError } from '../common/setup.js';
import { runLoop } from '../common/loop.js';
import { loadTrainingRewardModel, saveTrainedModel, trainableParameters } from '../common/lora.js';
import type { TrainerHooks } from '../sft/train.js';
import { bradleyTerryLoss, labelBceLoss, ratingRegressionLoss } from './loss.js';
import { rewardConfig, type RewardConfig, type RewardConfigInput } from './config.js';

export interface RewardResult {
  model: ScalarHeadModel;
  tokenizer: Tokenizer;
  kind: 'preference' | 'ratings' | 'labels';
  history: Record<string, number>[];
  /** Held-out metrics of the final model. */
  eval: Record<string, number>;
  config: RewardConfig;
}

/** Scores (B) of right-padded sequences. */
function scores(model: ScalarHeadModel, seqs: readonly (readonly number[])[], pad: number): Tensor {
  const { inputIds, attentionMask } = padRight(seqs, pad); // (B, T)
  return model.forward(inputIds, { attentionMask }).scores.float(); // (B)
}

export async function trainRewardModel(input: RewardConfigInput, hooks: TrainerHooks = {}): Promise<RewardResult> {
  const cfg = rewardConfig.parse(input);
  const say = hooks.onLog ?? ((): void => {});
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 1. the reward model from the SFT model (or an earlier reward model, to continue training it);
  //    with LoRA the score head trains whole beside the adapters (PEFT's modules_to_save)
  const { model, tokenizer, lora, pad, maxLength } = await loadTrainingRewardModel(cfg, 'the reward model', say);
  let dimHead: Linear | null = null;
  try {
    // 2. the feedback
    const load = (file: string): ReturnType<typeof rewardExamples> & { format: string } => {
      const ds = readDataset(file, { columns: cfg.columns, skipInvalid: cfg.skipInvalid, expectFormat: REWARD_FORMATS, positiveLabel: cfg.positiveLabel ?? undefined, dimensions: cfg.dimensions.length ? cfg.dimensions : undefined });
      if (ds.skipped > 0) say(`skipped ${ds.skipped} malformed rows of ${file}`);
      return { ...rewardExamples(ds, tokenizer, { maxLength }), format: ds.format };
    };
    const all = load(cfg.data);
    const kind = all.kind;
    if (cfg.kind !== 'auto' && cfg.kind !== kind) throw new TrainerError(`--kind ${cfg.kind}, but ${cfg.data} holds ${kind} data (${all.format} columns); fix --kind or --columns.`);
    const heldFile = cfg.evalData ? load(cfg.evalData) : null;
    if (heldFile && heldFile.kind !== kind) throw new TrainerError(`--eval-data ${cfg.evalData} holds ${heldFile.kind} data, --data holds ${kind}; they must be the same kind.`);
    const { train, eval: held } = trainAndHeldOut(all.examples as RewardExample[], heldFile ? (heldFile.examples as RewardExample[]) : null, cfg.evalSplit, cfg.seed);
    if (train.length === 0) throw new TrainerError(`${cfg.data} gave no training examples after the eval split.`);
    say(`reward (${kind}): ${train.length} training examples, ${held.length} held out`);

    // Ratings: standardise each dimension on the training split; weights normalised to sum 1.
    const dims = kind === 'ratings' ? all.dimensions : [];
    const D = dims.length;
    const lambda = dims.map((d) => cfg.dimensionWeights[d] ?? (Object.keys(cfg.dimensionWeights).length ? 0 : 1));
    for (const k of Object.keys(cfg.dimensionWeights)) if (!dims.includes(k)) throw new TrainerError(`--dimension-weights names '${k}', which is not a rating column (${dims.join(', ')}).`);
    const lambdaSum = lambda.reduce((a, b) => a + b, 0);
    if (D && !(lambdaSum > 0)) throw new TrainerError('--dimension-weights gives every dimension weight 0.');
    const weights = lambda.map((w) => w / (lambdaSum || 1));
    const stat = dims.map((d) => {
      const xs = train.map((e) => (e as Extract<RewardExample, { kind: 'ratings' }>).scores[d] as number);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1)) || 1;
      return { mean, std };
    });
    if (D) dimHead = new Linear(model.config.n_embd, D, { bias: false, std: model.config.initializer_range });

    const lossOf = (batch: RewardExample[]): { loss: Tensor; stats: Record<string, Tensor> } => {
      if (kind === 'preference') {
        const ex = batch as Extract<RewardExample, { kind: 'preference' }>[];
        const r = scores(model, [...ex.map((e) => e.chosenIds), ...ex.map((e) => e.rejectedIds)], pad); // (2b)
        const b = ex.length;
        const margin = ex.some((e) => e.margin !== undefined) ? tensor(ex.map((e) => e.margin ?? 0)) : undefined;
        const { loss, stats } = bradleyTerryLoss(r.narrow(0, 0, b), r.narrow(0, b, b), { margin, centerRewardsCoefficient: cfg.centerRewardsCoefficient });
        return { loss, stats: { accuracy: stats.accuracy, margin: stats.margin } };
      }
      if (kind === 'labels') {
        const ex = batch as Extract<RewardExample, { kind: 'labels' }>[];
        const logit = scores(model, ex.map((e) => e.ids), pad); // (b)
        const y = tensor(ex.map((e) => e.label)); // (b)
        return labelBceLoss(logit, y);
      }
      const ex = batch as Extract<RewardExample, { kind: 'ratings' }>[];
      const { inputIds, attentionMask } = padRight(ex.map((e) => e.ids), pad);
      const pred = ratingPredictions(model, dimHead as Linear, inputIds, attentionMask); // (b, D)
      const target = tensor(ex.map((e) => dims.map((d, j) => ((e.scores[d] as number) - (stat[j] as { mean: number }).mean) / (stat[j] as { std: number }).std))); // (b, D)
      return ratingRegressionLoss(pred, target, weights, { names: dims });
    };

    const evaluate = (): Record<string, number> => evaluateReward(kind, model, dimHead, held, pad, cfg.batchSize, dims, weights, stat);

    // 3. train
    const params = [...trainableParameters(model, lora), ...(dimHead?.parameters() ?? [])];
    const loop = await runLoop({
      cfg, out, label: 'reward', trainSize: train.length, models: { ...(lora ? { adapter: lora } : { model }), ...(dimHead ? { heads: dimHead } : {}) }, params, dropout: false,
      progressStream: hooks.progressStream,
      loss: (rows) => lossOf(rows.map((i) => train[i] as RewardExample)),
      evaluate: held.length ? evaluate : undefined,
    });

    // 4. fold rating heads into the score head, save
    if (dimHead) {
      const head = dimHead;
      noGrad(() => tidy(() => model.score.weight.copy_(tensor(weights, { shape: [1, D] }).matmul(head.weight)))); // (1, D)·(D, C) → (1, C)
      await saveStateDict(join(out, 'rating_heads.safetensors'), new Map([['weight', head.weight]]));
      await atomicWriteJson(join(out, 'rating_heads.json'), { dimensions: dims, weights, mean: stat.map((s) => s.mean), std: stat.map((s) => s.std), note: 'row d of weight predicts (rating_d − mean_d) / std_d; score.weight = Σ_d weights[d]·weight[d]' });
    }
    await saveTrainedModel(model, lora, out, tokenizer, cfg, { 'reward_eval.json': { kind, ...loop.eval } });
    return { model, tokenizer, kind, history: loop.history, eval: loop.eval, config: cfg };
  } catch (err) {
    lora?.dispose();
    model.dispose();
    throw err;
  } finally {
    dimHead?.dispose();
  }
}

/** (B, D) per-dimension predictions of the rating heads at each row's last real token. */
function ratingPredictions(model: ScalarHeadModel, head: Linear, inputIds: Tensor, attentionMask: Tensor): Tensor {
  const hidden = model.transformer.forward(inputIds, { attentionMask }); // (B, T, C)
  const [B, T] = inputIds.shape as [number, number];
  const last = lastTokenIndex(attentionMask, B, T); // (B)
  const h = hidden.gather(1, last.view(B, 1, 1).expand(B, 1, hidden.size(2))).squeeze(1); // (B, C)
  return head.forward(h); // (B, D)
}

/** Held-out metrics of a reward model for its kind of feedback. */
export function evaluateReward(
  kind: 'preference' | 'ratings' | 'labels',
  model: ScalarHeadModel,
  dimHead: Linear | null,
  held: readonly RewardExample[],
  pad: number,
  batchSize: number,
  dims: readonly string[] = [],
  weights: readonly number[] = [],
  stat: readonly { mean: number; std: number }[] = [],
): Record<string, number> {
  const chunks = <T>(xs: readonly T[]): T[][] => Array.from({ length: Math.ceil(xs.length / batchSize) }, (_, i) => xs.slice(i * batchSize, (i + 1) * batchSize));
  if (kind === 'preference') {
    const ex = held as Extract<RewardExample, { kind: 'preference' }>[];
    const c: number[] = [];
    const r: number[] = [];
    for (const b of chunks(ex)) {
      const s = noGrad(() => tidy(() => scores(model, [...b.map((e) => e.chosenIds), ...b.map((e) => e.rejectedIds)], pad).toFlatArray()));
      c.push(...s.slice(0, b.length));
      r.push(...s.slice(b.length));
    }
    return { accuracy: pairwiseAccuracy(c, r), margin: meanMargin(c, r), n: ex.length };
  }
  if (kind === 'labels') {
    const ex = held as Extract<RewardExample, { kind: 'labels' }>[];
    const logits: number[] = [];
    for (const b of chunks(ex)) logits.push(...noGrad(() => tidy(() => scores(model, b.map((e) => e.ids), pad).toFlatArray())));
    const pred = logits.map((l) => (l > 0 ? 1 : 0));
    const y = ex.map((e) => e.label);
    return { accuracy: accuracy(pred, y), precision: precision(pred, y), recall: recall(pred, y), f1: f1(pred, y), n: ex.length };
  }
  const ex = held as Extract<RewardExample, { kind: 'ratings' }>[];
  const preds: number[][] = [];
  for (const b of chunks(ex)) {
    preds.push(...noGrad(() => tidy(() => {
      const { inputIds, attentionMask } = padRight(b.map((e) => e.ids), pad);
      return ratingPredictions(model, dimHead as Linear, inputIds, attentionMask).toArray() as number[][];
    })));
  }
  const outM: Record<string, number> = { n: ex.length };
  const combinedPred = preds.map((p) => p.reduce((a, v, j) => a + v * (weights[j] as number), 0));
  const combinedTrue = ex.map((e) => dims.reduce((a, d, j) => a + (weights[j] as number) * (((e.scores[d] as number) - (stat[j] as { mean: number }).mean) / (stat[j] as { std: number }).std), 0));
  outM.pearson = pearson(combinedPred, combinedTrue);
  outM.spearman = spearman(combinedPred, combinedTrue);
  dims.forEach((d, j) => {
    outM[`pearson/${d}`] = pearson(preds.map((p) => p[j] as number), ex.map((e) => e.scores[d] as number));
    outM[`spearman/${d}`] = spearman(preds.map((p) => p[j] as number), ex.map((e) => e.scores[d] as number));
  });
  return outM;
}
