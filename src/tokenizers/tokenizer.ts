// The one `Tokenizer` interface the toolkit uses (models, data, trainers, generation, CLI, studio),
// and `createTokenizer`, which builds it over a backend (our byte-level BPE or a Hugging Face
// tokenizer.json) plus the settings of `tokenizer_config.json`: special tokens, padding and
// truncation sides, maximum length and chat templates.

import type { AddedToken } from './added-tokens.js';
import type { TokenizerBackend } from './backend.js';
import type { ChatMessage, ChatTemplates } from './chat-template.js';
import { CHATML_TEMPLATE, renderChatTemplate, selectChatTemplate } from './chat-template.js';
import { TokenizerError } from './errors.js';
import type { BatchEncoding, Side } from './padding.js';
import { padBatch, truncateIds } from './padding.js';
import { StreamDecoder } from './stream.js';

export type PaddingSide = Side;
export type TruncationSide = Side;
export type { BatchEncoding, ChatMessage };

export interface EncodeOptions {
  /** Add what the tokenizer adds around a sequence (a BOS for Llama-like models; nothing for GPT-2). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (bos, eos, pad, unk and added special tokens). Default false. */
  skipSpecialTokens?: boolean;
  /** Apply transformers' `clean_up_tokenization` (" ," → ","). Default: the tokenizer's setting (false unless its config says true). */
  cleanUpTokenizationSpaces?: boolean;
}

export interface BatchEncodeOptions extends EncodeOptions {
  /** 'longest' (default) pads to the longest sequence, 'max_length' to `maxLength`, false not at all. */
  padding?: 'longest' | 'max_length' | false;
  /** The length for `padding: 'max_length'` and for truncation. Default: `modelMaxLength`. */
  maxLength?: number;
  /** Cut sequences longer than `maxLength`. Default false. */
  truncation?: boolean;
  /** Default: the tokenizer's `paddingSide`. */
  paddingSide?: PaddingSide;
  /** Default: the tokenizer's `truncationSide`. */
  truncationSide?: TruncationSide;
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, for generation. Default false. */
  addGenerationPrompt?: boolean;
  /** Which of several named templates (tokenizer_config.json can hold a list). Default "default". */
  templateName?: string;
  /** Tool (function) descriptions, passed to the template as `tools`. */
  tools?: readonly unknown[];
  /** More variables for the template (e.g. `{ enable_thinking: false }`). */
  variables?: Record<string, unknown>;
}

/** Special token strings (null when the tokenizer has none). */
export interface SpecialTokens {
  bos: string | null;
  eos: string | null;
  unk: string | null;
  /** Defaults to `eos` when the tokenizer defines none (GPT-2), as Hugging Face users do. */
  pad: string | null;
  additional: readonly string[];
}

export interface Tokenizer {
  /** Where it came from: "gpt2 (built in)" or a directory. */
  readonly name: string;
  /** Text ↔ ids: our byte-level BPE (`kind: 'byte-level-bpe'`) or @huggingface/tokenizers (`'hf-tokenizers'`). */
  readonly backend: TokenizerBackend;
  /** The tokenizer_config.json it was loaded from ({} for built-ins); `saveTokenizer` keeps its other fields. */
  readonly tokenizerConfig: Readonly<Record<string, unknown>>;
  /** One more than the largest id: the rows an embedding needs (50257 for GPT-2). */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** The eos id when the tokenizer has no pad token of its own. */
  readonly padTokenId: number | null;
  readonly unkTokenId: number | null;
  readonly specialTokens: SpecialTokens;
  /** Every id `skipSpecialTokens` drops. */
  readonly allSpecialIds: ReadonlySet<number>;
  /** Tokens matched whole in text (e.g. "<|endoftext|>"). */
  readonly addedTokens: readonly AddedToken[];
  readonly paddingSide: PaddingSide;
  readonly truncationSide: TruncationSide;
  /** The longest sequence the model takes (1024 for GPT-2; Infinity when unknown). */
  readonly modelMaxLength: number;
  /** The tokenizer's own chat templates (null: `applyChatTemplate` falls back to `CHATML_TEMPLATE`). */
  readonly chatTemplates: ChatTemplates | null;
  /** Whether `decode` applies transformers' `clean_up_tokenization` by default. */
  readonly cleanUpTokenizationSpaces: boolean;
  /** The `tokenizer_class` written to tokenizer_config.json on save. */
  readonly tokenizerClass: string;

  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  batchEncode(texts: readonly string[], options?: BatchEncodeOptions): BatchEncoding;
  batchDecode(batch: ReadonlyArray<readonly number[]>, options?: DecodeOptions): string[];
  /** A decoder for ids arriving one at a time that only ever returns whole characters. */
  streamDecoder(options?: DecodeOptions): StreamDecoder;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Renders messages with the chat template into the prompt string. */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
  /** `applyChatTemplate`, then `encode` without adding special tokens (the template has them), as transformers does. */
  encodeChat(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[];
  /** The same tokenizer with other settings (the vocabulary is shared, nothing is copied). */
  withOptions(overrides: TokenizerOverrides): Tokenizer;
}

/** Settings a caller may change on any tokenizer. */
export interface TokenizerOverrides {
  paddingSide?: PaddingSide;
  truncationSide?: TruncationSide;
  /** A token already in the vocabulary, e.g. '<|endoftext|>'. */
  padToken?: string;
  modelMaxLength?: number;
  /** A Jinja chat template replacing the tokenizer's own. */
  chatTemplate?: string;
  cleanUpTokenizationSpaces?: boolean;
}

/** Everything `createTokenizer` needs besides the backend (what tokenizer_config.json holds). */
export interface TokenizerSettings {
  name: string;
  bosToken?: string | null;
  eosToken?: string | null;
  unkToken?: string | null;
  /** Absent or null: the eos token pads. */
  padToken?: string | null;
  additionalSpecialTokens?: readonly string[];
  paddingSide?: PaddingSide;
  truncationSide?: TruncationSide;
  modelMaxLength?: number;
  chatTemplates?: ChatTemplates | null;
  cleanUpTokenizationSpaces?: boolean;
  tokenizerClass?: string;
  tokenizerConfig?: Readonly<Record<string, unknown>>;
}

export function createTokenizer(backend: TokenizerBackend, settings: TokenizerSettings): Tokenizer {
  return new BackedTokenizer(backend, settings);
}

class BackedTokenizer implements Tokenizer {
  readonly name: string;
  readonly tokenizerConfig: Readonly<Record<string, unknown>>;
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly unkTokenId: number | null;
  readonly specialTokens: SpecialTokens;
  readonly allSpecialIds: ReadonlySet<number>;
  readonly addedTokens: readonly AddedToken[];
  readonly paddingSide: PaddingSide;
  readonly truncationSide: TruncationSide;
  readonly modelMaxLength: number;
  readonly chatTemplates: ChatTemplates | null;
  readonly cleanUpTokenizationSpaces: boolean;
  readonly tokenizerClass: string;

  constructor(
    readonly backend: TokenizerBackend,
    private readonly settings: TokenizerSettings,
  ) {
    this.name = settings.name;
    this.tokenizerConfig = settings.tokenizerConfig ?? {};
    this.vocabSize = backend.vocabSize;
    this.addedTokens = backend.addedTokens;
    const eos = settings.eosToken ?? null;
    this.specialTokens = {
      bos: settings.bosToken ?? null,
      eos,
      unk: settings.unkToken ?? null,
      pad: settings.padToken ?? eos,
      additional: settings.additionalSpecialTokens ?? [],
    };
    this.bosTokenId = this.idOfSpecial('bos_token', this.specialTokens.bos);
    this.eosTokenId = this.idOfSpecial('eos_token', this.specialTokens.eos);
    this.unkTokenId = this.idOfSpecial('unk_token', this.specialTokens.unk);
    this.padTokenId = this.idOfSpecial('pad_token', this.specialTokens.pad);
    const special = new Set<number>();
    for (const id of [this.bosTokenId, this.eosTokenId, this.unkTokenId, this.padTokenId]) if (id !== null) special.add(id);
    for (const t of this.specialTokens.additional) special.add(this.idOfSpecial('additional_special_tokens', t)!);
    for (const t of backend.addedTokens) if (t.special) special.add(t.id);
    this.allSpecialIds = special;
    this.paddingSide = settings.paddingSide ?? 'right';
    this.truncationSide = settings.truncationSide ?? 'right';
    this.modelMaxLength = settings.modelMaxLength ?? Infinity;
    this.chatTemplates = settings.chatTemplates ?? null;
    this.cleanUpTokenizationSpaces = settings.cleanUpTokenizationSpaces ?? false;
    this.tokenizerClass = settings.tokenizerClass ?? 'PreTrainedTokenizerFast';
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode: expected a string, got ${typeof text}`);
    return this.backend.encode(text, options.addSpecialTokens ?? true);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const kept = options.skipSpecialTokens === true ? ids.filter((id) => !this.allSpecialIds.has(id)) : ids;
    const text = kept.length === 0 ? '' : this.backend.decode(kept);
    return (options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces) ? cleanUpTokenization(text) : text;
  }

  batchEncode(texts: readonly string[], options: BatchEncodeOptions = {}): BatchEncoding {
    const padding = options.padding ?? 'longest';
    const maxLength = options.maxLength ?? this.modelMaxLength;
    const needsLength = options.truncation === true || padding === 'max_length';
    if (needsLength && !(Number.isInteger(maxLength) && maxLength > 0)) {
      throw new TokenizerError(
        `batchEncode: truncation and padding: 'max_length' need maxLength (a positive integer), and this tokenizer has no modelMaxLength; got ${maxLength}`,
      );
    }
    let sequences = texts.map((t) => this.encode(t, options));
    if (options.truncation === true) {
      sequences = sequences.map((s) => truncateIds(s, maxLength, options.truncationSide ?? this.truncationSide));
    }
    if (padding === false) return { inputIds: sequences, attentionMask: sequences.map((s) => s.map(() => 1)) };
    if (this.padTokenId === null) {
      throw new TokenizerError(`${this.name} has no pad token and no eos token to pad with; set one with tokenizer.withOptions({ padToken })`);
    }
    return padBatch(sequences, {
      padId: this.padTokenId,
      side: options.paddingSide ?? this.paddingSide,
      length: padding === 'max_length' ? maxLength : undefined,
      multipleOf: options.padToMultipleOf,
    });
  }

  batchDecode(batch: ReadonlyArray<readonly number[]>, options?: DecodeOptions): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }

  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder(this, options);
  }

  tokenToId(token: string): number | undefined {
    return this.backend.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.backend.idToToken(id);
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    let template = CHATML_TEMPLATE;
    let source = 'the default ChatML template (the tokenizer has no chat_template)';
    if (this.chatTemplates !== null) {
      template = selectChatTemplate(this.chatTemplates, options.templateName);
      source = this.chatTemplates.source;
    }
    const { bos, eos, unk, pad, additional } = this.specialTokens;
    return renderChatTemplate(template, source, {
      bos_token: bos ?? '',
      eos_token: eos ?? '',
      unk_token: unk ?? '',
      pad_token: pad ?? '',
      additional_special_tokens: [...additional],
      ...(options.tools === undefined ? {} : { tools: [...options.tools] }),
      ...options.variables,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
    });
  }

  encodeChat(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }

  withOptions(o: TokenizerOverrides): Tokenizer {
    const s = this.settings;
    return new BackedTokenizer(this.backend, {
      ...s,
      paddingSide: o.paddingSide ?? this.paddingSide,
      truncationSide: o.truncationSide ?? this.truncationSide,
      padToken: o.padToken ?? s.padToken,
      modelMaxLength: o.modelMaxLength ?? this.modelMaxLength,
      chatTemplates:
        o.chatTemplate === undefined ? this.chatTemplates : { templates: new Map([['default', o.chatTemplate]]), source: 'withOptions({ chatTemplate })' },
      cleanUpTokenizationSpaces: o.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces,
    });
  }

  private idOfSpecial(field: string, token: string | null): number | null {
    if (token === null) return null;
    const id = this.backend.tokenToId(token);
    if (id === undefined) {
      throw new TokenizerError(
        `${this.name}: ${field} ${JSON.stringify(token)} is not in the vocabulary; use a token the vocabulary has (e.g. the eos token) or add it to the tokenizer's added tokens`,
      );
    }
    return id;
  }
}

/** transformers' `clean_up_tokenization`: removes the space before punctuation and English contractions. */
export function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
