// The grid in the terminal. Each cell is two characters wide (a terminal cell is about half as wide
// as it is tall, so two make a square). With colour (a TTY, or --color always) cells are coloured
// blocks and the path is drawn as bold arrows on them; without, the map's own characters:
//
//   S start   G goal   # wall   ~ hazard   * scenic   . empty   > v < ^ the move taken from a cell
//
// A heat map prints each cell's value (5 characters), on a red–white–blue background with colour.
import { type Grid, GLYPH, MOVES } from './grid.js';
import type { Trajectory } from './env.js';

export interface TerminalStyle {
  color: boolean;
}

const ESC = '\x1b[';
const RESET = `${ESC}0m`;
const bg = (r: number, g: number, b: number): string => `${ESC}48;2;${r};${g};${b}m`;
const fg = (r: number, g: number, b: number): string => `${ESC}38;2;${r};${g};${b}m`;

const CELL_BG: Record<string, [number, number, number]> = {
  empty: [48, 54, 61],
  wall: [140, 149, 159],
  hazard: [207, 34, 46],
  scenic: [26, 127, 55],
  start: [9, 105, 218],
  goal: [191, 135, 0],
};
const CELL_TEXT: Record<string, string> = { empty: '· ', wall: '  ', hazard: '~~', scenic: '✿ ', start: 'S ', goal: 'G ' };

/** Visible width of a string (ANSI codes removed). */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return [...s.replace(/\x1b\[[0-9;]*m/g, '')].length;
}

/** The move taken from each cell of a path (the last one, for a cell visited twice). */
function arrowsOf(t: Trajectory | null): Map<number, string> {
  const arrows = new Map<number, string>();
  if (!t) return arrows;
  t.actions.forEach((a, i) => arrows.set(t.cells[i] as number, MOVES[a]?.arrow ?? '?'));
  return arrows;
}

/** The grid with an optional path, as lines. */
export function gridLines(grid: Grid, path: Trajectory | null, style: TerminalStyle): string[] {
  const arrows = arrowsOf(path);
  const visited = new Set(path?.cells ?? []);
  const lines: string[] = [];
  for (let y = 0; y < grid.height; y++) {
    let line = '';
    for (let x = 0; x < grid.width; x++) {
      const c = y * grid.width + x;
      const kind = grid.cells[c] as string;
      const arrow = kind === 'start' || kind === 'goal' ? undefined : arrows.get(c);
      if (style.color) {
        const [r, g, b] = CELL_BG[kind] as [number, number, number];
        const text = arrow !== undefined ? `${ESC}1m${fg(255, 255, 255)}${arrow} ` : visited.has(c) && kind !== 'start' && kind !== 'goal' ? `${fg(255, 255, 255)}• ` : `${fg(230, 237, 243)}${CELL_TEXT[kind]}`;
        line += `${bg(r, g, b)}${text}${RESET}`;
      } else {
        const glyph = arrow ?? GLYPH[kind as keyof typeof GLYPH];
        line += `${glyph} `;
      }
    }
    lines.push(style.color ? line : line.trimEnd());
  }
  return lines;
}

/** Blocks of lines side by side, each padded to its widest line, with a gap. */
export function sideBySide(blocks: readonly string[][], gap = 6): string[] {
  const widths = blocks.map((b) => Math.max(0, ...b.map(visibleLength)));
  const rows = Math.max(...blocks.map((b) => b.length));
  const out: string[] = [];
  for (let i = 0; i < rows; i++) {
    out.push(
      blocks
        .map((b, k) => {
          const s = b[i] ?? '';
          return k === blocks.length - 1 ? s : s + ' '.repeat((widths[k] as number) - visibleLength(s) + gap);
        })
        .join('')
        .trimEnd(),
    );
  }
  return out;
}

/** Two trajectories side by side under their captions, for a person to compare. */
export function pairLines(grid: Grid, a: Trajectory, b: Trajectory, captions: [string, string], style: TerminalStyle): string[] {
  const bold = (s: string): string => (style.color ? `${ESC}1m${s}${RESET}` : s);
  return sideBySide([
    [bold(captions[0]), ...gridLines(grid, a, style)],
    [bold(captions[1]), ...gridLines(grid, b, style)],
  ]);
}

/** Per-cell values (walls blank) as a grid of numbers, coloured red (low) to blue (high). */
export function heatLines(grid: Grid, values: readonly number[], style: TerminalStyle): string[] {
  const scale = Math.max(1e-9, ...values.filter((_, c) => grid.cells[c] !== 'wall').map(Math.abs));
  const lines: string[] = [];
  for (let y = 0; y < grid.height; y++) {
    let line = '';
    for (let x = 0; x < grid.width; x++) {
      const c = y * grid.width + x;
      const wall = grid.cells[c] === 'wall';
      const text = wall ? ' ### ' : (values[c] as number).toFixed(1).padStart(5);
      if (style.color) {
        const t = wall ? 0 : Math.max(-1, Math.min(1, (values[c] as number) / scale));
        const mix = (p: number, q: number, u: number): number => Math.round(p + (q - p) * u);
        const [r, g, b] = wall ? [87, 96, 106] : t < 0 ? [mix(240, 207, -t), mix(240, 34, -t), mix(240, 46, -t)] : [mix(240, 9, t), mix(240, 105, t), mix(240, 218, t)];
        const dark = !wall && Math.abs(t) < 0.55;
        line += `${bg(r, g, b)}${dark ? fg(31, 35, 40) : fg(255, 255, 255)}${text}${RESET}`;
      } else line += text;
    }
    lines.push(style.color ? line : line.trimEnd());
  }
  return lines;
}

/** One line explaining the symbols. */
export function legend(style: TerminalStyle): string {
  if (!style.color) return 'S start  G goal  # wall  ~ hazard  * scenic  . empty  ^>v< path';
  const chip = (kind: string, label: string): string => {
    const [r, g, b] = CELL_BG[kind] as [number, number, number];
    return `${bg(r, g, b)}${fg(230, 237, 243)}${CELL_TEXT[kind]}${RESET} ${label}`;
  };
  return [chip('start', 'start'), chip('goal', 'goal'), chip('wall', 'wall'), chip('hazard', 'hazard'), chip('scenic', 'scenic'), chip('empty', 'empty'), '> path'].join('  ');
}
