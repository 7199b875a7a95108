// Dataset formats: which one a file is in, decided from the columns of its first record, and the
// typed rows each one gives. The first row of this table whose required columns are all present
// wins (and, with `expectFormat`, whose format the caller accepts):
//
//   format             required columns                            optional         source / notes
//   (refused)          task, kind, responses, value                                 `rlhf studio export --format raw`: analysis only
//   messages           messages [{role, content}]                                   TRL conversational language modelling
//   preference         conversations, chosen, rejected             system           ShareGPT (LLaMA-Factory): turns {from, value}
//   preference         chosen, rejected                            prompt, margin   TRL preference (strings or message lists; no prompt: implicit)
//                                                                                   = `rlhf studio export --format trl`
//   preference         candidate_0, candidate_1, choice            input_text       `rlhf studio export --format pairs` (choice 0/1; 0.5 tie: dropped)
//   messages           conversations                               system           ShareGPT SFT
//   dolly              instruction, response                       context          Databricks Dolly
//   dolly              instruction, output                         input            Alpaca (same template)
//   kto                prompt, completion, label (boolean)                          TRL unpaired preference
//   labels             prompt, response, label                                      label any value, mapped to 0|1
//   labels             text, label                                                  e.g. SST-2 with --columns text=sentence
//   ratings            response, score | <dimension columns>       prompt           `rlhf studio export --format ratings`
//   prompt_completion  prompt, completion                                           TRL prompt–completion; = `--format sft`
//   text               text                                                         plain language modelling (.txt files)
//
// ShareGPT turns: `from` human → user, gpt → assistant, system → system (user/assistant/tool pass through).
// Ratings dimensions: the `dimensions` option, else `score`, else every numeric column of the first
// record other than the known ones (prompt, response, model, n_ratings, annotator, comment, id, …).
// Implicit prompts (preference without `prompt`): the longest common prefix of chosen and rejected
// (messages: whole equal messages; strings: characters, a space before the split going with the
// responses), as TRL's `extract_prompt` does.
// Dolly/Alpaca prompts are rendered with `dollyPrompt` (below) and then treated as prompt/completion.
// Labels: `positiveLabel` names the positive class; by default one of 1, true, positive, pos, good
// (case-insensitive) must be among at most two distinct values.

import type { ChatMessage } from '../tokenizers/index.js';
import { DataError } from './errors.js';
import type { DataRecord } from './read.js';
import { SkipLog, describeJson, isRecord } from './read.js';

export const DATA_FORMATS = ['text', 'prompt_completion', 'messages', 'preference', 'ratings', 'labels', 'dolly', 'kto'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** What the SFT trainer reads. */
export const SFT_FORMATS = ['text', 'prompt_completion', 'messages', 'dolly'] as const satisfies readonly DataFormat[];
/** What the reward-model trainer reads. */
export const REWARD_FORMATS = ['preference', 'ratings', 'labels'] as const satisfies readonly DataFormat[];
/** What DPO (and other pairwise preference methods) read. */
export const PREFERENCE_FORMATS = ['preference'] as const satisfies readonly DataFormat[];
/** What KTO reads. */
export const KTO_FORMATS = ['kto'] as const satisfies readonly DataFormat[];

// ----- rows --------------------------------------------------------------------------------------

export interface TextRow {
  line: number;
  text: string;
}

/** `chat: true`: TRL's conversational form (prompt and completion are message lists). */
export type PromptCompletionRow =
  | { line: number; chat: false; prompt: string; completion: string }
  | { line: number; chat: true; prompt: ChatMessage[]; completion: ChatMessage[] };

export interface MessagesRow {
  line: number;
  messages: ChatMessage[];
}

/**
 * A preference pair. `chat: true`: the prompt is the conversation so far and chosen/rejected are the
 * assistant turns that continue it (ShareGPT rows and TRL's conversational form end up here).
 * `margin`: how much better chosen is (Llama-2's margin loss), when the file gives one.
 */
export type PreferenceRow =
  | { line: number; chat: false; prompt: string; chosen: string; rejected: string; margin?: number }
  | { line: number; chat: true; prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[]; margin?: number };

/** One response with a score per dimension ('score' when the file has a single `score` column). */
export interface RatingRow {
  line: number;
  prompt: string;
  response: string;
  scores: Record<string, number>;
}

/** A labelled text: `{text, label}` rows have `prompt: ''` and `response: text`. */
export interface LabelRow {
  line: number;
  prompt: string;
  response: string;
  label: 0 | 1;
  /** The label as the file wrote it. */
  rawLabel: string | number | boolean;
}

/** Dolly/Alpaca: the original fields, and the prompt/completion the trainers use. */
export interface DollyRow {
  line: number;
  instruction: string;
  context: string;
  response: string;
  /** `dollyPrompt(instruction, context)`. */
  prompt: string;
  completion: string;
}

/** KTO's unpaired preference: one completion, desirable (`label: true`) or not. */
export type KtoRow =
  | { line: number; chat: false; prompt: string; completion: string; label: boolean }
  | { line: number; chat: true; prompt: ChatMessage[]; completion: ChatMessage[]; label: boolean };

/** Rows any SFT format gives; `tokenizeSft` takes them all. */
export type SftRow = TextRow | PromptCompletionRow | MessagesRow | DollyRow;

interface DatasetInfo {
  file: string;
  /** Columns of the file after --columns renaming. */
  columns: string[];
  /** The layout that matched, e.g. "conversations, chosen, rejected (ShareGPT)". */
  layout: string;
  /** Rows left out: invalid ones (with skipInvalid) and ties. */
  skipped: number;
  skipReasons: string[];
}

export type Dataset =
  | (DatasetInfo & { format: 'text'; rows: TextRow[] })
  | (DatasetInfo & { format: 'prompt_completion'; rows: PromptCompletionRow[] })
  | (DatasetInfo & { format: 'messages'; rows: MessagesRow[] })
  | (DatasetInfo & { format: 'preference'; rows: PreferenceRow[] })
  | (DatasetInfo & { format: 'ratings'; rows: RatingRow[]; dimensions: string[] })
  | (DatasetInfo & { format: 'labels'; rows: LabelRow[]; positiveLabel: string })
  | (DatasetInfo & { format: 'dolly'; rows: DollyRow[] })
  | (DatasetInfo & { format: 'kto'; rows: KtoRow[] });

export type DatasetOf<F extends DataFormat> = Extract<Dataset, { format: F }>;

export interface FormatOptions<F extends DataFormat = DataFormat> {
  /** The formats the caller accepts (e.g. SFT_FORMATS); others are an error naming what the file looks like. */
  expectFormat?: readonly F[];
  /** Ratings: the score columns (default: `score`, else the numeric columns other than known ones). */
  dimensions?: readonly string[];
  /** Labels: the value that means "positive" (CLI --positive-label). */
  positiveLabel?: string | number | boolean;
  /** Skip rows that do not fit the format instead of throwing. */
  skipInvalid?: boolean;
}

// ----- the Dolly/Alpaca prompt -------------------------------------------------------------------

/**
 * The prompt for an instruction (and optional context), Alpaca-style:
 *
 *   ### Instruction:
 *   {instruction}
 *
 *   ### Context:          ← only when the context is not empty
 *   {context}
 *
 *   ### Response:
 *
 * The completion (the response) follows directly after the final newline.
 */
export function dollyPrompt(instruction: string, context = ''): string {
  const ctx = context.trim() === '' ? '' : `### Context:\n${context}\n\n`;
  return `### Instruction:\n${instruction}\n\n${ctx}### Response:\n`;
}

// ----- detection ---------------------------------------------------------------------------------

/** Columns that are never rating dimensions even when numeric. */
const NON_DIMENSION_COLUMNS = new Set([
  'prompt', 'response', 'model', 'n_ratings', 'annotator', 'comment', 'id', 'item_id', 'idx', 'index', 'label', 'text',
  'created_at', 'duration_ms', 'input_text',
]);

interface Ctx {
  file: string;
  line: number;
  opts: FormatOptions;
  dimensions: string[];
}

interface Layout {
  format: DataFormat | null;
  name: string;
  required: string[];
  optional: string[];
  /** An extra condition on the first record. */
  accepts?: (first: Record<string, unknown>, ctx: Ctx) => boolean;
  /** A row, or null to leave it out (and `log.drop` says why). */
  parse: (v: Record<string, unknown>, ctx: Ctx, log: SkipLog) => unknown;
}

const LAYOUTS: Layout[] = [
  {
    format: null,
    name: 'task, kind, responses, value (rlhf studio export --format raw)',
    required: ['task', 'kind', 'responses', 'value'],
    optional: [],
    parse: () => null,
  },
  {
    format: 'messages',
    name: 'messages',
    required: ['messages'],
    optional: [],
    parse: (v, c): MessagesRow => ({ line: c.line, messages: nonEmpty(messagesOf(v, 'messages', c), 'messages', c) }),
  },
  {
    format: 'preference',
    name: 'conversations, chosen, rejected (ShareGPT)',
    required: ['conversations', 'chosen', 'rejected'],
    optional: ['system'],
    parse: (v, c): PreferenceRow => {
      const prompt = [...systemOf(v, c), ...turnsOf(v, 'conversations', c)];
      return { line: c.line, chat: true, prompt, chosen: turnsOf(v, 'chosen', c), rejected: turnsOf(v, 'rejected', c) };
    },
  },
  {
    format: 'preference',
    name: 'prompt, chosen, rejected (TRL preference)',
    required: ['chosen', 'rejected'],
    optional: ['prompt', 'margin'],
    parse: (v, c): PreferenceRow => {
      const margin = v['margin'] === undefined || v['margin'] === null ? undefined : numberOf(v, 'margin', c);
      const row = preferenceOf(v, c);
      return margin === undefined ? row : { ...row, margin };
    },
  },
  {
    format: 'preference',
    name: 'input_text, candidate_0, candidate_1, choice (rlhf studio pairs)',
    required: ['candidate_0', 'candidate_1', 'choice'],
    optional: ['input_text'],
    parse: (v, c, log): PreferenceRow | null => {
      const prompt = optionalString(v, 'input_text', c);
      const c0 = stringOf(v, 'candidate_0', c);
      const c1 = stringOf(v, 'candidate_1', c);
      const choice = numberOf(v, 'choice', c);
      if (choice === 0.5) {
        log.drop(c.line, 'choice 0.5 is a tie and carries no preference');
        return null;
      }
      if (choice !== 0 && choice !== 1) throw fieldError(c, 'choice', `must be 0 (candidate_0 preferred) or 1 (candidate_1 preferred), got ${choice}`);
      return { line: c.line, chat: false, prompt, chosen: choice === 0 ? c0 : c1, rejected: choice === 0 ? c1 : c0 };
    },
  },
  {
    format: 'messages',
    name: 'conversations (ShareGPT)',
    required: ['conversations'],
    optional: ['system'],
    parse: (v, c): MessagesRow => ({ line: c.line, messages: nonEmpty([...systemOf(v, c), ...turnsOf(v, 'conversations', c)], 'conversations', c) }),
  },
  {
    format: 'dolly',
    name: 'instruction, context, response (Dolly)',
    required: ['instruction', 'response'],
    optional: ['context'],
    parse: (v, c): DollyRow => dollyRow(c, stringOf(v, 'instruction', c), optionalString(v, 'context', c), stringOf(v, 'response', c)),
  },
  {
    format: 'dolly',
    name: 'instruction, input, output (Alpaca)',
    required: ['instruction', 'output'],
    optional: ['input'],
    parse: (v, c): DollyRow => dollyRow(c, stringOf(v, 'instruction', c), optionalString(v, 'input', c), stringOf(v, 'output', c)),
  },
  {
    format: 'kto',
    name: 'prompt, completion, label (KTO)',
    required: ['prompt', 'completion', 'label'],
    optional: [],
    parse: (v, c): KtoRow => ({ ...promptCompletionOf(v, c), label: booleanOf(v, 'label', c) }),
  },
  {
    format: 'labels',
    name: 'prompt, response, label',
    required: ['prompt', 'response', 'label'],
    optional: [],
    parse: (v, c): LabelRow => ({ line: c.line, prompt: stringOf(v, 'prompt', c), response: stringOf(v, 'response', c), label: 0, rawLabel: labelOf(v, c) }),
  },
  {
    format: 'labels',
    name: 'text, label',
    required: ['text', 'label'],
    optional: [],
    parse: (v, c): LabelRow => ({ line: c.line, prompt: '', response: stringOf(v, 'text', c), label: 0, rawLabel: labelOf(v, c) }),
  },
  {
    format: 'ratings',
    name: 'prompt, response, score or <dimension columns> (ratings)',
    required: ['response'],
    optional: ['prompt', 'score'],
    accepts: (_first, c) => c.dimensions.length > 0,
    parse: (v, c): RatingRow => {
      const scores: Record<string, number> = {};
      for (const d of c.dimensions) scores[d] = numberOf(v, d, c);
      return { line: c.line, prompt: optionalString(v, 'prompt', c), response: stringOf(v, 'response', c), scores };
    },
  },
  {
    format: 'prompt_completion',
    name: 'prompt, completion',
    required: ['prompt', 'completion'],
    optional: [],
    parse: (v, c): PromptCompletionRow => promptCompletionOf(v, c),
  },
  {
    format: 'text',
    name: 'text',
    required: ['text'],
    optional: [],
    parse: (v, c): TextRow => ({ line: c.line, text: stringOf(v, 'text', c) }),
  },
];

/** The rating dimensions for a first record. */
function ratingDimensions(first: Record<string, unknown>, opts: FormatOptions): string[] {
  if (opts.dimensions !== undefined && opts.dimensions.length > 0) return [...opts.dimensions];
  if ('score' in first) return ['score'];
  return Object.keys(first).filter((k) => !NON_DIMENSION_COLUMNS.has(k) && toNumber(first[k]) !== null);
}

/** The table above as text, for error messages. */
export function formatsTable(formats: readonly DataFormat[] = DATA_FORMATS): string {
  return LAYOUTS.filter((l) => l.format !== null && formats.includes(l.format))
    .map((l) => `  ${l.format!.padEnd(18)} ${l.name}${l.optional.length > 0 ? ` [optional: ${l.optional.join(', ')}]` : ''}`)
    .join('\n');
}

export interface Detection {
  format: DataFormat;
  layout: string;
}

/** Which format a record with these columns is in (throws a DataError listing the columns and the formats). */
export function detectFormat(first: DataRecord, file: string, opts: FormatOptions = {}): Detection {
  return findLayout(first, file, opts, ratingDimensions(first.values, opts));
}

function findLayout(first: DataRecord, file: string, opts: FormatOptions, dimensions: string[]): Detection & { spec: Layout } {
  const columns = Object.keys(first.values);
  const ctx: Ctx = { file, line: first.line, opts, dimensions };
  const matching = LAYOUTS.filter((l) => l.required.every((k) => k in first.values) && (l.accepts === undefined || l.accepts(first.values, ctx)));
  const raw = matching.find((l) => l.format === null);
  if (raw !== undefined) {
    throw new DataError(
      { file },
      'this is a raw studio export (every label with who and when), meant for analysis; for training export with ' +
        '`rlhf studio export --format trl|pairs|ratings|sft`',
    );
  }
  const expect = opts.expectFormat;
  const accepted = expect === undefined ? matching : matching.filter((l) => expect.includes(l.format!));
  if (accepted.length > 0) return { format: accepted[0]!.format!, layout: accepted[0]!.name, spec: accepted[0]! };
  const table = formatsTable(expect ?? DATA_FORMATS);
  const looksLike = matching.length > 0 ? `it looks like ${matching[0]!.format} (${matching[0]!.name}), but ` : '';
  const needs = expect === undefined ? 'no known format matches' : `this needs ${expect.join(' | ')}`;
  throw new DataError(
    { file, line: first.line },
    `${looksLike}${needs}. Columns found: ${columns.join(', ') || '(none)'}. Expected columns:\n${table}\n` +
      'Rename columns with --columns new=old (e.g. --columns text=sentence,label=label).',
  );
}

/**
 * Turns records into a typed dataset: detects the format from the first record, then parses every
 * row (a bad one throws a DataError naming file, line and field, or is skipped with skipInvalid).
 */
export function toDataset<F extends DataFormat = DataFormat>(
  records: readonly DataRecord[],
  file: string,
  opts: FormatOptions<F> = {},
  info: { columns?: string[]; skipped?: number; skipReasons?: string[] } = {},
): DatasetOf<F> {
  if (records.length === 0) throw new DataError({ file }, 'the dataset has no records');
  const first = records[0]!;
  const dimensions = ratingDimensions(first.values, opts);
  const { format, layout, spec } = findLayout(first, file, opts, dimensions);
  const log = new SkipLog(opts.skipInvalid ?? false);
  log.skipped = info.skipped ?? 0;
  log.reasons.push(...(info.skipReasons ?? []));
  const rows: unknown[] = [];
  for (const r of records) {
    const ctx: Ctx = { file, line: r.line, opts, dimensions };
    try {
      const missing = spec.required.filter((k) => !(k in r.values));
      if (missing.length > 0) {
        throw fieldError(ctx, missing[0]!, `missing; every row of this ${format} file (${layout}) needs ${spec.required.join(', ')}`);
      }
      const row = spec.parse(r.values, ctx, log);
      if (row !== null) rows.push(row);
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      log.skip(err);
    }
  }
  const base: DatasetInfo = { file, columns: info.columns ?? Object.keys(first.values), layout, skipped: log.skipped, skipReasons: log.reasons };
  if (rows.length === 0) throw new DataError({ file }, `no usable rows (${log.skipped} skipped: ${log.reasons.join('; ')})`);
  let dataset: Dataset;
  switch (format) {
    case 'ratings':
      dataset = { ...base, format, rows: rows as RatingRow[], dimensions };
      break;
    case 'labels': {
      const labelled = rows as LabelRow[];
      const positiveLabel = mapLabels(labelled, file, opts.positiveLabel);
      dataset = { ...base, format, rows: labelled, positiveLabel };
      break;
    }
    default:
      dataset = { ...base, format, rows } as Dataset;
  }
  return dataset as DatasetOf<F>;
}

// ----- labels ------------------------------------------------------------------------------------

const DEFAULT_POSITIVE = new Set(['1', 'true', 'positive', 'pos', 'good']);

function labelKey(v: string | number | boolean): string {
  return String(v).trim().toLowerCase();
}

/** Sets each row's 0|1 label; returns the positive label (as compared: trimmed, lower case). */
function mapLabels(rows: LabelRow[], file: string, positive: string | number | boolean | undefined): string {
  const distinct = [...new Set(rows.map((r) => labelKey(r.rawLabel)))].sort();
  const listed = distinct.slice(0, 20).map((d) => JSON.stringify(d)).join(', ') + (distinct.length > 20 ? `, … (${distinct.length} in all)` : '');
  let pos: string;
  if (positive !== undefined) {
    pos = labelKey(positive);
    if (!distinct.includes(pos)) {
      throw new DataError({ file, field: 'label' }, `--positive-label ${JSON.stringify(String(positive))} is not among the label values: ${listed}`);
    }
  } else {
    const recognised = distinct.filter((d) => DEFAULT_POSITIVE.has(d));
    if (distinct.length > 2 || recognised.length !== 1) {
      throw new DataError(
        { file, field: 'label' },
        `cannot tell which label is positive among ${distinct.length} distinct values: ${listed}; ` +
          'pass --positive-label <value> (every other value counts as negative)',
      );
    }
    pos = recognised[0]!;
  }
  for (const r of rows) r.label = labelKey(r.rawLabel) === pos ? 1 : 0;
  return pos;
}

// ----- field readers -----------------------------------------------------------------------------

function fieldError(c: Ctx, field: string, why: string): DataError {
  return new DataError({ file: c.file, line: c.line, field }, why);
}

function stringOf(v: Record<string, unknown>, field: string, c: Ctx): string {
  const x = v[field];
  if (x === undefined) throw fieldError(c, field, 'missing; add it to the row (or map a column to it with --columns)');
  if (typeof x !== 'string') throw fieldError(c, field, `expected a string, got ${describeJson(x)}`);
  return x;
}

/** A string, or '' when absent or null. */
function optionalString(v: Record<string, unknown>, field: string, c: Ctx): string {
  const x = v[field];
  return x === undefined || x === null ? '' : stringOf(v, field, c);
}

/** A number, or a numeric string (CSV/TSV). */
export function toNumber(x: unknown): number | null {
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (typeof x === 'string' && x.trim() !== '') {
    const n = Number(x.trim());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

function numberOf(v: Record<string, unknown>, field: string, c: Ctx): number {
  const x = v[field];
  if (x === undefined || x === null || x === '') throw fieldError(c, field, 'missing; every row needs a number here');
  const n = toNumber(x);
  if (n === null) throw fieldError(c, field, `expected a number, got ${describeJson(x)}`);
  return n;
}

function booleanOf(v: Record<string, unknown>, field: string, c: Ctx): boolean {
  const x = v[field];
  if (typeof x === 'boolean') return x;
  const k = typeof x === 'string' || typeof x === 'number' ? String(x).trim().toLowerCase() : '';
  if (k === 'true' || k === '1') return true;
  if (k === 'false' || k === '0') return false;
  throw fieldError(c, field, `expected a boolean (true: desirable, false: undesirable), got ${describeJson(x)}`);
}

function labelOf(v: Record<string, unknown>, c: Ctx): string | number | boolean {
  const x = v['label'];
  if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') {
    if (typeof x === 'string' && x.trim() === '') throw fieldError(c, 'label', 'is empty; every row needs a label');
    return x;
  }
  throw fieldError(c, 'label', `expected a string, number or boolean, got ${describeJson(x)}`);
}

/** A list value, or a string holding a JSON list (a CSV cell). Null when it is neither. */
function listOf(x: unknown): unknown[] | null {
  if (Array.isArray(x)) return x;
  if (typeof x === 'string' && x.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(x);
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((m) => isRecord(m) && ('role' in m || 'from' in m))) return parsed;
    } catch {
      return null;
    }
  }
  return null;
}

function isMessageList(x: unknown): boolean {
  return listOf(x) !== null;
}

function messagesOf(v: Record<string, unknown>, field: string, c: Ctx): ChatMessage[] {
  const list = listOf(v[field]);
  if (list === null) throw fieldError(c, field, `expected a list of messages [{"role": …, "content": …}], got ${describeJson(v[field])}`);
  return list.map((m, k) => {
    if (!isRecord(m) || typeof m['role'] !== 'string' || typeof m['content'] !== 'string') {
      throw fieldError(c, field, `message ${k} must be {"role": string, "content": string}, got ${JSON.stringify(m).slice(0, 80)}`);
    }
    return { ...m, role: m['role'], content: m['content'] };
  });
}

function nonEmpty(messages: ChatMessage[], field: string, c: Ctx): ChatMessage[] {
  if (messages.length === 0) throw fieldError(c, field, 'is an empty conversation; it needs at least one message');
  return messages;
}

const SHAREGPT_ROLES: Record<string, string> = { human: 'user', gpt: 'assistant', system: 'system', user: 'user', assistant: 'assistant', tool: 'tool' };

/** ShareGPT turns ({from, value}; {role, content} accepted too): a list, or one turn. */
function turnsOf(v: Record<string, unknown>, field: string, c: Ctx): ChatMessage[] {
  const x = v[field];
  const list = isRecord(x) ? [x] : listOf(x);
  if (list === null) throw fieldError(c, field, `expected ShareGPT turns ({"from": …, "value": …} or a list of them), got ${describeJson(x)}`);
  return list.map((t, k) => {
    if (isRecord(t) && typeof t['from'] === 'string' && typeof t['value'] === 'string') {
      const role = SHAREGPT_ROLES[t['from']];
      if (role === undefined) {
        throw fieldError(c, field, `turn ${k}: "from": ${JSON.stringify(t['from'])} is not one of ${Object.keys(SHAREGPT_ROLES).join(', ')}`);
      }
      return { role, content: t['value'] };
    }
    if (isRecord(t) && typeof t['role'] === 'string' && typeof t['content'] === 'string') return { role: t['role'], content: t['content'] };
    throw fieldError(c, field, `turn ${k} must be {"from": string, "value": string}, got ${JSON.stringify(t).slice(0, 80)}`);
  });
}

function systemOf(v: Record<string, unknown>, c: Ctx): ChatMessage[] {
  const s = optionalString(v, 'system', c);
  return s === '' ? [] : [{ role: 'system', content: s }];
}

function dollyRow(c: Ctx, instruction: string, context: string, response: string): DollyRow {
  return { line: c.line, instruction, context, response, prompt: dollyPrompt(instruction, context), completion: response };
}

/** prompt/completion: both strings, or (when either is a message list) both message lists. */
function promptCompletionOf(v: Record<string, unknown>, c: Ctx): PromptCompletionRow {
  if (isMessageList(v['prompt']) || isMessageList(v['completion'])) {
    return { line: c.line, chat: true, prompt: asMessages(v, 'prompt', 'user', c), completion: asMessages(v, 'completion', 'assistant', c) };
  }
  return { line: c.line, chat: false, prompt: stringOf(v, 'prompt', c), completion: stringOf(v, 'completion', c) };
}

/** A message list, or a plain string taken as one message of `role` (a mixed row). */
function asMessages(v: Record<string, unknown>, field: string, role: string, c: Ctx): ChatMessage[] {
  return typeof v[field] === 'string' && !isMessageList(v[field]) ? [{ role, content: v[field] as string }] : messagesOf(v, field, c);
}

/** TRL preference rows: explicit or implicit prompt, strings or messages. */
function preferenceOf(v: Record<string, unknown>, c: Ctx): PreferenceRow {
  const hasPrompt = v['prompt'] !== undefined && v['prompt'] !== null;
  const chat = isMessageList(v['chosen']) || isMessageList(v['rejected']) || (hasPrompt && isMessageList(v['prompt']));
  if (!chat) {
    const chosen = stringOf(v, 'chosen', c);
    const rejected = stringOf(v, 'rejected', c);
    if (hasPrompt) return { line: c.line, chat: false, prompt: stringOf(v, 'prompt', c), chosen, rejected };
    const split = commonTextPrefix(chosen, rejected);
    return { line: c.line, chat: false, prompt: chosen.slice(0, split), chosen: chosen.slice(split), rejected: rejected.slice(split) };
  }
  const chosen = asMessages(v, 'chosen', 'assistant', c);
  const rejected = asMessages(v, 'rejected', 'assistant', c);
  if (hasPrompt) return { line: c.line, chat: true, prompt: asMessages(v, 'prompt', 'user', c), chosen, rejected };
  let k = 0;
  while (k < chosen.length && k < rejected.length && sameMessage(chosen[k]!, rejected[k]!)) k++;
  if (k === chosen.length || k === rejected.length) {
    throw fieldError(c, 'rejected', 'chosen and rejected do not differ after their shared messages; each needs its own final response');
  }
  return { line: c.line, chat: true, prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
}

function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  return a.role === b.role && a.content === b.content;
}

/** TRL's implicit-prompt split for strings: the common prefix, a space just before the split going with the responses. */
export function commonTextPrefix(a: string, b: string): number {
  let k = 0;
  const n = Math.min(a.length, b.length);
  while (k < n && a[k] === b[k]) k++;
  if (k < n && k > 0 && a[k - 1] === ' ') k--;
  return k;
}

/** A message list field of a record (a list, or a CSV cell holding a JSON list), for other readers. */
export function parseMessages(values: Record<string, unknown>, field: string, file: string, line: number): ChatMessage[] {
  return messagesOf(values, field, { file, line, opts: {}, dimensions: [] });
}

/** ShareGPT turns ({from, value}) of a record as messages, with the optional `system` column first. */
export function parseShareGpt(values: Record<string, unknown>, field: string, file: string, line: number): ChatMessage[] {
  const c: Ctx = { file, line, opts: {}, dimensions: [] };
  return [...systemOf(values, c), ...turnsOf(values, field, c)];
}
