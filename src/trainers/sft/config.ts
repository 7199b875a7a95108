// Supervised fine-tuning (and pretraining from scratch): next-token cross-entropy on plain text, on
// the completion of prompt/completion pairs, or on the assistant turns of conversations — TRL's
// SFTConfig where the names exist.
import { z } from 'zod';
import { dataFields, LORA_HELP_KEYS, loraFields, optimFields, runFields } from '../common/config.js';

export const sftConfig = z.object({
  ...runFields(),
  ...dataFields({ maxLength: 256 }),
  ...optimFields({ lr: 5e-5, batchSize: 8, epochs: 1 }),
  ...loraFields(),
  packing: z.boolean().default(false).describe('concatenate examples (EOS-separated) into full blocks of --max-length tokens: no padding (TRL packing)'),
  completionOnlyLoss: z.boolean().default(true).describe('prompt/completion data: loss on the completion only; conversations: on assistant turns only (TRL completion_only_loss, assistant_only_loss)'),
  appendEos: z.boolean().default(true).describe('end each text or completion with EOS, so the model learns to stop'),
  evalEvery: z.int().min(0).default(0).describe('optimizer steps between evaluations on the held-out split (0: only at the end)'),
});

export type SFTConfig = z.infer<typeof sftConfig>;
export type SFTConfigInput = z.input<typeof sftConfig>;

export const SFT_HELP_GROUPS = {
  'Model and output': ['model', 'out', 'resume', 'saveEvery', 'keepCheckpoints', 'logEvery', 'evalEvery', 'seed', 'dtype', 'quiet'],
  Data: ['data', 'columns', 'evalSplit', 'skipInvalid', 'maxLength', 'packing', 'completionOnlyLoss', 'appendEos'],
  Optimization: ['epochs', 'maxSteps', 'batchSize', 'gradAccum', 'lr', 'weightDecay', 'adamBetas', 'schedule', 'warmupSteps', 'maxGradNorm'],
  LoRA: LORA_HELP_KEYS,
} as const;
