import type { Command } from './command.js';
import { isUserError, OutputClosedError, UsageError } from './command.js';
import { createdDirsMark, removeEmptyCreatedDirs } from '../util/dirs.js';
// Each subcommand lives in its own file; add new ones to this list.
import { benchModels } from './bench-models.js';
import { demo } from './demo.js';
import { doctor } from './doctor.js';
import { dpo } from './dpo.js';
import { evalCommand } from './eval.js';
import { generate } from './generate.js';
import { gridworld } from './gridworld.js';
import { grpo } from './grpo.js';
import { init } from './init.js';
import { kto } from './kto.js';
import { mergeLora } from './merge-lora.js';
import { orpo } from './orpo.js';
import { pipeline } from './pipeline.js';
import { ppo } from './ppo.js';
import { pull } from './pull.js';
import { reinforcePP } from './reinforce-pp.js';
import { reward } from './reward.js';
import { rft } from './rft.js';
import { rloo } from './rloo.js';
import { sft } from './sft.js';
import { simpo } from './simpo.js';
import { studio } from './studio.js';

/** Every `rlhf` subcommand, in the order `rlhf --help` lists them (docs/reference/ is generated from it). */
export const commands: Command[] = [
  benchModels,
  demo,
  doctor,
  dpo,
  evalCommand,
  generate,
  gridworld,
  grpo,
  init,
  kto,
  mergeLora,
  orpo,
  pipeline,
  ppo,
  pull,
  reinforcePP,
  reward,
  rft,
  rloo,
  sft,
  simpo,
  studio,
];

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'rlhf — align causal language models from TypeScript (SFT, reward models, PPO, DPO, human feedback)',
    '',
    'Usage: rlhf <command> [options]      rlhf <command> --help for details',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  quietOnClosedPipe(name ?? '');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`rlhf: unknown command '${name}'. Run 'rlhf --help' for the list.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = cmd.helpFor?.(rest) ?? cmd.help;
    process.stdout.write(help.endsWith('\n') ? help : help + '\n');
    return 0;
  }
  const mark = createdDirsMark();
  try {
    const code = await cmd.run(rest);
    if (code !== 0) removeEmptyCreatedDirs(mark);
    return code;
  } catch (err) {
    removeEmptyCreatedDirs(mark); // an --out this run created and never wrote into goes too
    if (err instanceof OutputClosedError) return 0;
    // The error rule (command.ts): a named Error subclass is the user's to fix, one line and exit
    // code 2; anything else is a bug and propagates, so Node prints its stack.
    if (err instanceof UsageError || (isUserError(err) && !process.env.RLHF_DEBUG)) {
      process.stderr.write(`rlhf ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/**
 * `rlhf generate … | head`: when the reader of stdout (or stderr) goes away, the command ends
 * quietly with exit code 0 — what the reader asked for — instead of an EPIPE stack trace. Another
 * write error (a full disk behind `> file`) is one line and exit code 2.
 */
let commandName = '';
let pipesWatched = false;

function quietOnClosedPipe(name: string): void {
  commandName = name;
  if (pipesWatched) return; // main() may run more than once in a process (tests)
  pipesWatched = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      const name = commandName;
      removeEmptyCreatedDirs();
      if (err.code === 'EPIPE') process.exit(0);
      if (stream !== process.stderr) process.stderr.write(`rlhf${name ? ` ${name}` : ''}: cannot write the output: ${err.message}\n`);
      process.exit(2);
    });
  }
}
