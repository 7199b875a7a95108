// Nothing silent, nothing hangs: every `rlhf` command, and the CLI paths that read files, against
// the corpus of bad inputs in corpus.ts. Each case runs as a child process (harness.ts) and must:
// exit with the expected code; on a mistake the user can fix, print one `rlhf CMD: …` line naming
// the file / line / field / flag and the fix, with no stack trace; end within its time limit; stay
// under its peak-RSS limit; and leave no partial output (an --out it created and did not fill, a
// *.tmp-* file). The suite prints how many cases ran and an outcome table.
//
// The commands come from the CLI's own list (src/cli/index.ts), so a new command joins the "every
// command" rows by itself: an unknown flag, and — when its --help lists them — a corrupt --model,
// a bad --data row and an --out on /proc, with the other arguments from BASE_ARGS (or, for a
// command not listed there, built from the flags its --help lists). A new command whose required
// arguments those cannot supply fails here until it gets a BASE_ARGS entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { commands } from '../../src/cli/index.js';
import { buildCorpus, type Corpus } from './corpus.js';
import { type CliCase, judge, outcomeTable, pool, runCli } from './harness.js';

const corpus = await buildCorpus();
test.after(() => corpus.cleanup());

const c = corpus;
const M = c.models;
const D = c.data;
const P = c.prompts;
const FAST_TRAIN = ['--max-steps', '1', '--batch-size', '2', '--max-length', '16', '--eval-split', '0', '--save-every', '0'];
const FAST_ONLINE = ['--max-steps', '1', '--batch-size', '2', '--max-new-tokens', '4'];

/** The arguments besides --model that get each command past its own checks, to the input under test. */
const BASE_ARGS: Record<string, (model: string, out: string) => string[]> = {
  generate: (m) => ['--model', m, '--prompt', 'the movie was', '--max-new-tokens', '4', '--seed', '0'],
  'bench-models': (m) => [m, '--new-tokens', '2', '--prompt-tokens', '8'],
  sft: (m, o) => ['--model', m, '--data', D['sft.jsonl'] as string, '--out', o, ...FAST_TRAIN],
  reward: (m, o) => ['--model', m, '--data', D['pref.jsonl'] as string, '--out', o, ...FAST_TRAIN],
  dpo: (m, o) => ['--model', m, '--data', D['pref.jsonl'] as string, '--out', o, ...FAST_TRAIN],
  orpo: (m, o) => ['--model', m, '--data', D['pref.jsonl'] as string, '--out', o, ...FAST_TRAIN],
  simpo: (m, o) => ['--model', m, '--data', D['pref.jsonl'] as string, '--out', o, ...FAST_TRAIN],
  kto: (m, o) => ['--model', m, '--data', D['kto.jsonl'] as string, '--out', o, ...FAST_TRAIN],
  ppo: (m, o) => ['--model', m, '--prompts', P['prompts.txt'] as string, '--reward-fn', c.rewardFn, '--out', o, ...FAST_ONLINE],
  eval: (m, o) => ['--policies', `a=${m}`, '--reward-fn', c.rewardFn, '--prompts', P['prompts.txt'] as string, '--out', o, '--max-new-tokens', '2', '--max-prompts', '2', '--quiet'],
  init: (_m, o) => ['--out', o, '--n-layer', '1', '--n-embd', '8', '--n-head', '2', '--n-positions', '16'],
  demo: (_m, o) => ['--out', o, '--quick', '--quiet'],
  'merge-lora': (_m, o) => [c.adapter, '--out', o],
  studio: (_m, o) => ['tasks', '--dir', o],
};

/** For a command BASE_ARGS does not know: its input flags, filled from the corpus. */
function argsFromHelp(help: string, model: string, out: string): string[] {
  const has = (flag: string): boolean => new RegExp(`^\\s+${flag}\\b`, 'm').test(help);
  const a: string[] = [];
  if (has('--model')) a.push('--model', model);
  if (has('--data')) a.push('--data', D['pref.jsonl'] as string);
  if (has('--prompts')) a.push('--prompts', P['prompts.txt'] as string);
  if (has('--reward-fn') && has('--prompts')) a.push('--reward-fn', c.rewardFn);
  if (has('--out')) a.push('--out', out);
  for (const [flag, v] of [['--max-steps', '1'], ['--batch-size', '2'], ['--max-new-tokens', '4'], ['--max-length', '16']] as const) if (has(flag)) a.push(flag, v);
  if (has('--quiet')) a.push('--quiet');
  return a;
}

function argsFor(name: string, help: string, model: string, out: string): string[] {
  return BASE_ARGS[name]?.(model, out) ?? argsFromHelp(help, model, out);
}

const takesFlag = (help: string, flag: string): boolean => new RegExp(`^\\s+${flag}\\b`, 'm').test(help) || new RegExp(`\\[${flag}\\b|\\s${flag} (DIR|FILE)`).test(help.split('\n').slice(0, 8).join('\n'));
const perm = c.permissions;
const permSkip = perm.run ? null : perm.reason;

// A read-only filesystem, mounted in a private mount namespace for one command (nothing leaks out).
const roDir = join(c.root, 'read-only');
const roWrap = ['unshare', '-m', ...(process.getuid?.() === 0 ? [] : ['-r']), 'sh', '-c', `mkdir -p "$0" && mount -t tmpfs -o ro tmpfs "$0" && exec "$@"`, roDir];
const roSkip = spawnSync(roWrap[0] as string, [...roWrap.slice(1), 'true'], { encoding: 'utf8' }).status === 0 ? null : 'cannot mount a read-only filesystem here (unshare -m / mount not permitted)';

const cases: CliCase[] = [];
const add = (x: CliCase): void => void cases.push(x);

// ----- every command -----------------------------------------------------------------------------
for (const cmd of commands) {
  add({ id: `${cmd.name}: unknown flag`, group: 'every command: unknown flag', argv: [cmd.name, '--no-such-flag-xyz'], expect: 2, stderr: [/--no-such-flag-xyz/] });
  const help = cmd.help;
  const out0 = c.freshOut(`${cmd.name}-corrupt-model`);
  const withModel = argsFor(cmd.name, help, M['st-truncated'] as string, out0);
  if (withModel.includes(M['st-truncated'] as string)) {
    add({ id: `${cmd.name}: truncated model.safetensors`, group: 'every command: corrupt --model', argv: [cmd.name, ...withModel], expect: 2, stderr: [/st-truncated/, /model\.safetensors/, /re-download or re-save/], out: out0 });
  }
  if (takesFlag(help, '--data') && cmd.name !== 'demo') {
    const out = c.freshOut(`${cmd.name}-bad-row`);
    const argv = argsFor(cmd.name, help, c.good, out);
    const i = argv.indexOf('--data');
    if (i >= 0) argv[i + 1] = D['bad-json-row.jsonl'] as string;
    add({ id: `${cmd.name}: bad JSON on line 3 of --data`, group: 'every command: bad --data row', argv: [cmd.name, ...argv], expect: 2, stderr: [/bad-json-row\.jsonl:3: /, /not valid JSON/], out });
  }
  if (takesFlag(help, '--out') || cmd.name === 'studio') {
    const out = '/proc/rlhf-robustness-out';
    add({ id: `${cmd.name}: --out on /proc`, group: 'every command: --out on /proc', argv: [cmd.name, ...argsFor(cmd.name, help, c.good, out)], expect: 2, stderr: [/\/proc/, /special filesystem|regular disk/], timeoutMs: 45_000 });
  }
}
for (const name of ['generate', 'sft', 'doctor']) {
  add({ id: `${name} --help into a closed pipe`, group: 'pipes and signals', argv: [name, '--help'], expect: 0, closeStdout: 'at-once' });
}

// ----- model directories (rlhf generate) -------------------------------------------------------------
// A sample that covers each way the CLI reports a loader error; library.test.ts runs every entry of
// the corpus through the library in-process, where a case costs milliseconds, not a process.
const modelCases: [string, 0 | 2, RegExp[], { perm?: boolean }?][] = [
  ['missing-dir', 2, [/does-not-exist/, /does not exist/, /rlhf init/]],
  ['config-invalid-json', 2, [/config\.json/, /not valid JSON/]],
  ['config-wrong-type', 2, [/field "n_layer"/, /positive integer/, /"one"/]],
  ['config-terabytes', 2, [/n_embd 1000000/, /n_layer 1000/, /memory/]],
  ['config-disagrees-with-weights', 2, [/missing keys/, /transformer\.h\.1\./, /config\.json belongs to these weights/]],
  ['config-unknown-field', 0, []],
  ['st-f32-relabelled-i32', 2, [/I32/, /not floating point/, /re-download or re-save/]],
  ['st-nan-weights', 2, [/NaN or infinite/, /earlier checkpoint/]],
  ['unreadable-config', 2, [/config\.json/, /permission denied/, /chmod a\+r/], { perm: true }],
  ['unreadable-dir', 2, [/unreadable-dir/, /permission denied/], { perm: true }],
  ['vocab-lacks-bytes', 0, []],
];
for (const [name, expect, stderr, o] of modelCases) {
  const argv = BASE_ARGS['generate']?.(M[name] as string, '') as string[];
  if (name === 'vocab-lacks-bytes') argv[argv.indexOf('--prompt') + 1] = 'lower newer, café!'; // bytes the vocabulary lacks: <unk>, as transformers
  add({ id: `generate --model ${name}`, group: 'model directories (generate)', argv: ['generate', ...argv], expect, stderr, asNobody: o?.perm && perm.asNobody, skip: o?.perm ? permSkip : null });
}

// ----- datasets (rlhf sft) --------------------------------------------------------------------------
const dataCases: [string, 0 | 2, RegExp[], { perm?: boolean; maxRssMb?: number; timeoutMs?: number }?][] = [
  ['empty.jsonl', 2, [/empty\.jsonl: /, /the file is empty/]],
  ['bad.json', 2, [/bad\.json:2: /, /not valid JSON/]],
  ['csv-unterminated-quote.csv', 2, [/csv-unterminated-quote\.csv:2: /, /never closed/]],
  ['latin1.jsonl', 2, [/latin1\.jsonl:2: /, /not valid UTF-8/, /iconv/]],
  ['sparse-3gb.jsonl', 2, [/3\.0 GB/, /split/], { maxRssMb: 700 }],
  ['unreadable.jsonl', 2, [/unreadable\.jsonl/, /permission denied/], { perm: true }],
  ['sft-crlf.csv', 0, []],
  ['sft-bom-crlf.tsv', 0, []],
  ['long-line.jsonl', 0, [], { maxRssMb: 1500, timeoutMs: 120_000 }],
];
for (const [name, expect, stderr, o] of dataCases) {
  const out = c.freshOut(`sft-${name}`);
  const argv = BASE_ARGS['sft']?.(c.good, out) as string[];
  argv[argv.indexOf('--data') + 1] = D[name] as string;
  add({ id: `sft --data ${name}`, group: 'datasets (sft)', argv: ['sft', ...argv, '--quiet'], expect, stderr, out, asNobody: o?.perm && perm.asNobody, skip: o?.perm ? permSkip : null, maxRssMb: o?.maxRssMb, timeoutMs: o?.timeoutMs });
}
{
  const zero = join(c.root, 'data', 'zero.jsonl');
  spawnSync('ln', ['-s', '/dev/zero', zero]);
  const out = c.freshOut('sft-dev-zero');
  const argv = BASE_ARGS['sft']?.(c.good, out) as string[];
  argv[argv.indexOf('--data') + 1] = zero;
  add({ id: 'sft --data a link to /dev/zero', group: 'datasets (sft)', argv: ['sft', ...argv], expect: 2, stderr: [/is a device, not a file/], out, maxRssMb: 700 });
}

// ----- prompts and sampling flags (rlhf generate) --------------------------------------------------------
const gen = (extra: string[]): string[] => ['generate', '--model', c.good, '--max-new-tokens', '4', '--seed', '0', ...extra];
add({ id: 'generate --prompts: bad JSON on line 2', group: 'prompts (generate)', argv: gen(['--prompts', P['prompts-bad-json.jsonl'] as string]), expect: 2, stderr: [/prompts-bad-json\.jsonl:2: /, /not valid JSON/] });
add({ id: 'generate --prompts: line 2 longer than the model', group: 'prompts (generate)', argv: gen(['--prompts', P['prompts-too-long.jsonl'] as string]), expect: 2, stderr: [/prompts-too-long\.jsonl:2 is \d+ tokens/, /shorten it to 63 tokens/], stdout: /^$/ });
add({ id: 'generate --prompt longer than the model', group: 'prompts (generate)', argv: gen(['--prompt', 'the movie was great and '.repeat(40)]), expect: 2, stderr: [/--prompt is \d+ tokens/, /n_positions/], stdout: /^$/ });
add({ id: 'generate --max-new-tokens 1e9', group: 'prompts (generate)', argv: gen(['--prompt', 'the movie was', '--max-new-tokens', '1e9']), expect: 2, stderr: [/--max-new-tokens 1000000000/, /use --max-new-tokens \d+ or less/], stdout: /^$/ });
add({ id: 'generate --prompts: not UTF-8 on line 2', group: 'prompts (generate)', argv: gen(['--prompts', P['prompts-latin1.jsonl'] as string]), expect: 2, stderr: [/prompts-latin1\.jsonl:2: /, /not valid UTF-8/] });
add({ id: 'generate --prompts - (stdin)', group: 'prompts (generate)', argv: gen(['--prompts', '-', '--json']), stdin: `{"prompt": "the movie was"}\n\n{"prompt": "the plot was"}\n`, expect: 0, stdout: /^\{"text".*\n\{"text".*\n$/ });
add({ id: 'generate --prompts /proc/self/status', group: 'prompts (generate)', argv: gen(['--prompts', '/proc/self/status']), expect: 2, stderr: [/status:1: /, /not valid JSON/] });
{
  const out = c.freshOut('ppo-stdin');
  const argv = BASE_ARGS['ppo']?.(c.good, out) as string[];
  argv[argv.indexOf('--prompts') + 1] = '-';
  add({ id: 'ppo --prompts - (stdin, one prompt per line)', group: 'prompts (generate)', argv: ['ppo', ...argv, '--quiet'], stdin: 'the movie was\nthe plot was\n', expect: 0, stdout: /ppo: done/, out });
}
add({ id: 'ppo --prompts not UTF-8', group: 'prompts (generate)', argv: ['ppo', ...(BASE_ARGS['ppo']?.(c.good, c.freshOut('ppo-latin1')) ?? []), '--prompts', P['prompts-latin1.jsonl'] as string], expect: 2, stderr: [/prompts-latin1\.jsonl:2: /, /UTF-8/] });

// ----- --config YAML files and number flags -----------------------------------------------------------------
const cfg = (file: string): string[] => gen(['--prompt', 'the movie was', '--config', file]);
add({ id: '--config: missing file', group: 'configs and flags', argv: cfg(c.configs['missing.yaml'] as string), expect: 2, stderr: [/missing\.yaml does not exist/] });
add({ id: '--config: unknown key', group: 'configs and flags', argv: cfg(c.configs['unknown-key.yaml'] as string), expect: 2, stderr: [/unknown-key\.yaml:2: unknown key 'max_new_tokenz'/, /did you mean 'maxNewTokens'/] });
add({ id: '--config: seed beyond 2^53', group: 'configs and flags', argv: cfg(c.configs['huge-seed.yaml'] as string), expect: 2, stderr: [/huge-seed\.yaml:1: seed 18446744073709551615/, /2\^53/] });
add({ id: '--seed beyond 2^53', group: 'configs and flags', argv: gen(['--prompt', 'x', '--seed', '9007199254740993']), expect: 2, stderr: [/--seed 9007199254740993 is larger than 9007199254740991/] });

// ----- filesystems ------------------------------------------------------------------------------
add({ id: 'init --out on a read-only filesystem', group: 'filesystems', argv: ['init', '--out', join(roDir, 'tiny'), '--n-layer', '1', '--n-embd', '8', '--n-head', '2', '--n-positions', '16'], expect: 2, stderr: [/read-only filesystem/, /writable disk/], wrap: roWrap, skip: roSkip });
add({ id: 'sft --out in a directory nobody may write', group: 'filesystems', argv: ['sft', ...(BASE_ARGS['sft']?.(c.good, join(c.root, 'models', 'good', 'sub')) ?? [])], expect: 2, stderr: [/no permission to write in/, /change its permissions/], asNobody: perm.asNobody, skip: permSkip });
add({ id: 'init --out is a file', group: 'filesystems', argv: ['init', '--out', M['a-file'] as string], expect: 2, stderr: [/a-file\.bin is a file/] });
add({ id: 'demo --out holds files the demo did not write', group: 'filesystems', argv: ['demo', '--out', join(c.root, 'data'), '--quick', '--quiet'], expect: 2, stderr: [/holds files the demo did not write/, /new or empty directory/] });

// ----- pipes and signals -----------------------------------------------------------------------------
add({ id: 'generate (streaming) | head -c', group: 'pipes and signals', argv: gen(['--prompt', 'the movie was', '--max-new-tokens', '60', '--no-eos']), expect: 0, closeStdout: 'after-first-bytes' });
add({ id: 'generate --json --prompts into a closed pipe', group: 'pipes and signals', argv: gen(['--prompts', P['prompts.jsonl'] as string, '--json']), expect: 0, closeStdout: 'at-once' });
{
  const out = c.freshOut('sft-sigint');
  add({ id: 'sft interrupted by Ctrl-C mid-run', group: 'pipes and signals', argv: ['sft', '--model', c.good, '--data', D['sft.jsonl'] as string, '--out', out, '--max-steps', '100000', '--batch-size', '2', '--max-length', '16', '--save-every', '2', '--log-every', '1'], expect: 'SIGINT', interruptWhen: /training examples/, interruptDelayMs: 1500, out, timeoutMs: 90_000 });
}
add({ id: 'generate interrupted by Ctrl-C between batches', group: 'pipes and signals', argv: gen(['--prompts', P['prompts-many.jsonl'] as string, '--batch-size', '1', '--max-new-tokens', '40', '--no-eos']), expect: 'SIGINT', interruptWhen: /batch at prompt 3:/ });

// ----- run -------------------------------------------------------------------------------------------
test(`robustness: ${cases.length} command lines against the corpus`, { timeout: 900_000 }, async () => {
  const ids = new Set<string>();
  for (const x of cases) {
    assert.ok(!ids.has(x.id), `duplicate case id ${x.id}`);
    ids.add(x.id);
  }
  const limit = Number(process.env.RLHF_ROBUSTNESS_JOBS) || Math.max(3, Math.min(6, availableParallelism() + 1)); // +1: a child is often waiting on its disk
  const t0 = performance.now();
  const results = await pool(cases, limit, async (x, i) => {
    if (x.skip) return { x, problems: [] as string[], outcome: 'skipped' as const, ms: 0 };
    const r = await runCli(x, join(c.root, 'out', `rss-${i}`));
    const problems = judge(x, r);
    if (process.env.RLHF_ROBUSTNESS_LOG) appendFileSync(process.env.RLHF_ROBUSTNESS_LOG, `## ${x.id} — exit ${r.code ?? r.signal}, ${(r.ms / 1000).toFixed(1)} s, ${r.rssMb?.toFixed(0) ?? '?'} MB\n${r.stderr}\n`);
    if (problems.length) problems.push(`stderr: ${r.stderr.trim().slice(0, 600) || '(empty)'}`);
    return { x, problems, outcome: problems.length ? ('failed' as const) : ('passed' as const), ms: r.ms };
  });
  const seconds = (performance.now() - t0) / 1000;
  const table = outcomeTable(results.map((r) => ({ group: r.x.group, outcome: r.outcome })));
  const skipped = results.filter((r) => r.outcome === 'skipped').map((r) => `  skipped ${r.x.id}: ${r.x.skip}`);
  const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, Number(process.env.RLHF_ROBUSTNESS_SLOWEST ?? 3)).map((r) => `${r.x.id} ${(r.ms / 1000).toFixed(1)} s`);
  process.stdout.write(`\nrobustness (CLI): ${cases.length} cases in ${seconds.toFixed(0)} s, ${limit} at a time; slowest: ${slowest.join('; ')}\n${table}\n${skipped.join('\n')}${skipped.length ? '\n' : ''}\n`);
  const failures = results.filter((r) => r.outcome === 'failed').map((r) => `${r.x.id} (rlhf ${r.x.argv.join(' ').slice(0, 160)}):\n    ${r.problems.join('\n    ')}`);
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed:\n${failures.join('\n')}`);
});

export type { Corpus };
