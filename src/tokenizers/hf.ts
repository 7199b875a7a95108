// Any Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram; Llama, Mistral, Qwen, …) through
// `@huggingface/tokenizers`, the pure-JS port of the Rust `tokenizers` library.

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { AddedToken } from './added-tokens.js';
import type { TokenizerBackend } from './backend.js';
import { TokenizerFileError } from './errors.js';

/** The parsed contents of a `tokenizer.json` (the fields this layer reads are checked where used). */
export type TokenizerJson = Record<string, unknown>;

export class HfBackend implements TokenizerBackend {
  readonly kind = 'hf-tokenizers';
  readonly vocabSize: number;
  readonly addedTokens: readonly AddedToken[];
  private readonly hf: HfTokenizer;

  /**
   * @param json the parsed tokenizer.json, kept as is (saveTokenizer writes it back)
   * @param config the parsed tokenizer_config.json ({} when absent)
   * @param file the path it came from, for errors
   */
  constructor(
    readonly json: TokenizerJson,
    config: Record<string, unknown>,
    file = 'tokenizer.json',
  ) {
    if (!Array.isArray(json['added_tokens'])) json = { ...json, added_tokens: [] };
    try {
      // Decoding clean-up is done by our Tokenizer, so the library must not do it too.
      this.hf = new HfTokenizer(json, { ...config, clean_up_tokenization_spaces: false });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new TokenizerFileError(file, `@huggingface/tokenizers cannot load it: ${message}`, { cause: err });
    }
    let maxId = -1;
    for (const id of this.hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
    this.addedTokens = [...this.hf.get_added_tokens_decoder().values()].map((t) => ({
      content: t.content,
      id: t.id,
      special: t.special,
      lstrip: t.lstrip,
      rstrip: t.rstrip,
      singleWord: t.single_word,
    }));
  }

  encode(text: string, addSpecialTokens: boolean): number[] {
    return this.hf.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[]): string {
    const known = ids.filter((id) => this.hf.id_to_token(id) !== undefined); // unknown ids are skipped, as in Rust
    if (known.length === 0) return '';
    return this.hf.decode(known, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }
}
