// `rlhf gridworld` as a person uses it: answers piped in (1, 2, 0, q) are recorded and q stops the
// asking; the same through a pseudo-terminal, one key press at a time (when `script` is installed);
// --out writes valid PNGs and animated PNGs with one frame per step; bad input is one line, exit 2;
// --help of each subcommand comes from its schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPngChunks } from '../../src/gridworld/apng.js';
import { gridworld } from '../../src/cli/gridworld.js';
import { UsageError } from '../../src/cli/command.js';
import { GridError } from '../../src/gridworld/grid.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENV = { ...process.env, RLHF_DEBUG: '', RLHF_NUM_THREADS: '1', NO_COLOR: '1' };
/** A feedback run small enough for a test: 2 rounds, few PPO iterations, few evaluation episodes. */
const SMALL = ['--rounds', '2', '--comparisons', '6', '--max-steps', '20', '--ppo-iterations', '2', '--episodes', '16', '--eval-episodes', '20', '--search-runs', '4', '--search-tries', '50', '--rm-steps', '30'];

function rlhf(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/rlhf.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: ENV, ...(input !== undefined ? { input } : {}) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `rlhf ARGV…` in this process (src/cli/index.ts main), its stdout and stderr captured. */
async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../../src/cli/index.js');
  let stdout = '', stderr = '';
  const out = process.stdout.write.bind(process.stdout), err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

function apngFrames(file: string): number {
  const chunks = readPngChunks(readFileSync(file));
  const actl = chunks.find((c) => c.type === 'acTL');
  assert.ok(actl, `${file} has no acTL chunk: not animated`);
  const n = actl.data.readUInt32BE(0);
  assert.equal(chunks.filter((c) => c.type === 'fcTL').length, n, 'one fcTL per frame');
  return n;
}

test('feedback from a pipe: the answers 1, 2, 0 are recorded, q stops, the rest still runs; --out is complete', () => {
  const out = mkdtempSync(join(tmpdir(), 'gw-pipe-'));
  const r = rlhf(['gridworld', 'feedback', ...SMALL, '--out', out], '1\n2\n0\nq\n1\n');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Comparison 1 — which would you rather the agent did\?/);
  assert.match(r.stdout, /Comparison 3 /);
  assert.match(r.stdout, /Comparison 4 /, 'the fourth pair is shown, and q answers it');
  assert.doesNotMatch(r.stdout, /Comparison 5 /);
  assert.match(r.stdout, /Stopped early: recorded 3 answers \(1: 1, 2: 1, tie: 1\): 1, 2, 0\./);
  assert.match(r.stdout, /^round 1: 3 comparisons; reward model BT loss /m);
  assert.doesNotMatch(r.stdout, /^round 2/m, 'q as the first answer of round 2: no new answers, no new models');
  assert.match(r.stdout, /learned policy +20 /);
  assert.ok(!r.stdout.includes('\x1b['), 'no colour on a pipe');
  const lines = readFileSync(join(out, 'comparisons.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { answer: number; a: number[]; b: number[] });
  assert.deepEqual(lines.map((l) => l.answer), [1, 2, 0]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { comparisons: number; stoppedEarly: boolean; before: { cells: number[] }; after: { cells: number[] } };
  assert.equal(summary.comparisons, 3);
  assert.equal(summary.stoppedEarly, true);
  for (const f of ['reward-heatmap.png', 'policy-before.png', 'policy-after.png', 'reward-model-loss.png', 'progress.png']) {
    assert.deepEqual([...readFileSync(join(out, f)).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], f);
    assert.ok(readPngChunks(readFileSync(join(out, f))).some((c) => c.type === 'IDAT'), f);
  }
  // one frame per position along the path: the start, then after each move
  for (const [name, cells] of [['policy-before', summary.before.cells], ['policy-after', summary.after.cells]] as const) {
    assert.equal(apngFrames(join(out, `${name}.apng`)), cells.length, name);
    assert.equal(readdirSync(join(out, 'frames')).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.png')).length, cells.length, name);
  }
});

test('feedback through a pseudo-terminal: single key presses, no Enter; q stops', { skip: !existsSync('/usr/bin/script') && 'util-linux script is not installed' }, async () => {
  const cmd = ['node', 'bin/rlhf.js', 'gridworld', 'feedback', ...SMALL, '--color', 'never'].join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, env: ENV });
  let stdout = '';
  const keys = ['2', '1', 'q'];
  let prompts = 0;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    // press a key each time a new prompt appears
    const n = stdout.split('[1] left  [2] right  [0] tie  [q] stop').length - 1;
    while (prompts < n && keys.length) {
      prompts++;
      child.stdin.write(keys.shift() as string);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stdout.slice(-2000));
  assert.match(stdout, /press 1 or 2 for the better one, 0 for a tie, q to stop/);
  assert.match(stdout, /Stopped early: recorded 2 answers \(1: 1, 2: 1, tie: 0\): 2, 1\./);
  assert.doesNotMatch(stdout, /Comparison 4 /);
});

test('search: the cheapest path, the tries it took, and pictures: map, path, animation, cost chart', () => {
  const out = mkdtempSync(join(tmpdir(), 'gw-search-'));
  const r = rlhf(['gridworld', 'search', '--tries', '500', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^500 random walks \(self-avoiding, at most 40 moves\): \d+ reached the goal, the first at try \d+\.$/m);
  assert.match(r.stdout, /^Best cost 11 \(11 steps, 0 hazards\), found at try \d+\.$/m);
  assert.match(r.stdout, /The cheapest possible path costs 11 \(Dijkstra\): chance matched it at try \d+/);
  assert.match(r.stdout, /edge not kept, clearance not kept, scenic not kept/);
  const s = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as { bestCost: number; bestPath: number[]; tries: number };
  assert.equal(s.bestCost, 11);
  assert.equal(apngFrames(join(out, 'search-best.apng')), s.bestPath.length);
  for (const f of ['grid.png', 'search-best.png', 'search-cost.png']) assert.ok(readPngChunks(readFileSync(join(out, f))).length >= 3, f);
});

test('bad input: a named error whose message names the flag and the fix', async () => {
  const fails = async (argv: string[], re: RegExp, cls: new (...a: never[]) => Error = UsageError): Promise<void> => {
    await assert.rejects(gridworld.run(argv), (e: unknown) => e instanceof cls && re.test((e as Error).message) && !(e as Error).message.includes('\n'));
  };
  await fails(['feedback', '--hidden', 'tidiness'], /^--hidden: Invalid option: expected one of "edge"\|"clearance"\|"scenic" \(got "tidiness"\)\. Run 'rlhf gridworld feedback --help'\.$/);
  await fails(['feedback', '--simulate', '--noise', '1.5'], /^--noise: the noise level must be in \[0, 1\]: 0 answers perfectly, 1 at random \(got 1\.5\)/);
  await fails(['feedback', '--noise', '-0.1'], /^--noise: the noise level must be in \[0, 1\]/);
  await fails(['search', '--layout', 'random', '--width', '3'], /^--width: the grid is too small: at least 5 cells wide \(got 3\)/);
  await fails(['search', '--tries', '0'], /^--tries: Too small/);
  await fails(['dance'], /^unknown subcommand 'dance': search or feedback\. Run 'rlhf gridworld --help'\.$/);
  await fails([], /^name a subcommand: search or feedback/);
  const dir = mkdtempSync(join(tmpdir(), 'gw-map-'));
  writeFileSync(join(dir, 'tiny.txt'), 'SG\n..\n');
  await fails(['search', '--map', join(dir, 'tiny.txt')], /tiny\.txt: the grid is 2×2, too small; it must be at least 3×3$/, GridError);
  await fails(['search', '--map', join(dir, 'none.txt')], /^--map: .*none\.txt does not exist/, GridError);
  // and through `rlhf` itself: one line on stderr, exit code 2
  const r = await runMain(['gridworld', 'feedback', '--hidden', 'tidiness']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `rlhf gridworld: --hidden: Invalid option: expected one of "edge"|"clearance"|"scenic" (got "tidiness"). Run 'rlhf gridworld feedback --help'.\n`);
});

test('--help: each subcommand lists its own options, from its schema', async () => {
  assert.match(gridworld.help, /rlhf gridworld search +\[options\]/);
  const fb = gridworld.helpFor?.(['feedback', '--help']) ?? '';
  assert.match(fb, /^rlhf gridworld feedback — /);
  assert.match(fb, /--hidden edge\|clearance\|scenic/);
  assert.match(fb, /--noise X +--simulate: how noisy the person is, in \[0, 1\] \(default 0\.1\)/);
  assert.match(fb, /--noise-type boltzmann\|flip/);
  assert.doesNotMatch(fb, /--tries/);
  const se = gridworld.helpFor?.(['search']) ?? '';
  assert.match(se, /--tries N +random walks to sample; the cheapest one is kept \(default 500\)/);
  assert.doesNotMatch(se, /--hidden/);
  const r = await runMain(['gridworld', 'search', '--help']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, se.endsWith('\n') ? se : `${se}\n`);
  assert.match((await runMain(['--help'])).stdout, /^ {2}gridworld +RLHF on a grid you can see/m);
});
