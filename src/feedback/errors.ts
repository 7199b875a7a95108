// Errors the studio raises on purpose. Each carries the HTTP status the server answers with and a
// message written for the person who has to fix it (what was wrong, and what to do instead).

export class StudioError extends Error {
  override name = 'StudioError';
  /** HTTP status the server answers with. */
  readonly status: number;
  /** Stable machine-readable code (e.g. 'not_found'), returned in the JSON error body. */
  readonly code: string;
  constructor(status: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.code = code;
  }
}

export class NotFoundError extends StudioError {
  override name = 'NotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(404, 'not_found', message, options);
  }
}

export class ConflictError extends StudioError {
  override name = 'ConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(409, 'conflict', message, options);
  }
}

/** One problem with a piece of input: where (a path such as `scores.fluency`) and what. */
export interface Issue {
  path: string;
  message: string;
}

export class InvalidInputError extends StudioError {
  override name = 'InvalidInputError';
  readonly issues: Issue[];
  constructor(message: string, issues: Issue[] = [], options?: { cause?: unknown }) {
    super(400, 'invalid_input', message, options);
    this.issues = issues;
  }
}

/** A JSONL import that failed; `lines` lists every bad line (1-based) with its problem. */
export class ImportError extends StudioError {
  override name = 'ImportError';
  readonly lines: { line: number; message: string }[];
  constructor(source: string, lines: { line: number; message: string }[], options?: { cause?: unknown }) {
    const shown = lines.slice(0, 10).map((l) => `  ${source} line ${l.line}: ${l.message}`);
    const more = lines.length > 10 ? [`  … and ${lines.length - 10} more bad lines`] : [];
    super(
      400,
      'invalid_import',
      [`${lines.length} bad line${lines.length === 1 ? '' : 's'} in ${source}; nothing was imported:`, ...shown, ...more].join('\n'),
      options,
    );
    this.lines = lines;
  }
}

export class UnauthorizedError extends StudioError {
  override name = 'UnauthorizedError';
  constructor(message: string) {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends StudioError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, 'forbidden', message);
  }
}

/** Live generation cannot run: the model layer is missing or a model directory failed to load. */
export class GenerationUnavailableError extends StudioError {
  override name = 'GenerationUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, 'generation_unavailable', message, options);
  }
}
