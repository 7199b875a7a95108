// Every relative link of README.md and docs/**/*.md resolves: the file or folder exists inside the
// repository, a #heading exists in the Markdown file it points at (GitHub's anchors), and a #Lnn
// (or #Lnn-Lmm) anchor into a source file is within the file and its lines hold the code the link
// names — a `code span` in the link text, or the link's "title". When code moves, run
//   node --import tsx test/docs/fix-line-anchors.ts
// to move the anchors after it (it prints each change; review them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT, anchorsOf, checkLinks, codeBlocks, docFiles, githubSlug, links, namedCode, planBlock, shellCommands } from './markdown.js';

test('every relative link and anchor in README.md and docs/ resolves', () => {
  const problems = docFiles().flatMap((f) => checkLinks(f));
  const lines = problems.map((p) => `${p.file}:${p.line}: ${p.target}: ${p.problem}${p.fix ? ` (now at #${p.fix}: node --import tsx test/docs/fix-line-anchors.ts)` : ''}`);
  assert.deepEqual(lines, [], `broken links:\n${lines.join('\n')}`);
});

test('every Markdown file under docs/ is reachable from README.md by links', () => {
  const files = docFiles();
  const reached = new Set<string>([files[0] as string]);
  const queue = [files[0] as string];
  while (queue.length) {
    const f = queue.shift() as string;
    for (const l of links(readFileSync(f, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(l.target) || l.target.startsWith('#')) continue;
      const path = new URL(decodeURIComponent(l.target.split('#')[0] as string), `file://${f}`).pathname;
      const target = path.endsWith('/') ? `${path}README.md` : path;
      const md = files.find((x) => x === target || x === `${target}/README.md`);
      if (md && !reached.has(md)) {
        reached.add(md);
        queue.push(md);
      }
    }
  }
  const orphans = files.filter((f) => !reached.has(f)).map((f) => relative(ROOT, f));
  assert.deepEqual(orphans, [], 'pages no link leads to');
});

// The checker itself, on small cases.
test('GitHub heading slugs', () => {
  assert.equal(githubSlug('PPO for language models — the checklist'), 'ppo-for-language-models--the-checklist');
  assert.equal(githubSlug('5. PPO: `klCoef` and **β**'), '5-ppo-klcoef-and-β');
  assert.equal(githubSlug('Try it on real data: SST-2'), 'try-it-on-real-data-sst-2');
  assert.equal(githubSlug('What is [here](x.md)?'), 'what-is-here');
  assert.deepEqual([...anchorsOf('# A\n## A\n```sh\n# not a heading\n```\n<a id="x"></a>\n')], ['a', 'a-1', 'x']);
});

test('links: inline, images, references and HTML; not inside code', () => {
  const md = 'See [`f`](a.ts#L2 "g(") and ![p](img/p.png).\n`[no](x.md)`\n```\n[no](y.md)\n```\n[r]: b.md#top\n<img src="c.png">\n';
  const got = links(md).map((l) => [l.target, l.line, namedCode(l)]);
  assert.deepEqual(got, [['a.ts#L2', 1, ['g(']], ['img/p.png', 1, []], ['b.md#top', 6, []], ['c.png', 7, []]]);
});

test('code blocks: language, tags, plan', () => {
  const [a, b, c, d] = codeBlocks('```sh long data\nrlhf demo\n```\n\n- item\n  ```ts\n  const x = 1;\n  ```\n```\nplain\n```\n```sh fast\n```\n');
  assert.deepEqual([a?.lang, a?.tags, b?.code, b?.line], ['sh', ['long', 'data'], 'const x = 1;', 6]);
  assert.deepEqual(planBlock(a!), { kind: 'sh', run: false, needsData: true, reason: 'long (minutes of work)' });
  assert.equal(planBlock(c!).kind, 'invalid');
  assert.equal(planBlock(d!).kind, 'invalid');
});

test('shell commands: continuations, operators, comments, multi-line quotes', () => {
  const cmds = shellCommands("rlhf init --out a \\\n  --n-layer 2 && rlhf generate --model a # c\nnode -e '\nrlhf not-a-command\n' x\necho 'a # b' | wc");
  assert.deepEqual(cmds.map((c) => [c.line, c.words]), [
    [1, ['rlhf', 'init', '--out', 'a', '--n-layer', '2']],
    [1, ['rlhf', 'generate', '--model', 'a']],
    [3, ['node', '-e', '']],
    [6, ['echo', 'a # b']],
    [6, ['wc']],
  ]);
});

test('#L anchors: the named code must be on the linked lines; a moved one is found again', () => {
  const root = mkdtempSync(join(tmpdir(), 'rlhf-links-'));
  writeFileSync(join(root, 'a.ts'), 'const x = 1;\n\nexport function f() {\n  return g(x);\n}\n');
  mkdirSync(join(root, 'docs'));
  const doc = join(root, 'docs', 'd.md');
  writeFileSync(doc, ['[`f`](../a.ts#L3) ok', '[`f`](../a.ts#L1) moved', '[`g(x)`](../a.ts#L3-L4) range', '[here](../a.ts#L9) outside', '[plain](../a.ts#L3) unnamed', '[x](../a.ts#L1 "const x") title', '[up](../../b.md) outside the repo', ''].join('\n'));
  const got = checkLinks(doc, root).map((p) => [p.line, p.fix ?? null, p.problem.split(' ')[0]]);
  assert.deepEqual(got, [
    [2, 'L3', 'a.ts'],
    [4, null, '#L9'],
    [5, null, 'a'],
    [7, null, 'points'],
  ]);
});
