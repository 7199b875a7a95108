// Models by Hub id against a local imitation of the Hub (fake-hub.ts): the cache layout is
// huggingface_hub's, a second resolve asks one question, downloads resume with Range and are
// checked against their ETag, shards, revisions, tokens, and a model loaded by id generates what
// the same model loaded from its directory generates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { loadPretrained } from '../../src/models/index.js';
import { generateText } from '../../src/generation/index.js';
import { resolveModel, snapshotModel, parseHubRef, isHubId, globToRegExp } from '../../src/hub/index.js';
import { FakeHub, gitSha1, readDirFiles, sha256 } from './fake-hub.js';
import { isolatedHubEnv, tinyModelDir } from './helpers.js';

const ID = 'tiny-org/tiny-gpt2';
const hub = await new FakeHub().start();
const env = isolatedHubEnv(hub.hubUrl);
const local = join(env.root, 'local');
const localV1 = join(env.root, 'local-v1');
const sharded = join(env.root, 'sharded');
let mainCommit = '';
let v1Commit = '';

before(async () => {
  await tinyModelDir(local, { seed: 1 });
  await tinyModelDir(localV1, { seed: 2, nLayer: 2 });
  await tinyModelDir(sharded, { seed: 3, maxShardBytes: 1_500_000 });
  v1Commit = hub.addCommit(ID, readDirFiles(localV1), ['v1']);
  mainCommit = hub.addCommit(ID, readDirFiles(local), ['main']);
  hub.addCommit('tiny-org/sharded', readDirFiles(sharded));
});
after(async () => {
  await hub.stop();
  env.cleanup();
});

const repoDir = (id: string): string => join(env.cache, `models--${id.replace('/', '--')}`);
const greedy = async (ref: string, revision?: string): Promise<number[]> => {
  const { model, tokenizer } = await loadPretrained(ref, revision ? { revision } : {});
  try {
    const [r] = generateText(model, tokenizer!, ['Hello world'], { greedy: true, maxNewTokens: 8, eosTokenId: null });
    return r!.tokens;
  } finally {
    model.dispose();
  }
};

test('ids and globs: what counts as a Hub id, id@revision, fnmatch-style --include patterns', () => {
  for (const id of ['gpt2', 'HuggingFaceTB/SmolLM2-135M', 'org_1/name.v2', 'a/b-c']) assert.ok(isHubId(id), id);
  for (const p of ['./tiny', '../x', '/abs/dir', 'a/b/c', 'org--x/y', 'a/..', '-x', 'x/', 'name.git', '']) assert.ok(!isHubId(p), p);
  assert.deepEqual(parseHubRef('org/name@v1.0'), { repoId: 'org/name', revision: 'v1.0' });
  assert.deepEqual(parseHubRef('org/name'), { repoId: 'org/name', revision: null });
  assert.equal(parseHubRef('org/name@'), null);
  assert.ok(globToRegExp('*.json').test('config.json') && globToRegExp('*.json').test('sub/x.json') && !globToRegExp('*.json').test('model.safetensors'));
  assert.ok(globToRegExp('model-0000?-of-*.safetensors').test('model-00001-of-00002.safetensors'));
  assert.ok(globToRegExp('[!t]*').test('config.json') && !globToRegExp('[!t]*').test('tokenizer.json'));
});

test('a model by id: downloaded into the huggingface_hub cache layout, loaded, and it generates what its directory generates', async () => {
  const expected = await greedy(local);
  hub.clearLog();
  const dir = await resolveModel(ID);
  const repo = repoDir(ID);
  assert.equal(dir, join(repo, 'snapshots', mainCommit));
  assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), mainCommit, 'refs/main holds the commit, no newline');

  // every file a symlink ../../blobs/<etag>; LFS blobs named by sha256, git files by their blob sha1
  const files = readDirFiles(local);
  const wanted = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
  assert.deepEqual(readdirSync(dir).sort(), wanted.sort(), 'vocab.json/merges.txt are not fetched when tokenizer.json is there');
  for (const f of wanted) {
    const bytes = files[f] as Buffer;
    const etag = f.endsWith('.safetensors') ? sha256(bytes) : gitSha1(bytes);
    assert.ok(lstatSync(join(dir, f)).isSymbolicLink(), f);
    assert.equal(readlinkSync(join(dir, f)), `../../blobs/${etag}`, f);
    assert.ok(readFileSync(join(repo, 'blobs', etag)).equals(bytes), f);
  }
  assert.deepEqual(readdirSync(join(repo, 'blobs')).filter((b) => /\.(incomplete|lock)$/.test(b)), [], 'no partial files or locks left');
  // absent optional files are remembered in .no_exist/<commit>/
  assert.ok(existsSync(join(repo, '.no_exist', mainCommit, 'adapter_config.json')));
  assert.ok(existsSync(join(repo, '.no_exist', mainCommit, 'chat_template.jinja')));

  // LFS: HEAD on the Hub (302), GET on the CDN; git files: HEAD (307 → /api/resolve-cache/…) + GET on the Hub
  assert.deepEqual(hub.requests('cdn').map((r) => `${r.method} ${r.path.split('?')[0]}`), [`GET /lfs/${sha256(files['model.safetensors'] as Buffer)}`]);
  assert.ok(hub.requests('hub').every((r) => r.method === 'HEAD' || !r.path.endsWith('.safetensors')));
  assert.ok(hub.requests('hub').some((r) => r.method === 'GET' && r.path.startsWith(`/api/resolve-cache/models/${ID}/${mainCommit}/tokenizer.json`)), 'git files come from where the 307 points');
  assert.ok(hub.requests('hub').some((r) => r.method === 'HEAD' && r.path === `/${ID}/resolve/main/config.json`));
  assert.ok(hub.requests('hub').some((r) => r.method === 'HEAD' && r.path === `/${ID}/resolve/${mainCommit}/model.safetensors`), 'files after the first are asked for at the commit');

  assert.deepEqual(await greedy(ID), expected);
});

test('a second resolve makes one request (the HEAD of config.json); with a commit hash or offline, none', async () => {
  await resolveModel(ID);
  hub.clearLog();
  await resolveModel(ID);
  assert.deepEqual(hub.requests().map((r) => `${r.method} ${r.path}`), [`HEAD /${ID}/resolve/main/config.json`]);
  hub.clearLog();
  assert.equal(await resolveModel(`${ID}@${mainCommit}`), join(repoDir(ID), 'snapshots', mainCommit));
  assert.equal(hub.requests().length, 0);
  process.env.HF_HUB_OFFLINE = '1';
  try {
    assert.equal(await resolveModel(ID), join(repoDir(ID), 'snapshots', mainCommit));
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
  assert.equal(hub.requests().length, 0);
});

test('--revision: a tag picks its commit (refs/<tag> records it), as an option or as id@revision; an unknown one is named', async () => {
  const snap = await snapshotModel(ID, { revision: 'v1' });
  assert.equal(snap.commit, v1Commit);
  assert.equal(readFileSync(join(repoDir(ID), 'refs', 'v1'), 'utf8'), v1Commit);
  assert.equal(JSON.parse(readFileSync(join(snap.dir, 'config.json'), 'utf8')).n_layer, 2);
  assert.deepEqual(await greedy(ID, 'v1'), await greedy(localV1));
  assert.equal(await resolveModel(`${ID}@v1`), snap.dir);
  assert.equal(await resolveModel(ID, { revision: v1Commit }), snap.dir);
  await assert.rejects(resolveModel(ID, { revision: 'v9' }), (err: Error) => err.name === 'HubNotFoundError' && /has no revision 'v9'/.test(err.message) && /--revision/.test(err.message));
  await assert.rejects(resolveModel(`${ID}@v1`, { revision: 'main' }), /names revision 'v1' and --revision says 'main'/);
});

test('a download cut off mid-body resumes with Range (in the same run, and from a .incomplete left by an earlier one); the blob matches its sha256', async () => {
  const dir = join(env.root, 'resume-src');
  await tinyModelDir(dir, { seed: 4 });
  const files = readDirFiles(dir);
  const weights = files['model.safetensors'] as Buffer;
  const sha = sha256(weights);
  hub.addCommit('tiny-org/resume', files);
  const cut = Math.floor(weights.length / 3);
  hub.cutAfter.set(sha, cut);
  hub.clearLog();
  const got = await resolveModel('tiny-org/resume');
  const cdn = hub.requests('cdn');
  assert.equal(cdn.length, 2, 'one cut-off GET, one resumed GET');
  assert.equal(cdn[0]!.range, undefined);
  assert.equal(cdn[1]!.range, `bytes=${cut}-`);
  assert.equal(sha256(readFileSync(join(got, 'model.safetensors'))), sha);

  // an earlier run killed halfway: blobs/<sha>.incomplete holds the first half
  const other = join(env.root, 'resume-src2');
  await tinyModelDir(other, { seed: 5 });
  const files2 = readDirFiles(other);
  const w2 = files2['model.safetensors'] as Buffer;
  hub.addCommit('tiny-org/resume2', files2);
  const blobs = join(repoDir('tiny-org/resume2'), 'blobs');
  mkdirSync(blobs, { recursive: true });
  const half = Math.floor(w2.length / 2);
  writeFileSync(join(blobs, `${sha256(w2)}.incomplete`), w2.subarray(0, half));
  hub.clearLog();
  const got2 = await resolveModel('tiny-org/resume2');
  assert.deepEqual(hub.requests('cdn').map((r) => r.range), [`bytes=${half}-`]);
  assert.ok(readFileSync(join(got2, 'model.safetensors')).equals(w2));
  assert.ok(!existsSync(join(blobs, `${sha256(w2)}.incomplete`)));
});

test('a partial file that is not a prefix of the blob is detected by its hash, deleted, and never becomes the blob', async () => {
  const dir = join(env.root, 'corrupt-src');
  await tinyModelDir(dir, { seed: 6 });
  const files = readDirFiles(dir);
  const w = files['model.safetensors'] as Buffer;
  hub.addCommit('tiny-org/corrupt', files);
  const blobs = join(repoDir('tiny-org/corrupt'), 'blobs');
  mkdirSync(blobs, { recursive: true });
  const part = join(blobs, `${sha256(w)}.incomplete`);
  writeFileSync(part, Buffer.alloc(1000, 7)); // garbage from some other download
  await assert.rejects(resolveModel('tiny-org/corrupt'), (err: Error) => err.name === 'HubError' && /model\.safetensors: the downloaded bytes hash to [0-9a-f]{64}, not to its ETag/.test(err.message));
  assert.ok(!existsSync(join(blobs, sha256(w))), 'no blob under the final name');
  assert.equal(readFileSync(part).length, 0, 'the partial file was emptied');
  const got = await resolveModel('tiny-org/corrupt'); // the next run starts over and succeeds
  assert.ok(readFileSync(join(got, 'model.safetensors')).equals(w));
});

test('a server that ignores Range sends the whole file again; the download starts over and is right', async () => {
  const dir = join(env.root, 'norange-src');
  await tinyModelDir(dir, { seed: 7 });
  const files = readDirFiles(dir);
  const w = files['model.safetensors'] as Buffer;
  hub.addCommit('tiny-org/norange', files);
  const blobs = join(repoDir('tiny-org/norange'), 'blobs');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(blobs, `${sha256(w)}.incomplete`), w.subarray(0, 5000));
  hub.ignoreRange = true;
  try {
    const got = await resolveModel('tiny-org/norange');
    assert.ok(readFileSync(join(got, 'model.safetensors')).equals(w));
  } finally {
    hub.ignoreRange = false;
  }
});

test('sharded safetensors: the index and every shard it names are fetched, and the model loads', async () => {
  const files = readDirFiles(sharded);
  const shards = Object.keys(files).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).sort();
  assert.ok(shards.length >= 2, 'the fixture is sharded');
  const snap = await snapshotModel('tiny-org/sharded');
  assert.deepEqual(snap.downloaded.filter((f) => f.startsWith('model')).sort(), ['model.safetensors.index.json', ...shards].sort());
  for (const s of shards) assert.ok(readFileSync(join(snap.dir, s)).equals(files[s] as Buffer));
  assert.deepEqual(await greedy('tiny-org/sharded'), await greedy(sharded));
  const { model: a } = await loadPretrained('tiny-org/sharded');
  const { model: b } = await loadPretrained(sharded);
  try {
    for (const [k, t] of a.stateDict()) assert.ok(torch.tidy(() => t.eq(b.stateDict().get(k)!).all().item() === 1), k);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('HF_TOKEN goes to the Hub as a Bearer token, never to the CDN; a renamed repository is followed', async () => {
  const dir = join(env.root, 'gated-src');
  await tinyModelDir(dir, { seed: 8 });
  hub.addCommit('tiny-org/gated', readDirFiles(dir), ['main'], { gatedTokens: ['hf_good'] });
  hub.renamed.set('tiny-org/old-name', 'tiny-org/gated');
  process.env.HF_TOKEN = 'hf_good';
  try {
    hub.clearLog();
    const got = await resolveModel('tiny-org/gated');
    assert.ok(hub.requests('hub').length > 0 && hub.requests('hub').every((r) => r.authorization === 'Bearer hf_good'));
    assert.ok(hub.requests('cdn').length === 1 && hub.requests('cdn').every((r) => r.authorization === undefined), 'the signed CDN URL gets no token');
    assert.ok(existsSync(join(got, 'model.safetensors')));
    // 307 to a relative URL (a renamed repository): followed, with the token, for the same commit
    const renamed = await snapshotModel('tiny-org/old-name');
    assert.equal(readFileSync(join(renamed.dir, 'config.json'), 'utf8'), readFileSync(join(dir, 'config.json'), 'utf8'));
  } finally {
    delete process.env.HF_TOKEN;
  }
});

test('the progress bar counts bytes on the given stream', async () => {
  const dir = join(env.root, 'progress-src');
  await tinyModelDir(dir, { seed: 9 });
  hub.addCommit('tiny-org/progress', readDirFiles(dir));
  let text = '';
  delete process.env.HF_HUB_DISABLE_PROGRESS_BARS;
  try {
    await snapshotModel('tiny-org/progress', { progress: { write: (s: string) => (text += s), isTTY: false } });
  } finally {
    process.env.HF_HUB_DISABLE_PROGRESS_BARS = '1';
  }
  const total = Object.entries(readDirFiles(dir)).filter(([f]) => !['vocab.json', 'merges.txt'].includes(f)).reduce((n, [, b]) => n + b.length, 0);
  const mb = Math.ceil(total / 1e6);
  assert.ok(total > 1e6);
  assert.match(text, new RegExp(`^downloading tiny-org/progress ${mb}/${mb} MB 100% elapsed \\S+ eta 0s .*MB/s file=model\\.safetensors$`, 'm'));
});

test('two resolves of the same model at once download each blob once (the lock), and both get the snapshot', async () => {
  const dir = join(env.root, 'twice-src');
  await tinyModelDir(dir, { seed: 10 });
  const files = readDirFiles(dir);
  hub.addCommit('tiny-org/twice', files);
  hub.clearLog();
  const [a, b] = await Promise.all([resolveModel('tiny-org/twice'), resolveModel('tiny-org/twice')]);
  assert.equal(a, b);
  assert.deepEqual(hub.requests('cdn').map((r) => r.path.split('?')[0]), [`/lfs/${sha256(files['model.safetensors'] as Buffer)}`]);
  assert.equal(hub.requests('hub').filter((r) => r.method === 'GET' && r.path.includes('/tokenizer.json')).length, 1);
  assert.ok(readFileSync(join(a, 'model.safetensors')).equals(files['model.safetensors'] as Buffer));
  assert.deepEqual(readdirSync(join(env.cache, '.locks', 'models--tiny-org--twice')), [], 'locks are released');
});
