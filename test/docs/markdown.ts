// What the docs tests read in Markdown: fenced code blocks and how each is checked, links and the
// anchors they point at (GitHub's heading slugs, #Lnn line anchors and the code they name), and the
// commands of shell snippets. Shared by test/docs/snippets.test.ts, test/docs/links.test.ts and
// test/docs/fix-line-anchors.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);

/** README.md and every Markdown file under docs/ (docs/api/ is TypeDoc's output, not ours). */
export function docFiles(root = ROOT): string[] {
  const out = [join(root, 'README.md')];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (relative(root, p) !== join('docs', 'api')) walk(p);
      } else if (name.endsWith('.md')) out.push(p);
    }
  };
  if (existsSync(join(root, 'docs'))) walk(join(root, 'docs'));
  return out;
}

// ----- fenced code blocks ----------------------------------------------------------------------

export interface CodeBlock {
  /** The first word of the info string: ts, sh, text, json, … ('' when there is none). */
  lang: string;
  /** The other words of the info string: long, server, data, no_run. */
  tags: string[];
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Fenced code blocks (``` or ~~~, at any indentation: blocks inside list items count too). */
export function codeBlocks(text: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] as string;
      if (new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(l)) break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    const words = info.trim().split(/\s+/).filter(Boolean);
    blocks.push({ lang: (words[0] ?? '').toLowerCase(), tags: words.slice(1), code: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

/** The lines of `text` that are inside fenced code blocks (fences included), 0-based. */
function fencedLines(text: string): Set<number> {
  const inside = new Set<number>();
  for (const b of codeBlocks(text)) {
    const n = b.code === '' ? 0 : b.code.split('\n').length;
    for (let k = b.line - 1; k <= b.line + n; k++) inside.add(k);
  }
  return inside;
}

/** Languages that run or are parsed, and those that are shown only. */
export const RUN_LANGS = ['ts', 'typescript', 'sh', 'bash'] as const;
export const PARSED_LANGS = ['json', 'jsonl', 'yaml'] as const;
export const SHOWN_LANGS = ['text', 'python', 'html', 'diff', 'csv', 'tsv'] as const;
export const TAGS = ['long', 'server', 'data', 'no_run'] as const;

export type BlockPlan =
  | { kind: 'ts' | 'sh'; run: true; needsData: boolean }
  | { kind: 'ts' | 'sh'; run: false; reason: string; needsData: boolean }
  | { kind: 'json' | 'jsonl' | 'yaml' }
  | { kind: 'shown' }
  | { kind: 'invalid'; reason: string };

/**
 * How the snippet test treats a block, from its info string:
 *   ```ts, ```sh            run (ts with tsx, sh with bash in a temp dir)
 *   ```sh data              run when ../shared/data is there, else skipped with the reason printed
 *   ```sh long, ```ts long  minutes of work: checked, not run (sh: commands and flags; ts: type-checked)
 *   ```sh server            starts a server that runs until stopped: checked, not run
 *   ```ts no_run            uses files of the reader's own (paths like path/to/model): checked, not run
 *   ```json, jsonl, yaml    parsed
 *   ```text (output, illustration), python, html, diff, csv, tsv: shown only
 * A block without a language, or with a language or tag not listed here, is an error.
 */
export function planBlock(b: CodeBlock): BlockPlan {
  if (b.lang === '') return { kind: 'invalid', reason: 'a code block needs a language: ```text for output or illustration, ```ts or ```sh for code the test runs' };
  const unknown = b.tags.filter((t) => !(TAGS as readonly string[]).includes(t));
  if (unknown.length) return { kind: 'invalid', reason: `unknown tag ${unknown.join(', ')} in \`\`\`${b.lang} ${b.tags.join(' ')}; tags are ${TAGS.join(', ')}` };
  if ((RUN_LANGS as readonly string[]).includes(b.lang)) {
    const kind = b.lang === 'ts' || b.lang === 'typescript' ? 'ts' : 'sh';
    const needsData = b.tags.includes('data');
    if (b.tags.includes('long')) return { kind, run: false, needsData, reason: 'long (minutes of work)' };
    if (b.tags.includes('server')) return { kind, run: false, needsData, reason: 'starts a server' };
    if (b.tags.includes('no_run')) return { kind, run: false, needsData, reason: 'no_run (uses files of your own)' };
    return { kind, run: true, needsData };
  }
  if (b.tags.length) return { kind: 'invalid', reason: `tags (${b.tags.join(' ')}) only apply to ts and sh blocks` };
  if ((PARSED_LANGS as readonly string[]).includes(b.lang)) return { kind: b.lang as 'json' | 'jsonl' | 'yaml' };
  if ((SHOWN_LANGS as readonly string[]).includes(b.lang)) return { kind: 'shown' };
  return { kind: 'invalid', reason: `unknown language '${b.lang}'; use ts, sh, ${[...PARSED_LANGS, ...SHOWN_LANGS].join(', ')}` };
}

// ----- imports of TypeScript snippets ------------------------------------------------------------

/** The source file behind each package entry point: 'rlhf/trainers' → src/trainers/index.ts (from package.json "exports"). */
export function entryPoints(root = ROOT): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, { default: string }> };
  const map = new Map<string, string>();
  for (const [key, v] of Object.entries(pkg.exports)) {
    const spec = key === '.' ? pkg.name : `${pkg.name}/${key.replace(/^\.\//, '')}`;
    map.set(spec, join(root, v.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')));
  }
  return map;
}

/**
 * `from 'rlhf/x'` (and `import('rlhf/x')`) become the source file of that entry point; an import of
 * rlhf/… that is not an entry point is an error: the docs use only what the package exports. A
 * relative import ('./src/…') is a script meant to sit in the repository's root (docs say so), and
 * resolves from there.
 */
export function rewriteImports(code: string, root = ROOT): string {
  const entries = entryPoints(root);
  return code.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])((?:rlhf(?:\/[^'"]*)?)|(?:\.\.?\/[^'"]*))\2/g, (_m, pre: string, q: string, spec: string) => {
    if (spec.startsWith('.')) return `${pre}${q}${join(root, spec).replace(/\.js$/, '.ts')}${q}`;
    const file = entries.get(spec);
    if (!file) throw new Error(`'${spec}' is not an entry point of the package (package.json "exports": ${[...entries.keys()].join(', ')})`);
    return `${pre}${q}${file}${q}`;
  });
}

// ----- shell commands --------------------------------------------------------------------------

/** Splits a shell line into words, honouring quotes; stops at an unquoted # comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (q) {
      if (c === q) q = null;
      else cur += c;
    } else if (c === '"' || c === "'") {
      q = c;
      has = true;
    } else if (c === '#' && !has && cur === '') break;
    else if (/\s/.test(c)) {
      if (has || cur) words.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has || cur) words.push(cur);
  return words;
}

export interface ShellCommand {
  words: string[];
  /** 1-based line within the block. */
  line: number;
}

/**
 * The simple commands of a shell snippet: lines joined at trailing backslashes, split at unquoted
 * &&, ||, ;, | — enough for the commands docs show. Lines inside a multi-line quoted string (a
 * `node -e '…'` program) are skipped.
 */
export function shellCommands(code: string): ShellCommand[] {
  const out: ShellCommand[] = [];
  const lines = code.split('\n');
  let quote: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let logical = lines[i] as string;
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) logical = logical.replace(/\\\s*$/, ' ') + (lines[++i] as string);
    const wasQuoted = quote !== null;
    // Track quotes across lines, and split the line into segments outside quotes.
    const segments: string[] = [];
    let cur = '';
    for (let k = 0; k < logical.length; k++) {
      const c = logical[k] as string;
      if (quote) {
        if (c === quote) quote = null;
        cur += c;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      if (c === '#' && (k === 0 || /\s/.test(logical[k - 1] as string))) break;
      const two = logical.slice(k, k + 2);
      if (two === '&&' || two === '||') {
        segments.push(cur);
        cur = '';
        k++;
        continue;
      }
      if (c === ';' || c === '|') {
        segments.push(cur);
        cur = '';
        continue;
      }
      cur += c;
    }
    segments.push(cur);
    if (wasQuoted) continue;
    for (const s of segments) {
      const words = shellWords(s);
      if (words.length) out.push({ words, line: start + 1 });
    }
  }
  return out;
}

/** A shell command as an `rlhf` invocation: the words after `rlhf` (npx rlhf, node bin/rlhf.js, npm start -- …); null otherwise. */
export function rlhfArgs(words: readonly string[]): string[] | null {
  let w = [...words];
  while (w.length && /^[A-Z_][A-Z0-9_]*=/.test(w[0] as string)) w = w.slice(1); // VAR=value rlhf …
  if (w[0] === 'rlhf') return w.slice(1);
  if (w[0] === 'npx' && w[1] === 'rlhf') return w.slice(2);
  if (w[0] === 'node' && /(^|\/)bin\/rlhf\.js$/.test(w[1] ?? '')) return w.slice(2);
  if (w[0] === 'npm' && w[1] === 'start') return ['demo', ...(w[2] === '--' ? w.slice(3) : w.slice(2))];
  return null;
}

/**
 * What is wrong with an `rlhf` invocation, given each command's --help text (for a command with
 * subcommands, the help of the subcommand the arguments name): an unknown command, or a --flag its
 * --help does not list (--no-X passes when --X is listed). Empty when it is fine.
 */
export function checkRlhfArgs(args: readonly string[], helpOf: (name: string, rest: string[]) => string | undefined): string[] {
  const [name, ...rest] = args;
  if (name === undefined || ['--help', '-h', 'help', '--version', '-v'].includes(name)) return [];
  const help = helpOf(name, rest);
  if (help === undefined) return [`rlhf ${name}: no such command`];
  const problems: string[] = [];
  for (const a of rest) {
    if (a === '--') break;
    if (!a.startsWith('--') || a === '--help') continue;
    const flag = a.split('=')[0] as string;
    const listed = (f: string): boolean => new RegExp(`(^|[\\s\\[(|,])${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`, 'm').test(help);
    if (!listed(flag) && !(flag.startsWith('--no-') && listed(`--${flag.slice(5)}`))) problems.push(`rlhf ${name}: ${flag} is not in \`rlhf ${name} --help\``);
  }
  return problems;
}

/** What is wrong with an `npm …` command of a snippet: a script package.json does not have. */
export function checkNpm(words: readonly string[], scripts: Record<string, string>): string[] {
  if (words[0] !== 'npm') return [];
  const sub = words[1];
  if (sub === 'run' || sub === 'run-script') {
    const s = words[2];
    return s && !(s in scripts) ? [`npm run ${s}: package.json has no script "${s}"`] : [];
  }
  if (sub === 'start' || sub === 'test') return sub in scripts ? [] : [`npm ${sub}: package.json has no "${sub}" script`];
  return [];
}

// ----- links -----------------------------------------------------------------------------------

export interface Link {
  text: string;
  target: string;
  title: string | null;
  /** 1-based line. */
  line: number;
}

/** Inline links and images, reference definitions, and HTML href/src, outside code blocks and code spans. */
export function links(text: string): Link[] {
  const fenced = fencedLines(text);
  const out: Link[] = [];
  text.split('\n').forEach((l, i) => {
    if (fenced.has(i)) return;
    const spans: [number, number][] = [];
    for (const m of l.matchAll(/(`+)(?:(?!\1).)+?\1/g)) spans.push([m.index, m.index + m[0].length]);
    const inSpan = (k: number): boolean => spans.some(([a, b]) => k >= a && k < b);
    for (const m of l.matchAll(/!?\[((?:[^[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"([^"]*)")?\s*\)/g)) {
      if (inSpan(m.index)) continue;
      out.push({ text: m[1] as string, target: m[2] as string, title: m[3] ?? null, line: i + 1 });
    }
    const def = /^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+"([^"]*)")?\s*$/.exec(l);
    if (def) out.push({ text: def[1] as string, target: def[2] as string, title: def[3] ?? null, line: i + 1 });
    for (const m of l.matchAll(/<(?:a|img)\b[^>]*?\s(?:href|src)="([^"]+)"/g)) if (!inSpan(m.index)) out.push({ text: '', target: m[1] as string, title: null, line: i + 1 });
  });
  return out;
}

/** The anchor GitHub gives a heading's text (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  const plain = heading
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '') // images
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links → their text
    .replace(/<[^>]+>/g, '') // HTML tags
    .replace(/`([^`]*)`/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|\W)[*_](.+?)[*_](?=\W|$)/g, '$1$2');
  return plain.trim().toLowerCase().replace(/[^\p{L}\p{N}\p{M}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** Every anchor a rendered Markdown file has: heading slugs (repeats get -1, -2, …) and HTML id/name attributes. */
export function anchorsOf(text: string): Set<string> {
  const fenced = fencedLines(text);
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  text.split('\n').forEach((l, i) => {
    if (fenced.has(i)) return;
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (h) {
      const base = githubSlug(h[1] as string);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of l.matchAll(/<[a-z]+\b[^>]*?\s(?:id|name)="([^"]+)"/g)) anchors.add(m[1] as string);
  });
  return anchors;
}

/** A #L12 or #L12-L20 anchor as a 1-based line range; null for any other anchor. */
export function lineRange(anchor: string): [number, number] | null {
  const m = /^L(\d+)(?:-L(\d+))?$/.exec(anchor);
  return m ? [Number(m[1]), Number(m[2] ?? m[1])] : null;
}

/**
 * The code a #L link names, which the linked lines must contain: the link's title when it has one
 * ([the causal mask](gpt2.ts#L164 "tril(")), else every code span of its text ([`buildAttentionMask`](gpt2.ts#L162)).
 */
export function namedCode(link: Link): string[] {
  if (link.title) return [link.title];
  return [...link.text.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

export interface LinkProblem {
  file: string;
  line: number;
  target: string;
  problem: string;
  /** For a #L link whose code moved: the anchor that would fix it (when the code is found once). */
  fix?: string;
}

/** Every problem with the links of one Markdown file. */
export function checkLinks(file: string, root = ROOT): LinkProblem[] {
  const text = readFileSync(file, 'utf8');
  const problems: LinkProblem[] = [];
  const rel = relative(root, file);
  for (const link of links(text)) {
    const t = link.target;
    if (/^[a-z][a-z0-9+.-]*:/i.test(t) || t.startsWith('//')) continue; // https:, mailto:, …
    const hash = t.indexOf('#');
    const pathPart = decodeURIComponent(hash >= 0 ? t.slice(0, hash) : t);
    const anchor = hash >= 0 ? decodeURIComponent(t.slice(hash + 1)) : null;
    const say = (problem: string, fix?: string): void => void problems.push({ file: rel, line: link.line, target: t, problem, ...(fix ? { fix } : {}) });
    const dest = pathPart === '' ? file : pathPart.startsWith('/') ? join(root, pathPart) : resolve(dirname(file), pathPart);
    if (relative(root, dest).startsWith('..')) {
      say('points outside the repository (it breaks on the code host)');
      continue;
    }
    if (!existsSync(dest)) {
      say(`${relative(root, dest)} does not exist`);
      continue;
    }
    if (anchor === null || anchor === '') continue;
    const isDir = statSync(dest).isDirectory();
    if (isDir) {
      say('a folder has no anchors');
      continue;
    }
    const destText = readFileSync(dest, 'utf8');
    if (dest.endsWith('.md')) {
      if (lineRange(anchor)) say('#L anchors do not work on rendered Markdown; link a heading');
      else if (!anchorsOf(destText).has(anchor)) say(`no heading with anchor #${anchor} in ${relative(root, dest)}`);
      continue;
    }
    const range = lineRange(anchor);
    if (!range) {
      say(`#${anchor}: a link into a source file needs a line anchor (#L12 or #L12-L20)`);
      continue;
    }
    const lines = destText.split('\n');
    const n = destText.endsWith('\n') ? lines.length - 1 : lines.length;
    const [a, b] = range;
    if (a < 1 || b < a || b > n) {
      say(`#${anchor} is outside ${relative(root, dest)} (${n} lines)`, relocate(link, lines, a, b - a));
      continue;
    }
    const needles = namedCode(link);
    if (needles.length === 0) {
      say('a #L link must name its code: a `code span` in the link text, or a title ("…") that the line contains');
      continue;
    }
    const span = lines.slice(a - 1, b).join('\n');
    const missing = needles.filter((s) => !span.includes(s));
    if (missing.length) say(`${relative(root, dest)} line${a === b ? ` ${a}` : `s ${a}–${b}`} do${a === b ? 'es' : ''} not contain ${missing.map((s) => `'${s}'`).join(', ')}`, relocate(link, lines, a, b - a));
  }
  return problems;
}

/**
 * Where a #L link's code is now: the line nearest the old one whose range (of the same length)
 * contains every needle; undefined when there is none, or two are equally near (fix by hand).
 */
function relocate(link: Link, lines: string[], old: number, extra: number): string | undefined {
  const needles = namedCode(link);
  if (needles.length === 0) return undefined;
  const hits = lines.flatMap((l, i) => (l.includes(needles[0] as string) ? [i + 1] : []));
  const ok = hits.filter((h) => needles.every((s) => lines.slice(h - 1, h + extra).join('\n').includes(s)));
  if (ok.length === 0) return undefined;
  ok.sort((x, y) => Math.abs(x - old) - Math.abs(y - old));
  if (ok.length > 1 && Math.abs((ok[0] as number) - old) === Math.abs((ok[1] as number) - old)) return undefined;
  const a = ok[0] as number;
  return extra > 0 ? `L${a}-L${a + extra}` : `L${a}`;
}
