// Every write into the studio goes through one of these schemas: task specs (CLI and web UI alike),
// imported JSONL lines, label submissions, generation requests, people. Limits live here too.
import { z } from 'zod';
import type { Issue } from './errors.js';
import { InvalidInputError } from './errors.js';
import { DEFAULT_DIMENSIONS, TASK_KINDS } from './types.js';
import { SAMPLING_DEFAULTS } from '../generation/config.js';

/** Upper bounds on what one request or one imported line may carry. */
export const LIMITS = {
  /** Characters in a prompt or a response. */
  text: 200_000,
  /** Characters in an optional reason or comment. */
  note: 4_000,
  /** Characters in a written or edited demonstration. */
  demonstration: 100_000,
  /** Responses in one ranking item. */
  rankingMax: 10,
  /** Bytes in one label submission (HTTP body). */
  labelBody: 256 * 1024,
  /** Bytes in one task-import request (HTTP body). */
  importBody: 64 * 1024 * 1024,
  /** Items in one task. */
  items: 200_000,
} as const;

/** Field names a rating export uses itself, so a dimension may not be called one of them. */
const RESERVED_COLUMNS = new Set(['id', 'prompt', 'response', 'model', 'annotator', 'comment', 'n_ratings', 'created_at', 'task']);

export const taskNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'task names are 1–64 letters, digits, "_", "." or "-", starting with a letter or digit');

export const dimensionSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,31}$/, 'dimension names are lower-case letters, digits and "_" (e.g. "factuality"), at most 32')
  .refine((d) => !RESERVED_COLUMNS.has(d), { message: 'this name is used by the ratings export itself; pick another' });

export const userNameSchema = z
  .string()
  .trim()
  .min(1, 'a name is required')
  .max(64, 'names are at most 64 characters')
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'names may not contain control characters');

/** A task as an admin describes it (CLI flags and the web form both produce this). */
export const taskSpecSchema = z
  .object({
    name: taskNameSchema,
    kind: z.enum(TASK_KINDS),
    title: z.string().max(200).optional(),
    instructions: z.string().max(20_000).default(''),
    perItem: z.int().min(1).max(50).default(2),
    dimensions: z.array(dimensionSchema).min(1).max(12).optional(),
    leaseMinutes: z.int().min(1).max(7 * 24 * 60).default(30),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.dimensions && t.kind !== 'rating') {
      ctx.addIssue({ code: 'custom', path: ['dimensions'], message: `only rating tasks have dimensions (this task is ${t.kind})` });
    }
    if (t.dimensions && new Set(t.dimensions).size !== t.dimensions.length) {
      ctx.addIssue({ code: 'custom', path: ['dimensions'], message: 'dimension names must be distinct' });
    }
  });
export type TaskSpecInput = z.input<typeof taskSpecSchema>;
export type TaskSpec = z.output<typeof taskSpecSchema> & { dimensions: string[] };

export function parseTaskSpec(input: unknown): TaskSpec {
  const t = parseOrThrow(taskSpecSchema, input, 'Invalid task');
  return { ...t, dimensions: t.kind === 'rating' ? (t.dimensions ?? [...DEFAULT_DIMENSIONS]) : [] };
}

// ---- imported items ---------------------------------------------------------------------------

const text = z.string().max(LIMITS.text, `at most ${LIMITS.text} characters`);
const modelName = z.string().min(1).max(200);
const responseEntry = z.union([text, z.object({ text, model: modelName.optional() }).strict()]);

/**
 * One JSONL line. Accepted shapes (fields not listed here are kept as item metadata):
 *   {"prompt": "...", "responses": ["...", {"text": "...", "model": "m"}]}
 *   {"prompt": "...", "response_a": "...", "response_b": "...", "model_a": "m1", "model_b": "m2"}
 *   {"prompt": "...", "response": "...", "model": "m"}          (rating; edit: the draft)
 *   {"prompt": "..."}                                            (edit: write from scratch)
 * and an optional "id" (string or number) carried into every export row.
 */
export const importLineSchema = z.looseObject({
  id: z.union([z.string().max(200), z.number()]).optional(),
  prompt: text.min(1, 'the prompt is empty'),
  responses: z.array(responseEntry).max(LIMITS.rankingMax).optional(),
  response: text.optional(),
  model: modelName.optional(),
  response_a: text.optional(),
  response_b: text.optional(),
  model_a: modelName.optional(),
  model_b: modelName.optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

export interface ImportedItem {
  externalId: string | null;
  prompt: string;
  responses: { text: string; model: string | null }[];
  meta: Record<string, unknown>;
}

const KNOWN_FIELDS = new Set(['id', 'prompt', 'responses', 'response', 'model', 'response_a', 'response_b', 'model_a', 'model_b', 'meta']);

/** Validates one parsed JSON line for a task kind; throws InvalidInputError naming the field. */
export function normalizeImportLine(raw: unknown, kind: (typeof TASK_KINDS)[number]): ImportedItem {
  const line = parseOrThrow(importLineSchema, raw, 'Invalid item');
  const responses: { text: string; model: string | null }[] = [];
  const shapes = [line.responses !== undefined, line.response !== undefined, line.response_a !== undefined || line.response_b !== undefined];
  if (shapes.filter(Boolean).length > 1) {
    throw new InvalidInputError('Invalid item', [{ path: 'responses', message: 'use one of "responses", "response", or "response_a"/"response_b", not several' }]);
  }
  if (line.responses) {
    for (const r of line.responses) responses.push(typeof r === 'string' ? { text: r, model: null } : { text: r.text, model: r.model ?? null });
  } else if (line.response !== undefined) {
    responses.push({ text: line.response, model: line.model ?? null });
  } else if (line.response_a !== undefined || line.response_b !== undefined) {
    if (line.response_a === undefined || line.response_b === undefined) {
      throw new InvalidInputError('Invalid item', [{ path: line.response_a === undefined ? 'response_a' : 'response_b', message: 'missing (a pair needs both "response_a" and "response_b")' }]);
    }
    responses.push({ text: line.response_a, model: line.model_a ?? null }, { text: line.response_b, model: line.model_b ?? null });
  }
  const need: Record<typeof kind, [number, number, string]> = {
    pairwise: [2, 2, 'a pairwise item needs exactly 2 responses ("responses": [a, b] or "response_a"/"response_b")'],
    rating: [1, 1, 'a rating item needs exactly 1 response ("response": "...")'],
    ranking: [2, LIMITS.rankingMax, `a ranking item needs 2 to ${LIMITS.rankingMax} responses ("responses": [...])`],
    edit: [0, 1, 'an edit item has at most 1 draft response ("response": "...")'],
  };
  const [lo, hi, why] = need[kind];
  if (responses.length < lo || responses.length > hi) {
    throw new InvalidInputError('Invalid item', [{ path: 'responses', message: `${responses.length === 0 ? 'missing: ' : `has ${responses.length}: `}${why}` }]);
  }
  const meta: Record<string, unknown> = { ...(line.meta ?? {}) };
  for (const [k, v] of Object.entries(line)) if (!KNOWN_FIELDS.has(k)) meta[k] = v;
  return { externalId: line.id === undefined ? null : String(line.id), prompt: line.prompt, responses, meta };
}

// ---- label submissions ------------------------------------------------------------------------

const note = z.string().max(LIMITS.note, `at most ${LIMITS.note} characters`);
const letter = z.string().regex(/^[A-J]$/, 'responses are named by the letter shown, A to J');

/** Fields every submission carries, whatever the task kind. */
export const submissionEnvelopeSchema = z
  .object({
    itemId: z.int().positive(),
    /** Client-generated, unique per submission: a retry with the same key never makes a second label. */
    idempotencyKey: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/, '8–100 characters of A–Z, a–z, 0–9, "_" or "-" (a UUID works)'),
    /** Milliseconds the annotator spent on the item (optional, for the dashboard). */
    durationMs: z.int().min(0).max(7 * 24 * 3600 * 1000).optional(),
    value: z.unknown(),
  })
  .strict();

export const pairwiseSubmissionSchema = z
  .object({ choice: z.enum(['A', 'B', 'tie', 'both_bad']), reason: note.optional() })
  .strict();
export const ratingSubmissionSchema = z
  .object({ scores: z.record(z.string(), z.int().min(1).max(5)), comment: note.optional() })
  .strict();
export const rankingSubmissionSchema = z.object({ ranking: z.array(letter).min(2).max(LIMITS.rankingMax) }).strict();
export const editSubmissionSchema = z
  .object({ text: z.string().max(LIMITS.demonstration, `at most ${LIMITS.demonstration} characters`).refine((s) => s.trim().length > 0, 'the response is empty') })
  .strict();

// ---- generation and people --------------------------------------------------------------------

/**
 * Defaults of live generation. The length is the library's (SAMPLING_DEFAULTS, as in `rlhf generate`)
 * and top-p is off unless given, as there. Two are the studio's own: temperature 0.8 for the samples
 * annotators compare (the web form's value too), and seed 0 rather than unseeded, because each batch
 * of a task is seeded from it (seed + sample and item offsets), so a task's items are reproducible.
 */
export const GENERATION_DEFAULTS = {
  maxNewTokens: SAMPLING_DEFAULTS.maxNewTokens,
  temperature: 0.8,
  seed: 0,
  batchSize: 8,
} as const;

export const generationRequestSchema = z
  .object({
    task: taskSpecSchema,
    models: z.array(z.string().min(1).max(4096)).min(1).max(2),
    modelNames: z.array(modelName).max(2).optional(),
    prompts: z.array(text.min(1, 'a prompt is empty')).min(1).max(LIMITS.items),
    samples: z.int().min(1).max(LIMITS.rankingMax).optional(),
    maxNewTokens: z.int().min(1).max(4096).default(GENERATION_DEFAULTS.maxNewTokens),
    temperature: z.number().min(0).max(5).default(GENERATION_DEFAULTS.temperature),
    topP: z.number().gt(0).max(1).optional(),
    seed: z.int().min(0).default(GENERATION_DEFAULTS.seed),
    batchSize: z.int().min(1).max(256).default(GENERATION_DEFAULTS.batchSize),
  })
  .strict();
export type GenerationRequest = z.output<typeof generationRequestSchema>;

export const createUserSchema = z.object({ name: userNameSchema, role: z.enum(['admin', 'annotator']).default('annotator') }).strict();

// ---- helpers ----------------------------------------------------------------------------------

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Turns zod issues into short, field-named messages: `missing "prompt"`, `"scores.fluency": Too big …`. */
export function toIssues(error: z.ZodError, input: unknown): Issue[] {
  return error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    if (i.code === 'invalid_type' && valueAt(input, i.path) === undefined) {
      return { path, message: `missing "${path}" (expected ${i.expected})` };
    }
    if (i.code === 'unrecognized_keys') {
      return { path, message: `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` };
    }
    if (i.code === 'invalid_union') return { path, message: `${path ? `"${path}": ` : ''}expected a string or {"text": ..., "model": ...}` };
    return { path, message: path ? `"${path}": ${i.message}` : i.message };
  });
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issues = toIssues(r.error, input);
    throw new InvalidInputError(`${what}: ${issues.map((i) => i.message).join('; ')}`, issues);
  }
  return r.data;
}
