#!/usr/bin/env node
// Runs the whole test suite with Node's built-in test runner (through tsx for TypeScript).
//   npm test                 every *.test.ts under src/ and test/
//   npm test -- PATTERN...   only files whose path contains one of the patterns
// Before running, it makes sure what the browser tests need is present (Debian's chromium),
// installing it with apt-get when running as root on Debian/Ubuntu, like the package install does.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const patterns = process.argv.slice(2).filter((a) => !a.startsWith('-'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = ['src', 'test'].filter((d) => existsSync(join(root, d))).flatMap((d) => walk(join(root, d), []));
if (patterns.length) files = files.filter((f) => patterns.some((p) => relative(root, f).includes(p)));
files.sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// Browser tests drive Debian's Chromium; bring it when we can (root on Debian), as `npm install` brings libtorch.
const needsBrowser = files.some((f) => f.includes('e2e'));
if (needsBrowser && !existsSync('/usr/bin/chromium') && !process.env.CHROMIUM_PATH) {
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (isRoot && hasApt) {
    console.log('rlhf tests: installing Debian chromium for the browser tests (apt-get install chromium)…');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    const r = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) console.error('rlhf tests: could not install chromium; browser tests will fail. Install it with: apt-get install chromium');
  } else {
    console.error('rlhf tests: browser tests need Chromium. Install it (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH.');
  }
}

const args = ['--import', 'tsx', '--test', '--test-reporter=spec', ...files.map((f) => relative(root, f))];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, RLHF_TEST: '1' } });
process.exit(r.status ?? 1);
