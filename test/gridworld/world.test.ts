// The gridworld without libtorch: maps and their errors, the valley's routes under the cost and under
// each hidden preference, random walks and search (seeded), the simulated person's noise models, the
// answer reader, terminal drawing, and PNG/APNG encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { GridError, LAYOUTS, VALLEY, cheapestPath, distancesTo, gridToText, isBorder, besideHazard, moveFrom, parseGrid, randomGrid } from '../../src/gridworld/grid.js';
import { pathCost, randomWalk, replay } from '../../src/gridworld/env.js';
import { HIDDEN_PREFERENCES, PREFERENCES, trueCellReward, trueReturn } from '../../src/gridworld/preferences.js';
import { actionsAlong, randomSearch } from '../../src/gridworld/search.js';
import { AnswerInput, SimulatedPerson } from '../../src/gridworld/person.js';
import { gridLines, heatLines, pairLines, visibleLength } from '../../src/gridworld/render-terminal.js';
import { encodeApng, encodePng, readPngChunks } from '../../src/gridworld/apng.js';
import { gridSvg, rasterize } from '../../src/gridworld/render-image.js';
import { mulberry32 } from '../../src/data/rng.js';

const valley = parseGrid(VALLEY, 'valley');
const at = (x: number, y: number): number => y * valley.width + x;
const path = (cells: number[]) => replay(valley, actionsAlong(valley, cells));

test('parseGrid reads the valley; gridToText writes it back', () => {
  assert.equal(valley.width, 12);
  assert.equal(valley.height, 7);
  assert.equal(valley.start, at(1, 1));
  assert.equal(valley.goal, at(10, 1));
  assert.equal(valley.cells.filter((k) => k === 'hazard').length, 4);
  assert.equal(valley.cells.filter((k) => k === 'scenic').length, 8);
  assert.equal(gridToText(valley), VALLEY.trim() + '\n');
  assert.deepEqual(Object.keys(LAYOUTS), ['valley']);
});

test('parseGrid: a bad map names the place and the fix', () => {
  const bad = (text: string, re: RegExp): void => assert.throws(() => parseGrid(text, 'm.txt'), (e: unknown) => e instanceof GridError && e.name === 'GridError' && re.test(e.message));
  bad('S.\n.G\n', /^m\.txt: the grid is 2×2, too small; it must be at least 3×3$/);
  bad('S..\n.x.\n..G\n', /^m\.txt:2:2: unknown cell 'x'/);
  bad('S..\n...\n...\n', /no goal; put one 'G'/);
  bad('S.G\n...\nS..\n', /^m\.txt:3:1: a second 'S'/);
  bad('S.#..\n..#.G\n..#..\n', /walls cut the start off from the goal/);
  bad('S...\n..G\n...\n', /^m\.txt:2: this row has 3 cells, the first has 4/);
  bad('', /the map is empty/);
});

test('moves: walls and the border leave the agent in place; BFS distances', () => {
  assert.equal(moveFrom(valley, at(2, 1), 1), at(2, 1)); // (3,1) is a wall
  assert.equal(moveFrom(valley, at(0, 0), 0), at(0, 0)); // off the top
  assert.equal(moveFrom(valley, at(1, 1), 0), at(1, 0));
  assert.equal(distancesTo(valley, valley.goal)[valley.start], 11);
  assert.ok(isBorder(valley, at(5, 0)) && !isBorder(valley, at(5, 3)));
  assert.ok(besideHazard(valley, at(5, 0)) && !besideHazard(valley, at(2, 0)));
});

test('the valley: the cheapest path runs along the edge beside the lava; each preference prefers another route', () => {
  const cheapest = cheapestPath(valley, (c) => 1 + (valley.cells[c] === 'hazard' ? 5 : 0));
  assert.equal(cheapest.cost, 11);
  const t = path(cheapest.cells);
  assert.equal(pathCost(valley, t, 5), 11);
  for (const h of HIDDEN_PREFERENCES) assert.equal(PREFERENCES[h].satisfied(valley, t), false, `${h}: the cheap path should not keep it`);
  // The person's best route under each preference (Dijkstra on −r*, all entries positive), its R*
  // (the move into the goal is free: 13 moves pay 12).
  const expected = { edge: [13, -12], clearance: [13, -12], scenic: [15, -14 + 8 * 0.65] } as const;
  for (const h of HIDDEN_PREFERENCES) {
    const best = cheapestPath(valley, (c) => -trueCellReward(valley, c, PREFERENCES[h], 5) + (c === valley.goal ? 1e-9 : 0));
    const route = path(best.cells);
    assert.equal(route.actions.length, expected[h][0], h);
    assert.ok(Math.abs(trueReturn(valley, route, PREFERENCES[h], 5) - expected[h][1]) < 1e-9, h);
    assert.ok(PREFERENCES[h].satisfied(valley, route), `${h}: its best route keeps it`);
    assert.ok(trueReturn(valley, route, PREFERENCES[h], 5) > trueReturn(valley, t, PREFERENCES[h], 5) + 1, `${h}: the person prefers it to the cheap path by more than 1`);
  }
  // Failing costs every step: 40 moves that never arrive are worse than the messiest path that does.
  const stuck = replay(valley, new Array<number>(40).fill(3));
  assert.equal(trueReturn(valley, stuck, PREFERENCES.edge, 5), -40 - 0.5 * 40);
});

test('random walks never enter a wall, stop at the goal, and are seeded', () => {
  const rng = mulberry32(7);
  for (let i = 0; i < 200; i++) {
    const w = randomWalk(valley, 40, rng);
    assert.ok(w.cells.every((c) => valley.cells[c] !== 'wall'));
    assert.ok(w.actions.length <= 40);
    assert.equal(w.reachedGoal, w.cells[w.cells.length - 1] === valley.goal);
    assert.equal(w.cells.indexOf(valley.goal), w.reachedGoal ? w.cells.length - 1 : -1);
    for (let t = 1; t < w.cells.length; t++) assert.notEqual(w.cells[t], w.cells[t - 1], 'a walk only makes legal moves');
  }
  assert.deepEqual(randomWalk(valley, 40, mulberry32(3)), randomWalk(valley, 40, mulberry32(3)));
});

test('random search: seeded, the best cost never rises, and 500 tries find the optimum on the valley', () => {
  const opts = { tries: 500, maxSteps: 40, hazardCost: 5, selfAvoiding: true };
  const r = randomSearch(valley, opts, mulberry32(1));
  assert.deepEqual(r, randomSearch(valley, opts, mulberry32(1)));
  for (let i = 1; i < r.curve.length; i++) assert.ok((r.curve[i] as number) <= (r.curve[i - 1] as number));
  assert.equal(r.optimum.cost, 11);
  assert.ok(r.best && r.best.reachedGoal);
  assert.equal(r.bestCost, r.curve[r.curve.length - 1]);
  assert.equal(r.curve[r.bestTry - 1], r.bestCost);
  assert.ok(r.bestTry === 1 || (r.curve[r.bestTry - 2] as number) > r.bestCost);
  assert.ok(r.successes > 50 && r.successes < 500, `${r.successes} of 500 walks reached the goal`);
  assert.ok(r.bestCost <= 13, `best cost ${r.bestCost}`);
});

test('randomGrid: seeded, start and goal connected; too small is a GridError', () => {
  const a = randomGrid(10, 8, mulberry32(5));
  assert.deepEqual(a, randomGrid(10, 8, mulberry32(5)));
  assert.ok(distancesTo(a, a.goal)[a.start] < Infinity);
  assert.throws(() => randomGrid(4, 8, mulberry32(5)), GridError);
});

test('the simulated person: noise 0 is the truth, flip 1 always the other answer, boltzmann 1 a coin', () => {
  const cheap = path(cheapestPath(valley, () => 1).cells);
  const middle = path(cheapestPath(valley, (c) => -trueCellReward(valley, c, PREFERENCES.edge, 5) + 1e-9).cells);
  const ask = (noise: number, noiseType: 'boltzmann' | 'flip', n: number): number[] => {
    const p = new SimulatedPerson(valley, PREFERENCES.edge, { hazardCost: 5, noise, noiseType }, mulberry32(9));
    const out: number[] = [];
    for (let i = 0; i < n; i++) void p.compare(middle, cheap).then((a) => out.push(a as number));
    return out;
  };
  const settle = async (xs: number[], n: number): Promise<number[]> => {
    while (xs.length < n) await new Promise((r) => setImmediate(r));
    return xs;
  };
  return (async () => {
    const person = new SimulatedPerson(valley, PREFERENCES.edge, { hazardCost: 5, noise: 0, noiseType: 'boltzmann' }, mulberry32(1));
    assert.equal(person.truth(middle, cheap), 1);
    assert.equal(person.truth(cheap, middle), 2);
    assert.equal(person.truth(cheap, cheap), 0);
    assert.equal(await person.compare(cheap, cheap), 0);
    assert.deepEqual(await settle(ask(0, 'boltzmann', 50), 50), new Array(50).fill(1));
    assert.deepEqual(await settle(ask(1, 'flip', 50), 50), new Array(50).fill(2));
    const coin = await settle(ask(1, 'boltzmann', 400), 400);
    const ones = coin.filter((a) => a === 1).length;
    assert.ok(ones > 160 && ones < 240, `${ones} of 400`);
    // ΔR* = 3 (−13 vs −16); noise 0.5 is τ = 1: P(1) = σ(3) ≈ 0.95
    const half = await settle(ask(0.5, 'boltzmann', 400), 400);
    const p1 = half.filter((a) => a === 1).length / 400;
    assert.ok(Math.abs(p1 - 1 / (1 + Math.exp(-3))) < 0.05, `P(1) = ${p1}`);
    assert.throws(() => new SimulatedPerson(valley, PREFERENCES.edge, { hazardCost: 5, noise: 1.5, noiseType: 'flip' }, mulberry32(1)), RangeError);
  })();
});

test('AnswerInput from a pipe: one answer per line, null at the end', async () => {
  const stream = new PassThrough();
  const input = new AnswerInput(stream);
  assert.equal(input.keys, false);
  stream.write('1\n2');
  assert.equal(await input.next(), '1');
  stream.end('\n 0 \nq');
  assert.equal(await input.next(), '2');
  assert.equal(await input.next(), '0');
  assert.equal(await input.next(), 'q');
  assert.equal(await input.next(), null);
  input.close();
});

test('terminal drawing: plain characters without colour, ANSI with, the same visible width', () => {
  const t = path(cheapestPath(valley, () => 1).cells);
  const plain = gridLines(valley, t, { color: false });
  assert.equal(plain.length, 7);
  assert.equal(plain[0], '. > > > > > > > > > v .');
  assert.equal(plain[1], '. S . # ~ ~ ~ ~ # . G .');
  assert.ok(plain.every((l) => !l.includes('\x1b[')));
  const color = gridLines(valley, t, { color: true });
  assert.ok(color.every((l) => l.includes('\x1b[48;2;')));
  assert.ok(color.every((l) => visibleLength(l) === 24));
  const pair = pairLines(valley, t, t, ['1: a', '2: b'], { color: false });
  assert.equal(pair.length, 8);
  assert.match(pair[0] as string, /^1: a {20,}2: b$/);
  const heat = heatLines(valley, valley.cells.map((_, c) => -c / 10), { color: false });
  assert.equal(heat[1], ' -1.2 -1.3 -1.4 ###  -1.6 -1.7 -1.8 -1.9 ###  -2.1 -2.2 -2.3');
});

test('PNG and APNG: valid chunks and CRCs, one frame per image, pixels round-trip through resvg', async () => {
  const img = await rasterize(gridSvg(valley, { path: [valley.start, at(1, 0)], caption: 'test' }));
  assert.equal(img.pixels.length, img.width * img.height * 4);
  const png = encodePng(img);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual(readPngChunks(png).map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
  const frames = [img, img, img];
  const apng = encodeApng(frames, 100);
  const chunks = readPngChunks(apng);
  const actl = chunks.find((c) => c.type === 'acTL');
  assert.ok(actl);
  assert.equal(actl.data.readUInt32BE(0), 3, 'acTL frame count');
  assert.equal(chunks.filter((c) => c.type === 'fcTL').length, 3);
  assert.equal(chunks.filter((c) => c.type === 'fdAT').length, 2);
  assert.deepEqual(chunks.filter((c) => c.type === 'fcTL' || c.type === 'fdAT').map((c) => c.data.readUInt32BE(0)), [0, 1, 2, 3, 4], 'sequence numbers');
  assert.throws(() => encodeApng([img, { width: 1, height: 1, pixels: new Uint8Array(4) }], 100), RangeError);
  // resvg's own PNG has CRCs our reader accepts (the CRC table is right)
  const { Resvg } = await import('@resvg/resvg-js');
  assert.doesNotThrow(() => readPngChunks(new Resvg(gridSvg(valley)).render().asPng()));
});
