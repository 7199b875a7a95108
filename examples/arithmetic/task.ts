// The arithmetic task: "23+48=" → "71". Problems are made here, from a seed, so the example needs
// nothing downloaded; the reward (exact-answer.ts) checks the answer exactly.
import { mulberry32 } from '../../src/data/index.js';

export interface Problem {
  /** "23+48=" */
  prompt: string;
  /** "71" */
  answer: string;
}

/** The sum a prompt asks for, or null when the prompt is not "A+B=". */
export function answerOf(prompt: string): string | null {
  const m = /(\d+)\+(\d+)=\s*$/.exec(prompt);
  return m ? String(Number(m[1]) + Number(m[2])) : null;
}

/**
 * `n` distinct problems a+b with a, b drawn uniformly from [0, 10^digits), in a seeded order. The
 * seed picks the problems; two calls with different seeds share no problem when `exclude` holds the
 * first call's prompts (a held-out set that never appears in training).
 */
export function makeProblems(n: number, seed: number, opts: { digits?: number; exclude?: ReadonlySet<string> } = {}): Problem[] {
  const max = 10 ** (opts.digits ?? 2);
  const rand = mulberry32(seed);
  const seen = new Set<string>(opts.exclude ?? []);
  if (n > max * max - seen.size) throw new RangeError(`makeProblems: only ${max * max - seen.size} problems of ${opts.digits ?? 2} digits are left, ${n} asked`);
  const out: Problem[] = [];
  while (out.length < n) {
    const a = Math.floor(rand() * max);
    const b = Math.floor(rand() * max);
    const prompt = `${a}+${b}=`;
    if (seen.has(prompt)) continue;
    seen.add(prompt);
    out.push({ prompt, answer: String(a + b) });
  }
  return out;
}
