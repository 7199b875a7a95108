// Every code block of README.md and docs/**/*.md is checked, so the docs never rot. How a block is
// treated comes from its info string (test/docs/markdown.ts, planBlock):
//   ```ts            type-checked, then run with tsx in an empty temp dir; `from 'rlhf/x'` imports
//                    become the source entry points (package.json "exports"), anything else of
//                    rlhf/… is an error
//   ```sh            its `rlhf …` / `npx rlhf …` commands must exist with the flags their --help
//                    lists; then the block runs under bash (set -euo pipefail) in an empty temp dir,
//                    `rlhf` and `npx rlhf` being this checkout's bin/rlhf.js (`rlhf studio` serving
//                    is not started: its flags were checked)
//   ```sh data       as ```sh when ../shared/data is there (its files are linked into the temp dir,
//                    $RLHF_DATA names the folder), else skipped with the reason printed
//   ```ts|sh long    minutes of work: checked (types; commands, flags, npm scripts), not run —
//                    RLHF_DOCS_LONG=1 runs them too
//   ```ts|sh server  starts a server that runs until stopped: checked, not run
//   ```ts|sh no_run  uses files of the reader's own (path/to/model): checked, not run
//   ```json, jsonl, yaml   parsed;   ```text, python, html, diff, csv, tsv   shown only
// A block with no language, or one not listed, fails. Snippets run with RLHF_NUM_THREADS=1 unless
// set: keep them small (tiny models, a few steps) — the whole file should take about a minute.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import ts from 'typescript';
import { ROOT, checkNpm, checkRlhfArgs, codeBlocks, docFiles, planBlock, rewriteImports, rlhfArgs, shellCommands, type BlockPlan, type CodeBlock } from './markdown.js';

const DATA = join(ROOT, '..', 'shared', 'data');
const RUN_LONG = process.env.RLHF_DOCS_LONG === '1';
const TSX = import.meta.resolve('tsx');

interface Snippet {
  file: string;
  rel: string;
  block: CodeBlock;
  plan: BlockPlan;
}

const snippets: Snippet[] = docFiles().flatMap((file) => codeBlocks(readFileSync(file, 'utf8')).map((block) => ({ file, rel: relative(ROOT, file), block, plan: planBlock(block) })));
const where = (s: Snippet): string => `${s.rel}:${s.block.line}`;

let work = '';
let shim = '';
before(() => {
  work = mkdtempSync(join(tmpdir(), 'rlhf-docs-'));
  // `rlhf` and `npx rlhf` on PATH: this checkout's CLI, from its sources (no build needed).
  shim = join(work, 'bin');
  mkdirSync(shim);
  const rlhf = [
    '#!/usr/bin/env bash',
    'for a in "$@"; do case "$a" in --help|-h) exec node "$RLHF_DOCS_BIN" "$@";; esac; done',
    'if [ "${1:-}" = studio ] && { [ $# -eq 1 ] || [ "${2:-}" = serve ] || [[ "${2:-}" == --* ]]; }; then',
    '  echo "[docs test] not started (a server): rlhf $*"; exit 0',
    'fi',
    'exec node "$RLHF_DOCS_BIN" "$@"',
  ].join('\n');
  writeFileSync(join(shim, 'rlhf'), `${rlhf}\n`);
  writeFileSync(join(shim, 'npx'), '#!/usr/bin/env bash\nif [ "${1:-}" = rlhf ]; then shift; exec rlhf "$@"; fi\necho "[docs test] only npx rlhf runs in a snippet, not npx $*" >&2; exit 1\n');
  writeFileSync(join(shim, 'npm'), '#!/usr/bin/env bash\necho "[docs test] npm runs in the repository, not in a snippet\'s temp dir: mark the block sh long or no_run (its npm scripts are still checked)" >&2; exit 1\n');
  for (const f of ['rlhf', 'npx', 'npm']) chmodSync(join(shim, f), 0o755);
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function snippetEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RLHF_NUM_THREADS: process.env.RLHF_NUM_THREADS ?? '1', RLHF_DOCS_BIN: join(ROOT, 'bin', 'rlhf.js'), PATH: `${shim}:${process.env.PATH ?? ''}` };
  delete env.NODE_TEST_CONTEXT; // the child is a program, not a test file
  return env;
}

function freshDir(s: Snippet): string {
  const dir = join(work, `${s.rel.replace(/[^\w.-]+/g, '_')}-L${s.block.line}`);
  mkdirSync(dir, { recursive: true });
  if (s.plan.kind === 'sh' && s.plan.needsData) for (const f of readdirSync(DATA)) symlinkSync(join(DATA, f), join(dir, f));
  return dir;
}

function tail(text: string, n = 4000): string {
  return text.length > n ? `…${text.slice(-n)}` : text;
}

test('every code block has a language the docs test knows', () => {
  const bad = snippets.filter((s) => s.plan.kind === 'invalid').map((s) => `${where(s)}: ${(s.plan as { reason: string }).reason}`);
  assert.deepEqual(bad, []);
});

test('json, jsonl and yaml blocks parse', () => {
  const bad: string[] = [];
  for (const s of snippets) {
    const { kind } = s.plan;
    try {
      if (kind === 'json') JSON.parse(s.block.code);
      else if (kind === 'yaml') parseYaml(s.block.code);
      else if (kind === 'jsonl') s.block.code.split('\n').filter((l) => l.trim()).forEach((l) => JSON.parse(l));
    } catch (err) {
      bad.push(`${where(s)}: ${(err as Error).message}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('shell blocks: every rlhf command exists with flags its --help lists; npm scripts exist', async () => {
  const { commands } = await import('../../src/cli/index.js');
  const helpOf = (name: string, rest: string[]): string | undefined => {
    const c = commands.find((x) => x.name === name);
    return c ? (c.helpFor?.(rest) ?? c.help) : undefined;
  };
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const bad: string[] = [];
  let checked = 0;
  for (const s of snippets) {
    if (s.plan.kind !== 'sh') continue;
    for (const c of shellCommands(s.block.code)) {
      const args = rlhfArgs(c.words);
      const problems = args ? checkRlhfArgs(args, helpOf) : checkNpm(c.words, scripts);
      if (args) checked++;
      for (const p of problems) bad.push(`${s.rel}:${s.block.line + c.line}: ${p}`);
    }
  }
  assert.deepEqual(bad, []);
  assert.ok(checked > 0, 'no rlhf command found in any shell block');
});

test('TypeScript blocks type-check (and so do the guide\'s scripts)', () => {
  const dir = join(work, 'typecheck');
  mkdirSync(dir, { recursive: true });
  const roots = new Map<string, Snippet>();
  for (const s of snippets) {
    if (s.plan.kind !== 'ts') continue;
    const f = join(dir, `${s.rel.replace(/[^\w.-]+/g, '_')}-L${s.block.line}.mts`);
    writeFileSync(f, rewriteImports(s.block.code));
    roots.set(f, s);
  }
  const scriptsDir = join(ROOT, 'docs', 'guide', 'scripts');
  const scripts = existsSync(scriptsDir) ? readdirSync(scriptsDir).filter((f) => f.endsWith('.ts')).map((f) => join(scriptsDir, f)) : [];
  const read = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, allowImportingTsExtensions: true, declaration: false, sourceMap: false, typeRoots: [join(ROOT, 'node_modules', '@types')] };
  delete options.rootDir;
  const program = ts.createProgram([...roots.keys(), ...scripts], options);
  const bad: string[] = [];
  for (const f of [...roots.keys(), ...scripts]) {
    const sf = program.getSourceFile(f);
    assert.ok(sf, f);
    for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
      const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line + 1;
      const s = roots.get(f);
      const at = s ? `${s.rel}:${s.block.line + line}` : `${relative(ROOT, f)}:${line}`;
      bad.push(`${at}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    }
  }
  assert.deepEqual(bad, []);
});

for (const file of docFiles()) {
  const mine = snippets.filter((s) => s.file === file && (s.plan.kind === 'ts' || s.plan.kind === 'sh'));
  if (!mine.length) continue;
  describe(relative(ROOT, file), () => {
    for (const s of mine) {
      const plan = s.plan as Extract<BlockPlan, { kind: 'ts' | 'sh' }>;
      const name = `line ${s.block.line}: \`\`\`${s.block.lang}${s.block.tags.length ? ` ${s.block.tags.join(' ')}` : ''}`;
      const notRun = !plan.run && !(RUN_LONG && plan.reason.startsWith('long'));
      if (notRun) {
        test(name, { skip: `not run: ${plan.reason}; checked above` }, () => {});
        continue;
      }
      if (plan.needsData && !existsSync(DATA)) {
        test(name, { skip: `needs ${DATA} (the project's shared data), which is absent here` }, () => {});
        continue;
      }
      test(name, () => {
        const dir = freshDir(s);
        let r;
        if (plan.kind === 'ts') {
          const f = join(dir, 'snippet.mts');
          writeFileSync(f, rewriteImports(s.block.code));
          r = spawnSync(process.execPath, ['--import', TSX, f], { cwd: dir, env: snippetEnv(), encoding: 'utf8', timeout: 180_000 });
        } else {
          const f = join(dir, 'snippet.sh');
          writeFileSync(f, `set -euo pipefail\n${s.block.code}\n`);
          r = spawnSync('bash', [f], { cwd: dir, env: { ...snippetEnv(), ...(plan.needsData ? { RLHF_DATA: DATA } : {}) }, encoding: 'utf8', timeout: 300_000 });
        }
        const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
        assert.equal(r.status, 0, `${where(s)} (${basename(s.file)}) exited with ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}:\n${tail(out)}`);
      });
    }
  });
}
