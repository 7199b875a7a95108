// Rows → token ids, for each trainer. Pure TypeScript: tensors are made in collate.ts.
//
// Two rules hold everywhere:
//
// 1. Prompt + response tokens are exactly the tokens of the concatenated string. We encode the
//    prompt alone and prompt+response together; where byte-level BPE merges across the boundary
//    (a prompt ending in " " before a word), the two disagree in the last prompt token(s). The
//    split point is the longest common prefix of the two id lists, so `promptIds ++ responseIds`
//    always equals `encode(prompt + response)`, and a prompt token that merged with the response
//    moves to the response side.
//
// 2. Chat rows (message lists) are rendered with the tokenizer's chat template. The prompt is
//    rendered with add_generation_prompt (ending in e.g. "<|im_start|>assistant\n"), the full
//    conversation without it, and the response text is what the full rendering adds after their
//    common prefix (as TRL does: some templates render the generation prompt slightly differently).
//    Rendered text is encoded without adding special tokens (the template writes them), like
//    `tokenizer.encodeChat`.
//
// The reward text rule: a reward model scores exactly `rewardInputIds(tokenizer, prompt, response)`
// = `tokenizer.encode(prompt + response)` with no token appended. Training and scoring (PPO, eval)
// both call this one function so they cannot differ.

import type { ChatMessage, Tokenizer } from '../tokenizers/index.js';
import type { DatasetOf, KtoRow, LabelRow, PreferenceRow, RatingRow, SftRow } from './formats.js';

/** One SFT example: the ids and 1 where the loss counts (the trainer shifts for next-token prediction). */
export interface SftExample {
  inputIds: number[];
  lossMask: number[];
}

export interface SftTokenizeOptions {
  /** Keep the first `maxLength` tokens. Default: the tokenizer's modelMaxLength (no limit when unknown). */
  maxLength?: number;
  /** Append EOS (with loss) after a text or a plain-string completion. Default true. Chat renderings are left as the template ends them. */
  appendEos?: boolean;
  /**
   * Loss on completions / assistant turns only (TRL's completion_only_loss). Default true;
   * false puts the loss on every token, prompts and user turns included.
   */
  completionOnly?: boolean;
  /**
   * Leave out an example whose labelled tokens truncation to maxLength cut off entirely (it would
   * train on nothing); `rows.length − result.length` is how many. Default false: one example per
   * row, such an example keeping an all-zero mask.
   */
  dropCutOff?: boolean;
}

export interface PreferenceExample {
  promptIds: number[];
  chosenIds: number[];
  rejectedIds: number[];
  margin?: number;
}

export interface PreferenceTokenizeOptions {
  /** prompt + each response ≤ maxLength: responses are cut at the end. Default: the tokenizer's modelMaxLength. */
  maxLength?: number;
  /** The prompt keeps its last `maxPromptLength` tokens (left truncation). Default: no separate limit. */
  maxPromptLength?: number;
  /** Append EOS to chosen and rejected (TRL's DPO does). Default false: the ids are exactly the tokenizer's. */
  appendEos?: boolean;
}

export interface RatingExample {
  ids: number[];
  scores: Record<string, number>;
}

export interface LabelExample {
  ids: number[];
  label: 0 | 1;
}

export interface RewardPairExample {
  chosenIds: number[];
  rejectedIds: number[];
  margin?: number;
}

export interface RewardTokenizeOptions {
  /** Keep the LAST `maxLength` tokens: the reward head reads the last token, so the response end must stay. */
  maxLength?: number;
}

// ----- encoding ----------------------------------------------------------------------------------

/**
 * `tokenizer.encode(text)`, adding what the tokenizer adds (a BOS for Llama-like models) unless the
 * text already starts with the BOS token string (a rendered chat template) — never two BOS.
 */
export function encodeText(tokenizer: Tokenizer, text: string): number[] {
  const bos = tokenizer.specialTokens.bos;
  return tokenizer.encode(text, { addSpecialTokens: !(bos !== null && bos !== '' && text.startsWith(bos)) });
}

/** Text rendered by a chat template: encoded without adding special tokens (as `encodeChat`). */
function encodeRendered(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encode(text, { addSpecialTokens: false });
}

/**
 * The ids a reward model scores for (prompt, response): `encodeText(tokenizer, prompt + response)`,
 * nothing appended; with `maxLength`, the last `maxLength` of them.
 */
export function rewardInputIds(tokenizer: Tokenizer, prompt: string, response: string, maxLength?: number): number[] {
  const ids = encodeText(tokenizer, prompt + response);
  return maxLength !== undefined && ids.length > maxLength ? ids.slice(ids.length - maxLength) : ids;
}

/** Length of the longest common prefix of two id lists. */
export function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let k = 0;
  while (k < n && a[k] === b[k]) k++;
  return k;
}

function commonStringPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let k = 0;
  while (k < n && a.charCodeAt(k) === b.charCodeAt(k)) k++;
  return k;
}

/**
 * A chat prompt rendered with the generation prompt, and the text each continuation (assistant
 * turns) adds to it: `prompt + continuations[i]` is the rendering of the whole conversation.
 */
export function renderChatContinuations(
  tokenizer: Tokenizer,
  prompt: readonly ChatMessage[],
  continuations: ReadonlyArray<readonly ChatMessage[]>,
): { prompt: string; continuations: string[] } {
  const p = tokenizer.applyChatTemplate(prompt, { addGenerationPrompt: true });
  const full = continuations.map((c) => tokenizer.applyChatTemplate([...prompt, ...c]));
  let k = p.length;
  for (const f of full) k = Math.min(k, commonStringPrefix(p, f));
  return { prompt: p.slice(0, k), continuations: full.map((f) => f.slice(k)) };
}

/**
 * Splits `encode(prompt + response)` for each response at a point shared by all of them (rule 1):
 * `promptIds ++ responseIds[i]` is exactly `encode(prompt + responses[i])`.
 */
export function splitPromptResponses(
  encode: (text: string) => number[],
  prompt: string,
  responses: readonly string[],
): { promptIds: number[]; responseIds: number[][] } {
  const promptIds = encode(prompt);
  const full = responses.map((r) => encode(prompt + r));
  let k = promptIds.length;
  for (const f of full) k = Math.min(k, commonPrefixLength(promptIds, f));
  return { promptIds: promptIds.slice(0, k), responseIds: full.map((f) => f.slice(k)) };
}

function defaultMaxLength(tokenizer: Tokenizer, maxLength: number | undefined, what: string): number {
  const n = maxLength ?? tokenizer.modelMaxLength;
  if (n !== Infinity && !(Number.isInteger(n) && n > 0)) throw new RangeError(`${what}: maxLength must be a positive integer, got ${n}`);
  return n;
}

// ----- SFT ---------------------------------------------------------------------------------------

/**
 * SFT examples. Loss mask per row kind:
 *   text                    every token (+ EOS)
 *   prompt/completion, dolly the completion tokens only (+ EOS)
 *   chat prompt/completion  the continuation the template renders after the generation prompt
 *   messages                assistant turns only: for each assistant message i, its span runs from
 *                           the tokens of render(messages[0..i), add_generation_prompt) to those of
 *                           render(messages[0..i]) (each as the common prefix with the whole
 *                           conversation's ids), so it covers the content and the template's
 *                           end-of-turn marker but not the "assistant" header.
 * Then the first maxLength tokens are kept. An example whose loss tokens were all cut keeps an
 * all-zero mask (the trainer's mean must guard against zero tokens), so examples stay aligned with
 * rows — or, with `dropCutOff`, is left out. (A label on the first token counts for nothing: no
 * token before it predicts it.)
 */
export function tokenizeSft(rows: readonly SftRow[], tokenizer: Tokenizer, options: SftTokenizeOptions = {}): SftExample[] {
  const maxLength = defaultMaxLength(tokenizer, options.maxLength, 'tokenizeSft');
  const eos = (options.appendEos ?? true) ? tokenizer.eosTokenId : null;
  const trains = (mask: readonly number[]): boolean => mask.indexOf(1, 1) !== -1;
  return rows.flatMap((row) => {
    let ex: SftExample;
    if ('messages' in row) {
      ex = messagesExample(row.messages, tokenizer);
    } else if ('text' in row) {
      const ids = encodeText(tokenizer, row.text);
      if (eos !== null) ids.push(eos);
      ex = { inputIds: ids, lossMask: ids.map(() => 1) };
    } else if ('chat' in row && row.chat) {
      const r = renderChatContinuations(tokenizer, row.prompt, [row.completion]);
      ex = promptCompletionExample((t) => encodeRendered(tokenizer, t), r.prompt, r.continuations[0]!, null);
    } else {
      ex = promptCompletionExample((t) => encodeText(tokenizer, t), row.prompt as string, row.completion as string, eos);
    }
    if (options.completionOnly === false) ex.lossMask.fill(1);
    if (ex.inputIds.length > maxLength) {
      const cut = { inputIds: ex.inputIds.slice(0, maxLength), lossMask: ex.lossMask.slice(0, maxLength) };
      if (options.dropCutOff === true && trains(ex.lossMask) && !trains(cut.lossMask)) return [];
      ex = cut;
    }
    return [ex];
  });
}

function promptCompletionExample(encode: (t: string) => number[], prompt: string, completion: string, eos: number | null): SftExample {
  const { promptIds, responseIds } = splitPromptResponses(encode, prompt, [completion]);
  const completionIds = responseIds[0]!;
  if (eos !== null) completionIds.push(eos);
  return {
    inputIds: [...promptIds, ...completionIds],
    lossMask: [...promptIds.map(() => 0), ...completionIds.map(() => 1)],
  };
}

function messagesExample(messages: readonly ChatMessage[], tokenizer: Tokenizer): SftExample {
  const inputIds = encodeRendered(tokenizer, tokenizer.applyChatTemplate(messages));
  const lossMask = inputIds.map(() => 0);
  for (let i = 0; i < messages.length; i++) {
    if (messages[i]!.role !== 'assistant') continue;
    const before = encodeRendered(tokenizer, tokenizer.applyChatTemplate(messages.slice(0, i), { addGenerationPrompt: true }));
    const upto = encodeRendered(tokenizer, tokenizer.applyChatTemplate(messages.slice(0, i + 1)));
    const start = commonPrefixLength(before, inputIds);
    const end = commonPrefixLength(upto, inputIds);
    for (let j = start; j < end; j++) lossMask[j] = 1;
  }
  return { inputIds, lossMask };
}

// ----- packing -----------------------------------------------------------------------------------

export interface PackOptions {
  /** Keep the leftover tokens as a last, shorter block. Default false: dropped, so every block is exactly blockSize. */
  keepRemainder?: boolean;
}

/**
 * Concatenates examples (each already ends in EOS when tokenizeSft appended one) and cuts the stream
 * into blocks of exactly `blockSize` tokens, loss masks carried along. Attention is not reset at
 * example boundaries (as Hugging Face's `group_texts`). The remainder (< blockSize tokens) is
 * dropped unless `keepRemainder`.
 */
export function packSequences(examples: readonly SftExample[], blockSize: number, options: PackOptions = {}): SftExample[] {
  if (!(Number.isInteger(blockSize) && blockSize > 0)) throw new RangeError(`packSequences: blockSize must be a positive integer, got ${blockSize}`);
  const blocks: SftExample[] = [];
  let ids: number[] = [];
  let mask: number[] = [];
  for (const ex of examples) {
    if (ex.inputIds.length !== ex.lossMask.length) {
      throw new RangeError(`packSequences: an example has ${ex.inputIds.length} ids but ${ex.lossMask.length} loss-mask entries`);
    }
    for (let i = 0; i < ex.inputIds.length; i++) {
      ids.push(ex.inputIds[i]!);
      mask.push(ex.lossMask[i]!);
      if (ids.length === blockSize) {
        blocks.push({ inputIds: ids, lossMask: mask });
        ids = [];
        mask = [];
      }
    }
  }
  if (options.keepRemainder === true && ids.length > 0) blocks.push({ inputIds: ids, lossMask: mask });
  return blocks;
}

// ----- preference --------------------------------------------------------------------------------

/** The strings of a preference row: chat rows rendered (prompt with the generation prompt, responses as continuations). */
export function preferenceTexts(row: PreferenceRow, tokenizer: Tokenizer): { prompt: string; chosen: string; rejected: string } {
  if (!row.chat) return { prompt: row.prompt, chosen: row.chosen, rejected: row.rejected };
  const r = renderChatContinuations(tokenizer, row.prompt, [row.chosen, row.rejected]);
  return { prompt: r.prompt, chosen: r.continuations[0]!, rejected: r.continuations[1]! };
}

/**
 * DPO-style examples. Truncation: the prompt keeps its last maxPromptLength tokens; if it still
 * leaves no room, its last maxLength−1; then each response keeps its first maxLength − |prompt|.
 */
export function tokenizePreference(rows: readonly PreferenceRow[], tokenizer: Tokenizer, options: PreferenceTokenizeOptions = {}): PreferenceExample[] {
  const maxLength = defaultMaxLength(tokenizer, options.maxLength, 'tokenizePreference');
  const maxPrompt = options.maxPromptLength ?? Infinity;
  const eos = options.appendEos === true ? tokenizer.eosTokenId : null;
  return rows.map((row) => {
    const t = preferenceTexts(row, tokenizer);
    const encode = row.chat ? (s: string) => encodeRendered(tokenizer, s) : (s: string) => encodeText(tokenizer, s);
    const split = splitPromptResponses(encode, t.prompt, [t.chosen, t.rejected]);
    let promptIds = split.promptIds;
    let [chosenIds, rejectedIds] = split.responseIds as [number[], number[]];
    if (eos !== null) {
      chosenIds.push(eos);
      rejectedIds.push(eos);
    }
    if (promptIds.length > maxPrompt) promptIds = promptIds.slice(promptIds.length - maxPrompt);
    if (promptIds.length >= maxLength) promptIds = promptIds.slice(promptIds.length - (maxLength - 1));
    const room = maxLength - promptIds.length;
    chosenIds = chosenIds.slice(0, room);
    rejectedIds = rejectedIds.slice(0, room);
    const ex: PreferenceExample = { promptIds, chosenIds, rejectedIds };
    if (row.margin !== undefined) ex.margin = row.margin;
    return ex;
  });
}

// ----- reward model ------------------------------------------------------------------------------

/** Preference pairs for a reward model: each side is `rewardInputIds(prompt, response)`. */
export function tokenizeRewardPairs(rows: readonly PreferenceRow[], tokenizer: Tokenizer, options: RewardTokenizeOptions = {}): RewardPairExample[] {
  return rows.map((row) => {
    const t = preferenceTexts(row, tokenizer);
    const ex: RewardPairExample = {
      chosenIds: rewardInputIds(tokenizer, t.prompt, t.chosen, options.maxLength),
      rejectedIds: rewardInputIds(tokenizer, t.prompt, t.rejected, options.maxLength),
    };
    if (row.margin !== undefined) ex.margin = row.margin;
    return ex;
  });
}

/** Ratings: ids of prompt+response, with the scores per dimension. */
export function tokenizeRatings(rows: readonly RatingRow[], tokenizer: Tokenizer, options: RewardTokenizeOptions = {}): RatingExample[] {
  return rows.map((r) => ({ ids: rewardInputIds(tokenizer, r.prompt, r.response, options.maxLength), scores: { ...r.scores } }));
}

/** Labels: ids of prompt+response (or of the text), label 0|1. */
export function tokenizeLabels(rows: readonly LabelRow[], tokenizer: Tokenizer, options: RewardTokenizeOptions = {}): LabelExample[] {
  return rows.map((r) => ({ ids: rewardInputIds(tokenizer, r.prompt, r.response, options.maxLength), label: r.label }));
}

/** One reward-model example of any of the three kinds, tagged. */
export type RewardExample =
  | ({ kind: 'preference' } & RewardPairExample)
  | ({ kind: 'ratings' } & RatingExample)
  | ({ kind: 'labels' } & LabelExample);

/** All examples of a reward dataset; `dimensions` is the ratings' dimensions ([] for the other kinds). */
export type RewardExamples =
  | { kind: 'preference'; examples: Extract<RewardExample, { kind: 'preference' }>[]; dimensions: string[] }
  | { kind: 'ratings'; examples: Extract<RewardExample, { kind: 'ratings' }>[]; dimensions: string[] }
  | { kind: 'labels'; examples: Extract<RewardExample, { kind: 'labels' }>[]; dimensions: string[] };

/** The reward trainer's examples from any REWARD_FORMATS dataset (each through rewardInputIds). */
export function rewardExamples(
  dataset: DatasetOf<'preference' | 'ratings' | 'labels'>,
  tokenizer: Tokenizer,
  options: RewardTokenizeOptions = {},
): RewardExamples {
  switch (dataset.format) {
    case 'preference':
      return { kind: 'preference', dimensions: [], examples: tokenizeRewardPairs(dataset.rows, tokenizer, options).map((e) => ({ kind: 'preference', ...e })) };
    case 'ratings':
      return { kind: 'ratings', dimensions: [...dataset.dimensions], examples: tokenizeRatings(dataset.rows, tokenizer, options).map((e) => ({ kind: 'ratings', ...e })) };
    case 'labels':
      return { kind: 'labels', dimensions: [], examples: tokenizeLabels(dataset.rows, tokenizer, options).map((e) => ({ kind: 'labels', ...e })) };
  }
}

// ----- KTO ---------------------------------------------------------------------------------------

export interface KtoExample {
  promptIds: number[];
  completionIds: number[];
  label: boolean;
}

/** KTO rows: prompt and completion split as in rule 1 (chat rows rendered), truncated as tokenizePreference does. */
export function tokenizeKto(rows: readonly KtoRow[], tokenizer: Tokenizer, options: PreferenceTokenizeOptions = {}): KtoExample[] {
  return rows.map((row) => {
    const pref: PreferenceRow = row.chat
      ? { line: row.line, chat: true, prompt: row.prompt, chosen: row.completion, rejected: row.completion }
      : { line: row.line, chat: false, prompt: row.prompt, chosen: row.completion, rejected: row.completion };
    const [ex] = tokenizePreference([pref], tokenizer, options);
    return { promptIds: ex!.promptIds, completionIds: ex!.chosenIds, label: row.label };
  });
}
