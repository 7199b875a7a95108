// `rlhf ARGS` run inside the test process (no child, so fast), with what it writes captured.
import { main } from '../../src/cli/index.js';

/**
 * Runs `rlhf ARGS` in this process and returns the exit code with the text it wrote to stdout and
 * stderr. Only string writes are captured: the test runner's own messages (Buffers) pass through.
 */
export async function rlhf(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write;
  const e = process.stderr.write;
  const capture = (orig: typeof o, add: (s: string) => void): typeof o =>
    function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      if (typeof chunk === 'string') {
        add(chunk);
        return true;
      }
      return (orig as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof o;
  process.stdout.write = capture(o, (s) => (out += s));
  process.stderr.write = capture(e, (s) => (err += s));
  try {
    return { code: await main(args), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}
