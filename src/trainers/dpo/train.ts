// DPO, top to bottom:
//   1. the policy from --model; the reference: --ref-model, or a frozen copy of the policy, or
//      none (reference-free); dropout off (TRL's disable_dropout)
//   2. preference pairs tokenised as prompt + chosen / prompt + rejected, loss on the responses
//   3. reference log-probs computed once, before training (TRL's precompute_ref_log_probs), then
//      the reference is freed: training holds one model
//   4. train on the DPO / IPO / conservative-DPO loss (loss.ts) over the policy's log-ratios
//   5. evaluate implicit-reward accuracy and margins on the held-out split; save the policy
import type { Tensor } from '../../torch/tensor.js';
import { manualSeed, tensor } from '../../torch/index.js';
import type { PreferenceExample } from '../../data/index.js';
import { prepareOutDir, TrainerError, type TrainResult } from '../common/setup.js';
import { runLoop } from '../common/loop.js';
import { adapterDisabledReference, loadTrainingPolicy, loopParts, saveTrainedModel } from '../common/lora.js';
import { evaluateInBatches, frozenLogprobs, loadReference, pairLogprobs, pairRows, preferenceSplit } from '../common/preference.js';
import { averageLogps } from '../common/sequence-logps.js';
import type { TrainerHooks } from '../sft/train.js';
import { dpoConservativeLoss, dpoSigmoidLoss, ipoLoss } from './loss.js';
import { dpoConfig, type DPOConfig, type DPOConfigInput } from './config.js';

/** A tokenised pair: prompt, chosen and rejected ids. */
type Pair = PreferenceExample;

/** Reference log-probs of each pair's chosen and rejected response (sums, or per-token means for IPO). */
interface RefLogps {
  chosen: number[];
  rejected: number[];
}

/** The trained policy and its metrics; `eval`: implicit-reward accuracy and margins on the held-out pairs. */
export type DPOResult = TrainResult<DPOConfig>;

export async function dpo(input: DPOConfigInput, hooks: TrainerHooks = {}): Promise<DPOResult> {
  const cfg = dpoConfig.parse(input);
  const say = hooks.onLog ?? ((): void => {});
  if (cfg.referenceFree && cfg.refModel) throw new TrainerError('--reference-free and --ref-model contradict each other; pass one.');
  if (cfg.lossType === 'ipo' && cfg.labelSmoothing > 0) throw new TrainerError('--label-smoothing applies to the sigmoid loss (conservative DPO), not to IPO.');
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 1. policy, LoRA adapters when --lora-r is set (and, below, the reference)
  const { model, tokenizer, lora, pad, maxLength } = await loadTrainingPolicy(cfg, 'DPO', say);
  try {
    // 2. pairs
    const { train, eval: held } = preferenceSplit(cfg, tokenizer, { ...cfg, maxLength }, say);
    say(`dpo: ${train.length} training pairs, ${held.length} held out`);
    const average = cfg.lossType === 'ipo';

    // 3. reference log-probs, once
    let refTrain: RefLogps | null = null;
    let refHeld: RefLogps | null = null;
    if (!cfg.referenceFree) {
      // with LoRA (and no --ref-model) the reference is the policy with its adapters off: no copy
      const ref = lora && !cfg.refModel ? adapterDisabledReference(model, lora) : await loadReference(cfg.refModel, model);
      try {
        const of = (pairs: Pair[]): RefLogps => {
          const lp = frozenLogprobs(ref, pairRows(pairs), { batchSize: 2 * cfg.batchSize, dtype: cfg.dtype, pad, progressStream: hooks.progressStream }); // 2n rows: chosen, then rejected
          const v = lp.sum.map((s, i) => (average ? s / Math.max(1, lp.count[i] as number) : s));
          return { chosen: v.slice(0, pairs.length), rejected: v.slice(pairs.length) };
        };
        refTrain = of(train);
        refHeld = of(held);
      } finally {
        ref.dispose();
      }
    }

    // 4. the loss on a batch of pairs (indices into one split)
    const lossOf = (pairs: readonly Pair[], ref: RefLogps | null, idx: readonly number[]): { loss: Tensor; stats: Record<string, Tensor> } => {
      const pi = pairLogprobs(model, idx.map((i) => pairs[i] as Pair), pad);
      const piC = (average ? averageLogps(pi.chosen) : pi.chosen.sum).float(); // (B)
      const piR = (average ? averageLogps(pi.rejected) : pi.rejected.sum).float(); // (B)
      const refC = ref ? tensor(idx.map((i) => ref.chosen[i] as number)) : null; // (B)
      const refR = ref ? tensor(idx.map((i) => ref.rejected[i] as number)) : null; // (B)
      return cfg.lossType === 'ipo' ? ipoLoss(piC, piR, refC, refR, cfg.beta)
        : cfg.labelSmoothing > 0 ? dpoConservativeLoss(piC, piR, refC, refR, cfg.beta, cfg.labelSmoothing)
        : dpoSigmoidLoss(piC, piR, refC, refR, cfg.beta);
    };

    const loop = await runLoop({
      cfg, out, label: 'dpo', trainSize: train.length, ...loopParts(model, lora), dropout: false,
      progressStream: hooks.progressStream,
      loss: (idx) => lossOf(train, refTrain, idx),
      // 5. implicit-reward accuracy and margins on the held-out pairs (at --eval-every and at the end)
      evaluate: held.length ? () => evaluateInBatches(held.length, cfg.batchSize, cfg.dtype, (idx) => lossOf(held, refHeld, idx)) : undefined,
    });

    // 5. save the policy
    await saveTrainedModel(model, lora, out, tokenizer, cfg);
    return { model, tokenizer, history: loop.history, eval: loop.eval, config: cfg };
  } catch (err) {
    lora?.dispose();
    model.dispose();
    throw err;
  }
}
