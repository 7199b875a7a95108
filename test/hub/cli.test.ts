// Model ids through the commands: `rlhf pull`, `--model ID --revision R` in generate and in a
// trainer (the shared trainer-command path), pipeline files that name ids, and a cache written by
// Python's huggingface_hub (built here by hand) found with no server at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPretrained } from '../../src/models/index.js';
import { generateText } from '../../src/generation/index.js';
import { readPipeline } from '../../src/trainers/pipeline.js';
import { resolveModelFields } from '../../src/hub/index.js';
import { FakeHub, gitSha1, readDirFiles, sha256 } from './fake-hub.js';
import { closedEndpoint, isolatedHubEnv, rlhf, tinyModelDir } from './helpers.js';

const ID = 'acme/tiny';
const hub = await new FakeHub().start();
const env = isolatedHubEnv(hub.hubUrl);
const local = join(env.root, 'local');
const localV1 = join(env.root, 'local-v1');
let v1 = '';

before(async () => {
  await tinyModelDir(local, { seed: 11 });
  await tinyModelDir(localV1, { seed: 12 });
  v1 = hub.addCommit(ID, readDirFiles(localV1), ['v1']);
  hub.addCommit(ID, readDirFiles(local), ['main']);
});
after(async () => {
  await hub.stop();
  env.cleanup();
});

const greedyJson = async (model: string, extra: string[] = []): Promise<number[]> => {
  const r = await rlhf(['generate', '--model', model, ...extra, '--prompt', 'Hello', '--greedy', '--max-new-tokens', '6', '--no-eos', '--json']);
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as { tokens: number[] }).tokens;
};

test('rlhf pull ID prints the snapshot directory; a second pull downloads nothing; --include fetches only matching files', async () => {
  const r = await rlhf(['pull', ID, '--quiet']);
  assert.equal(r.code, 0, r.err);
  const dir = r.out.trim();
  assert.match(dir, new RegExp(`models--acme--tiny/snapshots/[0-9a-f]{40}$`));
  assert.ok(existsSync(join(dir, 'model.safetensors')) && existsSync(join(dir, 'config.json')));
  assert.match(r.err, /acme\/tiny \(main → [0-9a-f]{12}\): 6 file\(s\) downloaded/);
  const again = await rlhf(['pull', ID, '--quiet']);
  assert.equal(again.out.trim(), dir);
  assert.match(again.err, /already in the cache/);

  const inc = await rlhf(['pull', `${ID}@v1`, '--include', '*.json', '--include', 'merges.txt', '--quiet']);
  assert.equal(inc.code, 0, inc.err);
  const incDir = inc.out.trim();
  assert.equal(incDir.split('/').pop(), v1);
  assert.deepEqual(readdirSync(incDir).sort(), ['config.json', 'generation_config.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
  assert.ok(hub.requests('hub').some((q) => q.path === `/api/models/${ID}/revision/v1`));

  const bad = await rlhf(['pull', './not/an/id']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /is not a Hub model id/);
  const none = await rlhf(['pull', ID, '--include', '*.gguf']);
  assert.equal(none.code, 2);
  assert.match(none.err, /no file of acme\/tiny matches \*\.gguf; it has config\.json/);
});

test('rlhf generate --model ID [--revision R] samples what the same model directory samples', async () => {
  assert.deepEqual(await greedyJson(ID), await greedyJson(local));
  assert.deepEqual(await greedyJson(ID, ['--revision', 'v1']), await greedyJson(localV1));
  assert.deepEqual(await greedyJson(`${ID}@${v1}`), await greedyJson(localV1));
});

test('a trainer takes --model ID --revision R through the shared command path; the saved config records the snapshot', async () => {
  const data = join(env.root, 'text.txt');
  writeFileSync(data, 'the movie was great\nthe plot was thin\na fine cast\nslow and dull\n');
  const out = join(env.root, 'sft-out');
  const r = await rlhf(['sft', '--model', ID, '--revision', 'v1', '--data', data, '--out', out, '--max-steps', '1', '--batch-size', '2', '--eval-split', '0', '--max-length', '16', '--save-every', '0', '--quiet']);
  assert.equal(r.code, 0, r.err);
  const saved = JSON.parse(readFileSync(join(out, 'rlhf_config.json'), 'utf8')) as { model: string; revision: string };
  assert.match(saved.model, new RegExp(`models--acme--tiny/snapshots/${v1}$`));
  assert.equal(saved.revision, 'v1');
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).n_embd, 16);
});

test('model fields: `model` at --revision, every …Model key by id or ID@REV, other keys and local paths untouched', async () => {
  const snap = (rev: string): RegExp => new RegExp(`snapshots/${rev}$`);
  const cfg = await resolveModelFields({ model: ID, revision: 'v1', refModel: `${ID}@main`, rewardModel: local, data: 'acme/tiny', valueModel: null });
  assert.match(cfg.model, snap(v1));
  assert.doesNotMatch(cfg.refModel, snap(v1));
  assert.match(cfg.refModel, /snapshots\/[0-9a-f]{40}$/);
  assert.equal(cfg.rewardModel, local);
  assert.equal(cfg.data, 'acme/tiny', 'only model options are resolved');
  assert.equal(cfg.valueModel, null);
});

test('a pipeline file: a model id stays an id, a path is relative to the file', () => {
  const dir = join(env.root, 'pipe');
  mkdirSync(join(dir, 'models', 'tiny'), { recursive: true });
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, ['stages:', '  - name: a', '    run: sft', `    model: ${ID}`, '    revision: v1', '    data: d.txt', '    out: runs/a', '  - name: b', '    run: sft', '    model: models/tiny', '    data: d.txt', '    out: runs/b', ''].join('\n'));
  const [a, b] = readPipeline(file);
  assert.equal(a!.config.model, ID);
  assert.equal(a!.config.revision, 'v1');
  assert.equal(a!.config.data, join(dir, 'd.txt'));
  assert.equal(b!.config.model, join(dir, 'models', 'tiny'));
});

test('a cache written by Python huggingface_hub (blobs, refs/main, relative symlinks) is found with no server at all', async () => {
  // what `huggingface-cli download acme/py-model` leaves behind (no .no_exist markers)
  const repo = join(env.cache, 'models--acme--py-model');
  const commit = 'a'.repeat(39) + 'b';
  const files = readDirFiles(local);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  mkdirSync(join(repo, 'snapshots', commit), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), commit);
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt']) {
    const bytes = files[f] as Buffer;
    const etag = f.endsWith('.safetensors') ? sha256(bytes) : gitSha1(bytes);
    writeFileSync(join(repo, 'blobs', etag), bytes);
    symlinkSync(`../../blobs/${etag}`, join(repo, 'snapshots', commit, f));
  }
  process.env.HF_ENDPOINT = await closedEndpoint();
  try {
    const { model, tokenizer } = await loadPretrained('acme/py-model');
    const ref = await loadPretrained(local);
    try {
      const [x] = generateText(model, tokenizer!, ['Hello'], { greedy: true, maxNewTokens: 6, eosTokenId: null });
      const [y] = generateText(ref.model, ref.tokenizer!, ['Hello'], { greedy: true, maxNewTokens: 6, eosTokenId: null });
      assert.deepEqual(x!.tokens, y!.tokens);
    } finally {
      model.dispose();
      ref.model.dispose();
    }
    const r = await rlhf(['generate', '--model', 'acme/py-model', '--prompt', 'Hello', '--greedy', '--max-new-tokens', '6', '--no-eos', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /cannot reach .* — using the cached acme\/py-model \(commit aaaaaaaaaaaa\)/);
    process.env.HF_HUB_OFFLINE = '1';
    const off = await rlhf(['generate', '--model', 'acme/py-model', '--prompt', 'Hello', '--greedy', '--max-new-tokens', '6', '--no-eos', '--json']);
    assert.equal(off.code, 0, off.err);
    assert.equal(off.err.includes('cannot reach'), false, 'offline: no attempt to connect');
    assert.deepEqual(JSON.parse(off.out).tokens, JSON.parse(r.out).tokens);
  } finally {
    process.env.HF_ENDPOINT = hub.hubUrl;
    delete process.env.HF_HUB_OFFLINE;
  }
});
