// Moves the #Lnn anchors of links in README.md and docs/**/*.md to where the code they name is now
// (the nearest line holding the link's code span or title), and prints each change:
//   node --import tsx test/docs/fix-line-anchors.ts          rewrite the files
//   node --import tsx test/docs/fix-line-anchors.ts --check  only list what would change
// What it cannot place (the code is gone, or two places are equally near) it lists for a person.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, checkLinks, docFiles } from './markdown.js';

const check = process.argv.includes('--check');
let changed = 0;
let left = 0;
for (const file of docFiles()) {
  const problems = checkLinks(file);
  if (!problems.length) continue;
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const p of problems) {
    if (!p.fix) {
      console.log(`${p.file}:${p.line}: ${p.target}: ${p.problem} — fix by hand`);
      left++;
      continue;
    }
    const next = p.target.replace(/#L\d+(-L\d+)?$/, `#${p.fix}`);
    const i = p.line - 1;
    const before = lines[i] as string;
    lines[i] = before.split(`(${p.target}`).join(`(${next}`);
    console.log(`${p.file}:${p.line}: ${p.target} → ${next}`);
    changed++;
  }
  if (!check) writeFileSync(join(ROOT, problems[0]!.file), lines.join('\n'));
}
console.log(`${changed} anchor${changed === 1 ? '' : 's'} ${check ? 'to move' : 'moved'}, ${left} to fix by hand`);
process.exitCode = left > 0 || (check && changed > 0) ? 1 : 0;
