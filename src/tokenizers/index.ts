// Tokenizers: GPT-2's byte-level BPE built in, any Hugging Face tokenizer.json, chat templates.
//
//   import { gpt2Tokenizer, loadTokenizer, saveTokenizer } from '../tokenizers/index.js';
//   const tok = gpt2Tokenizer();                       // no download
//   tok.encode('Hello world');                         // [15496, 995]
//   tok.withOptions({ paddingSide: 'left' }).batchEncode(prompts);
//   const tok2 = loadTokenizer('path/to/model');       // tokenizer.json or vocab.json + merges.txt
//   saveTokenizer(tok2, 'out/model');

export type {
  BatchEncodeOptions,
  BatchEncoding,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  PaddingSide,
  SpecialTokens,
  Tokenizer,
  TokenizerOverrides,
  TokenizerSettings,
  TruncationSide,
} from './tokenizer.js';
export { cleanUpTokenization, createTokenizer } from './tokenizer.js';
export type { TokenizerBackend } from './backend.js';
export type { AddedToken } from './added-tokens.js';
export { ByteLevelBpeBackend } from './bpe-backend.js';
export type { ByteLevelBpeOptions } from './bpe-backend.js';
export { BpeModel, formatMerges, parseMerges } from './bpe.js';
export type { BpeData } from './bpe.js';
export { BYTE_TO_CHAR, GPT2_SPLIT_PATTERN, preTokenize } from './byte-level.js';
export { HfBackend } from './hf.js';
export type { TokenizerJson } from './hf.js';
export { GPT2_EOS_ID, GPT2_EOS_TOKEN, GPT2_MAX_LENGTH, GPT2_VOCAB_SIZE, gpt2Tokenizer, readGpt2BpeData } from './gpt2.js';
export { CHATML_TEMPLATE, renderChatTemplate } from './chat-template.js';
export type { ChatMessage, ChatTemplates } from './chat-template.js';
export { StreamDecoder } from './stream.js';
export { padBatch, truncateIds } from './padding.js';
export type { PadOptions } from './padding.js';
export { loadTokenizer } from './load.js';
export type { LoadTokenizerOptions } from './load.js';
export { saveTokenizer } from './save.js';
export { learnByteLevelBpe, trainByteLevelBpe } from './train-bpe.js';
export type { TrainBpeOptions } from './train-bpe.js';
export { toTokenizerJson } from './tokenizer-json.js';
export { ChatTemplateError, TokenizerError, TokenizerFileError } from './errors.js';
