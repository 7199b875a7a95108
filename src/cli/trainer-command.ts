// The shape every training command shares: its help is generated from the config schema, its
// flags and --config FILE.yaml resolve through the same schema, and its errors are the schema's.
import type { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';

export interface TrainerCommandSpec<S extends z.ZodObject> {
  name: string;
  summary: string;
  /** Lines after the title: usage, a paragraph on what it does. */
  intro: string;
  /** Lines after the options: examples, notes. */
  outro: string;
  schema: S;
  groups: Record<string, readonly string[]>;
  run(config: z.infer<S>): Promise<number>;
}

export function trainerCommand<S extends z.ZodObject>(spec: TrainerCommandSpec<S>): Command {
  const help = `rlhf ${spec.name} — ${spec.summary}\n\n${spec.intro.trim()}\n\n${helpText(spec.schema, spec.groups)}  --config FILE.yaml  options from a YAML file (keys are the long option names; flags override it)\n\n${spec.outro.trim()}\n`;
  return {
    name: spec.name,
    summary: spec.summary,
    help,
    async run(argv: string[]): Promise<number> {
      let config: z.infer<S>;
      try {
        const r = resolveConfig(spec.schema, argv, { command: `rlhf ${spec.name}` });
        if (r.positionals.length) throw new ConfigError(`unexpected argument '${r.positionals[0]}'; options start with --. Run 'rlhf ${spec.name} --help'.`);
        config = r.config;
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message);
        throw err;
      }
      return spec.run(config);
    },
  };
}
