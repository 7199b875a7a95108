// The shape every training command shares: its help is generated from the config schema, its
// flags and --config FILE.yaml resolve through the same schema, and its errors are the schema's.
import type { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';
import { resolveModelFields } from '../hub/resolve.js';

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
  const groups = revisionAfterModel(spec.groups, spec.schema);
  const help = `rlhf ${spec.name} — ${spec.summary}\n\n${spec.intro.trim()}\n\n${helpText(spec.schema, groups)}  --config FILE.yaml  options from a YAML file (keys are the long option names; flags override it)\n\n${spec.outro.trim()}\n`;
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
      // Model options given as Hub ids (org/name) become their snapshot directories in the Hugging
      // Face cache, downloaded first when missing: the trainers see local directories only.
      const quiet = (config as { quiet?: unknown }).quiet === true;
      return spec.run(await resolveModelFields(config, quiet ? { progress: false } : {}));
    },
  };
}

/** `--revision` (when the schema has it) listed right after `--model`, in whichever help group holds `model`. */
function revisionAfterModel(groups: Record<string, readonly string[]>, schema: z.ZodObject): Record<string, readonly string[]> {
  if (!('revision' in schema.shape) || Object.values(groups).some((keys) => keys.includes('revision'))) return groups;
  return Object.fromEntries(Object.entries(groups).map(([title, keys]) => [title, keys.flatMap((k) => (k === 'model' ? [k, 'revision'] : [k]))]));
}
