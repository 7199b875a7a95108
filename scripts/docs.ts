// Regenerates docs/reference/ (one page per `rlhf` command) from the commands' config schemas.
//   npm run docs
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commands } from '../src/cli/index.js';
import { referencePages } from '../src/docs/reference.js';

const dir = new URL('../docs/reference/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
const pages = referencePages(commands);
for (const name of readdirSync(dir)) if (name.endsWith('.md') && !pages.has(name)) rmSync(join(dir, name));
for (const [name, text] of pages) writeFileSync(join(dir, name), text);
console.log(`docs/reference: ${pages.size} pages`);
