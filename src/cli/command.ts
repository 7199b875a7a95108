import { writeSync } from 'node:fs';

/** One `rlhf` subcommand: a name, a line for the command list, a --help text, and a runner. */
export interface Command {
  name: string;
  /** One line shown by `rlhf --help`. */
  summary: string;
  /** Full text shown by `rlhf NAME --help`. */
  help: string;
  /** A command with subcommands: the help for `rlhf NAME ARGV… --help` (e.g. a subcommand's own); default `help`. */
  helpFor?(argv: string[]): string;
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

/**
 * Thrown by writeOut() when the reader of stdout went away (`rlhf generate … | head`), to stop the
 * command's work early; `rlhf` then exits quietly with code 0.
 */
export class OutputClosedError extends Error {
  override name = 'OutputClosedError';
  constructor() {
    super('stdout was closed by its reader');
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes to stdout now, for output produced inside a long synchronous loop (streamed tokens):
 * process.stdout buffers writes to a pipe until the event loop turns, so a closed pipe would go
 * unnoticed, and the output unshown, until the loop ends. Throws OutputClosedError on EPIPE; waits
 * while a slow reader's pipe is full. Do not mix with pending process.stdout writes.
 */
export function writeOut(text: string): void {
  const buf = Buffer.from(text, 'utf8');
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(1, buf, off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 2); // the reader is slow: wait 2 ms
      else if (code === 'EPIPE') throw new OutputClosedError();
      else throw err;
    }
  }
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
