// Datasets for the trainers: read files (JSONL/JSON/CSV/TSV/TXT), detect the format, tokenise,
// split, batch and collate.
//
//   import { readDataset, tokenizeSft, packSequences, collateSft, SFT_FORMATS } from '../data/index.js';
//   const ds = readDataset('train.jsonl', { expectFormat: SFT_FORMATS });
//   const examples = packSequences(tokenizeSft(ds.rows, tok, { maxLength: 1024 }), 1024);
//   for (const idx of batchIndices(examples.length, 8, seed, epoch)) {
//     const { inputIds, attentionMask, labels } = collateSft(idx.map((i) => examples[i]!), tok.padTokenId!);
//   }

export { DataError } from './errors.js';
export type { DataErrorLocation } from './errors.js';
export {
  FILE_KINDS,
  MAX_SKIP_REASONS,
  SkipLog,
  decodeUtf8,
  fileKindOf,
  parseColumnsFlag,
  parseRecords,
  readRecords,
  renameColumns,
} from './read.js';
export type { DataRecord, FileKind, ReadOptions, ReadResult } from './read.js';
export {
  DATA_FORMATS,
  KTO_FORMATS,
  PREFERENCE_FORMATS,
  REWARD_FORMATS,
  SFT_FORMATS,
  commonTextPrefix,
  detectFormat,
  dollyPrompt,
  formatsTable,
  parseMessages,
  parseShareGpt,
  toDataset,
  toNumber,
} from './formats.js';
export type {
  DataFormat,
  Dataset,
  DatasetOf,
  Detection,
  DollyRow,
  FormatOptions,
  KtoRow,
  LabelRow,
  MessagesRow,
  PreferenceRow,
  PromptCompletionRow,
  RatingRow,
  SftRow,
  TextRow,
} from './formats.js';
export { readDataset } from './dataset.js';
export type { DatasetOptions } from './dataset.js';
export { readPrompts } from './prompts.js';
export type { PromptOptions } from './prompts.js';
export {
  commonPrefixLength,
  encodeText,
  packSequences,
  preferenceTexts,
  renderChatContinuations,
  rewardExamples,
  rewardInputIds,
  splitPromptResponses,
  tokenizeKto,
  tokenizeLabels,
  tokenizePreference,
  tokenizeRatings,
  tokenizeRewardPairs,
  tokenizeSft,
} from './tokenize.js';
export type {
  KtoExample,
  LabelExample,
  PackOptions,
  PreferenceExample,
  PreferenceTokenizeOptions,
  RatingExample,
  RewardExample,
  RewardExamples,
  RewardPairExample,
  RewardTokenizeOptions,
  SftExample,
  SftTokenizeOptions,
} from './tokenize.js';
export { batchIndices, trainEvalSplit } from './split.js';
export type { BatchOptions, TrainEvalSplit } from './split.js';
export { mixSeed, mulberry32, permutation, randInt, shuffleInPlace } from './rng.js';
export type { Rng } from './rng.js';
export { IGNORE_INDEX, collatePreference, collateSft, padLeft, padRight } from './collate.js';
export type { CollateOptions, PaddedBatch, PreferenceBatch, SftBatch } from './collate.js';
