// Scoring text with a reward model — the one place that turns (prompt, response) into reward-model
// input, so training, PPO, evaluation and best-of-n all score exactly the same tokens:
// tokenizer.encode(prompt + response), nothing appended (see rewardInputIds in src/data).
import { noGrad, tidy } from '../../torch/index.js';
import type { ScalarHeadModel } from '../../models/heads.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { padRight, rewardInputIds } from '../../data/index.js';

/**
 * Keeps the last `max` ids: a reward model reads its score at the last token, so the end of a
 * too-long text matters more than its start.
 */
export function keepLast(ids: readonly number[], max: number): number[] {
  return ids.length > max ? ids.slice(ids.length - max) : [...ids];
}

/** Scores of token sequences, in batches, (no gradient). */
export function scoreIds(model: ScalarHeadModel, sequences: readonly (readonly number[])[], padId: number, batchSize = 16): number[] {
  const out: number[] = [];
  const max = model.config.n_positions;
  for (let i = 0; i < sequences.length; i += batchSize) {
    const chunk = sequences.slice(i, i + batchSize).map((s) => keepLast(s, max));
    const scores = noGrad(() =>
      tidy(() => {
        const { inputIds, attentionMask } = padRight(chunk, padId); // (b, L)
        return model.forward(inputIds, { attentionMask }).scores.float().toFlatArray(); // (b)
      }),
    );
    out.push(...scores);
  }
  return out;
}

/** r(prompt, response) for each pair under a reward model. */
export function scoreTexts(model: ScalarHeadModel, tokenizer: Tokenizer, prompts: readonly string[], responses: readonly string[], batchSize = 16): number[] {
  const ids = prompts.map((p, i) => rewardInputIds(tokenizer, p, responses[i] ?? ''));
  return scoreIds(model, ids, tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0, batchSize);
}
