// The sampling options, each defined once: type, range, default and help line. generate() takes its
// defaults from here (SAMPLING_DEFAULTS), `rlhf generate` its flags, --help and YAML keys
// (z.object({ ...samplingFields(), … }) through src/config/schema-cli.ts), and the studio its
// generation defaults. Only zod is imported, so the studio's server can use it without libtorch.
//
// The meanings are transformers' GenerationConfig's: temperature divides the logits before the
// softmax, top-k keeps the k most likely tokens, top-p the smallest set holding probability p
// (nucleus, Holtzman et al., 2019), and the repetition penalty is CTRL's (Keskar et al., 2019, §4.1);
// logits-processors.ts has the equations.
import { z } from 'zod';

export const GENERATION_DTYPES = ['float32', 'bfloat16'] as const;

/** Sampling fields for a config schema: `z.object({ model: …, ...samplingFields() })`. */
export function samplingFields() {
  return {
    maxNewTokens: z.int().min(1).default(64).describe('most tokens to generate per prompt'),
    greedy: z.boolean().default(false).describe('always take the most likely token (deterministic; log-probs use T = 1)'),
    temperature: z.number().min(0).default(1).describe('softmax temperature T: sample from softmax(logits / T); 0 means --greedy').meta({ metavar: 'T' }),
    topK: z.int().min(1).nullable().default(null).describe('sample among the K most likely tokens (off when not given)').meta({ metavar: 'K' }),
    topP: z.number().gt(0).max(1).nullable().default(null).describe('nucleus sampling: the most likely tokens holding probability P ≤ 1 (off when not given)').meta({ metavar: 'P' }),
    repetitionPenalty: z.number().gt(0).default(1).describe('CTRL penalty θ on tokens already in the text (1 = off, 1.2 typical)'),
    seed: z.int().min(0).nullable().default(null).describe('random seed: the same seed gives the same text (unseeded when not given)'),
    dtype: z.enum(GENERATION_DTYPES).default('float32').describe('float32 (exact) or bfloat16 (weights cast once at load; ~2× faster with bf16 hardware)'),
  };
}

export const samplingConfig = z.object(samplingFields());
export type SamplingConfig = z.infer<typeof samplingConfig>;

/** Every sampling default, read from the schema: what generate() and the CLI use when an option is not given. */
export const SAMPLING_DEFAULTS: Readonly<SamplingConfig> = Object.freeze(samplingConfig.parse({}));
