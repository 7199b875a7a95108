#!/usr/bin/env node
// The `rlhf` command. Runs the compiled CLI from dist/; in a source checkout without a build,
// falls back to the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/index.js', import.meta.url);
let mod;
if (existsSync(dist)) {
  mod = await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(new URL('../src/cli/index.ts', import.meta.url).href);
}
process.exitCode = await mod.main(process.argv.slice(2));
