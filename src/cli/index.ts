import type { Command } from './command.js';
import { isUserError, UsageError } from './command.js';
// Each subcommand lives in its own file; add new ones to this list.
import { benchModels } from './bench-models.js';
import { demo } from './demo.js';
import { doctor } from './doctor.js';
import { dpo } from './dpo.js';
import { evalCommand } from './eval.js';
import { generate } from './generate.js';
import { init } from './init.js';
import { pipeline } from './pipeline.js';
import { ppo } from './ppo.js';
import { reward } from './reward.js';
import { sft } from './sft.js';
import { studio } from './studio.js';

const commands: Command[] = [
  benchModels,
  demo,
  doctor,
  dpo,
  evalCommand,
  generate,
  init,
  pipeline,
  ppo,
  reward,
  sft,
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
    process.stdout.write(cmd.help.endsWith('\n') ? cmd.help : cmd.help + '\n');
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    // The error rule (command.ts): a named Error subclass is the user's to fix, one line and exit
    // code 2; anything else is a bug and propagates, so Node prints its stack.
    if (err instanceof UsageError || (isUserError(err) && !process.env.RLHF_DEBUG)) {
      process.stderr.write(`rlhf ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
