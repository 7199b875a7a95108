// The TypeScript API reference builds: TypeDoc over the package's entry points (typedoc.json, the
// same as `npm run docs:api`), with its validation — a broken {@link}, a rewritten link — as errors.
// Nothing is written (--emit none). About 15 s of CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './markdown.js';

test('npm run docs:api: TypeDoc builds the API reference without warnings', () => {
  const bin = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const r = spawnSync(process.execPath, [bin, '--emit', 'none', '--treatWarningsAsErrors'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `typedoc failed:\n${r.stdout}${r.stderr}`);
});
