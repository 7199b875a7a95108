// Reading the settings files of a Hugging Face model directory: `tokenizer_config.json` and
// `special_tokens_map.json`. Both are loose JSON written by many versions of transformers, so each
// field is checked on its own and a bad one is reported by file and field.

import { existsSync, readFileSync } from 'node:fs';
import type { AddedToken } from './added-tokens.js';
import { TokenizerFileError } from './errors.js';
import { readFailure } from '../util/fs-errors.js';
import type { Side } from './padding.js';

export type JsonObject = Record<string, unknown>;

/** Values transformers writes for "no limit" (int(1e30)); anything this large means Infinity. */
const NO_LIMIT = 1e15;

/** Parses a JSON file that must hold an object; a missing file gives null. */
export function readJsonObject(file: string): JsonObject | null {
  if (!existsSync(file)) return null;
  const text = readTextFile(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new TokenizerFileError(file, `is not valid JSON (${message}); re-download or re-save it`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenizerFileError(file, 'must hold a JSON object');
  }
  return value as JsonObject;
}

/** A tokenizer file's text; an unreadable file is a TokenizerFileError that says why. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TokenizerFileError(file, `cannot be read: ${readFailure(err, file)}`, { cause: err });
  }
}

/**
 * A special token field: a string, an AddedToken object `{ "content": ..., ... }` (what newer
 * transformers writes), or null. Returns undefined when the field is absent.
 */
export function tokenField(obj: JsonObject, field: string, file: string): string | null | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return v;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && !Array.isArray(v) && typeof (v as JsonObject)['content'] === 'string') {
    return (v as JsonObject)['content'] as string;
  }
  throw new TokenizerFileError(file, `"${field}" must be a string or {"content": string}, got ${JSON.stringify(v)}`);
}

/** `additional_special_tokens`: a list of strings or AddedToken objects. */
export function tokenListField(obj: JsonObject, field: string, file: string): string[] | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new TokenizerFileError(file, `"${field}" must be a list of tokens`);
  return v.map((_, i) => {
    const t = tokenField(v as unknown as JsonObject, String(i), file);
    if (typeof t !== 'string') throw new TokenizerFileError(file, `"${field}"[${i}] must be a string or {"content": string}`);
    return t;
  });
}

export function sideField(obj: JsonObject, field: string, file: string): Side | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (v === 'left' || v === 'right') return v;
  throw new TokenizerFileError(file, `"${field}" must be "left" or "right", got ${JSON.stringify(v)}`);
}

export function booleanField(obj: JsonObject, field: string, file: string): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  throw new TokenizerFileError(file, `"${field}" must be true or false, got ${JSON.stringify(v)}`);
}

/** `model_max_length`; transformers' "no limit" (1e30) becomes Infinity. */
export function maxLengthField(obj: JsonObject, field: string, file: string): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !(v > 0)) throw new TokenizerFileError(file, `"${field}" must be a positive number, got ${JSON.stringify(v)}`);
  return v >= NO_LIMIT ? Infinity : Math.floor(v);
}

/**
 * `added_tokens_decoder` (transformers ≥ 4.34): `{ "50256": { "content": "<|endoftext|>", "special": true, … } }`.
 */
export function addedTokensDecoderField(obj: JsonObject, file: string): AddedToken[] {
  const v = obj['added_tokens_decoder'];
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) throw new TokenizerFileError(file, '"added_tokens_decoder" must be an object of id → token');
  return Object.entries(v as JsonObject).map(([key, entry]) => {
    const id = Number(key);
    const e = entry as JsonObject;
    if (!Number.isInteger(id) || typeof e !== 'object' || e === null || typeof e['content'] !== 'string') {
      throw new TokenizerFileError(file, `"added_tokens_decoder"["${key}"] must be {"content": string, ...} under an integer id`);
    }
    return {
      content: e['content'],
      id,
      special: e['special'] === true,
      lstrip: e['lstrip'] === true,
      rstrip: e['rstrip'] === true,
      singleWord: e['single_word'] === true,
    };
  });
}

/** The older `added_tokens.json`: `{ "<pad>": 50257 }` (not special unless named as a special token). */
export function readAddedTokensJson(file: string): AddedToken[] {
  const obj = readJsonObject(file);
  if (obj === null) return [];
  return Object.entries(obj).map(([content, id]) => {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new TokenizerFileError(file, `"${content}" must map to an integer id`);
    return { content, id, special: false };
  });
}
