// Inter-annotator agreement: Cohen's kappa (two raters), Fleiss' kappa (many raters, categories)
// and Krippendorff's alpha (any number of raters, missing data, nominal/ordinal/interval/ratio).
// Each returns null where the coefficient is undefined (no items, or no variation to agree on).

/**
 * Cohen's kappa for two raters who labelled the same items.
 *   κ = (p_o − p_e) / (1 − p_e),  p_o = share of items where they agree,
 *   p_e = Σ_c p_1(c)·p_2(c)  (chance agreement from each rater's own category frequencies).
 * Cohen (1960), "A coefficient of agreement for nominal scales", Educ. Psychol. Meas. 20(1).
 */
export function cohensKappa<T>(pairs: readonly (readonly [T, T])[]): number | null {
  const n = pairs.length;
  if (n === 0) return null;
  const p1 = new Map<T, number>();
  const p2 = new Map<T, number>();
  let agree = 0;
  for (const [a, b] of pairs) {
    if (a === b) agree++;
    p1.set(a, (p1.get(a) ?? 0) + 1);
    p2.set(b, (p2.get(b) ?? 0) + 1);
  }
  const po = agree / n;
  let pe = 0;
  for (const [c, n1] of p1) pe += (n1 / n) * ((p2.get(c) ?? 0) / n);
  if (pe >= 1) return null;
  return (po - pe) / (1 - pe);
}

/**
 * Fleiss' kappa. `counts[i][j]` = how many raters put subject i in category j.
 *   P_i = (Σ_j n_ij² − n_i) / (n_i(n_i − 1)),  P̄ = mean_i P_i,
 *   p_j = Σ_i n_ij / Σ_i n_i,  P̄_e = Σ_j p_j²,  κ = (P̄ − P̄_e) / (1 − P̄_e).
 * Fleiss (1971), "Measuring nominal scale agreement among many raters", Psychol. Bull. 76(5).
 * Subjects with fewer than two ratings carry no agreement and are skipped; with a varying number
 * of raters per subject, P_i uses each subject's own n_i (which reduces to Fleiss' formula when all
 * n_i are equal).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): number | null {
  const rows = counts.filter((r) => r.reduce((a, b) => a + b, 0) >= 2);
  if (rows.length === 0) return null;
  const k = Math.max(...rows.map((r) => r.length));
  const totals = new Array<number>(k).fill(0);
  let sumN = 0;
  let sumP = 0;
  for (const r of rows) {
    const ni = r.reduce((a, b) => a + b, 0);
    let sq = 0;
    r.forEach((nij, j) => {
      sq += nij * nij;
      totals[j]! += nij;
    });
    sumN += ni;
    sumP += (sq - ni) / (ni * (ni - 1));
  }
  const pBar = sumP / rows.length;
  const peBar = totals.reduce((a, t) => a + (t / sumN) ** 2, 0);
  if (peBar >= 1) return null;
  return (pBar - peBar) / (1 - peBar);
}

export type AlphaMetric = 'nominal' | 'ordinal' | 'interval' | 'ratio';

/**
 * Krippendorff's alpha. `units[u]` holds the values the raters gave unit u (missing ratings simply
 * absent); units with fewer than two values are not pairable and are dropped.
 *   o_ck = Σ_u (number of c–k pairs in u) / (m_u − 1)   (coincidence matrix),  n_c = Σ_k o_ck,
 *   α = 1 − D_o / D_e = 1 − (n − 1) · Σ o_ck δ²_ck / Σ n_c n_k δ²_ck.
 * δ²: nominal [c≠k]; interval (c−k)²; ratio ((c−k)/(c+k))²;
 *     ordinal (Σ_{g=c..k} n_g − (n_c + n_k)/2)² over the values in sorted order.
 * Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", Univ. of Pennsylvania.
 */
export function krippendorffAlpha(units: readonly (readonly (number | string)[])[], metric: AlphaMetric = 'nominal'): number | null {
  const pairable = units.filter((u) => u.length >= 2);
  if (pairable.length === 0) return null;
  const values = [...new Set(pairable.flat())];
  if (metric !== 'nominal') {
    if (values.some((v) => typeof v !== 'number')) throw new TypeError(`krippendorffAlpha: the ${metric} metric needs numeric values`);
    (values as number[]).sort((a, b) => a - b);
  }
  const index = new Map(values.map((v, i) => [v, i]));
  const V = values.length;
  const o: number[][] = Array.from({ length: V }, () => new Array<number>(V).fill(0));
  for (const u of pairable) {
    const m = u.length;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        if (i !== j) o[index.get(u[i]!)!]![index.get(u[j]!)!]! += 1 / (m - 1);
      }
    }
  }
  const nc = o.map((row) => row.reduce((a, b) => a + b, 0));
  const n = nc.reduce((a, b) => a + b, 0);
  const delta2 = (c: number, k: number): number => {
    if (c === k) return 0;
    if (metric === 'nominal') return 1;
    const vc = values[c] as number;
    const vk = values[k] as number;
    if (metric === 'interval') return (vc - vk) ** 2;
    if (metric === 'ratio') return vc + vk === 0 ? 0 : ((vc - vk) / (vc + vk)) ** 2;
    const [lo, hi] = c < k ? [c, k] : [k, c];
    let s = 0;
    for (let g = lo; g <= hi; g++) s += nc[g]!;
    return (s - (nc[c]! + nc[k]!) / 2) ** 2;
  };
  let observed = 0;
  let expected = 0;
  for (let c = 0; c < V; c++) {
    for (let k = 0; k < V; k++) {
      const d = delta2(c, k);
      observed += o[c]![k]! * d;
      expected += nc[c]! * nc[k]! * d;
    }
  }
  if (expected === 0) return null;
  return 1 - ((n - 1) * observed) / expected;
}

/** Landis & Koch (1977) reading of a kappa, for the dashboard. */
export function agreementWord(k: number | null): string {
  if (k === null) return 'not enough overlap';
  if (k < 0) return 'worse than chance';
  if (k <= 0.2) return 'slight';
  if (k <= 0.4) return 'fair';
  if (k <= 0.6) return 'moderate';
  if (k <= 0.8) return 'substantial';
  return 'almost perfect';
}
