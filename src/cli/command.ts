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

/** An error whose message is meant for the user as is (no stack trace): bad flags, missing files. */
export class UsageError extends Error {
  override name = 'UsageError';
}
