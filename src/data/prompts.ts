// Prompts for PPO (and other on-policy methods): a list of strings to generate from.
//
//   file                          prompt
//   .txt                          each non-blank line
//   column prompt                 the string; a message list is rendered with the chat template + generation prompt
//   column query | text | input_text   the string
//   columns instruction [, context | input]   dollyPrompt(instruction, context)
//   column messages | conversations           the conversation without its trailing assistant turns,
//                                             rendered with the chat template + generation prompt
//
// The first of these columns present in the first record (after --columns renaming) is used for every row.

import type { ChatMessage, Tokenizer } from '../tokenizers/index.js';
import { DataError } from './errors.js';
import { dollyPrompt, parseMessages, parseShareGpt } from './formats.js';
import type { DataRecord, ReadOptions } from './read.js';
import { SkipLog, describeJson, readRecords } from './read.js';

export interface PromptOptions extends ReadOptions {
  /** Needed when prompts are message lists (rendered with its chat template). */
  tokenizer?: Tokenizer;
}

const PROMPT_COLUMNS = ['prompt', 'query', 'text', 'input_text', 'instruction', 'messages', 'conversations'] as const;

/** Reads the prompts of a file (see the table above). */
export function readPrompts(file: string, options: PromptOptions = {}): string[] {
  const read = readRecords(file, options);
  const first = read.records[0]!;
  const column = PROMPT_COLUMNS.find((c) => c in first.values);
  if (column === undefined) {
    throw new DataError(
      { file, line: first.line },
      `no prompt column; columns found: ${read.columns.join(', ')}; prompts come from one of ${PROMPT_COLUMNS.join(', ')} ` +
        '(or a .txt file, one prompt per line). Rename one with --columns prompt=<column>',
    );
  }
  const log = new SkipLog(options.skipInvalid ?? false);
  const prompts: string[] = [];
  for (const r of read.records) {
    try {
      prompts.push(promptOf(r, column, file, options.tokenizer));
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      log.skip(err);
    }
  }
  if (prompts.length === 0) throw new DataError({ file }, `no usable prompts (${log.skipped} skipped: ${log.reasons.join('; ')})`);
  return prompts;
}

function promptOf(r: DataRecord, column: (typeof PROMPT_COLUMNS)[number], file: string, tokenizer: Tokenizer | undefined): string {
  const v = r.values;
  const x = v[column];
  const render = (messages: ChatMessage[]): string => {
    if (tokenizer === undefined) {
      throw new DataError({ file, line: r.line, field: column }, 'is a message list; rendering it needs a tokenizer (pass { tokenizer })');
    }
    let end = messages.length;
    while (end > 0 && messages[end - 1]!.role === 'assistant') end--;
    if (end === 0) throw new DataError({ file, line: r.line, field: column }, 'has no message before the assistant turns to prompt with');
    return tokenizer.applyChatTemplate(messages.slice(0, end), { addGenerationPrompt: true });
  };
  switch (column) {
    case 'messages':
      return render(parseMessages(v, column, file, r.line));
    case 'conversations':
      return render(parseShareGpt(v, column, file, r.line));
    case 'instruction': {
      const ctx = v['context'] ?? v['input'] ?? '';
      if (typeof x !== 'string' || typeof ctx !== 'string') {
        throw new DataError({ file, line: r.line, field: column }, `expected strings for instruction and context, got ${describeJson(x)} and ${describeJson(ctx)}`);
      }
      return dollyPrompt(x, ctx);
    }
    case 'prompt':
      return Array.isArray(x) ? render(parseMessages(v, column, file, r.line)) : plainPrompt(x, r, column, file);
    default:
      return plainPrompt(x, r, column, file);
  }
}

function plainPrompt(x: unknown, r: DataRecord, column: string, file: string): string {
  if (typeof x !== 'string') throw new DataError({ file, line: r.line, field: column }, `expected a string, got ${describeJson(x)}`);
  if (x.trim() === '') throw new DataError({ file, line: r.line, field: column }, 'is empty; every prompt needs some text');
  return x;
}
