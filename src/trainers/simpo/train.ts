// SimPO, top to bottom:
//   1. the policy from --model (an SFT model); no reference model: the reward is the policy's own
//      length-normalised log-prob; dropout off (TRL's disable_dropout)
//   2. preference pairs tokenised as prompt + chosen / prompt + rejected, loss on the responses
//      (the same data path, truncation and held-out split as DPO)
//   3. train on the SimPO loss (loss.ts), with CPO's NLL term when --cpo-alpha > 0
//   4. evaluate reward accuracy and margins on the held-out pairs; save the policy
import { manualSeed } from '../../torch/index.js';
import type { PreferenceExample } from '../../data/index.js';
import { prepareOutDir, type TrainResult } from '../common/setup.js';
import { runLoop } from '../common/loop.js';
import { loadTrainingPolicy, loopParts, saveTrainedModel } from '../common/lora.js';
import { evaluateInBatches, pairLogprobs, preferenceSplit } from '../common/preference.js';
import type { TrainerHooks } from '../sft/train.js';
import { simpoLoss } from './loss.js';
import { simpoConfig, type SimPOConfig, type SimPOConfigInput } from './config.js';

/** The trained policy and its metrics; `eval`: reward accuracy and margins on the held-out pairs. */
export type SimPOResult = TrainResult<SimPOConfig>;

export async function simpo(input: SimPOConfigInput, hooks: TrainerHooks = {}): Promise<SimPOResult> {
  const cfg = simpoConfig.parse(input);
  const say = hooks.onLog ?? ((): void => {});
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 1. policy (and LoRA adapters, when --lora-r is set)
  const { model, tokenizer, lora, pad, maxLength } = await loadTrainingPolicy(cfg, 'SimPO', say);
  try {
    // 2. pairs
    const { train, eval: held } = preferenceSplit(cfg, tokenizer, { ...cfg, maxLength }, say);
    say(`simpo: ${train.length} training pairs, ${held.length} held out`);

    // 3. the loss on a batch of pairs (indices into one split)
    const lossOf = (pairs: readonly PreferenceExample[], idx: readonly number[]) => {
      const pi = pairLogprobs(model, idx.map((i) => pairs[i] as PreferenceExample), pad);
      const f = (lp: typeof pi.chosen) => ({ sum: lp.sum.float(), count: lp.count });
      return simpoLoss(f(pi.chosen), f(pi.rejected), cfg.beta, cfg.simpoGamma, cfg.cpoAlpha);
    };
    const loop = await runLoop({
      cfg, out, label: 'simpo', trainSize: train.length, ...loopParts(model, lora), dropout: false,
      progressStream: hooks.progressStream,
      loss: (idx) => lossOf(train, idx),
      // 4. held-out reward accuracy and margins (at --eval-every and at the end)
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
