// docs/reference/ must be what `npm run docs` generates from the current commands: a new flag, a
// changed default or a new command without regenerating fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { commands } from '../../src/cli/index.js';
import { referencePages } from '../../src/docs/reference.js';

const dir = new URL('../../docs/reference/', import.meta.url).pathname;

test('docs/reference matches the commands (run `npm run docs` to regenerate)', () => {
  const pages = referencePages(commands);
  const stale: string[] = [];
  for (const [name, text] of pages) {
    const file = dir + name;
    if (!existsSync(file) || readFileSync(file, 'utf8') !== text) stale.push(name);
  }
  const extra = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.md') && !pages.has(n)) : [];
  assert.deepEqual({ stale, extra }, { stale: [], extra: [] }, 'docs/reference is stale: run `npm run docs`');
});

test('every command has a page that carries its --help', () => {
  const pages = referencePages(commands);
  assert.equal(pages.size, commands.length + 1);
  for (const c of commands) {
    const page = pages.get(`${c.name}.md`)!;
    assert.ok(page.includes(c.help.trimEnd()), c.name);
    assert.ok(pages.get('README.md')!.includes(`(${c.name}.md)`), c.name);
  }
});
