// saveTokenizer(tok, dir): writes a tokenizer the way save_pretrained does, so that
// `AutoTokenizer.from_pretrained(dir)`, `@huggingface/tokenizers` and `loadTokenizer(dir)` all read it:
//   vocab.json, merges.txt     (byte-level BPE tokenizers)
//   tokenizer.json             (Hugging Face tokenizers format)
//   tokenizer_config.json      (tokenizer_class, special tokens, model_max_length, padding side, chat template)
//   special_tokens_map.json
// Each file is written to `NAME.tmp-<pid>` and renamed into place, so a reader never sees half a file.

import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { makeDirs } from '../util/dirs.js';
import { join } from 'node:path';
import { ByteLevelBpeBackend } from './bpe-backend.js';
import { formatMerges } from './bpe.js';
import { TokenizerFileError } from './errors.js';
import { HfBackend } from './hf.js';
import type { Tokenizer } from './tokenizer.js';
import { readByteLevelBpe, toTokenizerJson, vocabJson } from './tokenizer-json.js';

/** Writes the tokenizer files into `dir` (created if needed). Returns the paths written. */
export function saveTokenizer(tok: Tokenizer, dir: string): string[] {
  makeDirs(dir);
  const files = new Map<string, string>();
  const backend = tok.backend;

  if (backend instanceof ByteLevelBpeBackend) {
    files.set('vocab.json', vocabJson(backend.model.vocab) + '\n');
    files.set('merges.txt', formatMerges(backend.model.merges));
    files.set('tokenizer.json', toTokenizerJson(backend));
  } else if (backend instanceof HfBackend) {
    files.set('tokenizer.json', JSON.stringify(backend.json, null, 2) + '\n');
    const spec = readByteLevelBpe(backend.json); // also write vocab.json + merges.txt when they exist for it
    if (typeof spec !== 'string') {
      files.set('vocab.json', vocabJson(spec.data.vocab) + '\n');
      files.set('merges.txt', formatMerges(spec.data.merges));
    }
  } else {
    throw new TokenizerFileError(dir, `cannot save a tokenizer whose backend is ${backend.kind}: only byte-level BPE and tokenizer.json tokenizers can be saved`);
  }

  const { bos, eos, unk, pad, additional } = tok.specialTokens;
  const specialMap: Record<string, unknown> = { bos_token: bos, eos_token: eos, unk_token: unk, pad_token: pad };
  if (additional.length > 0) specialMap['additional_special_tokens'] = [...additional];
  for (const key of Object.keys(specialMap)) if (specialMap[key] === null) delete specialMap[key];

  const config: Record<string, unknown> = { ...tok.tokenizerConfig };
  delete config['chat_template'];
  if (backend instanceof ByteLevelBpeBackend) {
    config['add_bos_token'] = backend.prefixIds.length > 0;
    config['add_eos_token'] = backend.suffixIds.length > 0;
    config['add_prefix_space'] = false;
  }
  config['added_tokens_decoder'] = Object.fromEntries(
    [...tok.addedTokens]
      .sort((a, b) => a.id - b.id)
      .map((t) => [
        String(t.id),
        { content: t.content, lstrip: t.lstrip ?? false, normalized: false, rstrip: t.rstrip ?? false, single_word: t.singleWord ?? false, special: t.special },
      ]),
  );
  Object.assign(config, {
    bos_token: bos,
    eos_token: eos,
    unk_token: unk,
    pad_token: pad,
    clean_up_tokenization_spaces: tok.cleanUpTokenizationSpaces,
    padding_side: tok.paddingSide,
    truncation_side: tok.truncationSide,
    tokenizer_class: tokenizerClass(tok),
  });
  if (additional.length > 0) config['additional_special_tokens'] = [...additional];
  // transformers' "no limit" is a huge integer; leaving the field out means the same.
  if (Number.isFinite(tok.modelMaxLength)) config['model_max_length'] = tok.modelMaxLength;
  else delete config['model_max_length'];
  const chat = tok.chatTemplates;
  if (chat !== null) {
    config['chat_template'] =
      chat.templates.size === 1 && chat.templates.has('default')
        ? chat.templates.get('default')
        : [...chat.templates].map(([name, template]) => ({ name, template }));
  }
  files.set('tokenizer_config.json', JSON.stringify(sortKeys(config), null, 2) + '\n');
  files.set('special_tokens_map.json', JSON.stringify(specialMap, null, 2) + '\n');

  const written: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    writeAtomic(path, text);
    written.push(path);
  }
  return written;
}

/** Writes `text` to `path` through a temporary file and a rename. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    const message = err instanceof Error ? err.message : String(err);
    throw new TokenizerFileError(path, `cannot write it (${message}); check the directory exists and is writable`, { cause: err });
  }
}

// transformers' GPT2TokenizerFast refuses add_bos_token, so a GPT-2-style tokenizer that adds a
// BOS or EOS is saved as PreTrainedTokenizerFast (tokenizer.json's post-processor adds them).
function tokenizerClass(tok: Tokenizer): string {
  const b = tok.backend;
  const adds = b instanceof ByteLevelBpeBackend && b.prefixIds.length + b.suffixIds.length > 0;
  return adds && tok.tokenizerClass.startsWith('GPT2') ? 'PreTrainedTokenizerFast' : tok.tokenizerClass;
}

function sortKeys(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
