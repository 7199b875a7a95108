// What the offline preference trainers share (DPO, ORPO, SimPO, and KTO through its unpaired
// examples): preference pairs read, tokenised and split; sequence log-probs of responses; the
// frozen reference and its log-probs computed once, before training; held-out evaluation in
// batches. (TRL's reward stats are in preference-stats.ts.) Each trainer's loss and its top-to-bottom loop stay its own.
import * as torch from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { copyModel, loadPretrained } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { PREFERENCE_FORMATS, collatePreference, collateSft, readDataset, tokenizePreference, type PreferenceExample, type PreferenceRow } from '../../data/index.js';
import { labelledSequenceLogprobs, type SequenceLogprobs } from './logprobs.js';
import type { LossOutput } from './masked.js';
import { maybeAutocast, trainAndHeldOut, TrainerError } from './setup.js';
import { Progress, type ProgressStream } from '../../cli/progress.js';

/** A prompt and one response to score, as token ids. */
export interface ResponseRow {
  promptIds: readonly number[];
  responseIds: readonly number[];
}

export interface PreferenceDataOptions {
  columns: Record<string, string>;
  skipInvalid: boolean;
  /** prompt + response tokens (already capped by the model's n_positions). */
  maxLength: number;
  maxPromptLength: number;
}

/** Preference rows → pairs of ids, truncated as DPO does (prompt kept from its end, responses from their start). */
export function tokenizePairs(rows: readonly PreferenceRow[], tokenizer: Tokenizer, o: Pick<PreferenceDataOptions, 'maxLength' | 'maxPromptLength'>): PreferenceExample[] {
  return tokenizePreference(rows, tokenizer, { maxLength: o.maxLength, maxPromptLength: Math.min(o.maxPromptLength, o.maxLength - 1) });
}

/** Refuses a split that left nothing to train on (a TrainerError naming --data). */
export function requireTraining<T>(train: readonly T[], data: string, what: 'pairs' | 'examples'): void {
  if (train.length === 0) throw new TrainerError(`${data} gave no training ${what} after the eval split.`);
}

/**
 * Training and held-out pairs: all of --data for training and --eval-data held out, or a seeded
 * --eval-split of --data (the same pairs for every trainer given the same file, split and seed).
 * A TrainerError when no training pair is left.
 */
export function preferenceSplit(
  cfg: { data: string; evalData: string | null; evalSplit: number; seed: number },
  tokenizer: Tokenizer,
  o: PreferenceDataOptions,
  say: (line: string) => void,
): { train: PreferenceExample[]; eval: PreferenceExample[] } {
  const load = (file: string): PreferenceExample[] => {
    const ds = readDataset(file, { columns: o.columns, skipInvalid: o.skipInvalid, expectFormat: PREFERENCE_FORMATS });
    if (ds.skipped > 0) say(`skipped ${ds.skipped} malformed rows of ${file}`);
    return tokenizePairs(ds.rows, tokenizer, o);
  };
  const split = trainAndHeldOut(load(cfg.data), cfg.evalData ? load(cfg.evalData) : null, cfg.evalSplit, cfg.seed);
  requireTraining(split.train, cfg.data, 'pairs');
  return split;
}

/** The pairs as rows to score: every prompt + chosen first, then every prompt + rejected (2n rows). */
export function pairRows(pairs: readonly PreferenceExample[]): ResponseRow[] {
  return [...pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.chosenIds })), ...pairs.map((p) => ({ promptIds: p.promptIds, responseIds: p.rejectedIds }))];
}

/** Σ_t log π(y_t | x, y_<t) over each row's response tokens, and their count: (B) each. One forward over the right-padded (B, T) batch. */
export function responseSequenceLogprobs(model: CausalLM, rows: readonly ResponseRow[], pad: number): SequenceLogprobs {
  const b = collateSft(rows.map((r) => ({ inputIds: [...r.promptIds, ...r.responseIds], lossMask: [...r.promptIds.map(() => 0), ...r.responseIds.map(() => 1)] })), pad); // (B, T)
  return labelledSequenceLogprobs(model, b.inputIds, b.attentionMask, b.labels);
}

/** Chosen and rejected log-probs of a batch of pairs, sums and counts (B) each, from one forward over the (2B, T) batch (TRL's concatenated forward). */
export function pairLogprobs(model: CausalLM, pairs: readonly PreferenceExample[], pad: number): { chosen: SequenceLogprobs; rejected: SequenceLogprobs } {
  const b = collatePreference(pairs, pad); // (2B, T): prompt + chosen rows, then prompt + rejected; labels on the responses
  const { sum, count } = labelledSequenceLogprobs(model, b.inputIds, b.attentionMask, b.labels); // (2B)
  const B = pairs.length;
  return { chosen: { sum: sum.narrow(0, 0, B), count: count.narrow(0, 0, B) }, rejected: { sum: sum.narrow(0, B, B), count: count.narrow(0, B, B) } };
}

/** The reference model: --ref-model, or a copy of the policy as it is now (before training). Frozen, dropout off. */
export async function loadReference(refModel: string | null, policy: CausalLM): Promise<CausalLM> {
  const ref = refModel ? (await loadPretrained(refModel, { tokenizer: false })).model : copyModel(policy);
  ref.eval();
  return ref;
}

/**
 * Log-probs of every row under a frozen model (the reference), computed once, without gradients, in
 * batches of `batchSize` rows (TRL's precompute_ref_log_probs): so training holds one model.
 */
export function frozenLogprobs(
  model: CausalLM,
  rows: readonly ResponseRow[],
  o: { batchSize: number; dtype: 'float32' | 'bfloat16'; pad: number; progressStream?: ProgressStream | undefined },
): { sum: number[]; count: number[] } {
  const sum: number[] = [];
  const count: number[] = [];
  const progress = o.progressStream ? new Progress({ total: rows.length, label: 'reference', unit: 'seq', stream: o.progressStream }) : null;
  for (let i = 0; i < rows.length; i += o.batchSize) {
    const chunk = rows.slice(i, i + o.batchSize);
    const [s, c] = torch.noGrad(() => torch.tidy(() => maybeAutocast(o.dtype, () => {
      const lp = responseSequenceLogprobs(model, chunk, o.pad);
      return [lp.sum.float().toFlatArray(), lp.count.toFlatArray()];
    })));
    sum.push(...(s as number[]));
    count.push(...(c as number[]));
    progress?.update(sum.length);
  }
  progress?.done();
  return { sum, count };
}

/**
 * The mean of the loss and of each stat over `n` held-out examples, taken in batches of
 * `batchSize` indices without gradients, each batch weighted by its size. Names as the trainer
 * logs them; the loop prefixes "eval/".
 */
export function evaluateInBatches(n: number, batchSize: number, dtype: 'float32' | 'bfloat16', lossOf: (indices: number[]) => LossOutput): Record<string, number> {
  const sums: Record<string, number> = {};
  for (let i = 0; i < n; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - i) }, (_, k) => i + k);
    const stats = torch.noGrad(() => torch.tidy(() => {
      const r = maybeAutocast(dtype, () => lossOf(idx));
      return Object.fromEntries([['loss', r.loss.item()], ...Object.entries(r.stats).map(([k, t]) => [k, t.item()])]) as Record<string, number>;
    }));
    for (const [k, v] of Object.entries(stats)) sums[k] = (sums[k] ?? 0) + v * idx.length;
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, n)]));
}
