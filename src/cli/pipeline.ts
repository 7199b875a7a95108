// `rlhf pipeline FILE.yaml`: stages (sft → reward → ppo, or dpo) in order, resumable.
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { ConfigError } from '../config/schema-cli.js';
import { runPipeline } from '../trainers/pipeline.js';

const HELP = `rlhf pipeline — run training stages in order (e.g. sft → reward → ppo), each feeding the next

Usage:
  rlhf pipeline FILE.yaml

FILE.yaml holds a list of stages; each has a name, run (sft, reward, ppo, grpo, rloo,
reinforce-pp, dpo, kto, orpo or simpo) and that command's options (the long option names of its
--help, in camelCase, snake_case or kebab-case).
\${name} in a value is the --out of an earlier stage. Relative paths are relative to the file;
a model given as a Hub id (org/name, no such path there) comes from the Hugging Face cache.
Rerunning skips finished stages and resumes an interrupted one from its newest checkpoint.

Example
  stages:
    - name: sft
      run: sft
      model: models/tiny
      data: reviews.tsv
      columns: { text: sentence }
      out: runs/sft
      lr: 1e-3
    - name: rm
      run: reward
      model: \${sft}
      data: labels.tsv
      out: runs/rm
    - name: ppo
      run: ppo
      model: \${sft}
      reward_model: \${rm}
      prompts: prompts.txt
      out: runs/ppo
      max_steps: 50
`;

export const pipeline: Command = {
  name: 'pipeline',
  summary: 'run training stages from a YAML file in order, skipping finished ones and resuming',
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const files = argv.filter((a) => !a.startsWith('--'));
    const quiet = argv.includes('--quiet');
    const unknown = argv.filter((a) => a.startsWith('--') && a !== '--quiet');
    if (unknown.length) throw new UsageError(`unknown option ${unknown[0]}; rlhf pipeline takes FILE.yaml (stage options go in the file).`);
    if (files.length !== 1) throw new UsageError(`rlhf pipeline takes one FILE.yaml (got ${files.length}). Run 'rlhf pipeline --help'.`);
    try {
      const r = await runPipeline(files[0] as string, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: quiet ? undefined : process.stderr });
      process.stdout.write(`pipeline: done — ran ${r.ran.join(', ') || 'nothing'}${r.skipped.length ? `; skipped ${r.skipped.join(', ')}` : ''}\n`);
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
  },
};
