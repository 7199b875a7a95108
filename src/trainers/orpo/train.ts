// ORPO, top to bottom:
//   1. the policy from --model (a base or SFT model: ORPO folds the SFT stage in); no reference
//      model; dropout off (TRL's disable_dropout)
//   2. preference pairs tokenised as prompt + chosen / prompt + rejected, loss on the responses
//      (the same data path, truncation and held-out split as DPO)
//   3. train on L_SFT + λ·L_OR (loss.ts) over the policy's log-probs of chosen and rejected
//   4. evaluate NLL, odds ratios, reward accuracy and margins on the held-out pairs; save the policy
import { manualSeed } from '../../torch/index.js';
import type { PreferenceExample } from '../../data/index.js';
import { prepareOutDir, type TrainResult } from '../common/setup.js';
import { runLoop } from '../common/loop.js';
import { loadTrainingPolicy, loopParts, saveTrainedModel } from '../common/lora.js';
import { evaluateInBatches, pairLogprobs, preferenceSplit } from '../common/preference.js';
import type { TrainerHooks } from '../sft/train.js';
import { orpoLoss } from './loss.js';
import { orpoConfig, type ORPOConfig, type ORPOConfigInput } from './config.js';

/** The trained policy and its metrics; `eval`: NLL, odds ratios, reward accuracy and margins on the held-out pairs. */
export type ORPOResult = TrainResult<ORPOConfig>;

export async function orpo(input: ORPOConfigInput, hooks: TrainerHooks = {}): Promise<ORPOResult> {
  const cfg = orpoConfig.parse(input);
  const say = hooks.onLog ?? ((): void => {});
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 1. policy (and LoRA adapters, when --lora-r is set)
  const { model, tokenizer, lora, pad, maxLength } = await loadTrainingPolicy(cfg, 'ORPO', say);
  try {
    // 2. pairs
    const { train, eval: held } = preferenceSplit(cfg, tokenizer, { ...cfg, maxLength }, say);
    say(`orpo: ${train.length} training pairs, ${held.length} held out`);

    // 3. the loss on a batch of pairs (indices into one split)
    const lossOf = (pairs: readonly PreferenceExample[], idx: readonly number[]) => {
      const pi = pairLogprobs(model, idx.map((i) => pairs[i] as PreferenceExample), pad);
      const f = (lp: typeof pi.chosen) => ({ sum: lp.sum.float(), count: lp.count });
      return orpoLoss(f(pi.chosen), f(pi.rejected), cfg.beta);
    };
    const loop = await runLoop({
      cfg, out, label: 'orpo', trainSize: train.length, ...loopParts(model, lora), dropout: false,
      progressStream: hooks.progressStream,
      loss: (idx) => lossOf(train, idx),
      // 4. held-out NLL, odds ratios, reward accuracy and margins (at --eval-every and at the end)
      evaluate: held.length ? () => evaluateInBatches(held.length, cfg.batchSize, cfg.dtype, (idx) => lossOf(held, idx)) : undefined,
    });

    // with LoRA: the adapter, then merged into the model returned
    await saveTrainedModel(model, lora, out, tokenizer, cfg);
    return { model, tokenizer, history: loop.history, eval: loop.eval, config: cfg };
  } catch (err) {
    lora?.dispose();
    model.dispose();
    throw err;
  }
}
