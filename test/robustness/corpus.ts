// The corpus of bad inputs the robustness suite runs every command and library entry point against,
// generated in a temp directory: model directories (corrupted and hostile safetensors, configs,
// tokenizers), datasets in every supported format (bad rows, wrong types, empty files, bytes that
// are not UTF-8, a very long line, a file over the size limit, BOMs and CRLF that must work),
// prompt files, YAML configs, and a good copy of each to build from.
//
// Each bad model directory holds one bad file; the others are symlinks to the good model's, so the
// corpus is small (a 320-token BPE and a 1-layer, 16-wide GPT-2) and built in about a second.
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, ftruncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed } from '../../src/torch/index.js';
import { GPT2LMHeadModel, GPT2_DEFAULTS, loadPretrained, savePretrained } from '../../src/models/index.js';
import { applyLora, saveAdapter } from '../../src/nn/index.js';
import { trainByteLevelBpe, type Tokenizer } from '../../src/tokenizers/index.js';

/** The uid/gid the permission cases run as when the suite runs as root (where chmod 000 blocks nothing). */
export const NOBODY = 65534;

export interface Corpus {
  root: string;
  /** A model directory that works: GPT-2, 1 layer, 16 wide, 64 positions, a 320-token byte-level BPE. */
  good: string;
  /** name → model directory (or a path that is not one). */
  models: Record<string, string>;
  /** name → dataset file. */
  data: Record<string, string>;
  /** name → prompts file. */
  prompts: Record<string, string>;
  /** name → YAML config file for --config. */
  configs: Record<string, string>;
  /** A reward module: longer responses score higher. */
  rewardFn: string;
  /** A LoRA adapter of `good` (PEFT layout). */
  adapter: string;
  /** A fresh path under the corpus for an --out that does not exist yet. */
  freshOut(name: string): string;
  /** Whether permission cases can run: as root they run as NOBODY (chmod 000 does not stop root). */
  permissions: { run: boolean; asNobody: boolean; reason: string };
  cleanup(): void;
}

const NOUNS = ['movie', 'plot', 'film', 'cast', 'story', 'score'];
const ADJS = ['great', 'good', 'fun', 'lovely', 'bad', 'dull', 'awful', 'boring'];

/** Deterministic review sentences. */
export function sentences(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `the ${NOUNS[i % NOUNS.length]} was ${ADJS[(i * 7) % ADJS.length]} .`);
}

// ----- safetensors surgery ----------------------------------------------------------------------

interface Parsed {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  data: Buffer;
}

function parseSt(buf: Buffer): Parsed {
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Parsed['header'], data: buf.subarray(8 + n) };
}

function buildSt(header: Parsed['header'], data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

function tensorEntries(p: Parsed): [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][] {
  return Object.entries(p.header).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
}

/** Every variant of model.safetensors the corpus holds, from the good file's bytes. */
function safetensorsVariants(good: Buffer): Record<string, Buffer> {
  const p = parseSt(good);
  const entries = tensorEntries(p);
  const first = entries[0] as (typeof entries)[number];
  const clone = (): Parsed['header'] => JSON.parse(JSON.stringify(p.header)) as Parsed['header'];
  const out: Record<string, Buffer> = {};
  out['st-truncated'] = good.subarray(0, Math.floor(good.length / 2));
  out['st-4-bytes'] = good.subarray(0, 4);
  out['st-empty'] = Buffer.alloc(0);
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(1n << 60n); // an absurd header length
  out['st-header-huge'] = huge;
  const past = Buffer.from(good);
  past.writeBigUInt64LE(BigInt(good.length)); // runs past the end of the file
  out['st-header-past-eof'] = past;
  {
    const h = clone();
    const e = h[first[0]] as { data_offsets: [number, number] };
    e.data_offsets = [e.data_offsets[0], e.data_offsets[1] + 1_000_000_000]; // out of range
    out['st-offsets-out-of-range'] = buildSt(h, p.data);
  }
  {
    const h = clone();
    (h[first[0]] as { dtype: string }).dtype = 'Q4_K'; // a dtype no safetensors reader knows
    out['st-unknown-dtype'] = buildSt(h, p.data);
  }
  {
    const h = clone();
    for (const [k] of entries) (h[k] as { dtype: string }).dtype = 'I32'; // same byte size as F32: shapes still agree
    out['st-f32-relabelled-i32'] = buildSt(h, p.data);
  }
  {
    const data = Buffer.from(p.data);
    for (let i = 0; i + 4 <= data.length; i += 4) data.writeFloatLE(Number.NaN, i);
    out['st-nan-weights'] = buildSt(p.header, data);
  }
  {
    const data = Buffer.from(p.data);
    data.writeFloatLE(Number.POSITIVE_INFINITY, first[1].data_offsets[0]);
    out['st-one-inf-weight'] = buildSt(p.header, data);
  }
  out['st-git-lfs-pointer'] = Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 1613720\n');
  out['st-html-page'] = Buffer.from('<!DOCTYPE html><html><head><title>404</title></head><body>Not Found</body></html>\n');
  return out;
}

// ----- building -----------------------------------------------------------------------------------

/** A model directory like `good` with `files` replaced (name → contents, or null: removed). */
function variant(root: string, good: string, name: string, files: Record<string, Buffer | string | null>): string {
  const dir = join(root, 'models', name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(good)) if (!(f in files)) symlinkSync(join(good, f), join(dir, f));
  for (const [f, contents] of Object.entries(files)) if (contents !== null) writeFileSync(join(dir, f), contents);
  return dir;
}

async function saveTiny(dir: string, opts: { vocab?: number; tokenizer: Tokenizer | undefined; eos: number; nPositions?: number }): Promise<void> {
  manualSeed(0);
  const model = new GPT2LMHeadModel({ ...GPT2_DEFAULTS, vocab_size: opts.vocab ?? 320, bos_token_id: opts.eos, eos_token_id: opts.eos, n_layer: 1, n_embd: 16, n_head: 2, n_positions: opts.nPositions ?? 64, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
  try {
    await savePretrained(model, dir, { tokenizer: opts.tokenizer });
  } finally {
    model.dispose();
  }
}

/** lm-buddy's tiny_gpt2 tokenizer (from transformers' GPT-2 tokenizer test): 21 tokens, most bytes missing. */
function writeTinyVocabTokenizer(dir: string): void {
  const vocab = ['l', 'o', 'w', 'e', 'r', 's', 't', 'i', 'd', 'n', '\u0120', '\u0120l', '\u0120n', '\u0120lo', '\u0120low', 'er', '\u0120lowest', '\u0120newer', '\u0120wider', '<unk>', '<|endoftext|>'];
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify(Object.fromEntries(vocab.map((t, i) => [t, i]))) + '\n');
  writeFileSync(join(dir, 'merges.txt'), ['#version: 0.2', '\u0120 l', '\u0120l o', '\u0120lo w', 'e r', ''].join('\n'));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      add_bos_token: false,
      add_prefix_space: false,
      added_tokens_decoder: { '20': { content: '<|endoftext|>', lstrip: false, normalized: true, rstrip: false, single_word: false, special: true } },
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      pad_token: null,
      tokenizer_class: 'GPT2Tokenizer',
      unk_token: '<|endoftext|>',
    }),
  );
}

function jsonl(rows: unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function buildCorpus(): Promise<Corpus> {
  const root = mkdtempSync(join(tmpdir(), 'rlhf-robustness-'));
  chmodSync(root, 0o755); // the permission cases run as nobody when the suite runs as root
  const texts = sentences(64);
  const tokenizer = trainByteLevelBpe([...texts, 'the movie was great . the plot was bad .'], { vocabSize: 320, modelMaxLength: 64 });
  const good = join(root, 'models', 'good');
  await saveTiny(good, { tokenizer, eos: tokenizer.eosTokenId as number });

  const models: Record<string, string> = {};
  const goodFile = (f: string): Buffer => readFileSync(join(good, f));
  const config = JSON.parse(goodFile('config.json').toString('utf8')) as Record<string, unknown>;
  const withConfig = (patch: Record<string, unknown>): string => JSON.stringify({ ...config, ...patch }, null, 2);

  models['missing-dir'] = join(root, 'models', 'does-not-exist');
  models['a-file'] = join(root, 'models', 'a-file.bin');
  writeFileSync(models['a-file'], 'not a directory\n');
  models['empty-dir'] = join(root, 'models', 'empty');
  mkdirSync(models['empty-dir'], { recursive: true });
  models['no-config'] = variant(root, good, 'no-config', { 'config.json': null });
  models['config-empty'] = variant(root, good, 'config-empty', { 'config.json': '' });
  models['config-invalid-json'] = variant(root, good, 'config-invalid-json', { 'config.json': '{"model_type": "gpt2", "n_embd": 16,,}' });
  models['config-not-object'] = variant(root, good, 'config-not-object', { 'config.json': '[1, 2, 3]' });
  models['config-wrong-type'] = variant(root, good, 'config-wrong-type', { 'config.json': withConfig({ n_layer: 'one' }) });
  models['config-unknown-model-type'] = variant(root, good, 'config-unknown-model-type', { 'config.json': withConfig({ model_type: 'bert' }) });
  models['config-terabytes'] = variant(root, good, 'config-terabytes', { 'config.json': withConfig({ n_embd: 1_000_000, n_layer: 1000, n_head: 1000 }) });
  models['config-disagrees-with-weights'] = variant(root, good, 'config-disagrees-with-weights', { 'config.json': withConfig({ n_layer: 2 }) });
  models['config-unknown-field'] = variant(root, good, 'config-unknown-field', { 'config.json': withConfig({ my_custom_field: [1, 2], another: { nested: true } }) }); // works: kept in `extra`
  models['no-weights'] = variant(root, good, 'no-weights', { 'model.safetensors': null });
  for (const [name, bytes] of Object.entries(safetensorsVariants(goodFile('model.safetensors')))) models[name] = variant(root, good, name, { 'model.safetensors': bytes });
  models['tokenizer-json-corrupt'] = variant(root, good, 'tokenizer-json-corrupt', { 'tokenizer.json': '{"version": "1.0", "model": {"type": "BPE", "vocab": {' });
  models['tokenizer-config-corrupt'] = variant(root, good, 'tokenizer-config-corrupt', { 'tokenizer_config.json': 'eos_token: <|endoftext|>\n' });
  models['merges-unknown-token'] = variant(root, good, 'merges-unknown-token', { 'tokenizer.json': null, 'merges.txt': '#version: 0.2\nq \u00e7\n' });
  models['no-tokenizer'] = variant(root, good, 'no-tokenizer', { 'tokenizer.json': null, 'vocab.json': null, 'merges.txt': null });
  // chmod 000 copies (never the good model's files, which the symlinks share)
  models['unreadable-config'] = variant(root, good, 'unreadable-config', { 'config.json': goodFile('config.json') });
  models['unreadable-weights'] = variant(root, good, 'unreadable-weights', { 'model.safetensors': goodFile('model.safetensors') });
  models['unreadable-tokenizer'] = variant(root, good, 'unreadable-tokenizer', { 'tokenizer.json': goodFile('tokenizer.json') });
  models['unreadable-dir'] = variant(root, good, 'unreadable-dir', {});
  chmodSync(join(models['unreadable-config'], 'config.json'), 0o000);
  chmodSync(join(models['unreadable-weights'], 'model.safetensors'), 0o000);
  chmodSync(join(models['unreadable-tokenizer'], 'tokenizer.json'), 0o000);
  chmodSync(models['unreadable-dir'], 0o000);
  // A real checkpoint whose vocabulary lacks most bytes (lm-buddy's tiny_gpt2): such bytes become <unk>.
  models['vocab-lacks-bytes'] = join(root, 'models', 'vocab-lacks-bytes');
  mkdirSync(models['vocab-lacks-bytes'], { recursive: true });
  writeTinyVocabTokenizer(models['vocab-lacks-bytes']);
  await saveTiny(models['vocab-lacks-bytes'], { vocab: 21, tokenizer: undefined, eos: 20 });

  // ----- datasets -----
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  const data: Record<string, string> = {};
  const put = (name: string, contents: string | Buffer): string => (data[name] = writeFile(join(dataDir, name), contents));
  const sft = texts.slice(0, 24);
  put('sft.jsonl', jsonl(sft.map((text) => ({ text }))));
  put('sft.json', JSON.stringify({ data: sft.map((text) => ({ text })) }, null, 2));
  put('sft.csv', ['text', ...sft.map(csvField)].join('\n') + '\n');
  put('sft.tsv', ['text', ...sft].join('\n') + '\n');
  put('sft.txt', sft.join('\n') + '\n');
  put('sft-crlf.jsonl', jsonl(sft.map((text) => ({ text }))).replace(/\n/g, '\r\n'));
  put('sft-crlf.csv', ['id,text', ...sft.map((t, i) => `${i},"${t}"`)].join('\r\n') + '\r\n');
  put('sft-crlf.tsv', ['text', ...sft].join('\r\n') + '\r\n');
  put('sft-crlf.txt', sft.join('\r\n') + '\r\n');
  put('sft-bom.jsonl', '\ufeff' + jsonl(sft.map((text) => ({ text }))));
  put('sft-bom.csv', '\ufeff' + ['text', ...sft].join('\n') + '\n');
  put('sft-bom-crlf.tsv', '\ufeff' + ['text', ...sft].join('\r\n') + '\r\n');
  for (const ext of ['jsonl', 'json', 'csv', 'tsv', 'txt']) put(`empty.${ext}`, '');
  put('blank-lines.jsonl', '\n   \n\t\n');
  put('header-only.csv', 'text\n');
  put('bad-json-row.jsonl', jsonl(sft.slice(0, 2).map((text) => ({ text }))) + '{"text": "unterminated\n' + jsonl(sft.slice(2, 4).map((text) => ({ text }))));
  put('bad.json', '[{"text": "a"}, {"text": "b"},\n  {"text": }\n]');
  put('csv-unterminated-quote.csv', 'text\n"the movie was great\nthe plot was bad\n');
  put('csv-wrong-columns.csv', 'id,text\n1,the movie\n2,the plot,was bad\n');
  put('tsv-wrong-columns.tsv', 'id\ttext\n1\tthe movie\n2\tthe plot\twas bad\n');
  put('wrong-type.jsonl', jsonl([{ text: 'the movie was great .' }, { text: 5 }, { text: 'the plot was bad .' }]));
  put('not-an-object.jsonl', jsonl([{ text: 'the movie was great .' }, [1, 2]]));
  put('no-text-column.jsonl', jsonl([{ body: 'the movie was great .' }]));
  put('latin1.jsonl', Buffer.concat([Buffer.from('{"text": "the movie was great ."}\n{"text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
  put('unknown-extension.parquet', 'PAR1');
  // A line of 6 MB (a single text field) among normal rows: read, tokenized and truncated to --max-length.
  put('long-line.jsonl', jsonl([{ text: sft[0] }, { text: 'the movie was great and '.repeat(250_000) }, ...sft.slice(1, 8).map((text) => ({ text }))]));
  // 3 GB of nothing (sparse: no disk, no time) — refused by its size before anything is read.
  data['sparse-3gb.jsonl'] = join(dataDir, 'sparse-3gb.jsonl');
  const fd = openSync(data['sparse-3gb.jsonl'], 'w');
  ftruncateSync(fd, 3 * 2 ** 30);
  closeSync(fd);
  data['a-directory.jsonl'] = join(dataDir, 'a-directory.jsonl');
  mkdirSync(data['a-directory.jsonl']);
  data['missing.jsonl'] = join(dataDir, 'missing.jsonl');
  put('unreadable.jsonl', jsonl(sft.map((text) => ({ text }))));
  chmodSync(data['unreadable.jsonl'], 0o000);
  const pairs = sft.map((t, i) => ({ prompt: t.split(' ').slice(0, 2).join(' '), chosen: ` ${ADJS[i % 4]} .`, rejected: ` ${ADJS[4 + (i % 4)]} .` }));
  put('pref.jsonl', jsonl(pairs));
  put('pref-missing-field.jsonl', jsonl([pairs[0], { prompt: 'the movie', chosen: ' great .' }, pairs[1]]));
  put('kto.jsonl', jsonl(pairs.flatMap((p) => [{ prompt: p.prompt, completion: p.chosen, label: true }, { prompt: p.prompt, completion: p.rejected, label: false }])));

  // ----- prompts -----
  const prompts: Record<string, string> = {};
  const putP = (name: string, contents: string | Buffer): string => (prompts[name] = writeFile(join(dataDir, name), contents));
  putP('prompts.txt', NOUNS.map((n) => `the ${n} was`).join('\n') + '\n');
  putP('prompts.jsonl', jsonl(NOUNS.map((n) => ({ prompt: `the ${n} was` }))));
  putP('prompts-crlf.jsonl', jsonl(NOUNS.map((n) => ({ prompt: `the ${n} was` }))).replace(/\n/g, '\r\n'));
  putP('prompts-bad-json.jsonl', '{"prompt": "the movie was"}\n{"prompt": the plot}\n');
  putP('prompts-no-prompt.jsonl', jsonl([{ prompt: 'the movie was' }, { text: 'the plot was' }]));
  putP('prompts-too-long.jsonl', jsonl([{ prompt: 'the movie was' }, { prompt: 'the movie was great and '.repeat(40) }]));
  putP('prompts-latin1.jsonl', Buffer.concat([Buffer.from('{"prompt": "the movie was"}\n{"prompt": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n')]));
  putP('prompts-empty.jsonl', '');
  putP('prompts-many.jsonl', jsonl(Array.from({ length: 400 }, (_, i) => ({ prompt: `the ${NOUNS[i % NOUNS.length]} was` }))));

  // ----- YAML configs for --config -----
  const configs: Record<string, string> = {};
  const putC = (name: string, contents: string): string => (configs[name] = writeFile(join(root, name), contents));
  configs['missing.yaml'] = join(root, 'missing.yaml');
  putC('invalid.yaml', 'max_new_tokens: [1, 2\nseed: 3\n');
  putC('unknown-key.yaml', 'max_new_tokens: 4\nmax_new_tokenz: 5\n');
  putC('wrong-type.yaml', 'temperature: hot\n');
  putC('huge-seed.yaml', 'seed: 18446744073709551615\n');
  putC('a-list.yaml', '- max_new_tokens: 4\n');

  // A LoRA adapter of the good model, for `rlhf merge-lora`.
  const adapter = join(root, 'models', 'adapter');
  mkdirSync(adapter);
  {
    const { model } = await loadPretrained(good);
    try {
      await saveAdapter(applyLora(model, { r: 2, loraAlpha: 4, targetModules: ['c_attn'] }), adapter, { baseModelNameOrPath: good, taskType: 'CAUSAL_LM' });
    } finally {
      model.dispose();
    }
  }
  const rewardFn = writeFile(join(root, 'reward.mjs'), 'export default (prompts, responses) => responses.map((r) => r.length / 10);\n');
  const outs = join(root, 'out');
  mkdirSync(outs);
  chmodSync(outs, 0o777); // nobody writes here too
  let n = 0;

  const isRoot = process.getuid?.() === 0;
  let permissions: Corpus['permissions'];
  if (!isRoot) {
    let blocked = false;
    try {
      readFileSync(data['unreadable.jsonl']);
    } catch {
      blocked = true;
    }
    permissions = blocked ? { run: true, asNobody: false, reason: '' } : { run: false, asNobody: false, reason: 'chmod 000 does not stop this user from reading (a filesystem without permissions?)' };
  } else {
    permissions = { run: true, asNobody: true, reason: 'running as root, where chmod 000 blocks nothing: the permission cases run as uid 65534 (nobody)' };
  }

  return {
    root,
    good,
    models,
    data,
    prompts,
    configs,
    rewardFn,
    adapter,
    freshOut: (name) => join(outs, `${String(++n).padStart(3, '0')}-${name.replace(/[^\w.-]+/g, '_')}`),
    permissions,
    cleanup() {
      for (const p of [models['unreadable-dir'] as string]) chmodSync(p, 0o755);
      for (const f of [join(models['unreadable-config'] as string, 'config.json'), join(models['unreadable-weights'] as string, 'model.safetensors'), join(models['unreadable-tokenizer'] as string, 'tokenizer.json'), data['unreadable.jsonl'] as string]) {
        try {
          chmodSync(f, 0o644);
        } catch {
          // gone already
        }
      }
      try {
        unlinkSync(data['sparse-3gb.jsonl'] as string);
      } catch {
        // gone already
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function writeFile(path: string, contents: string | Buffer): string {
  writeFileSync(path, contents);
  return path;
}

/** Copies a file (for cases that must not touch the corpus). */
export function copyTo(src: string, dst: string): string {
  copyFileSync(src, dst);
  return dst;
}
