// KTO's examples: unpaired (prompt, completion, desirable?) triples, each with the mismatched "KL
// completion" that estimates the reference point z0.
//
//   KTO rows (prompt, completion, label)   one example each
//   preference pairs (any DPO format)     two examples each: (prompt, chosen, desirable) and
//                                         (prompt, rejected, undesirable) — TRL's
//                                         unpair_preference_dataset. Pairs are split into training
//                                         and held-out BEFORE unpairing, so a pair's halves stay
//                                         together (and every trainer holds out the same pairs).
//
// KL completions (TRL KTOTrainer): the examples are cut into consecutive batches of batch-size and,
// within each batch, completions are rotated by one: (x_1, y_1) … (x_n, y_n) → (x_1, y_n), (x_2, y_1),
// …, (x_n, y_{n−1}), so z0 is estimated from the batch's own completions under other prompts. The
// trainer visits these batches in this fixed order (TRL's sequential sampler). Unlike TRL, the
// examples are first shuffled once (seeded): unpaired preference data would otherwise put a pair's
// two halves side by side, and the "mismatched" pair would share its prompt.
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { KTO_FORMATS, PREFERENCE_FORMATS, mixSeed, mulberry32, readDataset, shuffleInPlace, tokenizeKto, type PreferenceExample } from '../../data/index.js';
import { trainAndHeldOut } from '../common/setup.js';
import { requireTraining, tokenizePairs, type PreferenceDataOptions } from '../common/preference.js';

export interface KtoItem {
  promptIds: number[];
  completionIds: number[];
  /** Another example's completion, to score after this prompt for z0. */
  klCompletionIds: number[];
  /** true: desirable (λ_D), false: undesirable (λ_U). */
  label: boolean;
  /** The index of the preference pair this example came from (among its split's pairs), or null for KTO rows. */
  pair: number | null;
}

type Unpaired = Omit<KtoItem, 'klCompletionIds'>;

/** Each pair → its desirable (chosen) and undesirable (rejected) example, pair by pair (TRL unpair_preference_dataset). */
export function unpairPreferences(pairs: readonly PreferenceExample[]): Unpaired[] {
  return pairs.flatMap((p, i) => [
    { promptIds: p.promptIds, completionIds: p.chosenIds, label: true, pair: i },
    { promptIds: p.promptIds, completionIds: p.rejectedIds, label: false, pair: i },
  ]);
}

/**
 * KL completions by rotation within consecutive batches of `batchSize` (see the top of this file),
 * each cut to fit after its prompt in maxLength. A last batch of one example takes the completion
 * of the example before it.
 */
export function withKlCompletions(examples: readonly Unpaired[], batchSize: number, maxLength: number): KtoItem[] {
  return examples.map((e, i) => {
    const start = i - (i % batchSize);
    const end = Math.min(start + batchSize, examples.length);
    const j = end - start > 1 ? (i === start ? end - 1 : i - 1) : Math.max(0, i - 1);
    const kl = (examples[j] as Unpaired).completionIds;
    return { ...e, klCompletionIds: kl.slice(0, Math.max(0, maxLength - e.promptIds.length)) };
  });
}

export interface KtoData {
  train: KtoItem[];
  eval: KtoItem[];
  /** Whether --data held KTO rows or preference pairs. */
  source: 'kto' | 'preference';
}

/**
 * Training and held-out examples from --data (and --eval-data, or an --eval-split of --data): the
 * split is over units — a KTO row, or a preference pair with its two examples — then each split is
 * shuffled once with the seed and given its KL completions. A TrainerError when no training
 * example is left.
 */
export function ktoSplit(
  cfg: { data: string; evalData: string | null; evalSplit: number; seed: number; batchSize: number },
  tokenizer: Tokenizer,
  o: PreferenceDataOptions,
  say: (line: string) => void,
): KtoData {
  const units = (file: string): { format: 'kto' | 'preference'; units: Unpaired[][] } => {
    const ds = readDataset(file, { columns: o.columns, skipInvalid: o.skipInvalid, expectFormat: [...KTO_FORMATS, ...PREFERENCE_FORMATS] });
    if (ds.skipped > 0) say(`skipped ${ds.skipped} malformed rows of ${file}`);
    if (ds.format === 'preference') return { format: ds.format, units: tokenizePairs(ds.rows, tokenizer, o).map((p) => unpairPreferences([p])) };
    const rows = tokenizeKto(ds.rows, tokenizer, { maxLength: o.maxLength, maxPromptLength: Math.min(o.maxPromptLength, o.maxLength - 1) });
    return { format: ds.format, units: rows.map((e) => [{ ...e, pair: null }]) };
  };
  const main = units(cfg.data);
  const split = trainAndHeldOut(main.units, cfg.evalData ? units(cfg.evalData).units : null, cfg.evalSplit, cfg.seed);
  requireTraining(split.train, cfg.data, 'examples');
  const prepare = (us: Unpaired[][], salt: number): KtoItem[] => {
    const flat = us.flatMap((u, k) => u.map((e) => ({ ...e, pair: u.length === 2 ? k : null }))); // pair = the pair's index in this split
    return withKlCompletions(shuffleInPlace(flat, mulberry32(mixSeed(cfg.seed, salt))), cfg.batchSize, o.maxLength);
  };
  return { train: prepare(split.train, 0x6b74), eval: prepare(split.eval, 0x6b75), source: main.format };
}
