// The library's entry points against the whole corpus (corpus.ts), in-process: loading models,
// tokenizers and safetensors files, reading datasets and prompts, resolving configs, making tensors.
// Each case must either work (and give the right value) or throw a named error (not a plain Error
// or a JavaScript TypeError/RangeError) whose message matches: the file, line, field and the fix.
// The suite prints the count of cases and an outcome table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUserError } from '../../src/cli/command.js';
import { loadPretrained, loadScalarModel } from '../../src/models/index.js';
import { loadTokenizer } from '../../src/tokenizers/index.js';
import { readSafetensorsFile } from '../../src/torch/safetensors.js';
import { readDataset, readPrompts, readRecords } from '../../src/data/index.js';
import { readPromptLines, generateConfig } from '../../src/cli/generate.js';
import { resolveConfig } from '../../src/config/schema-cli.js';
import * as torch from '../../src/torch/index.js';
import { buildCorpus } from './corpus.js';
import { outcomeTable } from './harness.js';

const c = await buildCorpus();
test.after(() => c.cleanup());
const M = c.models;
const D = c.data;
const P = c.prompts;
const asRoot = process.getuid?.() === 0;
const permSkip = asRoot ? 'running as root, where chmod 000 blocks nothing (cli.test.ts runs these as nobody)' : c.permissions.run ? null : c.permissions.reason;

interface Case {
  id: string;
  group: string;
  /** Resolves to a check of the value, or throws. */
  run: () => unknown;
  /** undefined: must work (and `check` holds); a RegExp: must throw a named error whose message matches. */
  throws?: RegExp[];
  check?: (value: unknown) => void;
  skip?: string | null;
}
const cases: Case[] = [];
const add = (x: Case): void => void cases.push(x);

// ----- model directories: loadPretrained (and loadScalarModel for a sample) -----------------------------
const MODEL_EXPECT: Record<string, RegExp[] | 'works' | 'perm'> = {
  'missing-dir': [/does-not-exist: no such directory/],
  'a-file': [/is a file, not a model directory/],
  'empty-dir': [/has no config\.json/],
  'no-config': [/has no config\.json/],
  'config-empty': [/config\.json: is not valid JSON/],
  'config-invalid-json': [/config\.json: is not valid JSON/, /fix the file/],
  'config-not-object': [/is a list, expected a JSON object/],
  'config-wrong-type': [/field "n_layer" expected a positive integer \(got "one"\)/],
  'config-unknown-model-type': [/field "model_type" is "bert"/, /supported model types: gpt2/],
  'config-terabytes': [/config\.json: describes a model of at least .*T parameters/, /n_embd 1000000/, /memory/],
  'config-disagrees-with-weights': [/missing keys \(\d+\): transformer\.h\.1\./],
  'config-unknown-field': 'works',
  'no-weights': [/has no model\.safetensors or model\.safetensors\.index\.json/],
  'st-truncated': [/model\.safetensors: /, /file truncated — re-download or re-save it/],
  'st-4-bytes': [/file is 4 bytes, too short/],
  'st-empty': [/file is 0 bytes, too short/],
  'st-header-huge': [/header length 1152921504606846976 bytes is over the 100 MB limit/],
  'st-header-past-eof': [/runs past the end of the \d+-byte file/],
  'st-offsets-out-of-range': [/data_offsets \[\d+, \d+\] end past the data section/],
  'st-unknown-dtype': [/unknown dtype "Q4_K"/],
  'st-f32-relabelled-i32': [/weight tensor\(s\) are not floating point: .*\(I32 in model\.safetensors\)/, /F32, F16 or BF16/],
  'st-nan-weights': [/hold NaN or infinite values: transformer\./, /allowNonFinite/],
  'st-one-inf-weight': [/1 weight tensor\(s\) hold NaN or infinite values: .*\(1 of \d+ values/],
  'st-git-lfs-pointer': [/Git LFS pointer/, /git lfs pull/],
  'st-html-page': [/HTML\/XML page \(a failed download\?\)/],
  'tokenizer-json-corrupt': [/tokenizer\.json: is not valid JSON/],
  'tokenizer-config-corrupt': [/tokenizer_config\.json: is not valid JSON/],
  'merges-unknown-token': [/merges\.txt: merge 1 \("q ç"\) uses "qç", which is not in the vocabulary/, /different tokenizers/],
  'no-tokenizer': 'works',
  'unreadable-config': 'perm',
  'unreadable-weights': 'perm',
  'unreadable-tokenizer': 'perm',
  'unreadable-dir': 'perm',
  'vocab-lacks-bytes': 'works',
};
for (const [name, expect] of Object.entries(MODEL_EXPECT)) {
  assert.ok(M[name], `corpus has no model ${name}`);
  add({
    id: `loadPretrained ${name}`,
    group: 'model directories',
    run: async () => {
      const r = await loadPretrained(M[name] as string);
      r.model.dispose();
      return r;
    },
    throws: Array.isArray(expect) ? expect : undefined,
    skip: expect === 'perm' ? permSkip : null,
    ...(expect === 'perm' ? { throws: [/permission denied/, /chmod/] } : {}),
  });
}
for (const name of ['st-truncated', 'st-f32-relabelled-i32', 'config-terabytes']) {
  add({ id: `loadScalarModel ${name}`, group: 'model directories', run: () => loadScalarModel(M[name] as string), throws: MODEL_EXPECT[name] as RegExp[] });
}
add({
  id: 'loadPretrained st-nan-weights { allowNonFinite: true } loads it to inspect',
  group: 'model directories',
  run: async () => {
    const r = await loadPretrained(M['st-nan-weights'] as string, { allowNonFinite: true });
    const nan = torch.tidy(() => r.model.parameters()[0]?.isnan().all().item());
    r.model.dispose();
    return nan;
  },
  check: (v) => assert.equal(v, 1),
});
for (const name of Object.keys(M).filter((n) => n.startsWith('st-'))) {
  add({ id: `readSafetensorsFile ${name}`, group: 'safetensors files', run: () => readSafetensorsFile(`${M[name]}/model.safetensors`), throws: name === 'st-f32-relabelled-i32' || name.includes('nan') || name.includes('inf') ? undefined : [/model\.safetensors: /] });
}

// ----- tokenizers -------------------------------------------------------------------------------------------
add({ id: 'loadTokenizer tokenizer-json-corrupt', group: 'tokenizers', run: () => loadTokenizer(M['tokenizer-json-corrupt'] as string), throws: [/tokenizer\.json: is not valid JSON/] });
add({ id: 'loadTokenizer tokenizer-config-corrupt', group: 'tokenizers', run: () => loadTokenizer(M['tokenizer-config-corrupt'] as string), throws: [/tokenizer_config\.json: is not valid JSON/] });
add({ id: 'loadTokenizer no-tokenizer', group: 'tokenizers', run: () => loadTokenizer(M['no-tokenizer'] as string), throws: [/has no tokenizer: expected tokenizer\.json, or vocab\.json and merges\.txt/] });
add({ id: 'loadTokenizer unreadable tokenizer.json', group: 'tokenizers', run: () => loadTokenizer(M['unreadable-tokenizer'] as string), throws: [/tokenizer\.json: cannot be read: permission denied/], skip: permSkip });
add({
  id: 'a vocabulary without most bytes maps them to unk_token, as transformers',
  group: 'tokenizers',
  run: () => loadTokenizer(M['vocab-lacks-bytes'] as string).encode('lower newer x'),
  // GPT2Tokenizer: "lower" → l o w er; " newer" → Ġ n e w er; " x" → Ġ, then x is not in the vocabulary → unk (<|endoftext|>, 20)
  check: (ids) => assert.deepEqual(ids, [0, 1, 2, 15, 10, 9, 3, 2, 15, 10, 20]),
});

// ----- datasets -------------------------------------------------------------------------------------------
const DATA_EXPECT: Record<string, RegExp[] | number | 'perm'> = {
  'sft.jsonl': 24,
  'sft.json': 24,
  'sft.csv': 24,
  'sft.tsv': 24,
  'sft.txt': 24,
  'sft-crlf.jsonl': 24,
  'sft-crlf.csv': 24,
  'sft-crlf.tsv': 24,
  'sft-crlf.txt': 24,
  'sft-bom.jsonl': 24,
  'sft-bom.csv': 24,
  'sft-bom-crlf.tsv': 24,
  'empty.jsonl': [/empty\.jsonl: the file is empty/],
  'empty.json': [/empty\.json: the file is empty/],
  'empty.csv': [/empty\.csv: the file is empty/],
  'empty.tsv': [/empty\.tsv: the file is empty/],
  'empty.txt': [/empty\.txt: the file is empty/],
  'blank-lines.jsonl': [/the file is empty/],
  'header-only.csv': [/has a header row but no data rows/],
  'bad-json-row.jsonl': [/bad-json-row\.jsonl:3: not valid JSON/, /one JSON object/],
  'bad.json': [/bad\.json:2: not valid JSON/],
  'csv-unterminated-quote.csv': [/:2: a quoted field is never closed/],
  'csv-wrong-columns.csv': [/:3: expected 2 columns \(id, text\), found 3/, /quote fields/],
  'tsv-wrong-columns.tsv': [/:3: expected 2 columns/, /cannot contain a tab/],
  'wrong-type.jsonl': [/wrong-type\.jsonl:2: field "text"/],
  'not-an-object.jsonl': [/not-an-object\.jsonl:2: expected a JSON object/],
  'no-text-column.jsonl': [/no-text-column\.jsonl/, /body/],
  'latin1.jsonl': [/latin1\.jsonl:2: not valid UTF-8 \(byte 0xE9/, /iconv/],
  'unknown-extension.parquet': [/cannot tell the file's layout from its extension "\.parquet"/],
  'sparse-3gb.jsonl': [/is 3\.0 GB, more than the \d+\.\d MB rlhf reads from one file/, /split/],
  'a-directory.jsonl': [/is a directory, not a file/],
  'missing.jsonl': [/missing\.jsonl: no such file/],
  'unreadable.jsonl': 'perm',
  'long-line.jsonl': 9,
};
for (const [name, expect] of Object.entries(DATA_EXPECT)) {
  add({
    id: `readDataset ${name}`,
    group: 'datasets',
    run: () => readDataset(D[name] as string, { expectFormat: ['text'] }).rows.length,
    ...(typeof expect === 'number' ? { check: (n: unknown) => assert.equal(n, expect) } : { throws: expect === 'perm' ? [/permission denied/] : expect }),
    skip: expect === 'perm' ? permSkip : null,
  });
}
add({ id: 'readDataset pref-missing-field.jsonl', group: 'datasets', run: () => readDataset(D['pref-missing-field.jsonl'] as string, { expectFormat: ['preference'] }), throws: [/pref-missing-field\.jsonl:2: /, /rejected/] });
add({ id: 'readRecords /dev/zero', group: 'datasets', run: () => readRecords('/dev/zero', { fileKind: 'jsonl' }), throws: [/\/dev\/zero: is a device, not a file/] });
add({
  id: 'a dataset over the size limit is refused by its size, before it is read',
  group: 'datasets',
  run: () => {
    const before = process.memoryUsage.rss();
    try {
      readRecords(D['sparse-3gb.jsonl'] as string);
    } catch (err) {
      return { err, grew: process.memoryUsage.rss() - before };
    }
    return null;
  },
  check: (v) => {
    const r = v as { err: Error; grew: number };
    assert.equal(r.err.name, 'DataError');
    assert.ok(r.grew < 64 * 2 ** 20, `RSS grew ${(r.grew / 2 ** 20).toFixed(0)} MB`);
  },
});
add({
  id: 'RLHF_MAX_DATA_BYTES lowers the size limit',
  group: 'datasets',
  run: () => {
    process.env.RLHF_MAX_DATA_BYTES = '1000';
    try {
      return readRecords(D['long-line.jsonl'] as string);
    } finally {
      delete process.env.RLHF_MAX_DATA_BYTES;
    }
  },
  throws: [/long-line\.jsonl: is \d+\.\d MB, more than the 1000 bytes rlhf reads from one file/],
});

// ----- prompts -------------------------------------------------------------------------------------------
add({ id: 'readPromptLines prompts.jsonl', group: 'prompts', run: () => readPromptLines(P['prompts.jsonl'] as string), check: (v) => assert.deepEqual((v as { lines: number[] }).lines, [1, 2, 3, 4, 5, 6]) });
add({ id: 'readPromptLines CRLF', group: 'prompts', run: () => readPromptLines(P['prompts-crlf.jsonl'] as string).prompts, check: (v) => assert.equal((v as string[])[0], 'the movie was') });
add({ id: 'readPromptLines bad JSON', group: 'prompts', run: () => readPromptLines(P['prompts-bad-json.jsonl'] as string), throws: [/prompts-bad-json\.jsonl:2: not valid JSON/] });
add({ id: 'readPromptLines no "prompt"', group: 'prompts', run: () => readPromptLines(P['prompts-no-prompt.jsonl'] as string), throws: [/prompts-no-prompt\.jsonl:2: expected an object with a string "prompt"/] });
add({ id: 'readPromptLines not UTF-8', group: 'prompts', run: () => readPromptLines(P['prompts-latin1.jsonl'] as string), throws: [/prompts-latin1\.jsonl:2: not valid UTF-8/] });
add({ id: 'readPromptLines empty', group: 'prompts', run: () => readPromptLines(P['prompts-empty.jsonl'] as string), throws: [/holds no prompts/] });
add({ id: 'readPromptLines /dev/zero', group: 'prompts', run: () => readPromptLines('/dev/zero'), throws: [/is a device, not a file/] });
add({ id: 'readPrompts prompts.txt', group: 'prompts', run: () => readPrompts(P['prompts.txt'] as string), check: (v) => assert.equal((v as string[]).length, 6) });
add({ id: 'readPrompts not UTF-8', group: 'prompts', run: () => readPrompts(P['prompts-latin1.jsonl'] as string), throws: [/prompts-latin1\.jsonl:2: not valid UTF-8/] });

// ----- configs --------------------------------------------------------------------------------------------
const resolve = (argv: string[]): unknown => resolveConfig(generateConfig, ['--model', c.good, ...argv], { command: 'rlhf generate' }).config;
const CONFIG_EXPECT: Record<string, RegExp[] | 'works'> = {
  'missing.yaml': [/missing\.yaml does not exist/],
  'invalid.yaml': [/invalid\.yaml:\d+: not valid YAML/],
  'unknown-key.yaml': [/unknown-key\.yaml:2: unknown key 'max_new_tokenz' \(did you mean 'maxNewTokens'\?\)/],
  'wrong-type.yaml': [/wrong-type\.yaml:1: temperature: Invalid input: expected number, received string/],
  'huge-seed.yaml': [/huge-seed\.yaml:1: seed 18446744073709551615 is larger than 9007199254740991/],
  'a-list.yaml': [/a-list\.yaml: a config file must be a mapping/],
};
for (const [name, expect] of Object.entries(CONFIG_EXPECT)) add({ id: `--config ${name}`, group: 'configs and flags', run: () => resolve(['--config', c.configs[name] as string]), throws: expect === 'works' ? undefined : expect });
add({ id: '--seed 2^53 + 1', group: 'configs and flags', run: () => resolve(['--seed', '9007199254740993']), throws: [/--seed 9007199254740993 is larger than 9007199254740991 \(2\^53 − 1\)/, /rounded to 9007199254740992/] });
add({ id: '--seed 2^53 − 1 is exact', group: 'configs and flags', run: () => (resolve(['--seed', '9007199254740991']) as { seed: number }).seed, check: (v) => assert.equal(v, Number.MAX_SAFE_INTEGER) });
add({ id: '--max-new-tokens 2.5', group: 'configs and flags', run: () => resolve(['--max-new-tokens', '2.5']), throws: [/--max-new-tokens/] });

// ----- tensors ---------------------------------------------------------------------------------------------
add({ id: 'zeros([2.5, 3])', group: 'tensors', run: () => torch.zeros([2.5, 3]), throws: [/zeros\(\): shape\[0\] is 2\.5 in \[2\.5, 3\]; every size must be a whole number ≥ 0/] });
add({ id: 'zeros([NaN])', group: 'tensors', run: () => torch.zeros([Number.NaN]), throws: [/zeros\(\): shape\[0\] is NaN/] });
add({ id: 'ones([-1])', group: 'tensors', run: () => torch.ones([-1]), throws: [/ones\(\): shape\[0\] is -1/] });
add({ id: 'randn([1e20])', group: 'tensors', run: () => torch.randn([1e20]), throws: [/randn\(\): shape\[0\] is 100000000000000000000/] });
add({ id: "tensor(['a'])", group: 'tensors', run: () => torch.tensor(['a'] as unknown as number[]), throws: [/tensor\(\): data\[0\] is a string \("a"\); a tensor holds numbers or booleans/] });
add({ id: 'tensor([[1], [2, 3]])', group: 'tensors', run: () => torch.tensor([[1], [2, 3]]), throws: [/ragged nested array/] });
add({ id: 'tensor([1, 2], { shape: [1.5] })', group: 'tensors', run: () => torch.tensor([1, 2], { shape: [1.5] }), throws: [/shape\[0\] is 1\.5/] });
add({ id: 'manualSeed(2^53 + 2)', group: 'tensors', run: () => torch.manualSeed(2 ** 53 + 2), throws: [/manualSeed\(9007199254740994\): a seed must be a whole number/] });
add({ id: 'full([2], 1.5) works', group: 'tensors', run: () => torch.tidy(() => torch.full([2], 1.5).toFlatArray()), check: (v) => assert.deepEqual(v, [1.5, 1.5]) });
add({ id: 'an allocation too large is an OutOfMemoryError, in words', group: 'tensors', run: () => torch.empty([2 ** 40, 2 ** 10]), throws: [/empty\(\[1099511627776,1024\]\): cannot allocate 4\.5 PB \(this machine has [\d.]+ [kMGT]?B free of/, /too large/] });

// ----- run ----------------------------------------------------------------------------------------------
test(`robustness: ${cases.length} library calls against the corpus`, async () => {
  const rows: { group: string; outcome: 'passed' | 'failed' | 'skipped' }[] = [];
  const failures: string[] = [];
  const t0 = performance.now();
  for (const x of cases) {
    if (x.skip) {
      rows.push({ group: x.group, outcome: 'skipped' });
      continue;
    }
    let problem: string | null = null;
    try {
      const value = await x.run();
      if (x.throws) problem = `returned instead of throwing (${String(value).slice(0, 80)})`;
      else x.check?.(value);
    } catch (err) {
      if (!x.throws) problem = `threw ${(err as Error).name}: ${(err as Error).message}`;
      else if (!isUserError(err)) problem = `threw a ${(err as Error)?.name ?? typeof err}, not a named error: ${(err as Error)?.message}`;
      else for (const re of x.throws) if (!re.test((err as Error).message)) problem = `message does not match ${re}: ${(err as Error).message}`;
    }
    rows.push({ group: x.group, outcome: problem ? 'failed' : 'passed' });
    if (problem) failures.push(`${x.id}: ${problem}`);
  }
  const skips = cases.filter((x) => x.skip).map((x) => `  skipped ${x.id}: ${x.skip}`);
  process.stdout.write(`\nrobustness (library): ${cases.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s\n${outcomeTable(rows)}\n${skips.join('\n')}${skips.length ? '\n' : ''}\n`);
  assert.deepEqual(failures, []);
});
