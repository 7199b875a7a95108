// The world: a rectangle of cells with one start, one goal, walls the agent cannot enter, hazards
// it can enter at a price, and scenic cells (flowers) that nothing but a person's taste cares about.
// Maps are written as text, one character per cell, so a map file is readable and a test can
// write one inline:
//
//   S start   G goal   # wall   ~ hazard   * scenic   . empty
//
// Cells are numbered row by row: cell = y·width + x, (0, 0) at the top left.

/** A bad map: the message names the file (and line and column) and what to fix. */
export class GridError extends Error {
  override name = 'GridError';
}

export type CellKind = 'empty' | 'wall' | 'hazard' | 'scenic' | 'start' | 'goal';

/** The map characters, one per kind. */
export const GLYPH: Readonly<Record<CellKind, string>> = { empty: '.', wall: '#', hazard: '~', scenic: '*', start: 'S', goal: 'G' };
const KIND_OF_GLYPH: Readonly<Record<string, CellKind>> = Object.fromEntries(Object.entries(GLYPH).map(([k, g]) => [g, k as CellKind]));

/** Moves, in the order of the policy's 4 outputs. */
export const MOVES = [
  { name: 'up', dx: 0, dy: -1, arrow: '^' },
  { name: 'right', dx: 1, dy: 0, arrow: '>' },
  { name: 'down', dx: 0, dy: 1, arrow: 'v' },
  { name: 'left', dx: -1, dy: 0, arrow: '<' },
] as const;

export const MIN_SIDE = 3;
export const MAX_SIDE = 40;

export interface Grid {
  readonly width: number;
  readonly height: number;
  /** (height·width) kinds, row by row. */
  readonly cells: readonly CellKind[];
  readonly start: number;
  readonly goal: number;
  /** Where the map came from, for messages: a layout name or a file. */
  readonly name: string;
}

/**
 * The default map, "valley". The fewest steps (11) run along the top edge, beside a lava pool; the
 * middle corridor is 2 steps longer, away from the edge and the lava; the flower garden below it is
 * 4 steps longer than the edge. A cost of steps and hazards picks the edge path; a person who minds
 * the edge, or the lava, or who likes flowers, does not.
 */
export const VALLEY = `
............
.S.#~~~~#.G.
...######...
............
..********..
............
............
`;

/** The built-in layouts by name; `random` is generated from the seed instead. */
export const LAYOUTS: Readonly<Record<string, string>> = { valley: VALLEY };

/** Parses a text map (see the top of this file). `where` names it in errors (a file path or layout name). */
export function parseGrid(text: string, where: string): Grid {
  // Rows are the non-blank lines that are not `//` comments; each keeps its line number for messages.
  const numbered = text.split(/\r?\n/).map((l, i) => ({ l: l.trim(), line: i + 1 })).filter(({ l }) => l !== '' && !l.startsWith('//'));
  if (numbered.length === 0) throw new GridError(`${where}: the map is empty; write one row of cells per line (S start, G goal, # wall, ~ hazard, * scenic, . empty)`);
  const width = (numbered[0] as { l: string }).l.length;
  const height = numbered.length;
  for (const { l, line } of numbered) {
    if (l.length !== width) throw new GridError(`${where}:${line}: this row has ${l.length} cells, the first has ${width}; every row must be as long as the first`);
  }
  if (width < MIN_SIDE || height < MIN_SIDE) throw new GridError(`${where}: the grid is ${width}×${height}, too small; it must be at least ${MIN_SIDE}×${MIN_SIDE}`);
  if (width > MAX_SIDE || height > MAX_SIDE) throw new GridError(`${where}: the grid is ${width}×${height}, too large for the terminal; at most ${MAX_SIDE}×${MAX_SIDE}`);
  const cells: CellKind[] = [];
  let start = -1, goal = -1;
  numbered.forEach(({ l, line }, y) => {
    for (let x = 0; x < width; x++) {
      const ch = l[x] as string;
      const kind = KIND_OF_GLYPH[ch];
      if (kind === undefined) throw new GridError(`${where}:${line}:${x + 1}: unknown cell '${ch}'; use S start, G goal, # wall, ~ hazard, * scenic, . empty`);
      if (kind === 'start' || kind === 'goal') {
        if ((kind === 'start' ? start : goal) >= 0) throw new GridError(`${where}:${line}:${x + 1}: a second '${ch}'; a map has exactly one ${kind}`);
        if (kind === 'start') start = y * width + x;
        else goal = y * width + x;
      }
      cells.push(kind);
    }
  });
  if (start < 0) throw new GridError(`${where}: no start; put one 'S' in the map`);
  if (goal < 0) throw new GridError(`${where}: no goal; put one 'G' in the map`);
  const grid: Grid = { width, height, cells, start, goal, name: where };
  if (distancesTo(grid, goal)[start] === Infinity) throw new GridError(`${where}: walls cut the start off from the goal; open a way between them`);
  return grid;
}

/** The map as text, the inverse of parseGrid. */
export function gridToText(grid: Grid): string {
  const rows: string[] = [];
  for (let y = 0; y < grid.height; y++) rows.push(grid.cells.slice(y * grid.width, (y + 1) * grid.width).map((k) => GLYPH[k]).join(''));
  return rows.join('\n') + '\n';
}

/**
 * A random map from a seeded generator: start on the left, goal on the right (middle rows), walls
 * and hazards scattered at the given densities, and a patch of scenic cells; redrawn until the goal
 * is reachable from the start.
 */
export function randomGrid(width: number, height: number, rng: () => number, opts: { wallDensity?: number; hazardDensity?: number } = {}): Grid {
  if (!(width >= MIN_SIDE + 2 && height >= MIN_SIDE + 2)) throw new GridError(`a random grid must be at least ${MIN_SIDE + 2}×${MIN_SIDE + 2} (got ${width}×${height}); raise --width and --height`);
  const wallDensity = opts.wallDensity ?? 0.18;
  const hazardDensity = opts.hazardDensity ?? 0.07;
  const y0 = Math.floor(height / 2);
  const start = y0 * width + 1;
  const goal = y0 * width + width - 2;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const cells: CellKind[] = new Array<CellKind>(width * height).fill('empty');
    for (let i = 0; i < cells.length; i++) {
      const u = rng();
      cells[i] = u < wallDensity ? 'wall' : u < wallDensity + hazardDensity ? 'hazard' : 'empty';
    }
    // a scenic patch: a third of the width, one or two rows, somewhere not on the start's row
    const pw = Math.max(2, Math.floor(width / 3));
    const px = 1 + Math.floor(rng() * (width - pw - 1));
    const py = 1 + Math.floor(rng() * (height - 2));
    for (let x = px; x < px + pw; x++) if (py !== y0) cells[py * width + x] = 'scenic';
    cells[start] = 'start';
    cells[goal] = 'goal';
    const grid: Grid = { width, height, cells, start, goal, name: 'random' };
    if (distancesTo(grid, goal)[start] !== Infinity) return grid;
  }
  throw new GridError(`no random ${width}×${height} map with a way from start to goal after 1000 tries; lower the wall density or enlarge the grid`);
}

// ----- geometry -------------------------------------------------------------------------------

export const xOf = (grid: Grid, cell: number): number => cell % grid.width;
export const yOf = (grid: Grid, cell: number): number => Math.floor(cell / grid.width);

/** The cell one move away, or the same cell when the move would leave the grid or enter a wall. */
export function moveFrom(grid: Grid, cell: number, action: number): number {
  const m = MOVES[action];
  if (m === undefined) throw new RangeError(`moveFrom: action ${action} is not 0–3`);
  const x = xOf(grid, cell) + m.dx, y = yOf(grid, cell) + m.dy;
  if (x < 0 || y < 0 || x >= grid.width || y >= grid.height) return cell;
  const next = y * grid.width + x;
  return grid.cells[next] === 'wall' ? cell : next;
}

/** The actions that move (do not bump into a wall or the border). */
export function legalActions(grid: Grid, cell: number): number[] {
  const out: number[] = [];
  for (let a = 0; a < MOVES.length; a++) if (moveFrom(grid, cell, a) !== cell) out.push(a);
  return out;
}

/** On the outer ring of the grid. */
export function isBorder(grid: Grid, cell: number): boolean {
  const x = xOf(grid, cell), y = yOf(grid, cell);
  return x === 0 || y === 0 || x === grid.width - 1 || y === grid.height - 1;
}

/** A hazard is one of the 4 neighbours (the cell itself not counted). */
export function besideHazard(grid: Grid, cell: number): boolean {
  const x = xOf(grid, cell), y = yOf(grid, cell);
  for (const m of MOVES) {
    const nx = x + m.dx, ny = y + m.dy;
    if (nx >= 0 && ny >= 0 && nx < grid.width && ny < grid.height && grid.cells[ny * grid.width + nx] === 'hazard') return true;
  }
  return false;
}

/** Fewest moves from every cell to `target` (breadth-first, walls block); Infinity where unreachable. */
export function distancesTo(grid: Grid, target: number): number[] {
  const dist = new Array<number>(grid.cells.length).fill(Infinity);
  dist[target] = 0;
  const queue = [target];
  for (let head = 0; head < queue.length; head++) {
    const c = queue[head] as number;
    for (let a = 0; a < MOVES.length; a++) {
      const n = moveFrom(grid, c, a);
      if (n !== c && dist[n] === Infinity) {
        dist[n] = (dist[c] as number) + 1;
        queue.push(n);
      }
    }
  }
  return dist;
}

/**
 * The cheapest path from start to goal when entering cell c costs cost[c] > 0 (Dijkstra over the
 * grid; ties broken by the move order). Returns the cells from start to goal, and the total cost.
 */
export function cheapestPath(grid: Grid, cost: (cell: number) => number): { cells: number[]; cost: number } {
  const N = grid.cells.length;
  const best = new Array<number>(N).fill(Infinity);
  const prev = new Array<number>(N).fill(-1);
  const done = new Array<boolean>(N).fill(false);
  best[grid.start] = 0;
  for (;;) {
    let c = -1;
    for (let i = 0; i < N; i++) if (!done[i] && best[i] !== Infinity && (c < 0 || (best[i] as number) < (best[c] as number))) c = i;
    if (c < 0 || c === grid.goal) break;
    done[c] = true;
    for (let a = 0; a < MOVES.length; a++) {
      const n = moveFrom(grid, c, a);
      if (n === c || done[n]) continue;
      const d = (best[c] as number) + cost(n);
      if (d < (best[n] as number)) {
        best[n] = d;
        prev[n] = c;
      }
    }
  }
  const cells = [grid.goal];
  while ((cells[0] as number) !== grid.start) cells.unshift(prev[cells[0] as number] as number);
  return { cells, cost: best[grid.goal] as number };
}
