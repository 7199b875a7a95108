// The terminal side of `rlhf gridworld`: load the map, run search or feedback, print what happened
// (maps, paths, heat map, tables), and with --out write the pictures. The library files print
// nothing; everything that reaches the terminal is written here, through `io`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mixSeed, mulberry32 } from '../data/rng.js';
import { lineChart, renderChart } from '../eval/charts.js';
import { type Grid, GridError, LAYOUTS, parseGrid, randomGrid } from './grid.js';
import { type Trajectory, hazardsOf, stepsOf } from './env.js';
import { HIDDEN_PREFERENCES, PREFERENCES } from './preferences.js';
import { randomSearch } from './search.js';
import { AnswerInput, type Person, SimulatedPerson, TerminalPerson, describeTrajectory } from './person.js';
import { type AgentRow, type FeedbackResult, runFeedback } from './feedback.js';
import { gridLines, heatLines, legend, sideBySide, type TerminalStyle } from './render-terminal.js';
import { savePicture, saveWalk } from './render-image.js';
import type { FeedbackConfig, SearchConfig } from './config.js';

export interface TerminalIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => unknown };
  env: Record<string, string | undefined>;
}

type WorldConfig = Pick<SearchConfig, 'layout' | 'map' | 'width' | 'height' | 'seed' | 'color'>;

/** The map of a config: --map FILE, else the layout (random: generated from the seed). */
export function loadGrid(cfg: WorldConfig): Grid {
  if (cfg.map !== undefined) {
    const file = resolve(cfg.map);
    if (!existsSync(file)) throw new GridError(`--map: ${cfg.map} does not exist; give a text file with one row of cells per line`);
    return parseGrid(readFileSync(file, 'utf8'), cfg.map);
  }
  if (cfg.layout === 'random') return randomGrid(cfg.width, cfg.height, mulberry32(mixSeed(cfg.seed, 99)));
  return parseGrid(LAYOUTS[cfg.layout] as string, cfg.layout);
}

export function styleFor(cfg: Pick<SearchConfig, 'color'>, io: TerminalIO): TerminalStyle {
  return { color: cfg.color === 'always' || (cfg.color === 'auto' && io.stdout.isTTY === true && !io.env.NO_COLOR) };
}

const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(100 * x)}%` : '–');
const num = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** Which hidden preferences a path keeps, as "edge ✗ clearance ✓ scenic ✗". */
function keptLine(grid: Grid, t: Trajectory): string {
  return HIDDEN_PREFERENCES.map((h) => `${h} ${PREFERENCES[h].satisfied(grid, t) ? 'kept' : 'not kept'}`).join(', ');
}

/** A text table with a header row and right-aligned numbers. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)];
}

async function saveChart(file: string, spec: Parameters<typeof renderChart>[0]): Promise<void> {
  const { png } = await renderChart(spec);
  writeFileSync(file, png);
}

// ----- rlhf gridworld search ----------------------------------------------------------------------

export async function runSearchCommand(cfg: SearchConfig, io: TerminalIO): Promise<number> {
  const grid = loadGrid(cfg);
  const style = styleFor(cfg, io);
  const say = (s = ''): void => void io.stdout.write(`${s}\n`);
  say(`Random search on ${grid.name} (${grid.width}×${grid.height}), seed ${cfg.seed}. Cost = steps + ${cfg.hazardCost} × hazards touched.`);
  say(legend(style));
  say(gridLines(grid, null, style).join('\n'));
  say();
  const r = randomSearch(grid, { tries: cfg.tries, maxSteps: cfg.maxSteps, hazardCost: cfg.hazardCost, selfAvoiding: cfg.selfAvoiding }, mulberry32(mixSeed(cfg.seed, 1)));
  say(`${r.tries} random walks (${cfg.selfAvoiding ? 'self-avoiding, ' : ''}at most ${cfg.maxSteps} moves): ${r.successes} reached the goal${r.firstSuccessTry ? `, the first at try ${r.firstSuccessTry}` : ''}.`);
  if (!r.best) {
    say(`No walk reached the goal. Try more --tries or a larger --max-steps.`);
    return 0;
  }
  say(`Best cost ${num(r.bestCost, 0)} (${describeTrajectory(grid, r.best)}), found at try ${r.bestTry}.`);
  say(`The cheapest possible path costs ${num(r.optimum.cost, 0)} (Dijkstra)${r.optimum.foundAtTry ? `: chance matched it at try ${r.optimum.foundAtTry}` : `: not matched in ${r.tries} tries`}.`);
  const marks = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000].filter((n) => n <= r.tries);
  if (marks[marks.length - 1] !== r.tries) marks.push(r.tries);
  say();
  say(table(['tries', 'best cost so far'], marks.map((n) => [String(n), num(r.curve[n - 1] as number, 0)])).join('\n'));
  say();
  say('The best path:');
  say(gridLines(grid, r.best, style).join('\n'));
  say(`What the cost function cannot see — the hidden preferences of 'rlhf gridworld feedback': ${keptLine(grid, r.best)}.`);
  if (cfg.out !== undefined) {
    const out = resolve(cfg.out);
    mkdirSync(out, { recursive: true });
    const files = [await savePicture(out, 'grid', grid, { caption: `${grid.name} ${grid.width}×${grid.height}` })];
    files.push(await savePicture(out, 'search-best', grid, { path: r.best.cells, caption: `random search: cost ${r.bestCost}, try ${r.bestTry}` }));
    const walk = await saveWalk(out, 'search-best', grid, r.best, 'random search, best path');
    files.push(walk.animation);
    const curve = r.curve.map((y, i) => ({ x: i + 1, y })).filter((p) => Number.isFinite(p.y));
    await saveChart(join(out, 'search-cost.png'), lineChart([{ name: 'best cost so far', points: curve }, { name: 'optimum', points: [{ x: 1, y: r.optimum.cost }, { x: r.tries, y: r.optimum.cost }] }], { title: 'Random search: best cost over tries', xTitle: 'tries', yTitle: 'cost (steps + hazard cost)' }));
    files.push(join(out, 'search-cost.png'));
    writeFileSync(join(out, 'search.json'), JSON.stringify({ config: cfg, tries: r.tries, successes: r.successes, firstSuccessTry: r.firstSuccessTry, bestCost: r.bestCost, bestTry: r.bestTry, bestPath: r.best.cells, optimum: { cost: r.optimum.cost, foundAtTry: r.optimum.foundAtTry } }, null, 2) + '\n');
    say();
    say(`Wrote ${files.map((f) => f.slice(out.length + 1)).join(', ')}, search.json and ${walk.frames.length} frames in ${join(cfg.out, 'frames')}.`);
  }
  return 0;
}

// ----- rlhf gridworld feedback --------------------------------------------------------------------

function agentRow(r: AgentRow): string[] {
  return [r.agent, String(r.n), pct(r.success), pct(r.satisfied), num(r.meanSteps), num(r.meanHazards, 2), num(r.meanTrueReturn)];
}

export async function runFeedbackCommand(cfg: FeedbackConfig, io: TerminalIO): Promise<number> {
  const grid = loadGrid(cfg);
  const style = styleFor(cfg, io);
  const pref = PREFERENCES[cfg.hidden];
  const say = (s = ''): void => void io.stdout.write(`${s}\n`);
  say(`RLHF on ${grid.name} (${grid.width}×${grid.height}), seed ${cfg.seed}. The cost function counts steps and hazards; the person also wants to ${pref.wish} (--hidden ${cfg.hidden}).`);
  say(legend(style));
  say(gridLines(grid, null, style).join('\n'));

  let input: AnswerInput | null = null;
  let person: Person;
  if (cfg.simulate) {
    say(`A simulated person answers (${cfg.noiseType} noise ${cfg.noise}): ${cfg.comparisons} comparisons over ${cfg.rounds} rounds.`);
    person = new SimulatedPerson(grid, pref, { hazardCost: cfg.hazardCost, noise: cfg.noise, noiseType: cfg.noiseType }, mulberry32(mixSeed(cfg.seed, 12)));
  } else {
    input = new AnswerInput(io.stdin);
    say(`You are the person: you want the agent to ${pref.wish}, and to reach the goal. Up to ${cfg.comparisons} comparisons over ${cfg.rounds} rounds;`);
    say(input.keys ? 'press 1 or 2 for the better one, 0 for a tie, q to stop and train on what you said.' : 'answer one per line: 1 or 2 for the better one, 0 for a tie, q to stop and train on what you said.');
    person = new TerminalPerson(grid, input, (t) => void io.stdout.write(t), style, pref.wish);
  }

  let result: FeedbackResult;
  try {
    result = await runFeedback(grid, cfg, person, {
      onRoundStart: (round, n) => {
        if (!cfg.simulate) say(`\n── Round ${round}: ${n} comparisons ──`);
      },
      onRound: (r) => {
        const rm = Number.isFinite(r.rmLossStart) ? `reward model BT loss ${num(r.rmLossStart, 3)} → ${num(r.rmLossEnd, 3)} (orders ${pct(r.rmAccuracy)} of the answers)` : 'nothing to learn from yet';
        say(`round ${r.round}: ${r.comparisons} comparisons; ${rm}; policy reaches the goal ${pct(r.eval.success)}, keeps the preference ${pct(r.eval.satisfied)}`);
      },
    });
  } finally {
    input?.close();
  }

  const c = result.comparisons;
  const count = (a: number): number => c.filter((x) => x.answer === a).length;
  say();
  say(`${result.stoppedEarly ? 'Stopped early: ' : ''}recorded ${c.length} answer${c.length === 1 ? '' : 's'} (1: ${count(1)}, 2: ${count(2)}, tie: ${count(0)})${c.length && c.length <= 20 ? `: ${c.map((x) => x.answer).join(', ')}` : ''}.`);
  if (c.length === 0) say('No answers: nothing to learn from; the policy stays untrained.');
  say(result.comparisonsToTarget !== null
    ? `It took ${result.comparisonsToTarget} comparisons until the policy reached the goal keeping the preference on ≥ ${pct(cfg.target)} of its episodes.`
    : `The policy did not reach the goal keeping the preference on ≥ ${pct(cfg.target)} of its episodes within ${c.length} comparisons.`);
  if (result.rmAgreement.n) say(`On ${result.rmAgreement.n} fresh pairs the reward model orders ${pct(result.rmAgreement.agree / result.rmAgreement.n)} as the hidden preference does.`);
  say();
  say('The learned reward r̂(s) − r̂(goal), per cell (red: the person dislikes it; goal = 0):');
  say(heatLines(grid, result.cellRewards, style).join('\n'));
  say();
  say(sideBySide([
    [`Before feedback (a sampled episode): ${describeTrajectory(grid, result.before)}`, ...gridLines(grid, result.before, style)],
    [`After (the greedy path): ${describeTrajectory(grid, result.after)}`, ...gridLines(grid, result.after, style)],
  ]).join('\n'));
  say();
  say(table(['agent', 'n', 'reaches goal', `keeps "${cfg.hidden}"`, 'steps', 'hazards', 'R* (hidden)'], result.table.map(agentRow)).join('\n'));
  say(`(steps and hazards: mean over the runs that reached the goal; R*: the person's hidden return, higher is better)`);

  if (cfg.out !== undefined) {
    const out = resolve(cfg.out);
    mkdirSync(out, { recursive: true });
    const files: string[] = [];
    files.push(await savePicture(out, 'reward-heatmap', grid, { heat: result.cellRewards, caption: `learned reward r̂ − r̂(goal), ${c.length} comparisons` }));
    files.push(await savePicture(out, 'policy-before', grid, { path: result.before.cells, caption: `before feedback: ${describeTrajectory(grid, result.before)}` }));
    files.push(await savePicture(out, 'policy-after', grid, { path: result.after.cells, caption: `after ${c.length} comparisons: ${describeTrajectory(grid, result.after)}` }));
    const before = await saveWalk(out, 'policy-before', grid, result.before, 'before feedback');
    const after = await saveWalk(out, 'policy-after', grid, result.after, `after ${c.length} comparisons`);
    files.push(before.animation, after.animation);
    if (result.rmLosses.length) {
      await saveChart(join(out, 'reward-model-loss.png'), lineChart([{ name: 'Bradley–Terry loss', points: result.rmLosses.map((y, x) => ({ x, y })) }], { title: 'Reward model: Bradley–Terry loss of the last fit', subtitle: `${c.length} comparisons`, xTitle: 'AdamW step', yTitle: 'loss' }));
      files.push(join(out, 'reward-model-loss.png'));
    }
    if (result.rounds.length) {
      const pts = (f: (r: (typeof result.rounds)[number]) => number) => result.rounds.map((r) => ({ x: r.comparisons, y: f(r) }));
      await saveChart(join(out, 'progress.png'), lineChart([{ name: 'reaches the goal', points: pts((r) => r.eval.success) }, { name: `keeps "${cfg.hidden}"`, points: pts((r) => r.eval.satisfied) }], { title: 'The policy after each round', xTitle: 'comparisons', yTitle: 'share of episodes', yZero: true }));
      files.push(join(out, 'progress.png'));
    }
    writeFileSync(join(out, 'comparisons.jsonl'), c.map((x) => JSON.stringify({ index: x.index, round: x.round, a: x.a.cells, b: x.b.cells, answer: x.answer })).join('\n') + (c.length ? '\n' : ''));
    const summary = {
      config: cfg,
      hidden: { name: pref.name, wish: pref.wish },
      comparisons: c.length,
      stoppedEarly: result.stoppedEarly,
      comparisonsToTarget: result.comparisonsToTarget,
      rewardModelAgreement: result.rmAgreement,
      rounds: result.rounds.map((r) => ({ round: r.round, comparisons: r.comparisons, rmLossStart: r.rmLossStart, rmLossEnd: r.rmLossEnd, rmAccuracy: r.rmAccuracy, success: r.eval.success, satisfied: r.eval.satisfied })),
      table: result.table,
      cellRewards: result.cellRewards,
      before: { cells: result.before.cells, steps: stepsOf(result.before), hazards: hazardsOf(grid, result.before), reachedGoal: result.before.reachedGoal },
      after: { cells: result.after.cells, steps: stepsOf(result.after), hazards: hazardsOf(grid, result.after), reachedGoal: result.after.reachedGoal },
    };
    writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
    say();
    say(`Wrote ${files.map((f) => f.slice(out.length + 1)).join(', ')}, comparisons.jsonl, summary.json and ${before.frames.length + after.frames.length} frames in ${join(cfg.out, 'frames')}.`);
  }
  return 0;
}
