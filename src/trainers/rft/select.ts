// Which best-of-n responses a round of rejection-sampling fine-tuning trains on. Per prompt x_i the
// best of n samples is y*_i = argmax_k r(x_i, y_i,k) (src/generation/best-of-n.ts); it is kept when
//   r(x_i, y*_i) ≥ τ                                  (ReST's Improve-step filter, Gulcehre et al. 2023;
//                                                       expert iteration keeps the correct ones, τ = 1)
//   rank_i < ⌈f · P⌉, ranking the round's P prompts by r(x_i, y*_i), highest first, ties by prompt order
//                                                      (RAFT's reward ranking, Dong et al. 2023)
// With τ unset and f = 1 every prompt's best response is kept.

export interface SelectOptions {
  /** τ: keep only scores ≥ τ; null: no threshold. */
  minReward: number | null;
  /** f in (0, 1]: keep only the top ⌈f · P⌉ of the P prompts. */
  topFraction: number;
}

/** Indices (ascending) of the prompts whose best response is kept, from the best scores r(x_i, y*_i). */
export function selectKept(bestScores: readonly number[], o: SelectOptions): number[] {
  const P = bestScores.length;
  if (!(o.topFraction > 0 && o.topFraction <= 1)) throw new RangeError(`topFraction must be in (0, 1], got ${o.topFraction}`);
  const quota = Math.ceil(o.topFraction * P);
  const ranked = bestScores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]); // highest first, stable
  const inTop = new Set(ranked.slice(0, quota).map(([, i]) => i));
  const kept: number[] = [];
  for (let i = 0; i < P; i++) {
    const s = bestScores[i] as number;
    if (inTop.has(i) && (o.minReward === null || s >= o.minReward)) kept.push(i);
  }
  return kept;
}
