// What goes wrong with a model id, and what the user is told: gated and private models (401/403),
// no such model (404), PyTorch-only weights, offline without a cached copy, a Hub that cannot be
// reached. Each is a named error whose message names the id and the fix; the CLI prints one line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HubClient } from '../../src/hub/http.js';
import { hubSettings } from '../../src/hub/cache.js';
import { resolveModel, HubAuthError, HubConnectionError, HubFormatError, HubNotFoundError, HubOfflineError } from '../../src/hub/index.js';
import { FakeHub, readDirFiles } from './fake-hub.js';
import { closedEndpoint, isolatedHubEnv, rlhf, tinyModelDir } from './helpers.js';

const hub = await new FakeHub().start();
const env = isolatedHubEnv(hub.hubUrl);
let files: Record<string, Buffer> = {};

before(async () => {
  await tinyModelDir(join(env.root, 'src'), { seed: 1 });
  files = readDirFiles(join(env.root, 'src'));
  hub.addCommit('acme/gated', files, ['main'], { gatedTokens: ['hf_granted'] });
  const { 'model.safetensors': weights, ...rest } = files;
  hub.addCommit('acme/bin-only', { ...rest, 'pytorch_model.bin': weights as Buffer });
  hub.addCommit('acme/no-weights', rest);
  hub.addCommit('acme/not-a-model', { 'README.md': Buffer.from('# hello\n') });
  hub.addCommit('acme/ok', files);
});
after(async () => {
  await hub.stop();
  env.cleanup();
});

const rejectsWith = async (p: Promise<unknown>, cls: new (...a: never[]) => Error, ...patterns: RegExp[]): Promise<string> => {
  let message = '';
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof cls, `${err.name}: ${err.message}`);
    for (const re of patterns) assert.match(err.message, re);
    message = err.message;
    return true;
  });
  return message;
};

test('a gated model without HF_TOKEN: 401, and the message says to accept the licence and set HF_TOKEN; with a token lacking access: 403', async () => {
  await rejectsWith(resolveModel('acme/gated'), HubAuthError, /acme\/gated is a gated model/, /no HF_TOKEN is set/, /HTTP 401/, new RegExp(`accept its licence on ${hub.hubUrl}/acme/gated`), /set HF_TOKEN/, /the Hub says: Access to model acme\/gated is restricted/);
  process.env.HF_TOKEN = 'hf_other';
  try {
    await rejectsWith(resolveModel('acme/gated'), HubAuthError, /HF_TOKEN's account has not been granted access \(HTTP 403\)/, /accept its licence/);
  } finally {
    delete process.env.HF_TOKEN;
  }
  const r = await rlhf(['generate', '--model', 'acme/gated', '--prompt', 'x']);
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /^rlhf generate: acme\/gated is a gated model .*HF_TOKEN/);
});

test('no such model: 404/401 RepoNotFound → "no such model or file", also saying the path is not a local directory', async () => {
  // anonymous: the Hub answers 401 with no error code (as for a private repository)
  const msg = await rejectsWith(resolveModel('acme/nothing-here'), HubNotFoundError, /^no such model or file: .*\/acme\/nothing-here does not exist \(or it is private or gated: set HF_TOKEN to a read token, and for a gated model accept its licence on the model page\), and 'acme\/nothing-here' is not a local directory either — check the spelling$/);
  assert.doesNotMatch(msg, /Invalid username or password/);
  // with a token: 404 RepoNotFound
  process.env.HF_TOKEN = 'hf_any';
  try {
    await rejectsWith(resolveModel('acme/nothing-here'), HubNotFoundError, /does not exist or HF_TOKEN cannot read it/);
  } finally {
    delete process.env.HF_TOKEN;
  }
  const r = await rlhf(['generate', '--model', 'acme/nothing-here', '--prompt', 'x']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^rlhf generate: no such model or file/);
});

test('a repository with only pytorch_model.bin: safetensors are needed, and the message shows how to convert', async () => {
  await rejectsWith(resolveModel('acme/bin-only'), HubFormatError, /acme\/bin-only has only pytorch_model\.bin/, /rlhf reads safetensors/, /save_pretrained\('DIR', safe_serialization=True\)/, /--model DIR/);
  await rejectsWith(resolveModel('acme/no-weights'), HubNotFoundError, /has no model\.safetensors or model\.safetensors\.index\.json/);
  await rejectsWith(resolveModel('acme/not-a-model'), HubNotFoundError, /acme\/not-a-model has no config\.json, so it is not a transformers model/);
});

test('HF_HUB_OFFLINE=1: a model not in the cache is an error naming the id and `rlhf pull`, with no request; a cached one loads with none', async () => {
  process.env.HF_HUB_OFFLINE = '1';
  hub.clearLog();
  try {
    await rejectsWith(resolveModel('acme/ok'), HubOfflineError, /^HF_HUB_OFFLINE is set and acme\/ok cannot be loaded: it is not in the Hugging Face cache/, /'rlhf pull acme\/ok'/, /unset HF_HUB_OFFLINE/);
    await rejectsWith(resolveModel('acme/ok@v2'), HubOfflineError, /acme\/ok \(revision v2\)/, /'rlhf pull acme\/ok --revision v2'/);
    assert.equal(hub.requests().length, 0);
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
  const online = await resolveModel('acme/ok');
  process.env.HF_HUB_OFFLINE = 'true';
  hub.clearLog();
  try {
    assert.equal(await resolveModel('acme/ok'), online);
    const r = await rlhf(['generate', '--model', 'acme/ok', '--prompt', 'Hi', '--greedy', '--max-new-tokens', '3', '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).tokens.length, 3);
    assert.equal(hub.requests().length, 0);
  } finally {
    delete process.env.HF_HUB_OFFLINE;
  }
});

test('a Hub that cannot be reached: the cached copy stands in (with a note); without one, an error naming the endpoint and the cache', async () => {
  const online = await resolveModel('acme/ok');
  const closed = await closedEndpoint();
  const re = closed.replace(/[.:/]/g, '\\$&');
  const lines: string[] = [];
  assert.equal(await resolveModel('acme/ok', { endpoint: closed, onLog: (l) => lines.push(l) }), online);
  assert.match(lines.join('\n'), new RegExp(`cannot reach ${re} for acme/ok/config\\.json \\(ECONNREFUSED\\) — using the cached acme/ok \\(commit [0-9a-f]{12}\\)`));
  await rejectsWith(resolveModel('acme/never-seen', { endpoint: closed }), HubConnectionError, new RegExp(`cannot reach ${re}`), /acme\/never-seen is not in the Hugging Face cache/, /rlhf pull acme\/never-seen/);
  // a typo in a relative path that looks like an id: the message says so
  await rejectsWith(resolveModel('runs/sft-typo', { endpoint: closed }), HubConnectionError, /if 'runs\/sft-typo' is a local directory, check the path/);
});

test('answers without an error code: 401 without a token is "no such model", a refused token and 403 are auth errors, 5xx a connection error, a bare 404 on a file is "not there"', () => {
  const client = new HubClient('acme/x', hubSettings({ endpoint: 'https://hub.example', token: null }));
  const withToken = new HubClient('acme/x', hubSettings({ endpoint: 'https://hub.example', token: 'hf_bad' }));
  const res = (status: number, headers: Record<string, string> = {}): Response => new Response(null, { status, headers });
  const e401 = client.errorFor(res(401, { 'x-error-message': 'Invalid username or password.' }), 'main', 'config.json');
  assert.ok(e401 instanceof HubNotFoundError && /^no such model or file: .*or it is private or gated: set HF_TOKEN/.test(e401.message));
  const bad = withToken.errorFor(res(401, { 'x-error-message': 'Invalid credentials in Authorization header' }), 'main', 'config.json');
  assert.ok(bad instanceof HubAuthError && /refused HF_TOKEN for acme\/x \(HTTP 401\): the token is invalid or expired/.test(bad.message));
  const refused = client.errorFor(res(401, { 'x-error-message': 'Invalid credentials in Authorization header' }), 'main', 'config.json');
  assert.ok(refused instanceof HubAuthError);
  const e403 = client.errorFor(res(403), 'main', 'config.json');
  assert.ok(e403 instanceof HubAuthError && /access to acme\/x denied \(HTTP 403\)/.test(e403.message));
  const e503 = client.errorFor(res(503), 'main', 'config.json');
  assert.ok(e503 instanceof HubConnectionError && /answered HTTP 503 for acme\/x\/config\.json; try again later/.test(e503.message));
  assert.equal(client.errorFor(res(404), 'main', 'config.json'), 'missing');
  assert.equal(client.errorFor(res(404, { 'x-error-code': 'EntryNotFound' }), 'main', 'x.json'), 'missing');
  const rev = client.errorFor(res(404, { 'x-error-code': 'RevisionNotFound' }), 'v7', 'config.json');
  assert.ok(rev instanceof HubNotFoundError && /has no revision 'v7'/.test(rev.message));
});

test('HF_TOKEN falls back to HUGGING_FACE_HUB_TOKEN and to the token file in HF_HOME (what huggingface-cli login writes)', async () => {
  const { writeFileSync, mkdirSync } = await import('node:fs');
  assert.equal(hubSettings().token, null);
  mkdirSync(process.env.HF_HOME as string, { recursive: true });
  writeFileSync(join(process.env.HF_HOME as string, 'token'), 'hf_from_file\n');
  assert.equal(hubSettings().token, 'hf_from_file');
  process.env.HUGGING_FACE_HUB_TOKEN = 'hf_legacy';
  assert.equal(hubSettings().token, 'hf_legacy');
  process.env.HF_TOKEN = 'hf_new';
  assert.equal(hubSettings().token, 'hf_new');
  delete process.env.HF_TOKEN;
  delete process.env.HUGGING_FACE_HUB_TOKEN;
  const { rmSync } = await import('node:fs');
  rmSync(join(process.env.HF_HOME as string, 'token'));
  assert.equal(hubSettings({}, { HF_HOME: '/x', HF_HUB_CACHE: undefined }).cacheDir, '/x/hub');
  assert.equal(hubSettings({}, { XDG_CACHE_HOME: '/xdg' }).cacheDir, '/xdg/huggingface/hub');
  assert.equal(hubSettings({}, { HF_ENDPOINT: 'https://mirror.example/' }).endpoint, 'https://mirror.example');
  assert.equal(hubSettings({}, { HF_HUB_OFFLINE: 'YES' }).offline, true);
});
