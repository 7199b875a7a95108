// `rlhf pull ID`: fetch a model from the Hugging Face Hub into the Hugging Face cache, run nothing,
// print the snapshot directory (what --model ID resolves to from then on, offline too).
import { z } from 'zod';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';
import { hubSettings } from '../hub/cache.js';
import { parseHubRef, snapshotFiles, snapshotModel } from '../hub/resolve.js';

export const pullConfig = z.object({
  revision: z.string().min(1).optional().describe('a branch, tag or commit hash (default main; ID@REVISION also works)').meta({ metavar: 'REV' }),
  include: z.array(z.string().min(1)).default([]).describe("only the repository's files matching these globs (* ? [..], * crosses /), e.g. '*.json' or 'onnx/*'; default: what a model directory needs").meta({ metavar: 'PATTERN' }),
  quiet: z.boolean().default(false).describe('no progress bar'),
});
export type PullConfig = z.infer<typeof pullConfig>;

const HELP = `rlhf pull — fetch a model from the Hugging Face Hub into the local cache (nothing else runs)

Usage:
  rlhf pull ID [--revision R] [--include PATTERN]…

Downloads what a model directory needs — config.json, the safetensors weights (one file, or the index
and every shard), tokenizer files, generation_config.json, a LoRA adapter's files — into the cache
Python's huggingface_hub uses ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), and
prints the snapshot directory. Files already there are not fetched again; an interrupted download
resumes. Afterwards '--model ID' finds the model in every command, with HF_HUB_OFFLINE=1 too.

${helpText(pullConfig)}
Environment
  HF_TOKEN              a read token for gated or private models (https://huggingface.co/settings/tokens)
  HF_ENDPOINT           the Hub's address (default https://huggingface.co), e.g. a mirror
  HF_HUB_CACHE, HF_HOME where the cache is
  HF_HUB_OFFLINE=1      never go online: use the cache only

Examples
  rlhf pull HuggingFaceTB/SmolLM2-135M
  rlhf pull openai-community/gpt2 --revision main --include '*.json'
  rlhf generate --model HuggingFaceTB/SmolLM2-135M --prompt "Once upon a time"
`;

export const pull: Command = {
  name: 'pull',
  summary: 'fetch a model from the Hugging Face Hub into the local cache and print its directory',
  help: HELP,
  async run(argv) {
    let c: PullConfig;
    let positionals: string[];
    try {
      ({ config: c, positionals } = resolveConfig(pullConfig, argv, { command: 'rlhf pull' }));
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message, { cause: err }) : err;
    }
    if (positionals.length !== 1) throw new UsageError(`rlhf pull takes one model id, e.g. rlhf pull HuggingFaceTB/SmolLM2-135M (got ${positionals.length}). Run 'rlhf pull --help'.`);
    const ref = positionals[0] as string;
    const hub = parseHubRef(ref);
    if (!hub) throw new UsageError(`${ref} is not a Hub model id: ids are NAME or ORG/NAME (letters, digits, '-', '_', '.'), optionally @REVISION`);
    if (hub.revision !== null && c.revision !== undefined && hub.revision !== c.revision) throw new UsageError(`${ref} names revision '${hub.revision}' and --revision says '${c.revision}'; give it once`);
    const opts = { revision: hub.revision ?? c.revision, ...(c.quiet ? { progress: false as const } : {}) };
    const snap = c.include.length ? await snapshotFiles(hub.repoId, c.include, opts) : await snapshotModel(hub.repoId, opts);
    const what = snap.downloaded.length ? `${snap.downloaded.length} file(s) downloaded` : 'already in the cache';
    process.stderr.write(`${hub.repoId} (${snap.revision} → ${snap.commit.slice(0, 12)}): ${what}; cache ${hubSettings().cacheDir}\n`);
    process.stdout.write(`${snap.dir}\n`);
    return 0;
  },
};
