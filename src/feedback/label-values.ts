// Turns what an annotator submitted (in terms of the letters they saw) into the canonical stored
// value (in terms of response indices), checking it against the task and the item — and back.
import type { Issue } from './errors.js';
import { InvalidInputError } from './errors.js';
import { editSubmissionSchema, pairwiseSubmissionSchema, parseOrThrow, rankingSubmissionSchema, ratingSubmissionSchema } from './schemas.js';
import type { EditValue, Item, LabelValue, PairwiseValue, RankingValue, RatingValue, Task } from './types.js';

export const LETTERS = 'ABCDEFGHIJ';

function trimmedNote(s: string | undefined): string | undefined {
  const t = s?.trim();
  return t ? t : undefined;
}

/**
 * Validates a submitted value for `item` of `task`, given `shown` (the response indices in the
 * order the annotator saw them: shown[0] was "A"). Throws InvalidInputError naming the field.
 */
export function canonicalValue(task: Task, item: Item, shown: number[], raw: unknown): LabelValue {
  const what = `Invalid ${task.kind} label`;
  switch (task.kind) {
    case 'pairwise': {
      const v = parseOrThrow(pairwiseSubmissionSchema, raw, what);
      const choice = v.choice === 'A' ? shown[0]! : v.choice === 'B' ? shown[1]! : v.choice;
      const reason = trimmedNote(v.reason);
      const out: PairwiseValue = { choice: choice as PairwiseValue['choice'] };
      if (reason) out.reason = reason;
      return out;
    }
    case 'rating': {
      const v = parseOrThrow(ratingSubmissionSchema, raw, what);
      const issues: Issue[] = [];
      for (const d of task.config.dimensions) {
        if (!(d in v.scores)) issues.push({ path: `scores.${d}`, message: `missing "scores.${d}" (a score from 1 to 5)` });
      }
      for (const k of Object.keys(v.scores)) {
        if (!task.config.dimensions.includes(k)) {
          issues.push({ path: `scores.${k}`, message: `unknown dimension "${k}" (this task rates ${task.config.dimensions.join(', ')})` });
        }
      }
      if (issues.length) throw new InvalidInputError(`${what}: ${issues.map((i) => i.message).join('; ')}`, issues);
      const scores: Record<string, number> = {};
      for (const d of task.config.dimensions) scores[d] = v.scores[d]!;
      const out: RatingValue = { scores };
      const comment = trimmedNote(v.comment);
      if (comment) out.comment = comment;
      return out;
    }
    case 'ranking': {
      const v = parseOrThrow(rankingSubmissionSchema, raw, what);
      const n = item.responses.length;
      const expected = LETTERS.slice(0, n).split('');
      const sorted = [...v.ranking].sort();
      if (sorted.length !== n || sorted.some((l, i) => l !== expected[i])) {
        const msg = `"ranking" must list each of ${expected.join(', ')} exactly once, best first`;
        throw new InvalidInputError(`${what}: ${msg}`, [{ path: 'ranking', message: msg }]);
      }
      const out: RankingValue = { ranking: v.ranking.map((l) => shown[LETTERS.indexOf(l)]!) };
      return out;
    }
    case 'edit': {
      const v = parseOrThrow(editSubmissionSchema, raw, what);
      const draft = item.responses[0]?.text;
      const out: EditValue = { text: v.text, edited: draft === undefined || v.text !== draft };
      return out;
    }
  }
}

/** The canonical value as the annotator saw it (letters instead of response indices), for their history. */
export function displayValue(task: Task, value: LabelValue, shown: number[]): Record<string, unknown> {
  const letterOf = (idx: number): string => LETTERS[shown.indexOf(idx)] ?? '?';
  if (task.kind === 'pairwise') {
    const v = value as PairwiseValue;
    return { ...v, choice: typeof v.choice === 'number' ? letterOf(v.choice) : v.choice };
  }
  if (task.kind === 'ranking') return { ranking: (value as RankingValue).ranking.map(letterOf) };
  return { ...value };
}
