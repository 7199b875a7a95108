// Pictures of the grid: an SVG per picture (cells, the path so far, the agent, a caption), turned
// into pixels by resvg (the renderer the charts use), saved as PNG frames and as one animated PNG.
//
//   gridSvg(grid, { path, upTo })  the map with a path drawn up to step `upTo` and the agent there
//   gridSvg(grid, { heat })        the learned reward r̂ per cell as a heat map, values written in
//   saveWalk(dir, name, …)         DIR/frames/NAME-000.png … and DIR/NAME.apng (one frame per step)
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Grid, xOf, yOf } from './grid.js';
import type { Trajectory } from './env.js';
import { encodeApng, encodePng, type RgbaImage } from './apng.js';
import { CHART_FONT, DEJAVU_SANS } from '../eval/charts.js';

const CELL = 36;
const PAD = 10;
const CAPTION = 28;

const FILL: Record<string, string> = {
  empty: '#f6f8fa',
  wall: '#424a53',
  hazard: '#e5534b',
  scenic: '#8ddb8c',
  start: '#54aeff',
  goal: '#eac54f',
};

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface GridPictureOptions {
  /** A path to draw (cells from the start). */
  path?: readonly number[];
  /** Draw the path up to this step and the agent there (default: the whole path). */
  upTo?: number;
  /** One value per cell: draw a heat map instead of the cell kinds (walls stay walls). */
  heat?: readonly number[];
  caption?: string;
}

/** Diverging colour for v in [−1, 1]: red (bad) through white to blue (good). */
function diverging(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  const mix = (a: number, b: number, u: number): number => Math.round(a + (b - a) * u);
  const [r, g, b] = t < 0 ? [mix(255, 207, -t), mix(255, 34, -t), mix(255, 46, -t)] : [mix(255, 9, t), mix(255, 105, t), mix(255, 218, t)];
  return `rgb(${r},${g},${b})`;
}

/** The picture as a standalone SVG document. */
export function gridSvg(grid: Grid, opts: GridPictureOptions = {}): string {
  const W = grid.width * CELL + 2 * PAD, H = grid.height * CELL + 2 * PAD + (opts.caption ? CAPTION : 0);
  const top = PAD + (opts.caption ? CAPTION : 0);
  const cx = (c: number): number => PAD + xOf(grid, c) * CELL + CELL / 2;
  const cy = (c: number): number => top + yOf(grid, c) * CELL + CELL / 2;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${CHART_FONT}">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  if (opts.caption) out.push(`<text x="${PAD}" y="${PAD + 16}" font-size="15" font-weight="600" fill="#1f2328">${esc(opts.caption)}</text>`);
  const scale = opts.heat ? Math.max(1e-9, ...opts.heat.filter((_, c) => grid.cells[c] !== 'wall').map(Math.abs)) : 1;
  grid.cells.forEach((kind, c) => {
    const x = PAD + xOf(grid, c) * CELL, y = top + yOf(grid, c) * CELL;
    const fill = opts.heat && kind !== 'wall' ? diverging((opts.heat[c] as number) / scale) : (FILL[kind] as string);
    out.push(`<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="${fill}" stroke="#d0d7de" stroke-width="1"/>`);
    if (opts.heat && kind !== 'wall') {
      out.push(`<text x="${x + CELL / 2}" y="${y + CELL / 2 + 4}" font-size="10" text-anchor="middle" fill="#1f2328">${(opts.heat[c] as number).toFixed(1)}</text>`);
    } else if (kind === 'scenic' && !opts.heat) {
      out.push(`<circle cx="${x + CELL / 2}" cy="${y + CELL / 2}" r="5" fill="#cf222e" stroke="#fff" stroke-width="2"/>`);
    } else if (kind === 'hazard' && !opts.heat) {
      out.push(`<path d="M${x + 8} ${y + CELL / 2} q5 -6 10 0 t10 0" stroke="#ffd8d3" stroke-width="2" fill="none"/>`);
    }
    if (kind === 'start' || kind === 'goal') {
      out.push(`<text x="${x + 5}" y="${y + 14}" font-size="11" font-weight="700" fill="#1f2328">${kind === 'start' ? 'S' : 'G'}</text>`);
    }
  });
  if (opts.path && opts.path.length) {
    const upTo = Math.min(opts.upTo ?? opts.path.length - 1, opts.path.length - 1);
    const pts = opts.path.slice(0, upTo + 1).map((c) => `${cx(c)},${cy(c)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="#0550ae" stroke-width="5" stroke-opacity="0.55" stroke-linejoin="round" stroke-linecap="round"/>`);
    const at = opts.path[upTo] as number;
    out.push(`<circle cx="${cx(at)}" cy="${cy(at)}" r="${CELL / 3.2}" fill="#0550ae" stroke="white" stroke-width="2"/>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

type ResvgClass = typeof import('@resvg/resvg-js').Resvg;
let resvgClass: ResvgClass | undefined;

/** SVG → RGBA pixels (resvg, loaded on first use; fonts as the charts load them). */
export async function rasterize(svg: string): Promise<RgbaImage> {
  resvgClass ??= (await import('@resvg/resvg-js')).Resvg;
  const fontFiles = existsSync(DEJAVU_SANS) ? [DEJAVU_SANS] : [];
  const img = new resvgClass(svg, { background: 'white', font: { loadSystemFonts: fontFiles.length === 0, fontFiles, defaultFontFamily: 'DejaVu Sans' } }).render();
  return { width: img.width, height: img.height, pixels: new Uint8Array(img.pixels.buffer, img.pixels.byteOffset, img.pixels.byteLength) };
}

/** Writes one picture as DIR/NAME.png; returns the path. */
export async function savePicture(dir: string, name: string, grid: Grid, opts: GridPictureOptions): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  writeFileSync(file, encodePng(await rasterize(gridSvg(grid, opts))));
  return file;
}

/**
 * A trajectory as a walk: one frame per step (the start, then after each move), saved as
 * DIR/frames/NAME-000.png … and as DIR/NAME.apng (looping; the last frame held for a second).
 * Returns the files written.
 */
export async function saveWalk(dir: string, name: string, grid: Grid, t: Trajectory, caption: string): Promise<{ frames: string[]; animation: string }> {
  const framesDir = join(dir, 'frames');
  mkdirSync(framesDir, { recursive: true });
  const images: RgbaImage[] = [];
  const frames: string[] = [];
  for (let step = 0; step < t.cells.length; step++) {
    const img = await rasterize(gridSvg(grid, { path: t.cells, upTo: step, caption: `${caption} — step ${step}/${t.cells.length - 1}` }));
    const file = join(framesDir, `${name}-${String(step).padStart(3, '0')}.png`);
    writeFileSync(file, encodePng(img));
    frames.push(file);
    images.push(img);
  }
  const animation = join(dir, `${name}.apng`);
  writeFileSync(animation, encodeApng(images, images.map((_, i) => (i === images.length - 1 ? 1200 : 180))));
  return { frames, animation };
}
