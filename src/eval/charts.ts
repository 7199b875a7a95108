// Charts for evaluation reports, rendered on the server: a chart is a Vega-Lite spec (plain JSON, so it can
// also be saved or opened in the Vega editor), compiled to Vega, laid out by a headless Vega View (renderer
// 'none', no canvas or browser) into SVG, and rasterised by resvg to PNG at 2× scale on white.
//
// Fonts: Vega writes text as <text font-family="…">; resvg draws it with the fonts it can find, and draws no
// text at all when it finds none. We load the system fonts and, where Debian's fonts-dejavu-core is installed,
// DejaVu Sans by path, and name DejaVu Sans first in the font stack. A Linux box without any fonts gets an
// error that says what to install instead of a PNG without labels.
//
// vega, vega-lite and @resvg/resvg-js are imported on first use, so importing this file is cheap and a
// missing native resvg binary is reported when a chart is rendered, with the command that fixes it.
import { existsSync, readdirSync } from 'node:fs';
import type { Config, TopLevelSpec } from 'vega-lite';

/** A Vega-Lite spec (https://vega.github.io/vega-lite/docs/spec.html), as the chart builders below make them. */
export type VegaLiteSpec = TopLevelSpec;

export interface RenderedChart {
  /** Standalone SVG document (width/height in CSS pixels, white background). */
  svg: string;
  /** PNG of the same chart at `scale`× (2 by default), white background. */
  png: Uint8Array;
}

export interface RenderOptions {
  /** PNG pixels per SVG pixel. Default 2 (sharp on high-DPI screens and in slides). */
  scale?: number;
  /** Extra .ttf/.otf files for resvg, on top of the system fonts. */
  fontFiles?: string[];
}

/** Rendering failed: a bad spec, or a missing dependency (the message says which and how to install it). */
export class ChartRenderError extends Error {
  override name = 'ChartRenderError';
}

/** Where Debian/Ubuntu's fonts-dejavu-core puts DejaVu Sans. */
export const DEJAVU_SANS = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
/** The font stack written into every chart: DejaVu Sans (present on Debian, what resvg draws with), then fallbacks for browsers. */
export const CHART_FONT = 'DejaVu Sans, Helvetica Neue, Helvetica, Arial, sans-serif';

export const CHART_WIDTH = 560;
export const CHART_HEIGHT = 300;

// A colour-blind-safe categorical palette (Okabe & Ito 2008), in an order whose first colours differ most.
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

/** The look shared by every chart: fonts, sizes, a light grid, no frame. Merged under each spec's own config. */
export const CHART_CONFIG: Config = {
  font: CHART_FONT,
  background: 'white',
  padding: 12,
  view: { stroke: null },
  title: { fontSize: 15, fontWeight: 600, anchor: 'start', color: '#1f2328', offset: 12, subtitleFontSize: 12, subtitleColor: '#57606a' },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 500,
    labelColor: '#424a53',
    titleColor: '#1f2328',
    gridColor: '#e6e8eb',
    domainColor: '#8c959f',
    tickColor: '#8c959f',
    titlePadding: 10,
  },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', direction: 'horizontal', symbolType: 'stroke', symbolStrokeWidth: 3 },
  range: { category: PALETTE },
  line: { strokeWidth: 2 },
  point: { filled: true, size: 36 },
  bar: { color: PALETTE[0] },
};

// ----- rendering ------------------------------------------------------------------------------------------------

/**
 * Renders a Vega-Lite spec to SVG and PNG. The spec's own `config` wins over CHART_CONFIG key by key (one level
 * deep: `{ axis: { labelFontSize: 14 } }` keeps the other axis settings).
 */
export async function renderChart(spec: VegaLiteSpec, options: RenderOptions = {}): Promise<RenderedChart> {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new RangeError(`renderChart: scale must be in (0, 8], got ${scale}`);
  const { vega, vegaLite, Resvg } = await loadRenderers();

  // 1. Vega-Lite → Vega
  let vgSpec;
  try {
    vgSpec = vegaLite.compile({ ...spec, config: mergeConfig(CHART_CONFIG, spec.config) } as VegaLiteSpec).spec;
  } catch (err) {
    throw new ChartRenderError(`renderChart: the Vega-Lite spec does not compile: ${(err as Error).message}`, { cause: err });
  }

  // 2. Vega → SVG, headless
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Warn });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }

  // 3. SVG → PNG
  const fontFiles = [...(options.fontFiles ?? []), ...(existsSync(DEJAVU_SANS) ? [DEJAVU_SANS] : [])];
  if (fontFiles.length === 0 && process.platform === 'linux' && !hasAnyFont()) {
    throw new ChartRenderError('renderChart: no fonts found, so chart text cannot be drawn; install one (Debian/Ubuntu: apt-get install fonts-dejavu-core) or pass fontFiles');
  }
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, fontFiles, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  const png = resvg.render().asPng();
  return { svg, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) };
}

type Renderers = {
  vega: typeof import('vega');
  vegaLite: typeof import('vega-lite');
  Resvg: typeof import('@resvg/resvg-js').Resvg;
};
let renderers: Promise<Renderers> | undefined;

function loadRenderers(): Promise<Renderers> {
  renderers ??= (async () => {
    const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]).catch((err: unknown) => {
      throw new ChartRenderError('renderChart: vega and vega-lite are not installed; run: npm install vega@6 vega-lite@6', { cause: err });
    });
    const resvg = await import('@resvg/resvg-js').catch((err: unknown) => {
      throw new ChartRenderError(
        `renderChart: the resvg native binary did not load (${(err as Error).message}); reinstall with optional dependencies: npm install @resvg/resvg-js (it brings @resvg/resvg-js-${process.platform}-${process.arch}-*)`,
        { cause: err },
      );
    });
    return { vega, vegaLite, Resvg: resvg.Resvg };
  })();
  renderers.catch(() => (renderers = undefined)); // let a later call retry after the user installs what was missing
  return renderers;
}

function mergeConfig(base: Config, over: Config | undefined): Config {
  if (!over) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? { ...b, ...v } : v;
  }
  return out as Config;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function hasAnyFont(): boolean {
  for (const dir of ['/usr/share/fonts', '/usr/local/share/fonts', `${process.env.HOME ?? ''}/.fonts`, `${process.env.HOME ?? ''}/.local/share/fonts`]) {
    try {
      if (readdirSync(dir, { recursive: true }).some((f) => /\.(ttf|otf|ttc)$/i.test(String(f)))) return true;
    } catch {
      // no such directory
    }
  }
  return false;
}

// ----- chart builders -------------------------------------------------------------------------------------------

export interface ChartSize {
  /** Plot width in pixels (axes and legend come on top). Default 560. */
  width?: number;
  /** Plot height in pixels. Default 300. */
  height?: number;
}

/**
 * Bars of a mean per group with an error bar from `lo` to `hi` (e.g. a 95% bootstrap CI), groups in the
 * given order: reward of random / SFT / best-of-n / PPO.
 */
export function barWithErrors(
  rows: ReadonlyArray<{ name: string; mean: number; lo: number; hi: number }>,
  options: { title: string; yTitle: string; xTitle?: string; subtitle?: string } & ChartSize,
): VegaLiteSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chartTitle(options.title, options.subtitle),
    width: options.width ?? CHART_WIDTH,
    height: options.height ?? CHART_HEIGHT,
    data: { values: rows.map((r) => ({ name: r.name, mean: r.mean, lo: r.lo, hi: r.hi })) },
    encoding: {
      x: { field: 'name', type: 'nominal', sort: null, title: options.xTitle ?? null, axis: { labelAngle: 0, labelLimit: 160 } },
    },
    layer: [
      {
        mark: { type: 'bar', width: { band: 0.62 }, cornerRadiusTopLeft: 2, cornerRadiusTopRight: 2, opacity: 0.9 },
        encoding: {
          y: { field: 'mean', type: 'quantitative', title: options.yTitle },
          color: { field: 'name', type: 'nominal', sort: null, legend: null },
          tooltip: [
            { field: 'name', title: 'group' },
            { field: 'mean', format: '.3f' },
            { field: 'lo', format: '.3f' },
            { field: 'hi', format: '.3f' },
          ],
        },
      },
      {
        mark: { type: 'errorbar', ticks: { width: 10 }, color: '#24292f', thickness: 1.5 },
        encoding: { y: { field: 'lo', type: 'quantitative', title: options.yTitle }, y2: { field: 'hi' } },
      },
    ],
  };
}

/** One line per series over a shared x (reward, KL or loss over training steps). Points are drawn when series are short. */
export function lineChart(
  series: ReadonlyArray<{ name: string; points: ReadonlyArray<{ x: number; y: number }> }>,
  options: { title: string; xTitle: string; yTitle: string; subtitle?: string; xDomain?: [number, number]; yZero?: boolean } & ChartSize,
): VegaLiteSpec {
  const values = series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y })));
  const longest = Math.max(0, ...series.map((s) => s.points.length));
  const names = series.map((s) => s.name);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chartTitle(options.title, options.subtitle),
    width: options.width ?? CHART_WIDTH,
    height: options.height ?? CHART_HEIGHT,
    data: { values },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle, axis: { grid: false }, ...(options.xDomain ? { scale: { domain: options.xDomain, nice: false } } : {}) },
      y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: { zero: options.yZero ?? false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: names }, legend: series.length > 1 ? {} : null },
    },
    layer: [
      { mark: { type: 'line', interpolate: 'linear' } },
      ...(longest <= 40 ? [{ mark: { type: 'point' as const }, encoding: { tooltip: [{ field: 'series' }, { field: 'x' }, { field: 'y', format: '.4g' }] } }] : []),
    ],
  };
}

/** Reward against perturbation strength (0 = clean input, 1 = fully perturbed), one line per perturbation or policy. */
export function sensitivityChart(
  series: ReadonlyArray<{ name: string; points: ReadonlyArray<{ strength: number; reward: number }> }>,
  options: { title?: string; yTitle?: string; subtitle?: string } & ChartSize = {},
): VegaLiteSpec {
  return lineChart(
    series.map((s) => ({ name: s.name, points: s.points.map((p) => ({ x: p.strength, y: p.reward })) })),
    {
      title: options.title ?? 'Reward under input perturbation',
      xTitle: 'perturbation strength',
      yTitle: options.yTitle ?? 'mean reward',
      xDomain: [0, 1],
      ...(options.subtitle !== undefined ? { subtitle: options.subtitle } : {}),
      ...(options.width !== undefined ? { width: options.width } : {}),
      ...(options.height !== undefined ? { height: options.height } : {}),
    },
  );
}

// ----- calibration ----------------------------------------------------------------------------------------------

export interface CalibrationBin {
  /** Mean predicted probability of the examples in the bin. */
  predicted: number;
  /** Fraction of them whose label is 1. */
  observed: number;
  /** How many examples fell in the bin. */
  count: number;
  /** The bin's edges [lo, hi) (the last bin includes 1). */
  lo: number;
  hi: number;
}

/**
 * Equal-width reliability bins over [0, 1] (as sklearn.calibration.calibration_curve with strategy 'uniform'):
 * p goes to bin ⌊p·nBins⌋ (p = 1 to the last). Empty bins are left out. For a reward model's preference
 * probability σ(r_chosen − r_rejected) the label is 1 when the human preferred the first response.
 */
export function calibrationBins(probabilities: readonly number[], labels: readonly number[], nBins = 10): CalibrationBin[] {
  if (probabilities.length !== labels.length) {
    throw new RangeError(`calibrationBins: ${probabilities.length} probabilities but ${labels.length} labels; pass one label per probability`);
  }
  if (!(Number.isInteger(nBins) && nBins >= 1)) throw new RangeError(`calibrationBins: nBins must be a positive integer, got ${nBins}`);
  const sumP = new Array<number>(nBins).fill(0);
  const pos = new Array<number>(nBins).fill(0);
  const count = new Array<number>(nBins).fill(0);
  probabilities.forEach((p, i) => {
    const y = labels[i]!;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`calibrationBins: probability ${i} is ${p}, outside [0, 1]`);
    if (y !== 0 && y !== 1) throw new RangeError(`calibrationBins: label ${i} is ${y}; labels must be 0 or 1`);
    const b = Math.min(Math.floor(p * nBins), nBins - 1);
    sumP[b]! += p;
    pos[b]! += y;
    count[b]! += 1;
  });
  const bins: CalibrationBin[] = [];
  for (let b = 0; b < nBins; b++) {
    const n = count[b]!;
    if (n > 0) bins.push({ predicted: sumP[b]! / n, observed: pos[b]! / n, count: n, lo: b / nBins, hi: (b + 1) / nBins });
  }
  return bins;
}

/** Expected calibration error (Naeini et al. 2015): Σ_b (n_b / N)·|observed_b − predicted_b|. NaN for no bins. */
export function expectedCalibrationError(bins: ReadonlyArray<Pick<CalibrationBin, 'predicted' | 'observed' | 'count'>>): number {
  const total = bins.reduce((s, b) => s + b.count, 0);
  if (total === 0) return Number.NaN;
  return bins.reduce((s, b) => s + (b.count / total) * Math.abs(b.observed - b.predicted), 0);
}

/**
 * Reliability diagram: observed frequency against mean predicted probability per bin, a point per bin sized by
 * its count, and the dashed diagonal of perfect calibration. Square by default (the diagonal is then at 45°).
 */
export function calibrationChart(
  bins: ReadonlyArray<Pick<CalibrationBin, 'predicted' | 'observed' | 'count'>>,
  options: { title?: string; subtitle?: string; xTitle?: string; yTitle?: string } & ChartSize = {},
): VegaLiteSpec {
  const ece = expectedCalibrationError(bins);
  const axis = { values: [0, 0.2, 0.4, 0.6, 0.8, 1], format: '.1f' };
  const unit = { domain: [0, 1], nice: false, zero: true };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chartTitle(options.title ?? 'Calibration (reliability diagram)', options.subtitle ?? (Number.isFinite(ece) ? `ECE ${ece.toFixed(3)}` : undefined)),
    width: options.width ?? 360,
    height: options.height ?? 360,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#8c959f', strokeDash: [5, 4], strokeWidth: 1.25 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: unit, axis, title: options.xTitle ?? 'mean predicted probability' },
          y: { field: 'y', type: 'quantitative', scale: unit, axis, title: options.yTitle ?? 'observed frequency' },
        },
      },
      {
        data: { values: bins.map((b) => ({ predicted: b.predicted, observed: b.observed, count: b.count })) },
        encoding: {
          x: { field: 'predicted', type: 'quantitative', scale: unit },
          y: { field: 'observed', type: 'quantitative', scale: unit },
        },
        layer: [
          { mark: { type: 'line', color: PALETTE[0], strokeWidth: 2 } },
          {
            mark: { type: 'point', filled: true, color: PALETTE[0], opacity: 0.9 },
            encoding: {
              size: { field: 'count', type: 'quantitative', scale: { range: [30, 260], zero: true }, legend: null },
              tooltip: [{ field: 'predicted', format: '.3f' }, { field: 'observed', format: '.3f' }, { field: 'count' }],
            },
          },
        ],
      },
    ],
  };
}

function chartTitle(text: string, subtitle: string | undefined): VegaLiteSpec['title'] {
  return subtitle ? { text, subtitle } : text;
}
