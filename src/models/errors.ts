// Errors of the models layer. Each message names the directory or file, the field or key, and the fix.

/** A model directory cannot be read or written: missing, incomplete, or weights that do not fit the config. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  /** The model directory. */
  readonly dir: string;
  constructor(dir: string, message: string, options?: ErrorOptions) {
    super(`${dir}: ${message}`, options);
    this.dir = dir;
  }
}

/** A config.json field is missing, of the wrong type or out of range; or the model_type is unknown. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The config file (or what the config came from). */
  readonly file: string;
  /** The offending field, when one is to blame. */
  readonly field: string | null;
  constructor(file: string, field: string | null, message: string, options?: ErrorOptions) {
    super(`${file}: ${field === null ? '' : `field "${field}" `}${message}`, options);
    this.file = file;
    this.field = field;
  }
}
