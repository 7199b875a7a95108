// Evaluation metrics on plain number arrays: classification (binary, positive class 1),
// correlation, preference accuracy, win rates, and summary statistics. No tensors: a reward
// model's scores come to the host once, then these run in JavaScript.
//
// Conventions: paired arrays must have the same length (RangeError otherwise); an empty input
// gives NaN for a mean-like metric; precision, recall and F1 give 0 for 0/0 (as scikit-learn's
// zero_division=0); a correlation with a constant input is NaN (as scipy).

function samePairs(what: string, a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length) throw new RangeError(`${what}: the arrays differ in length (${a.length} vs ${b.length}); pass one value per example in each`);
}

// ----- summary statistics ---------------------------------------------------------------------

/** Arithmetic mean; NaN for []. */
export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Variance Σ(x − x̄)²/(n − ddof); ddof 1 (sample, as torch and pandas) by default, 0 for numpy's. NaN when n ≤ ddof. */
export function variance(xs: readonly number[], ddof = 1): number {
  const n = xs.length;
  if (n <= ddof) return Number.NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return s / (n - ddof);
}

/** Standard deviation √variance(xs, ddof). */
export function std(xs: readonly number[], ddof = 1): number {
  return Math.sqrt(variance(xs, ddof));
}

/** The q-quantile (q in [0, 1]) with linear interpolation between order statistics (numpy's default). NaN for []. */
export function quantile(xs: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return (sorted[lo] as number) + (pos - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (ddof 1). */
  std: number;
  min: number;
  q25: number;
  median: number;
  q75: number;
  max: number;
}

/** n, mean, std, min, quartiles, max: one line of a report. */
export function summarize(xs: readonly number[]): Summary {
  return {
    n: xs.length,
    mean: mean(xs),
    std: std(xs),
    min: xs.length ? Math.min(...xs) : Number.NaN,
    q25: quantile(xs, 0.25),
    median: quantile(xs, 0.5),
    q75: quantile(xs, 0.75),
    max: xs.length ? Math.max(...xs) : Number.NaN,
  };
}

// ----- binary classification (positive class 1) ---------------------------------------------

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Counts of predicted × true labels; a label is positive when it equals 1. */
export function confusion(pred: readonly number[], label: readonly number[]): Confusion {
  samePairs('confusion', pred, label);
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  pred.forEach((p, i) => {
    const y = label[i] === 1;
    if (p === 1) y ? c.tp++ : c.fp++;
    else y ? c.fn++ : c.tn++;
  });
  return c;
}

/** Fraction of predictions equal to their labels; NaN for []. */
export function accuracy(pred: readonly number[], label: readonly number[]): number {
  samePairs('accuracy', pred, label);
  return mean(pred.map((p, i) => (p === label[i] ? 1 : 0)));
}

/** tp/(tp + fp); 0 when nothing is predicted positive. */
export function precision(pred: readonly number[], label: readonly number[]): number {
  const { tp, fp } = confusion(pred, label);
  return tp + fp === 0 ? 0 : tp / (tp + fp);
}

/** tp/(tp + fn); 0 when no label is positive. */
export function recall(pred: readonly number[], label: readonly number[]): number {
  const { tp, fn } = confusion(pred, label);
  return tp + fn === 0 ? 0 : tp / (tp + fn);
}

/** 2·P·R/(P + R) = 2tp/(2tp + fp + fn); 0 when there is no positive at all (prediction or label). */
export function f1(pred: readonly number[], label: readonly number[]): number {
  const { tp, fp, fn } = confusion(pred, label);
  return 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

// ----- correlation ----------------------------------------------------------------------------

/** Pearson's r = cov(x, y)/(σx·σy); NaN when either is constant or n < 2. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  samePairs('pearson', x, y);
  if (x.length < 2) return Number.NaN;
  const mx = mean(x), my = mean(y);
  let sxy = 0, sxx = 0, syy = 0;
  x.forEach((xi, i) => {
    const dx = xi - mx, dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  });
  if (sxx === 0 || syy === 0) return Number.NaN;
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks 1…n; tied values share the average of their ranks (scipy.stats.rankdata 'average'). */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && (order[j + 1] as readonly [number, number])[0] === (order[i] as readonly [number, number])[0]) j++;
    const avg = (i + j) / 2 + 1; // ranks i+1 … j+1
    for (let k = i; k <= j; k++) r[(order[k] as readonly [number, number])[1]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's ρ: Pearson's r of the average ranks (handles ties as scipy.stats.spearmanr). */
export function spearman(x: readonly number[], y: readonly number[]): number {
  samePairs('spearman', x, y);
  return pearson(ranks(x), ranks(y));
}

// ----- preferences ----------------------------------------------------------------------------

/** Fraction of pairs where the chosen response scores strictly higher (a tie counts as wrong, as the BT loss's accuracy). */
export function pairwiseAccuracy(chosenScores: readonly number[], rejectedScores: readonly number[]): number {
  samePairs('pairwiseAccuracy', chosenScores, rejectedScores);
  return mean(chosenScores.map((c, i) => (c > (rejectedScores[i] as number) ? 1 : 0)));
}

/** mean(chosen − rejected). */
export function meanMargin(chosenScores: readonly number[], rejectedScores: readonly number[]): number {
  samePairs('meanMargin', chosenScores, rejectedScores);
  return mean(chosenScores.map((c, i) => c - (rejectedScores[i] as number)));
}

/** How often a beats b, pair by pair (a[i] vs b[i]): a win counts 1, a tie ½, a loss 0. NaN for []. */
export function winRate(a: readonly number[], b: readonly number[]): number {
  samePairs('winRate', a, b);
  return mean(a.map((x, i) => (x > (b[i] as number) ? 1 : x === b[i] ? 0.5 : 0)));
}
