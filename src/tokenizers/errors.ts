// Errors of the tokenizers layer. Each message names the thing (file, field, token) and the fix.

/** Base class: a tokenizer was used in a way it cannot honour (unknown pad token, bad option, …). */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** A tokenizer file is missing or malformed. `file` is the path that was read (or expected). */
export class TokenizerFileError extends TokenizerError {
  override name = 'TokenizerFileError';
  readonly file: string;
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** A chat template failed to parse or render. `source` says where the template came from. */
export class ChatTemplateError extends TokenizerError {
  override name = 'ChatTemplateError';
  readonly source: string;
  constructor(source: string, message: string, options?: ErrorOptions) {
    super(`chat template from ${source}: ${message}`, options);
    this.source = source;
  }
}
