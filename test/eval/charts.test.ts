// Server-side charts: each builder's spec renders to an SVG with its title and the expected marks, and to a PNG
// at 2× that decodes (a small PNG reader below, node:zlib for the inflate) and has ink on it; text is drawn
// (fonts found); calibration bins against a hand-computed table.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import {
  barWithErrors,
  calibrationBins,
  calibrationChart,
  expectedCalibrationError,
  lineChart,
  renderChart,
  sensitivityChart,
} from '../../src/eval/charts.js';
import type { VegaLiteSpec } from '../../src/eval/charts.js';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} ≠ ${b}`);

// ----- a minimal PNG decoder (8-bit RGB/RGBA, non-interlaced: what resvg writes) ----------------------------------

interface Image {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array; // (height, width, channels)
}

function decodePng(png: Uint8Array): Image {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  for (let off = 8; off < buf.length; ) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[data[9]!] ?? 0;
      assert.ok(channels > 0, `colour type ${data[9]} (expected RGB or RGBA)`);
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1), 'inflated size = height × (1 + row bytes)');
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[row + x - channels]! : 0;
      const b = y > 0 ? px[row - stride + x]! : 0;
      const c = x >= channels && y > 0 ? px[row - stride + x - channels]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      assert.ok(pred !== undefined, `row ${y}: unknown filter ${filter}`);
      px[row + x] = (src[x]! + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels: px };
}

/** Fraction of pixels that are not (near) white. */
function inkFraction(img: Image): number {
  let ink = 0;
  for (let i = 0; i < img.pixels.length; i += img.channels) {
    if (img.pixels[i]! < 235 || img.pixels[i + 1]! < 235 || img.pixels[i + 2]! < 235) ink++;
  }
  return ink / (img.width * img.height);
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg[^>]*\swidth="(\d+(?:\.\d+)?)"[^>]*\sheight="(\d+(?:\.\d+)?)"/.exec(svg);
  assert.ok(m, 'the <svg> element has width and height');
  return { width: Number(m[1]), height: Number(m[2]) };
}

const count = (svg: string, needle: string): number => svg.split(needle).length - 1;

/** Checks what every rendered chart must satisfy; returns the decoded PNG. */
async function renderAndCheck(spec: VegaLiteSpec, title: string): Promise<{ svg: string; img: Image }> {
  const { svg, png } = await renderChart(spec);
  assert.ok(svg.startsWith('<svg'), 'an SVG document');
  assert.ok(svg.includes(`>${title}</text>`), `the title "${title}" is in the SVG`);
  assert.ok(svg.includes('font-family="DejaVu Sans'), 'text uses DejaVu Sans first');
  const img = decodePng(png);
  const size = svgSize(svg);
  assert.equal(img.width, Math.round(size.width * 2), 'PNG width is 2× the SVG width');
  assert.equal(img.height, Math.round(size.height * 2), 'PNG height is 2× the SVG height');
  const ink = inkFraction(img);
  assert.ok(ink > 0.01 && ink < 0.6, `the PNG has a chart on it (${(100 * ink).toFixed(1)}% ink)`);
  // white background: the top-left corner is opaque white
  assert.deepEqual([...img.pixels.subarray(0, 3)], [255, 255, 255]);
  if (img.channels === 4) assert.equal(img.pixels[3], 255);
  return { svg, img };
}

// ----- rendering --------------------------------------------------------------------------------------------------

describe('renderChart', () => {
  test('bar chart with error bars: one bar and one error bar per row, title and axis titles', async () => {
    const rows = [
      { name: 'random', mean: -0.8, lo: -1.0, hi: -0.6 },
      { name: 'SFT', mean: 0.4, lo: 0.3, hi: 0.55 },
      { name: 'best-of-n', mean: 1.1, lo: 0.95, hi: 1.25 },
      { name: 'PPO', mean: 1.5, lo: 1.3, hi: 1.7 },
    ];
    const { svg } = await renderAndCheck(barWithErrors(rows, { title: 'Reward by policy', yTitle: 'mean reward' }), 'Reward by policy');
    assert.equal(count(svg, 'aria-roledescription="bar"'), 4);
    assert.equal(count(svg, 'aria-roledescription="errorbar"'), 4);
    assert.ok(svg.includes('>mean reward</text>'));
    for (const r of rows) assert.ok(svg.includes(`>${r.name}</text>`), `x label ${r.name}`);
    // groups keep the given order (random before PPO on the x axis)
    assert.ok(svg.indexOf('>random</text>') < svg.indexOf('>PPO</text>'));
  });

  test('line chart: one line per series, a point per sample, a legend, axis titles', async () => {
    const series = [
      { name: 'reward', points: [0, 1, 2, 3, 4].map((x) => ({ x: x * 100, y: Math.sqrt(x) })) },
      { name: 'KL', points: [0, 1, 2, 3, 4].map((x) => ({ x: x * 100, y: 0.1 * x })) },
    ];
    const { svg } = await renderAndCheck(lineChart(series, { title: 'PPO training', xTitle: 'step', yTitle: 'value' }), 'PPO training');
    assert.equal(count(svg, 'aria-roledescription="line mark"'), 2);
    assert.equal(count(svg, 'aria-roledescription="point"'), 10);
    assert.equal(count(svg, 'aria-roledescription="legend"'), 1);
    assert.ok(svg.includes('>step</text>') && svg.includes('>value</text>'));
  });

  test('long series are drawn as lines without points; one series has no legend', async () => {
    const spec = lineChart([{ name: 'loss', points: Array.from({ length: 200 }, (_, i) => ({ x: i, y: 1 / (1 + i) })) }], { title: 'Loss', xTitle: 'step', yTitle: 'loss' });
    const { svg } = await renderAndCheck(spec, 'Loss');
    assert.equal(count(svg, 'aria-roledescription="line mark"'), 1);
    assert.equal(count(svg, 'aria-roledescription="point"'), 0);
    assert.equal(count(svg, 'aria-roledescription="legend"'), 0);
  });

  test('calibration chart: a point per bin, the dashed diagonal, ECE in the subtitle', async () => {
    const bins = [
      { predicted: 0.1, observed: 0.2, count: 10 },
      { predicted: 0.5, observed: 0.45, count: 30 },
      { predicted: 0.9, observed: 0.8, count: 20 },
    ];
    const { svg } = await renderAndCheck(calibrationChart(bins), 'Calibration (reliability diagram)');
    assert.equal(count(svg, 'aria-roledescription="point"'), 3);
    assert.equal(count(svg, 'aria-roledescription="line mark"'), 2); // the bins and the diagonal
    assert.ok(svg.includes('stroke-dasharray="5,4"'), 'the diagonal is dashed');
    assert.ok(svg.includes(`>ECE ${expectedCalibrationError(bins).toFixed(3)}</text>`));
  });

  test('sensitivity chart: strength from 0 to 1 on x, one line per perturbation', async () => {
    const series = ['truncate', 'typos', 'shuffle'].map((name, k) => ({ name, points: [0, 0.25, 0.5, 0.75, 1].map((s) => ({ strength: s, reward: 1 - k * s })) }));
    const { svg } = await renderAndCheck(sensitivityChart(series), 'Reward under input perturbation');
    assert.equal(count(svg, 'aria-roledescription="line mark"'), 3);
    assert.equal(count(svg, 'aria-roledescription="point"'), 15);
    assert.ok(svg.includes('>perturbation strength</text>'));
    assert.ok(svg.includes('>0.0</text>') && svg.includes('>1.0</text>'), 'x axis runs from 0.0 to 1.0');
  });

  test('text is drawn: a chart of nothing but text has ink (fonts were found)', async () => {
    const spec: VegaLiteSpec = { width: 120, height: 40, data: { values: [{}] }, mark: { type: 'text', text: 'Hello', fontSize: 24 } };
    const { png } = await renderChart(spec);
    const ink = inkFraction(decodePng(png));
    assert.ok(ink > 0.005, `text rendered (${(100 * ink).toFixed(2)}% ink)`);
  });

  test('titles are escaped in the SVG', async () => {
    const { svg } = await renderChart(barWithErrors([{ name: 'a<b>', mean: 1, lo: 0, hi: 2 }], { title: 'x <script>&', yTitle: 'y' }));
    assert.ok(svg.includes('x &lt;script&gt;&amp;'));
    assert.ok(!svg.includes('<script>'));
  });

  test('scale changes the PNG size; a bad spec is a ChartRenderError', async () => {
    const spec = barWithErrors([{ name: 'a', mean: 1, lo: 0.5, hi: 1.5 }], { title: 'one', yTitle: 'y', width: 100, height: 80 });
    const { svg, png } = await renderChart(spec, { scale: 1 });
    assert.equal(decodePng(png).width, svgSize(svg).width);
    await assert.rejects(renderChart({ mark: 'nope' } as unknown as VegaLiteSpec), { name: 'ChartRenderError' });
  });
});

// ----- calibration bins -------------------------------------------------------------------------------------------

describe('calibrationBins', () => {
  test('hand-computed bins: mean predicted probability, fraction positive, count; empty bins left out', () => {
    const p = [0.05, 0.15, 0.12, 0.95, 1.0, 0.55];
    const y = [0, 1, 0, 1, 1, 0];
    const bins = calibrationBins(p, y, 10);
    assert.deepEqual(bins.map((b) => [b.lo, b.count]), [[0, 1], [0.1, 2], [0.5, 1], [0.9, 2]]);
    const expected = [
      { predicted: 0.05, observed: 0 },
      { predicted: 0.135, observed: 0.5 },
      { predicted: 0.55, observed: 0 },
      { predicted: 0.975, observed: 1 }, // p = 1 goes to the last bin
    ];
    bins.forEach((b, i) => {
      close(b.predicted, expected[i]!.predicted);
      close(b.observed, expected[i]!.observed);
    });
    // ECE = (1·0.05 + 2·0.365 + 1·0.55 + 2·0.025) / 6 = 0.23
    close(expectedCalibrationError(bins), 0.23);
  });

  test('perfectly calibrated bins have ECE 0; bad input is a RangeError', () => {
    close(expectedCalibrationError([{ predicted: 0.25, observed: 0.25, count: 4 }, { predicted: 0.75, observed: 0.75, count: 4 }]), 0);
    assert.ok(Number.isNaN(expectedCalibrationError([])));
    assert.deepEqual(calibrationBins([], []), []);
    assert.throws(() => calibrationBins([0.5], [1, 0]), RangeError);
    assert.throws(() => calibrationBins([1.5], [1]), RangeError);
    assert.throws(() => calibrationBins([0.5], [2]), RangeError);
    assert.throws(() => calibrationBins([0.5], [1], 0), RangeError);
  });
});
