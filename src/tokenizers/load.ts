// loadTokenizer(dir): the tokenizer of a Hugging Face model directory (what save_pretrained writes).
//
// Files, in the order they are looked for:
//   tokenizer.json                      → plain byte-level BPE: our BPE; anything else: @huggingface/tokenizers
//   vocab.json + merges.txt             → our BPE (GPT-2 style checkpoints without tokenizer.json)
//   tokenizer_config.json               → special tokens, padding side, max length, chat template
//   special_tokens_map.json             → special tokens (when tokenizer_config.json lacks them)
//   added_tokens.json                   → extra tokens (older transformers)
//   chat_template.jinja                 → the chat template (newer transformers; wins over the config field)

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddedToken } from './added-tokens.js';
import type { TokenizerBackend } from './backend.js';
import { ByteLevelBpeBackend } from './bpe-backend.js';
import { parseMerges, vocabFromObject } from './bpe.js';
import type { ChatTemplates } from './chat-template.js';
import { parseChatTemplateField } from './chat-template.js';
import type { JsonObject } from './config.js';
import {
  addedTokensDecoderField,
  booleanField,
  maxLengthField,
  readAddedTokensJson,
  readJsonObject,
  readTextFile,
  sideField,
  tokenField,
  tokenListField,
} from './config.js';
import { TokenizerError, TokenizerFileError } from './errors.js';
import { GPT2_EOS_TOKEN } from './gpt2.js';
import { HfBackend } from './hf.js';
import type { Tokenizer, TokenizerOverrides } from './tokenizer.js';
import { createTokenizer } from './tokenizer.js';
import { readByteLevelBpe, toTokenizerJson } from './tokenizer-json.js';

export interface LoadTokenizerOptions extends TokenizerOverrides {
  /**
   * 'auto' (default): our BPE for vocab.json+merges.txt and for plain byte-level BPE tokenizer.json
   * files, @huggingface/tokenizers for every other tokenizer.json. 'bpe' and 'hf' force one.
   */
  backend?: 'auto' | 'bpe' | 'hf';
}

const SPECIAL_FIELDS = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

/** The special token strings named by the files (undefined: not named; null: explicitly none). */
interface SpecialNames {
  special: Map<(typeof SPECIAL_FIELDS)[number], string | null | undefined>;
  additional: string[];
  tokenizerClass: string | undefined;
}

/** GPT2Tokenizer's defaults: bos = eos = unk = <|endoftext|>, for the fields the files leave out. */
function applyGpt2Defaults(names: SpecialNames, hasToken: (t: string) => boolean): void {
  const cls = names.tokenizerClass;
  if ((cls === undefined || cls.startsWith('GPT2')) && hasToken(GPT2_EOS_TOKEN)) {
    for (const field of ['bos_token', 'eos_token', 'unk_token'] as const) {
      if (names.special.get(field) === undefined) names.special.set(field, GPT2_EOS_TOKEN);
    }
  }
}

export function loadTokenizer(dir: string, options: LoadTokenizerOptions = {}): Tokenizer {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TokenizerFileError(dir, 'is not a directory; pass a model directory (what save_pretrained writes)');
  }
  const configFile = join(dir, 'tokenizer_config.json');
  const mapFile = join(dir, 'special_tokens_map.json');
  const config = readJsonObject(configFile) ?? {};
  const specialMap = readJsonObject(mapFile) ?? {};

  // 1. Special token strings: tokenizer_config.json first, then special_tokens_map.json.
  const special: SpecialNames['special'] = new Map();
  for (const field of SPECIAL_FIELDS) {
    const fromConfig = tokenField(config, field, configFile);
    special.set(field, fromConfig !== undefined ? fromConfig : tokenField(specialMap, field, mapFile));
  }
  const additional = tokenListField(config, 'additional_special_tokens', configFile) ?? tokenListField(specialMap, 'additional_special_tokens', mapFile) ?? [];

  // 2. The backend (which also fills in GPT2Tokenizer's default special tokens).
  const tokenizerClass = typeof config['tokenizer_class'] === 'string' ? config['tokenizer_class'] : undefined;
  const names: SpecialNames = { special, additional, tokenizerClass };
  const backend = loadBackend(dir, config, options.backend ?? 'auto', names);

  // 3. Chat template: chat_template.jinja, else the config field.
  let chatTemplates: ChatTemplates | null = null;
  const jinjaFile = join(dir, 'chat_template.jinja');
  if (existsSync(jinjaFile)) {
    chatTemplates = { templates: new Map([['default', readTextFile(jinjaFile)]]), source: jinjaFile };
  } else {
    chatTemplates = parseChatTemplateField(config['chat_template'], `${configFile} ("chat_template")`);
  }

  let tokenizer: Tokenizer;
  try {
    tokenizer = createTokenizer(backend, {
      name: dir,
      bosToken: special.get('bos_token') ?? null,
      eosToken: special.get('eos_token') ?? null,
      unkToken: special.get('unk_token') ?? null,
      padToken: special.get('pad_token') ?? null,
      additionalSpecialTokens: additional,
      paddingSide: sideField(config, 'padding_side', configFile),
      truncationSide: sideField(config, 'truncation_side', configFile),
      modelMaxLength: maxLengthField(config, 'model_max_length', configFile),
      chatTemplates,
      cleanUpTokenizationSpaces: booleanField(config, 'clean_up_tokenization_spaces', configFile),
      tokenizerClass: tokenizerClass ?? (backend.kind === 'hf-tokenizers' ? 'PreTrainedTokenizerFast' : 'GPT2Tokenizer'),
      tokenizerConfig: config,
    });
  } catch (err) {
    if (err instanceof TokenizerError && !(err instanceof TokenizerFileError)) {
      throw new TokenizerFileError(configFile, err.message, { cause: err });
    }
    throw err;
  }
  const { backend: _choice, ...overrides } = options;
  return Object.keys(overrides).length === 0 ? tokenizer : tokenizer.withOptions(overrides);
}

function loadBackend(
  dir: string,
  config: JsonObject,
  choice: 'auto' | 'bpe' | 'hf',
  names: SpecialNames,
): TokenizerBackend {
  const jsonFile = join(dir, 'tokenizer.json');
  const vocabFile = join(dir, 'vocab.json');
  const mergesFile = join(dir, 'merges.txt');

  if (existsSync(jsonFile)) {
    const json = withSpecialTokensAdded(readJsonObject(jsonFile)!, names);
    const spec = choice === 'hf' ? 'the hf backend was asked for' : readByteLevelBpe(json);
    if (typeof spec === 'string' && choice === 'bpe') {
      throw new TokenizerFileError(jsonFile, `cannot be read by our byte-level BPE: ${spec}; load it with { backend: 'hf' }`);
    }
    if (typeof spec === 'string') return new HfBackend(json, config, jsonFile);
    // A byte missing from the vocabulary becomes the model's unk_token, else the tokenizer's (as GPT2Tokenizer).
    const modelUnk = (json['model'] as JsonObject | undefined)?.['unk_token'];
    const unkToken = typeof modelUnk === 'string' ? modelUnk : names.special.get('unk_token');
    const unkId = typeof unkToken === 'string' ? (spec.addedTokens.find((t) => t.content === unkToken)?.id ?? spec.data.vocab.get(unkToken) ?? null) : null;
    return withFileContext(jsonFile, () => new ByteLevelBpeBackend(spec.data, { ...spec, unkId }));
  }

  const hasVocab = existsSync(vocabFile);
  const hasMerges = existsSync(mergesFile);
  if (!hasVocab || !hasMerges) {
    const missing = hasVocab ? 'merges.txt' : hasMerges ? 'vocab.json' : 'tokenizer.json, or vocab.json and merges.txt';
    throw new TokenizerFileError(dir, `has no tokenizer: expected tokenizer.json, or vocab.json and merges.txt; missing ${missing}`);
  }

  const vocabObj = readJsonObject(vocabFile)!;
  const vocab = withFileContext(vocabFile, () => vocabFromObject(vocabObj, 'vocab.json'));
  const merges = withFileContext(mergesFile, () => parseMerges(readTextFile(mergesFile), mergesFile));

  // Added tokens: added_tokens_decoder, added_tokens.json, and every special token (transformers
  // never splits a special token, even when it is only in vocab.json).
  const configFile = join(dir, 'tokenizer_config.json');
  const added = new Map<string, AddedToken>();
  for (const t of readAddedTokensJson(join(dir, 'added_tokens.json'))) added.set(t.content, t);
  for (const t of addedTokensDecoderField(config, configFile)) added.set(t.content, t);
  applyGpt2Defaults(names, (t) => added.has(t) || vocab.has(t));
  for (const content of [...names.special.values(), ...names.additional]) {
    if (typeof content !== 'string') continue;
    const existing = added.get(content);
    const id = existing?.id ?? vocab.get(content);
    if (id !== undefined) added.set(content, { ...existing, content, id, special: true });
  }

  const unkIdOf = (content: string | null | undefined): number | null => (typeof content === 'string' ? (added.get(content)?.id ?? vocab.get(content) ?? null) : null);
  const addBos = booleanField(config, 'add_bos_token', configFile) === true;
  const addEos = booleanField(config, 'add_eos_token', configFile) === true;
  const idOf = (field: 'bos_token' | 'eos_token'): number => {
    const content = names.special.get(field);
    const id = typeof content === 'string' ? (added.get(content)?.id ?? vocab.get(content)) : undefined;
    if (id === undefined) throw new TokenizerFileError(configFile, `add_${field} is true but ${field} ${JSON.stringify(content)} is not in the vocabulary`);
    return id;
  };
  const backend = withFileContext(mergesFile, () =>
    new ByteLevelBpeBackend({ vocab, merges }, {
      addedTokens: [...added.values()],
      unkId: unkIdOf(names.special.get('unk_token')),
      prefixIds: addBos ? [idOf('bos_token')] : [],
      suffixIds: addEos ? [idOf('eos_token')] : [],
    }),
  );
  if (choice === 'hf') {
    // Only useful to compare the two implementations: build the equivalent tokenizer.json in memory.
    return new HfBackend(JSON.parse(toTokenizerJson(backend)) as JsonObject, config, `${dir} (vocab.json + merges.txt as tokenizer.json)`);
  }
  return backend;
}

/**
 * Applies GPT2Tokenizer's defaults, then makes every special token the files name an added token of
 * tokenizer.json when it is only in the model's vocabulary, as transformers does on load (so that
 * it is never split, and `skipSpecialTokens` drops it).
 */
function withSpecialTokensAdded(json: JsonObject, names: SpecialNames): JsonObject {
  const added = Array.isArray(json['added_tokens']) ? (json['added_tokens'] as unknown[]) : [];
  const addedContents = new Set(added.map((t) => (typeof t === 'object' && t !== null ? (t as JsonObject)['content'] : undefined)));
  const model = json['model'];
  const vocab = typeof model === 'object' && model !== null ? (model as JsonObject)['vocab'] : undefined;
  const vocabIdOf = (t: string): number | undefined => {
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab) || !Object.hasOwn(vocab, t)) return undefined;
    const id = (vocab as JsonObject)[t];
    return typeof id === 'number' ? id : undefined;
  };
  applyGpt2Defaults(names, (t) => addedContents.has(t) || vocabIdOf(t) !== undefined);
  const extra: JsonObject[] = [];
  for (const content of new Set([...names.special.values(), ...names.additional])) {
    if (typeof content !== 'string' || addedContents.has(content)) continue;
    const id = vocabIdOf(content);
    if (id !== undefined) extra.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  return extra.length === 0 ? json : { ...json, added_tokens: [...added, ...extra] };
}

// Errors from the BPE model (a merge naming an unknown token, …) name the file they came from.
function withFileContext<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TokenizerError && !(err instanceof TokenizerFileError)) throw new TokenizerFileError(file, err.message, { cause: err });
    throw err;
  }
}
