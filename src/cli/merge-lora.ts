// `rlhf merge-lora`: fold a LoRA adapter (PEFT's format: what `rlhf sft --lora-r N` and PEFT's
// save_pretrained write) into its base model's weights, W += (α/r)·B·A, and write an ordinary
// Hugging Face model directory — what PEFT's merge_and_unload() + save_pretrained() give.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Command } from './command.js';
import { UsageError, writeOut } from './command.js';
import { ConfigError, helpText, resolveConfig } from '../config/schema-cli.js';
import { loadPretrained, loadScalarModel, savePretrained } from '../models/checkpoint.js';
import { ADAPTER_CONFIG_FILE, isAdapterDir, readAdapterConfig } from '../nn/lora-peft.js';
import { makeDirs } from '../util/dirs.js';

export const mergeLoraConfig = z.object({
  base: z.string().min(1).nullable().default(null).describe("the base model directory (default: the adapter's base_model_name_or_path)").meta({ metavar: 'DIR' }),
  out: z.string().min(1).describe('where to write the merged model (a Hugging Face directory)').meta({ metavar: 'DIR' }),
  dtype: z.enum(['float32', 'bfloat16']).default('float32').describe('dtype of the merged weights (the merge itself runs in float32)'),
});
export type MergeLoraConfig = z.infer<typeof mergeLoraConfig>;

const HELP = `rlhf merge-lora — merge a LoRA adapter into its base model and write a plain model directory

Usage:
  rlhf merge-lora ADAPTER_DIR --out DIR [--base DIR] [--dtype float32|bfloat16]

ADAPTER_DIR holds adapter_config.json and adapter_model.safetensors, as written by the trainers
with --lora-r N or by PEFT's save_pretrained. Each adapted weight becomes W + (α/r)·B·A ((B·A)ᵀ for
GPT-2's Conv1D weights; α/√r for rsLoRA); a reward model's adapter (task_type SEQ_CLS) brings its
trained score head. DIR then loads anywhere a model directory does, and with transformers'
AutoModelForCausalLM / AutoModelForSequenceClassification.from_pretrained — no PEFT needed.
(Every rlhf command also takes ADAPTER_DIR itself as --model, merging on the fly.)

${helpText(mergeLoraConfig)}
Examples
  rlhf sft --model models/tiny --data chats.jsonl --out out/sft-lora --lora-r 16
  rlhf merge-lora out/sft-lora --out out/sft-merged
  rlhf merge-lora peft-adapter/ --base models/base --out models/merged --dtype bfloat16
`;

export const mergeLora: Command = {
  name: 'merge-lora',
  summary: 'merge a LoRA adapter (PEFT format) into its base model: W += (α/r)·B·A, a plain model directory',
  help: HELP,
  async run(argv) {
    let c: MergeLoraConfig;
    let positionals: string[];
    try {
      ({ config: c, positionals } = resolveConfig(mergeLoraConfig, argv, { command: 'rlhf merge-lora' }));
    } catch (err) {
      throw err instanceof ConfigError ? new UsageError(err.message, { cause: err }) : err;
    }
    if (positionals.length !== 1) throw new UsageError(`give one adapter directory (got ${positionals.length}). Run 'rlhf merge-lora --help'.`);
    const dir = positionals[0] as string;
    if (!existsSync(join(dir, ADAPTER_CONFIG_FILE))) throw new UsageError(`${dir} has no ${ADAPTER_CONFIG_FILE}: it is not a LoRA adapter directory (PEFT's save_pretrained, or a trainer run with --lora-r N, writes one)`);
    if (!isAdapterDir(dir)) throw new UsageError(`${dir} has both ${ADAPTER_CONFIG_FILE} and config.json; rlhf cannot tell whether it is an adapter or a whole model — move one of them away`);
    if (resolve(c.out) === resolve(dir)) throw new UsageError('--out must differ from the adapter directory (a config.json there would hide the adapter)');
    makeDirs(c.out, '--out');
    const config = await readAdapterConfig(dir);
    const opts = { base: c.base, dtype: 'float32' as const };
    const loaded = config.taskType === 'SEQ_CLS' ? await loadScalarModel(dir, opts) : await loadPretrained(dir, opts);
    try {
      for (const w of loaded.warnings) process.stderr.write(`rlhf merge-lora: ${w}\n`);
      if (c.dtype !== 'float32') loaded.model.to(c.dtype);
      await savePretrained(loaded.model, c.out, { tokenizer: loaded.tokenizer, generationConfig: loaded.generationConfig });
      const l = config.lora;
      const targets = typeof l.targetModules === 'string' ? `/${l.targetModules}/` : l.targetModules.join(',');
      writeOut(`merge-lora: ${dir} (r ${l.r}, α ${l.loraAlpha}${l.useRslora ? ', rsLoRA' : ''}, ${targets}) merged into ${loaded.adapter?.base ?? c.base} → ${c.out}\n`);
    } finally {
      loaded.model.dispose();
    }
    return 0;
  },
};
