// DPO, top to bottom:
//   1. the policy from --model; the reference: --ref-model, or a frozen copy of the policy, or
//      none (reference-free); dropout off (TRL's disable_dropout)
//   2. preference pairs tokenised as prompt + chosen / prompt + rejected, loss on the responses
//   3. reference log-probs computed once, before training (TRL's precompute_ref_log_probs), then
//      the reference is freed: training holds one model
//   4. train on the DPO / IPO / conservative-DPO loss (loss.ts) over the policy's log-ratios
//   5. evaluate implicit-reward accuracy and margins on the held-out split; save the policy
import type { Tensor } from '../../torch/tensor.js';
import { manualSeed, noGrad, tensor, tidy } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { copyModel, loadPretrained } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { PREFERENCE_FORMATS, collatePreference, readDataset, tokenizePreference, type PreferenceExample } from '../../data/index.js';
import { prepareOutDir, saveFinalModel, trainAndHeldOut, TrainerError, maybeAutocast } from '../common/setup.js';
import { runLoop } from '../common/loop.js';
import { labelledSequenceLogprobs } from '../common/logprobs.js';
import type { TrainerHooks } from '../sft/train.js';
import { dpoConservativeLoss, dpoSigmoidLoss, ipoLoss } from './loss.js';
import { dpoConfig, type DPOConfig, type DPOConfigInput } from './config.js';

/** A tokenised pair: prompt, chosen and rejected ids. */
type Pair = PreferenceExample;

export interface DPOResult {
  model: CausalLM;
  tokenizer: Tokenizer;
  history: Record<string, number>[];
  eval: Record<string, number>;
  config: DPOConfig;
}

/** Log-probs of chosen and rejected responses, (B) each: sums, or per-token means (IPO). */
function pairLogps(model: CausalLM, pairs: readonly Pair[], pad: number, average: boolean): { chosen: Tensor; rejected: Tensor } {
  const b = collatePreference(pairs, pad); // (2B, T): prompt + chosen rows, then prompt + rejected, labels on the responses
  const { sum, count } = labelledSequenceLogprobs(model, b.inputIds, b.attentionMask, b.labels); // (2B)
  const lp = average ? sum.div(count.clamp(1)) : sum;
  const B = pairs.length;
  return { chosen: lp.narrow(0, 0, B), rejected: lp.narrow(0, B, B) };
}

export async function dpo(input: DPOConfigInput, hooks: TrainerHooks = {}): Promise<DPOResult> {
  const cfg = dpoConfig.parse(input);
  const say = hooks.onLog ?? ((): void => {});
  if (cfg.referenceFree && cfg.refModel) throw new TrainerError('--reference-free and --ref-model contradict each other; pass one.');
  if (cfg.lossType === 'ipo' && cfg.labelSmoothing > 0) throw new TrainerError('--label-smoothing applies to the sigmoid loss (conservative DPO), not to IPO.');
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 1. policy (and, below, the reference)
  const { model, tokenizer } = await loadPretrained(cfg.model);
  try {
    if (!tokenizer) throw new TrainerError(`${cfg.model} has no tokenizer files; DPO needs one to read text.`);
    model.eval();
    const pad = tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
    const maxLength = Math.min(cfg.maxLength, model.config.n_positions);

    // 2. pairs
    const load = (file: string): Pair[] => {
      const ds = readDataset(file, { columns: cfg.columns, skipInvalid: cfg.skipInvalid, expectFormat: PREFERENCE_FORMATS });
      if (ds.skipped > 0) say(`skipped ${ds.skipped} malformed rows of ${file}`);
      return tokenizePreference(ds.rows, tokenizer, { maxLength, maxPromptLength: Math.min(cfg.maxPromptLength, maxLength - 1) });
    };
    const { train, eval: held } = trainAndHeldOut(load(cfg.data), cfg.evalData ? load(cfg.evalData) : null, cfg.evalSplit, cfg.seed);
    if (train.length === 0) throw new TrainerError(`${cfg.data} gave no training pairs after the eval split.`);
    say(`dpo: ${train.length} training pairs, ${held.length} held out`);
    const average = cfg.lossType === 'ipo';

    // 3. reference log-probs, once
    const refOf = new Map<Pair, { chosen: number; rejected: number }>();
    if (!cfg.referenceFree) {
      const ref = cfg.refModel ? (await loadPretrained(cfg.refModel, { tokenizer: false })).model : copyModel(model);
      try {
        ref.eval();
        const everything = [...train, ...held];
        for (let i = 0; i < everything.length; i += cfg.batchSize) {
          const chunk = everything.slice(i, i + cfg.batchSize);
          const [c, r] = noGrad(() => tidy(() => maybeAutocast(cfg.dtype, () => {
            const lp = pairLogps(ref, chunk, pad, average);
            return [lp.chosen.float().toFlatArray(), lp.rejected.float().toFlatArray()];
          })));
          chunk.forEach((p, j) => refOf.set(p, { chosen: c?.[j] as number, rejected: r?.[j] as number }));
        }
      } finally {
        ref.dispose();
      }
    }

    // 4. the loss on a batch of pairs
    const lossOf = (batch: readonly Pair[]): { loss: Tensor; stats: Record<string, Tensor> } => {
      const pi = pairLogps(model, batch, pad, average);
      const refC = cfg.referenceFree ? null : tensor(batch.map((p) => (refOf.get(p) as { chosen: number }).chosen));
      const refR = cfg.referenceFree ? null : tensor(batch.map((p) => (refOf.get(p) as { rejected: number }).rejected));
      const piC = pi.chosen.float();
      const piR = pi.rejected.float();
      const r =
        cfg.lossType === 'ipo' ? ipoLoss(piC, piR, refC, refR, cfg.beta)
        : cfg.labelSmoothing > 0 ? dpoConservativeLoss(piC, piR, refC, refR, cfg.beta, cfg.labelSmoothing)
        : dpoSigmoidLoss(piC, piR, refC, refR, cfg.beta);
      return { loss: r.loss, stats: { ...r.stats, 'logps/chosen': piC.detach().mean(), 'logps/rejected': piR.detach().mean() } };
    };
    const evaluate = (): Record<string, number> => {
      const sums: Record<string, number> = {};
      let n = 0;
      for (let i = 0; i < held.length; i += cfg.batchSize) {
        const chunk = held.slice(i, i + cfg.batchSize);
        const stats = noGrad(() => tidy(() => {
          const r = maybeAutocast(cfg.dtype, () => lossOf(chunk));
          return Object.fromEntries([['loss', r.loss.item()], ...Object.entries(r.stats).map(([k, t]) => [k, t.item()])]) as Record<string, number>;
        }));
        for (const [k, v] of Object.entries(stats)) sums[k] = (sums[k] ?? 0) + v * chunk.length;
        n += chunk.length;
      }
      return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
    };

    const loop = await runLoop({
      cfg, out, label: 'dpo', trainSize: train.length, models: { model }, params: model.parameters(), dropout: false,
      progressStream: hooks.progressStream,
      loss: (rows) => lossOf(rows.map((i) => train[i] as Pair)),
      evaluate: held.length ? evaluate : undefined,
    });

    // 5. save
    await saveFinalModel(model, out, tokenizer, cfg);
    return { model, tokenizer, history: loop.history, eval: loop.eval, config: cfg };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
