// The Hugging Face `tokenizer.json` format, for byte-level BPE:
//   - `toTokenizerJson` writes one (BPE model + ByteLevel pre-tokenizer and decoder, as GPT-2's on
//     the hub) so `AutoTokenizer.from_pretrained` and `@huggingface/tokenizers` load what we save;
//   - `readByteLevelBpe` reads one back into our own BPE when it is plain GPT-2-style byte-level
//     BPE (faster, and exact on whitespace), and says why not otherwise.

import type { AddedToken } from './added-tokens.js';
import type { ByteLevelBpeBackend } from './bpe-backend.js';
import type { BpeData } from './bpe.js';
import { vocabFromObject } from './bpe.js';
import type { TokenizerJson } from './hf.js';

/** The tokenizer.json text for a byte-level BPE backend (vocabulary written in id order). */
export function toTokenizerJson(backend: ByteLevelBpeBackend): string {
  const { model, addedTokens, prefixIds, suffixIds } = backend;
  const byteLevel = (addPrefixSpace: boolean, trimOffsets: boolean) => ({
    type: 'ByteLevel',
    add_prefix_space: addPrefixSpace,
    trim_offsets: trimOffsets,
    use_regex: true,
  });
  const head = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens.map(addedTokenJson),
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: prefixIds.length + suffixIds.length === 0 ? byteLevel(true, false) : templateProcessing(backend),
    decoder: byteLevel(true, true),
  };
  // unk_token only when some byte lacks a token (then it is what such a byte becomes); GPT-2's file has null.
  const unkId = model.unkId;
  const lacksByte = unkId !== null && model.missingBytes().length > 0;
  const modelHead = {
    type: 'BPE',
    dropout: null,
    unk_token: lacksByte && unkId !== null ? (backend.idToToken(unkId) ?? null) : null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
  };
  // Merges as "left right" strings (readable by every tokenizers version); a pair with a space in a
  // token cannot be written that way, so then all merges use the [left, right] form.
  const asPairs = model.merges.some(([a, b]) => a.includes(' ') || b.includes(' '));
  const merges = model.merges.map(([a, b]) => '    ' + JSON.stringify(asPairs ? [a, b] : `${a} ${b}`)).join(',\n');
  const headText = JSON.stringify(head, null, 2).slice(0, -2); // drop the closing "\n}"
  const modelText = JSON.stringify(modelHead, null, 2).slice(2, -2).replace(/^/gm, '  ');
  return `${headText},\n  "model": {\n${modelText},\n    "vocab": ${vocabJson(model.vocab, '    ')},\n    "merges": [\n${merges}\n    ]\n  }\n}\n`;
}

/** `vocab.json` text: token → id, in id order, one per line. */
export function vocabJson(vocab: ReadonlyMap<string, number>, indent = ''): string {
  const entries = [...vocab].sort((x, y) => x[1] - y[1]);
  return '{\n' + entries.map(([t, id]) => `${indent}  ${JSON.stringify(t)}: ${id}`).join(',\n') + `\n${indent}}`;
}

function addedTokenJson(t: AddedToken) {
  return {
    id: t.id,
    content: t.content,
    single_word: t.singleWord ?? false,
    lstrip: t.lstrip ?? false,
    rstrip: t.rstrip ?? false,
    normalized: false,
    special: t.special,
  };
}

// A TemplateProcessing post-processor for tokenizers that add a BOS and/or EOS: $A → [BOS] $A [EOS].
function templateProcessing(backend: ByteLevelBpeBackend) {
  const tokenOf = (id: number): string => backend.idToToken(id) ?? String(id);
  const special = (id: number) => ({ SpecialToken: { id: tokenOf(id), type_id: 0 } });
  const seq = (name: 'A' | 'B', typeId: number) => ({ Sequence: { id: name, type_id: typeId } });
  const pre = backend.prefixIds.map(special);
  const post = backend.suffixIds.map(special);
  const specialTokens: Record<string, { id: string; ids: number[]; tokens: string[] }> = {};
  for (const id of [...backend.prefixIds, ...backend.suffixIds]) specialTokens[tokenOf(id)] = { id: tokenOf(id), ids: [id], tokens: [tokenOf(id)] };
  return {
    type: 'TemplateProcessing',
    single: [...pre, seq('A', 0), ...post],
    pair: [...pre, seq('A', 0), ...post, ...pre, seq('B', 1), ...post],
    special_tokens: specialTokens,
  };
}

/** What our byte-level BPE needs from a tokenizer.json. */
export interface ByteLevelBpeSpec {
  data: BpeData;
  addedTokens: AddedToken[];
  prefixIds: number[];
  suffixIds: number[];
}

/**
 * Reads a tokenizer.json that is plain byte-level BPE (GPT-2, GPT-Neo, Pythia, OPT-style files):
 * a BPE model with no normalizer, GPT-2's ByteLevel pre-tokenizer and decoder. Returns a string
 * saying what differs when it is something else (then @huggingface/tokenizers handles it).
 */
export function readByteLevelBpe(json: TokenizerJson): ByteLevelBpeSpec | string {
  const model = record(json['model']);
  const pre = record(json['pre_tokenizer']);
  const dec = record(json['decoder']);
  const post = json['post_processor'] === null || json['post_processor'] === undefined ? null : record(json['post_processor']);
  if (model === null || (model['type'] ?? 'BPE') !== 'BPE') return 'the model is not BPE';
  if (!isEmpty(model['dropout']) || !isEmpty(model['continuing_subword_prefix']) || !isEmpty(model['end_of_word_suffix'])) {
    return 'the BPE model uses dropout or subword prefixes/suffixes';
  }
  if (model['byte_fallback'] === true || model['ignore_merges'] === true) return 'the BPE model uses byte_fallback or ignore_merges';
  if (!isEmpty(json['normalizer'])) return 'it has a normalizer';
  if (pre === null || pre['type'] !== 'ByteLevel' || pre['add_prefix_space'] === true || pre['use_regex'] === false) {
    return "the pre-tokenizer is not GPT-2's ByteLevel";
  }
  if (dec === null || dec['type'] !== 'ByteLevel') return 'the decoder is not ByteLevel';

  let prefixIds: number[] = [];
  let suffixIds: number[] = [];
  if (post !== null && post['type'] !== 'ByteLevel') {
    const ends = templateEnds(post);
    if (ends === null) return 'the post-processor is not ByteLevel or a simple TemplateProcessing';
    [prefixIds, suffixIds] = ends;
  }

  const vocabObj = record(model['vocab']);
  const mergesRaw = model['merges'];
  if (vocabObj === null || !Array.isArray(mergesRaw)) return 'model.vocab or model.merges is missing';
  let vocab: Map<string, number>;
  try {
    vocab = vocabFromObject(vocabObj, 'model.vocab');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const merges: Array<[string, string]> = [];
  for (const m of mergesRaw) {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) return `merge ${JSON.stringify(m)} is not "left right"`;
      merges.push([parts[0]!, parts[1]!]);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      merges.push([m[0], m[1]]);
    } else {
      return `merge ${JSON.stringify(m)} is neither "left right" nor [left, right]`;
    }
  }
  const addedTokens: AddedToken[] = [];
  for (const t of Array.isArray(json['added_tokens']) ? json['added_tokens'] : []) {
    const r = record(t);
    if (r === null || typeof r['content'] !== 'string' || typeof r['id'] !== 'number') return 'an added_tokens entry lacks content or id';
    addedTokens.push({
      content: r['content'],
      id: r['id'],
      special: r['special'] === true,
      lstrip: r['lstrip'] === true,
      rstrip: r['rstrip'] === true,
      singleWord: r['single_word'] === true,
    });
  }
  return { data: { vocab, merges }, addedTokens, prefixIds, suffixIds };
}

// [prefix ids, suffix ids] of a TemplateProcessing whose `single` is special tokens around $A.
function templateEnds(post: Record<string, unknown>): [number[], number[]] | null {
  if (post['type'] !== 'TemplateProcessing' || !Array.isArray(post['single'])) return null;
  const specials = record(post['special_tokens']) ?? {};
  const prefix: number[] = [];
  const suffix: number[] = [];
  let seenA = false;
  for (const piece of post['single']) {
    const p = record(piece);
    const seq = p === null ? null : record(p['Sequence']);
    const sp = p === null ? null : record(p['SpecialToken']);
    if (seq !== null && seq['id'] === 'A' && !seenA) {
      seenA = true;
    } else if (sp !== null && typeof sp['id'] === 'string') {
      const ids = record(specials[sp['id']])?.['ids'];
      if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'number')) return null;
      (seenA ? suffix : prefix).push(...(ids as number[]));
    } else {
      return null;
    }
  }
  return seenA ? [prefix, suffix] : null;
}

function record(x: unknown): Record<string, unknown> | null {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}

function isEmpty(x: unknown): boolean {
  return x === null || x === undefined || x === '';
}
