// KTO, top to bottom:
//   1. the policy from --model (with LoRA adapters when --lora-r is set); the reference: --ref-model
//      (the frozen SFT model), or a frozen copy of the policy — with LoRA, the policy with its
//      adapters off (no copy); dropout off (TRL's disable_dropout)
//   2. examples (kto/data.ts): KTO rows (prompt, completion, label) or preference pairs split into
//      a desirable and an undesirable example; shuffled once, cut into fixed batches, and within
//      each batch every prompt gets another example's completion (the KL completion, for z0)
//   3. reference log-probs of every completion and every KL completion, once, before training
//      (TRL's precompute_ref_log_probs); then the reference is freed: training holds one model
//   4. train on the KTO loss (loss.ts): the policy's log-probs of the batch's completions (with
//      gradients) and of its KL completions (without: z0 is detached), batches in their fixed order
//   5. evaluate on the held-out examples — loss, z0, rewards of desirable and undesirable
//      completions, the fraction whose implicit reward has the label's sign and, for preference
//      pairs, DPO's pairwise reward accuracy and margin — and save the policy
import type { Tensor } from '../../torch/tensor.js';
import { manualSeed, noGrad, tensor, tidy } from '../../torch/index.js';
import { prepareOutDir, TrainerError, maybeAutocast, type TrainResult } from '../common/setup.js';
import { runLoop } from '../common/loop.js';
import { adapterDisabledReference, loadTrainingPolicy, loopParts, saveTrainedModel } from '../common/lora.js';
import { frozenLogprobs, loadReference, responseSequenceLogprobs, type ResponseRow } from '../common/preference.js';
import type { TrainerHooks } from '../sft/train.js';
import { ktoSplit, type KtoItem } from './data.js';
import { ktoLoss } from './loss.js';
import { ktoConfig, type KTOConfig, type KTOConfigInput } from './config.js';

/** The trained policy and its metrics; `eval`: the loss, z0 and rewards on the held-out examples (heldOutMetrics). */
export type KTOResult = TrainResult<KTOConfig>;

/** Reference log-probs of each example's completion and of its KL completion (sums over tokens). */
interface RefLogps {
  completion: number[];
  kl: number[];
}

const completionRows = (xs: readonly KtoItem[]): ResponseRow[] => xs.map((e) => ({ promptIds: e.promptIds, responseIds: e.completionIds }));
const klRows = (xs: readonly KtoItem[]): ResponseRow[] => xs.map((e) => ({ promptIds: e.promptIds, responseIds: e.klCompletionIds }));

/**
 * TRL's check of eq. 8 (Ethayarajh et al. 2024): with n_D desirable and n_U undesirable examples,
 * λ_D·n_D / (λ_U·n_U) should lie in [1, 4/3]. Returns advice when it does not (and the counts differ), else null.
 */
export function weightAdvice(nD: number, nU: number, desirableWeight: number, undesirableWeight: number): string | null {
  if (nD === nU || nD === 0 || nU === 0) return null;
  const r = (desirableWeight * nD) / (undesirableWeight * nU);
  if (r >= 1 && r <= 4 / 3) return null;
  const round = (x: number): string => x.toFixed(2);
  const d = [(nU * undesirableWeight) / nD, ((nU * undesirableWeight) / nD) * (4 / 3)];
  const u = [((nD * desirableWeight) / nU) * (3 / 4), (nD * desirableWeight) / nU];
  return `kto: ${nD} desirable and ${nU} undesirable examples give λ_D·n_D / (λ_U·n_U) = ${round(r)}, outside [1, 4/3] (Ethayarajh et al. 2024 eq. 8); ` +
    `consider --desirable-weight in [${round(d[0] as number)}, ${round(d[1] as number)}] or --undesirable-weight in [${round(u[0] as number)}, ${round(u[1] as number)}] (not both)`;
}

export async function kto(input: KTOConfigInput, hooks: TrainerHooks = {}): Promise<KTOResult> {
  const cfg = ktoConfig.parse(input);
  const say = hooks.onLog ?? ((): void => {});
  if (cfg.batchSize < 2) {
    throw new TrainerError(`--batch-size ${cfg.batchSize}: KTO estimates its reference point z0 from the other completions of a batch, so it needs --batch-size 2 or more (TRL's rule); use --grad-accum to keep memory small.`);
  }
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 1. policy, LoRA adapters when --lora-r is set (and, below, the reference)
  const { model, tokenizer, lora, pad, maxLength } = await loadTrainingPolicy(cfg, 'KTO', say);
  try {
    // 2. examples with their KL completions
    const { train, eval: held, source } = ktoSplit(cfg, tokenizer, { ...cfg, maxLength }, say);
    const nD = train.filter((e) => e.label).length;
    say(`kto: ${train.length} training examples (${nD} desirable, ${train.length - nD} undesirable${source === 'preference' ? ', from preference pairs' : ''}), ${held.length} held out`);
    const advice = weightAdvice(nD, train.length - nD, cfg.desirableWeight, cfg.undesirableWeight);
    if (advice) say(advice);

    // 3. reference log-probs, once
    // with LoRA (and no --ref-model) the reference is the policy with its adapters off: no copy
    const ref = lora && !cfg.refModel ? adapterDisabledReference(model, lora) : await loadReference(cfg.refModel, model);
    let refTrain: RefLogps, refHeld: RefLogps;
    try {
      const of = (xs: KtoItem[]): RefLogps => {
        const lp = frozenLogprobs(ref, [...completionRows(xs), ...klRows(xs)], { batchSize: 2 * cfg.batchSize, dtype: cfg.dtype, pad, progressStream: hooks.progressStream });
        return { completion: lp.sum.slice(0, xs.length), kl: lp.sum.slice(xs.length) };
      };
      refTrain = of(train);
      refHeld = of(held);
    } finally {
      ref.dispose();
    }

    // 4. the loss on one batch (indices into one split)
    const terms = (xs: readonly KtoItem[], r: RefLogps, idx: readonly number[]) => {
      const batch = idx.map((i) => xs[i] as KtoItem);
      const pi = responseSequenceLogprobs(model, completionRows(batch), pad).sum.float(); // (B) log π(y|x)
      const piKl = noGrad(() => responseSequenceLogprobs(model, klRows(batch), pad).sum.float()); // (B) log π(y'|x), no gradient
      return {
        pi,
        piKl,
        ref: tensor(idx.map((i) => r.completion[i] as number)), // (B)
        refKl: tensor(idx.map((i) => r.kl[i] as number)), // (B)
        desirable: tensor(batch.map((e) => e.label)), // (B) bool
      };
    };
    const lossOf = (xs: readonly KtoItem[], r: RefLogps, idx: readonly number[]) => {
      const t = terms(xs, r, idx);
      return ktoLoss(t.pi, t.ref, t.desirable, t.piKl, t.refKl, cfg.beta, cfg.desirableWeight, cfg.undesirableWeight);
    };

    // 5. held-out: the loss and z0 per batch (the KL completions' batches), rewards per example
    const evaluate = (): Record<string, number> => {
      const reward = new Array<number>(held.length); // β·(log π − log π_ref)
      const logps = new Array<number>(held.length); // log π
      let loss = 0, kl = 0;
      for (let i = 0; i < held.length; i += cfg.batchSize) {
        const idx = Array.from({ length: Math.min(cfg.batchSize, held.length - i) }, (_, k) => i + k);
        const r = noGrad(() => tidy(() => maybeAutocast(cfg.dtype, () => {
          const t = terms(held, refHeld, idx);
          const out = ktoLoss(t.pi, t.ref, t.desirable, t.piKl, t.refKl, cfg.beta, cfg.desirableWeight, cfg.undesirableWeight);
          return { loss: out.loss.item(), kl: out.stats.kl.item(), rewards: t.pi.sub(t.ref).mul(cfg.beta).toFlatArray(), logps: t.pi.toFlatArray() };
        })));
        loss += r.loss * idx.length;
        kl += r.kl * idx.length;
        idx.forEach((j, k) => {
          reward[j] = r.rewards[k] as number;
          logps[j] = r.logps[k] as number;
        });
      }
      return heldOutMetrics(held, reward, logps, loss / held.length, kl / held.length);
    };

    const loop = await runLoop({
      cfg, out, label: 'kto', trainSize: train.length, ...loopParts(model, lora), dropout: false, sequential: true,
      progressStream: hooks.progressStream,
      loss: (idx) => lossOf(train, refTrain, idx),
      evaluate: held.length ? evaluate : undefined,
    });

    await saveTrainedModel(model, lora, out, tokenizer, cfg);
    return { model, tokenizer, history: loop.history, eval: loop.eval, config: cfg };
  } catch (err) {
    lora?.dispose();
    model.dispose();
    throw err;
  }
}

/**
 * Held-out metrics from each example's implicit reward β·r and policy log-prob (the loop prefixes
 * "eval/"): the loss and z0 (batch means), rewards/chosen and rewards/rejected (means over desirable
 * / undesirable examples), rewards/margins (their difference), rewards/sign_accuracy, logps/chosen
 * and logps/rejected; and, when examples come in pairs, rewards/accuracies — the fraction of pairs
 * whose chosen reward beats the rejected one, as DPO reports it.
 */
export function heldOutMetrics(examples: readonly KtoItem[], reward: readonly number[], logps: readonly number[], loss: number, kl: number): Record<string, number> {
  const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const where = (xs: readonly number[], label: boolean): number[] => examples.flatMap((e, i) => (e.label === label ? [xs[i] as number] : []));
  const right = examples.filter((e, i) => (e.label ? (reward[i] as number) > 0 : (reward[i] as number) < 0)).length;
  const out: Record<string, number> = {
    loss,
    kl,
    'rewards/chosen': mean(where(reward, true)),
    'rewards/rejected': mean(where(reward, false)),
    'rewards/margins': mean(where(reward, true)) - mean(where(reward, false)),
    'rewards/sign_accuracy': examples.length ? right / examples.length : 0,
    'logps/chosen': mean(where(logps, true)),
    'logps/rejected': mean(where(logps, false)),
  };
  const pairs = new Map<number, { c?: number; r?: number }>();
  examples.forEach((e, i) => {
    if (e.pair === null) return;
    const p = pairs.get(e.pair) ?? {};
    if (e.label) p.c = reward[i];
    else p.r = reward[i];
    pairs.set(e.pair, p);
  });
  const complete = [...pairs.values()].filter((p): p is { c: number; r: number } => p.c !== undefined && p.r !== undefined);
  if (complete.length) out['rewards/accuracies'] = complete.filter((p) => p.c > p.r).length / complete.length;
  return out;
}
