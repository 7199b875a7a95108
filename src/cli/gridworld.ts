// `rlhf gridworld search|feedback`: RLHF where you can see everything (src/gridworld/). Each
// subcommand is a trainerCommand: its --help, flags and --config FILE.yaml come from its schema.
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { trainerCommand } from './trainer-command.js';
import { FEEDBACK_HELP_GROUPS, SEARCH_HELP_GROUPS, feedbackConfig, searchConfig } from '../gridworld/config.js';
import { runFeedbackCommand, runSearchCommand } from '../gridworld/cli.js';

const io = () => ({ stdout: process.stdout, stdin: process.stdin, env: process.env });

const search = trainerCommand({
  name: 'gridworld search',
  summary: 'random walks on a grid, the cheapest kept: steps + hazards, and nothing else',
  intro: `
Usage: rlhf gridworld search [--layout valley|random | --map FILE] [--tries N] [--out DIR]

An agent samples random walks from S (never into a wall or off the grid; self-avoiding while it
can) and keeps the cheapest under the cost function steps + hazard-cost · hazards touched. Prints
how many tries it took, the best cost over tries, the cheapest possible cost (Dijkstra) and the
path — and which of the person's hidden preferences that path ignores. --out DIR writes the map,
the path as PNG frames and an animated PNG (.apng), and the cost curve as a chart.`,
  outro: `
Examples:
  rlhf gridworld search
  rlhf gridworld search --tries 5000 --out gw-search
  rlhf gridworld search --layout random --width 16 --height 10 --seed 3`,
  schema: searchConfig,
  groups: SEARCH_HELP_GROUPS,
  run: (cfg) => runSearchCommand(cfg, io()),
});

const feedback = trainerCommand({
  name: 'gridworld feedback',
  summary: 'RLHF on a grid: compare trajectories, fit a reward model, train a policy with PPO',
  intro: `
Usage: rlhf gridworld feedback [--hidden edge|clearance|scenic] [--simulate [--noise X]] [--out DIR]

The person wants something the cost function misses (--hidden). In rounds, pairs of trajectories
(from the current policy, random walks and short random searches) are shown side by side; you
answer 1 or 2 for the better one, 0 for a tie, q to stop early (single key presses on a terminal,
one answer per line from a pipe) — or a simulated person answers (--simulate, with --noise). A
small reward model over cell features is fitted to the answers with the Bradley–Terry loss of the
language-model reward trainer, and a softmax policy over the 4 moves is trained on it with the PPO
losses of the language-model PPO trainer. Prints the learned reward as a heat map, the policy's
path before and after, how many comparisons it took, and a table: random walk, random search,
and the policy before and after, by success rate and hidden-preference satisfaction.`,
  outro: `
Examples:
  rlhf gridworld feedback                                  you judge, 60 comparisons
  rlhf gridworld feedback --simulate --hidden scenic --out gw-feedback
  rlhf gridworld feedback --simulate --noise-type flip --noise 0.2 --comparisons 150
  printf '1\\n2\\n0\\nq\\n' | rlhf gridworld feedback      answers from a pipe`,
  schema: feedbackConfig,
  groups: FEEDBACK_HELP_GROUPS,
  run: (cfg) => runFeedbackCommand(cfg, io()),
});

const SUBCOMMANDS = [search, feedback];
const subName = (c: Command): string => c.name.slice('gridworld '.length);

const HELP = `rlhf gridworld — RLHF where you can see everything: a grid, a cost function, a person

Usage:
  rlhf gridworld search   [options]    random search under a cost function (steps, hazards)
  rlhf gridworld feedback [options]    preferences → reward model (Bradley–Terry) → policy (PPO)
  rlhf gridworld SUBCOMMAND --help     the options of each

The map (--layout valley, or --map FILE): S start, G goal, # wall, ~ hazard, * scenic, . empty.
Drawn in colour on a terminal (--color), as plain characters otherwise; --out DIR writes PNG
frames, animated PNGs (.apng) and charts. Everything is seeded (--seed) and runs in seconds on
one CPU core.
`;

export const gridworld: Command = {
  name: 'gridworld',
  summary: 'RLHF on a grid you can see: random search vs preferences → reward model → PPO',
  help: HELP,
  helpFor(argv: string[]): string {
    const sub = SUBCOMMANDS.find((c) => subName(c) === argv[0]);
    return sub ? sub.help : HELP;
  },
  async run(argv: string[]): Promise<number> {
    const [name, ...rest] = argv;
    const sub = SUBCOMMANDS.find((c) => subName(c) === name);
    if (!sub) {
      const what = name === undefined ? 'name a subcommand' : `unknown subcommand '${name}'`;
      throw new UsageError(`${what}: search or feedback. Run 'rlhf gridworld --help'.`);
    }
    return sub.run(rest);
  },
};
