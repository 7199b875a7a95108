// The CLI's error rule (src/cli/command.ts): a named Error subclass is the user's to fix and prints as
// one line with exit code 2; a plain Error, or one of JavaScript's own, is a bug and keeps its stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isUserError, UsageError } from '../../src/cli/command.js';
import { ConfigError } from '../../src/config/schema-cli.js';
import { DataError } from '../../src/data/errors.js';
import { TrainerError } from '../../src/trainers/common/setup.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function rlhf(args: string[], env: Record<string, string> = {}): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/rlhf.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, RLHF_DEBUG: '', ...env } });
  return { code: r.status, stderr: r.stderr };
}

test('isUserError: named subclasses are for the user; plain Error, unnamed subclasses and built-ins are bugs', () => {
  class Unnamed extends Error {}
  class ProjectEvalError extends Error {
    override name = 'EvalError'; // shares the name of JavaScript's EvalError, as src/eval's does
  }
  for (const e of [new UsageError('u'), new ConfigError('c'), new TrainerError('t'), new DataError({ file: 'a.jsonl', line: 3 }, 'bad row'), new ProjectEvalError('e')]) assert.ok(isUserError(e), e.name);
  for (const e of [new Error('x'), new Unnamed('x'), new TypeError('x'), new RangeError('x'), new SyntaxError('x'), new EvalError('x'), 'a string', null]) assert.ok(!isUserError(e), String(e));
});

test('a UsageError prints one line, no stack, and exits 2 (RLHF_DEBUG too)', () => {
  for (const env of [{}, { RLHF_DEBUG: '1' }] as Record<string, string>[]) {
    const r = rlhf(['generate', '--model', 'm', '--prompt', 'x', '--bogus'], env);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, "rlhf generate: unknown option --bogus. Run 'rlhf generate --help' for the list.\n");
  }
  const bad = rlhf(['init', '--out', 'unused', '--n-layer', '0']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^rlhf init: --n-layer: Too small: expected number to be >=1 \(got 0\)\. Run 'rlhf init --help'\.\n$/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});
