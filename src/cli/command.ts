/** One `rlhf` subcommand: a name, a line for the command list, a --help text, and a runner. */
export interface Command {
  name: string;
  /** One line shown by `rlhf --help`. */
  summary: string;
  /** Full text shown by `rlhf NAME --help`. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

// The error rule of the CLI:
//   - A failure the user can fix (a bad flag, a missing file, a malformed row, a diverged run) is
//     an Error subclass with its own `name`: UsageError, ConfigError, TrainerError, DataError,
//     TokenizerError, StudioError, … `rlhf` prints it as one line, `rlhf CMD: message`, with no
//     stack, and exits with code 2. Its message names the thing and the fix.
//   - Anything else is a bug: a plain `Error`, a subclass that kept the name 'Error', JavaScript's
//     own TypeError, RangeError, ReferenceError… (whatever their name), or a thrown non-Error.
//     `rlhf` lets it propagate, so Node prints the stack and exits with code 1.
//   - RLHF_DEBUG=1 lets every error but a UsageError propagate, with its stack.

/** An error whose message is meant for the user as is (no stack trace): bad flags, missing files. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** JavaScript's own error classes: a bug when they escape a command, whatever their name. */
const BUILTIN_ERRORS: readonly (abstract new (...args: never[]) => Error)[] = [Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError, AggregateError];

/**
 * Whether `err` is a user-facing error under the rule above: an instance of a subclass (not one of
 * JavaScript's own classes) whose name is not 'Error'.
 */
export function isUserError(err: unknown): err is Error {
  if (!(err instanceof Error) || err.name === 'Error') return false;
  const proto: unknown = Object.getPrototypeOf(err);
  return !BUILTIN_ERRORS.some((E) => proto === E.prototype);
}
