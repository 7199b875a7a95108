#!/usr/bin/env node
// `npm install` hook: finds libtorch (see find-libtorch.mjs), installs it with apt-get when we are
// root on Debian/Ubuntu and none is present, then builds the native addon with node-gyp.
// Elsewhere, when libtorch is missing, it stops and prints the exact commands to run.
import { existsSync, readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync, cpSync, renameSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { findLibtorch, findOpenblas } from './find-libtorch.mjs';

const root = new URL('..', import.meta.url).pathname;
const say = (msg) => process.stdout.write(`rlhf: ${msg}\n`);
const isRoot = process.getuid?.() === 0;
const isDebian = existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');

function apt(packages) {
  say(`installing ${packages.join(' ')} with apt-get (Debian/Ubuntu, running as root)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (r.status !== 0) return false;
  r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
  return r.status === 0;
}

function howToInstall() {
  return [
    'rlhf needs libtorch (PyTorch\'s C++ library) and could not find one.',
    'Give it one of these, then run `npm install` again:',
    '  • Debian/Ubuntu:   sudo apt-get update && sudo apt-get install libtorch-dev libopenblas0-pthread',
    '  • any PyTorch:     pip install torch            (rlhf builds against torch/include and torch/lib)',
    '  • a libtorch zip:  export LIBTORCH=/path/to/libtorch   (the directory with include/ and lib/)',
  ].join('\n');
}

let torch = findLibtorch();
if (!torch) {
  if (process.platform === 'linux' && isRoot && isDebian) {
    if (!apt(['libtorch-dev', 'libopenblas0-pthread'])) {
      console.error(howToInstall());
      process.exit(1);
    }
    torch = findLibtorch();
  }
  if (!torch) {
    console.error(howToInstall());
    process.exit(1);
  }
}
// Debian's libtorch takes its BLAS from libblas.so.3; without OpenBLAS that is the reference BLAS, 50× slower.
if (torch.source.startsWith('system') && !findOpenblas()) {
  if (isRoot && isDebian) apt(['libopenblas0-pthread']);
  else say('warning: OpenBLAS is missing, so matrix products will be ~50× slower. Fix: sudo apt-get install libopenblas0-pthread');
}
say(`libtorch from ${torch.source}${torch.cuda ? ' (with CUDA)' : ''}`);

// Rebuild only when the sources or the libtorch we build against changed.
const stampFile = join(root, 'build', 'rlhf-stamp.json');
const addon = join(root, 'build', 'Release', 'rlhf_torch.node');
const hash = createHash('sha256');
for (const f of readdirSync(join(root, 'native')).sort()) hash.update(f).update(readFileSync(join(root, 'native', f)));
hash.update(readFileSync(join(root, 'binding.gyp'))).update(JSON.stringify(torch)).update(process.version);
const stamp = hash.digest('hex');
if (existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').includes(stamp) && !process.env.RLHF_REBUILD) {
  say('native addon is up to date');
  process.exit(0);
}

say('building the native addon against libtorch (a few minutes on 2 cores)…');
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const env = {
  ...process.env,
  RLHF_TORCH_INCLUDES: torch.includes.join(' '),
  RLHF_TORCH_LIBDIR: torch.libDir,
  RLHF_TORCH_LIBS: torch.libs.map((l) => `-l${l}`).join(' '),
  RLHF_TORCH_CXX11ABI: String(torch.cxx11abi ?? 1),
  JOBS: process.env.JOBS ?? 'max',
};
const t0 = Date.now();
// Build in a staging directory and move the result into place with one rename: a failed build
// leaves the previous addon working, and processes using the old one are never disturbed.
const staging = join(root, 'build', 'staging');
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
cpSync(join(root, 'native'), join(staging, 'native'), { recursive: true });
cpSync(join(root, 'binding.gyp'), join(staging, 'binding.gyp'));
// Build against the headers of the running Node when they are installed (no download needed).
const localHeaders = join(process.execPath, '..', '..');
const gypArgs = [nodeGyp, 'rebuild', '--release'];
if (!process.env.npm_config_nodedir && existsSync(join(localHeaders, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${localHeaders}`);
const r = spawnSync(process.execPath, gypArgs, { cwd: staging, stdio: ['ignore', 'ignore', 'inherit'], env });
if (r.status !== 0) {
  console.error('rlhf: building the native addon failed (compiler errors above). Run `RLHF_REBUILD=1 npm install` after fixing, or report it with the output of `node scripts/find-libtorch.mjs`.');
  process.exit(r.status ?? 1);
}
mkdirSync(join(root, 'build', 'Release'), { recursive: true });
renameSync(join(staging, 'build', 'Release', 'rlhf_torch.node'), addon);
rmSync(staging, { recursive: true, force: true });
mkdirSync(join(root, 'build'), { recursive: true });
writeFileSync(stampFile, JSON.stringify({ stamp, torch }, null, 2));
say(`native addon built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
