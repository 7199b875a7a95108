// A model by Hub id: `--model HuggingFaceTB/SmolLM2-135M` anywhere a model directory is taken.
//
//   resolveModel(ref)      a local path that exists → itself (always wins)
//                          `org/name`, `name`, `org/name@revision` → the snapshot directory in the
//                          Hugging Face cache, downloading what is missing (cache.ts, download.ts)
//                          anything else → itself (the loader then says what is wrong with the path)
//
// What one resolve does (what transformers' from_pretrained does, file by file):
//   1. HEAD config.json at the revision → X-Repo-Commit: the commit the revision points at now. A
//      full commit hash already in the cache needs no request at all. Offline (HF_HUB_OFFLINE=1),
//      or when the Hub cannot be reached, refs/<revision> in the cache names the commit instead.
//   2. the files a model directory needs, at that commit: weights (model.safetensors, or the index
//      and every shard it names), tokenizer files, generation_config.json, a LoRA adapter's files.
//      Each is skipped when the snapshot has it or .no_exist says the commit lacks it; else a HEAD
//      (a 404 is remembered in .no_exist, so the next resolve does not ask again).
//   3. the missing blobs, with one progress bar; each linked into snapshots/<commit>/ when complete
//   4. refs/<revision> ← commit, once the snapshot is complete
// So a second resolve of the same model makes one request (step 1), none offline or for a commit.
import { existsSync, readFileSync } from 'node:fs';
import type { ProgressStream } from '../cli/progress.js';
import { Progress } from '../cli/progress.js';
import { COMMIT_HASH, DEFAULT_REVISION, RepoCache, hubSettings, type HubSettings } from './cache.js';
import { downloadBlob } from './download.js';
import { HubClient, type FileMeta, type Head } from './http.js';
import { HubAuthError, HubConnectionError, HubError, HubFormatError, HubNotFoundError, HubOfflineError } from './errors.js';

export interface ResolveOptions extends Partial<HubSettings> {
  /** Branch, tag or commit hash. Default 'main' (or the `@revision` of the id). */
  revision?: string;
  /** Where the download progress bar goes (default stderr), or false for none. HF_HUB_DISABLE_PROGRESS_BARS=1 also turns it off. */
  progress?: ProgressStream | false;
  /** Messages for the user ("using the cached copy: the Hub cannot be reached"). Default: stderr. */
  onLog?: (line: string) => void;
}

/** A model's snapshot in the cache. */
export interface HubSnapshot {
  repoId: string;
  revision: string;
  commit: string;
  /** snapshots/<commit>: a model directory. */
  dir: string;
  /** Files fetched by this call (none when everything was cached). */
  downloaded: string[];
}

/** Tokenizer files, as save_pretrained writes them; vocab.json + merges.txt only without tokenizer.json. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'chat_template.jinja'];
const OPTIONAL_FILES = ['generation_config.json', ...TOKENIZER_FILES, 'adapter_config.json', 'adapter_model.safetensors'];
const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';
const LEGACY = ['pytorch_model.bin', 'pytorch_model.bin.index.json'];

const ID_PART = /^[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?$/;

/** Whether `s` is shaped like a Hub model id: `name` or `org/name` (huggingface_hub's rules). */
export function isHubId(s: string): boolean {
  const parts = s.split('/');
  return parts.length <= 2 && parts.every((p) => ID_PART.test(p)) && !s.includes('--') && !s.includes('..') && !s.endsWith('.git');
}

/** `org/name` or `org/name@revision` → its parts; null when it is not a Hub id. */
export function parseHubRef(ref: string): { repoId: string; revision: string | null } | null {
  const at = ref.indexOf('@');
  const repoId = at < 0 ? ref : ref.slice(0, at);
  const revision = at < 0 ? null : ref.slice(at + 1);
  if (!isHubId(repoId) || revision === '') return null;
  return { repoId, revision };
}

/**
 * The local directory of a model reference: a path that exists as is; a Hub id (`org/name`,
 * `org/name@revision`) as its snapshot in the Hugging Face cache, downloaded when missing; anything
 * else unchanged (the loader's error then names the path).
 */
export async function resolveModel(ref: string, opts: ResolveOptions = {}): Promise<string> {
  if (existsSync(ref)) return ref;
  const hub = parseHubRef(ref);
  if (!hub) return ref;
  if (hub.revision !== null && opts.revision !== undefined && opts.revision !== hub.revision) {
    throw new HubError(hub.repoId, `${ref} names revision '${hub.revision}' and --revision says '${opts.revision}'; give it once`);
  }
  return (await snapshotModel(hub.repoId, { ...opts, revision: hub.revision ?? opts.revision }, ref)).dir;
}

/**
 * Every value of `config` that names a model — the key `model` and every `…Model` key
 * (rewardModel, refModel, valueModel, …) — resolved with resolveModel; `model` at
 * `config.revision` when there is one. What every command does with its config before it runs.
 */
export async function resolveModelFields<T extends object>(config: T, opts: ResolveOptions = {}): Promise<T> {
  const out: Record<string, unknown> = { ...(config as Record<string, unknown>) };
  const revision = (config as { revision?: unknown }).revision;
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'string' || !isModelKey(key)) continue;
    const rev = key === 'model' && typeof revision === 'string' ? revision : undefined;
    out[key] = await resolveModel(value, { ...opts, ...(rev !== undefined ? { revision: rev } : {}) });
  }
  return out as T;
}

/** `model`, `rewardModel`, `refModel`, `valueModel`, …: the config keys that name a model. */
export function isModelKey(key: string): boolean {
  return key === 'model' || /^[a-z][A-Za-z]*Model$/.test(key);
}

/** The snapshot of `repoId` at `opts.revision` with every file a model directory needs. */
export async function snapshotModel(repoId: string, opts: ResolveOptions = {}, ref: string = repoId): Promise<HubSnapshot> {
  const s = hubSettings(opts);
  const revision = opts.revision ?? DEFAULT_REVISION;
  const cache = new RepoCache(s.cacheDir, repoId);
  const client = new HubClient(repoId, s, ref);
  const log = opts.onLog ?? ((line: string) => void process.stderr.write(`${line}\n`));
  if (s.offline) return cachedOrThrow(cache, revision, s, 'HF_HUB_OFFLINE is set');

  // 1. the commit
  let commit: string;
  let configHead: Head | null = null;
  if (COMMIT_HASH.test(revision) && (cache.has(revision, 'config.json') || cache.has(revision, 'adapter_config.json'))) {
    commit = revision;
  } else {
    try {
      configHead = await client.head(revision, 'config.json', (c) => cache.has(c, 'config.json'));
    } catch (err) {
      // No network, a timeout, a 5xx, or (as huggingface_hub) a token that no longer works: the
      // cache stands in when it has the model.
      if (!(err instanceof HubConnectionError || err instanceof HubAuthError)) throw err;
      const cached = cachedSnapshot(cache, revision);
      if (!cached) {
        if (err instanceof HubAuthError) throw err;
        throw new HubConnectionError(repoId, `${err.message}; and ${describe(repoId, revision)} is not in the Hugging Face cache (${s.cacheDir}). Check the network and HF_ENDPOINT, or fetch it where the Hub can be reached with 'rlhf pull ${repoId}' — or, if '${ref}' is a local directory, check the path (no such directory here)`, { cause: err });
      }
      log(`${err.message} — using the cached ${describe(repoId, revision)} (commit ${cached.commit.slice(0, 12)})`);
      return cached;
    }
    const c = configHead.found ? configHead.meta.commit : configHead.commit;
    if (!c) throw new HubNotFoundError(repoId, client.noSuchModel());
    commit = c;
  }

  // 2. the files
  const fetchList = new Map<string, FileMeta>();
  const downloaded: string[] = [];
  const probe = async (file: string): Promise<boolean> => {
    if (cache.has(commit, file)) return true;
    if (cache.knownMissing(commit, file)) return false;
    const head = file === 'config.json' && configHead ? configHead : await client.head(commit, file);
    if (!head.found) {
      if (head.commit === commit) await cache.markMissing(commit, file);
      return false;
    }
    fetchList.set(file, head.meta);
    return true;
  };
  const fetchNow = async (file: string): Promise<void> => {
    const meta = fetchList.get(file);
    if (!meta) return;
    await downloadBlob({ client, cache, file, meta, refresh: () => freshMeta(client, commit, file) });
    await cache.link(commit, file, meta.etag);
    fetchList.delete(file);
    downloaded.push(file);
  };

  const hasConfig = await probe('config.json');
  const [hasSingle, ...optional] = await Promise.all([probe(SINGLE), ...OPTIONAL_FILES.map(probe)]);
  const found = new Set(OPTIONAL_FILES.filter((_, i) => optional[i]));
  if (!found.has('tokenizer.json')) await Promise.all(['vocab.json', 'merges.txt'].map(probe));
  let hasWeights = hasSingle === true;
  if (!hasWeights && (await probe(INDEX))) {
    await fetchNow(INDEX);
    const shards = shardsOf(cache, commit, repoId);
    const present = await Promise.all(shards.map(probe));
    const missing = shards.filter((_, i) => !present[i]);
    if (missing.length) throw new HubFormatError(repoId, `${describe(repoId, revision)}: ${INDEX} names ${missing.join(', ')}, which the repository does not have; the upload is incomplete — try another revision`);
    hasWeights = true;
  }
  if (!hasConfig && !found.has('adapter_config.json')) {
    throw new HubNotFoundError(repoId, `${describe(repoId, revision)} has no config.json, so it is not a transformers model (no such model or file: ${client.resolveUrl(revision, 'config.json')})`);
  }
  if (!hasWeights && !found.has('adapter_model.safetensors')) {
    const legacy = [];
    for (const f of LEGACY) if ((await client.head(commit, f)).found) legacy.push(f);
    if (legacy.length) {
      throw new HubFormatError(repoId, `${describe(repoId, revision)} has only ${legacy.join(' and ')} (PyTorch pickle weights); rlhf reads safetensors. Convert it once with transformers — python -c "from transformers import AutoModelForCausalLM as M, AutoTokenizer as T; M.from_pretrained('${repoId}').save_pretrained('DIR', safe_serialization=True); T.from_pretrained('${repoId}').save_pretrained('DIR')" — and pass --model DIR, or pick a revision that has model.safetensors (--revision; the Hub's safetensors conversion bot opens one as a pull request, refs/pr/N)`);
    }
    throw new HubNotFoundError(repoId, `${describe(repoId, revision)} has no ${SINGLE} or ${INDEX} (no such model or file); rlhf loads safetensors weights`);
  }

  // 3. the blobs, small files first (a weights download that fails leaves config and tokenizer in place)
  const bytes = [...fetchList.values()].reduce((n, m) => n + (m.size ?? 0), 0);
  const bar = fetchList.size ? progressBar(repoId, bytes, opts.progress) : null;
  let done = 0;
  try {
    for (const [file, meta] of [...fetchList].sort((a, b) => (a[1].size ?? 0) - (b[1].size ?? 0))) {
      await downloadBlob({ client, cache, file, meta, refresh: () => freshMeta(client, commit, file), onProgress: (n) => bar?.update(done + n, file) });
      await cache.link(commit, file, meta.etag);
      downloaded.push(file);
      done += meta.size ?? 0;
    }
  } finally {
    bar?.done();
  }

  // 4. the ref, now that the snapshot is complete
  await cache.writeRef(revision, commit);
  return { repoId, revision, commit, dir: cache.snapshot(commit), downloaded };
}

/**
 * Fetches the files of `repoId` whose names match one of `patterns` (globs: `*`, `?`, `[abc]`;
 * `*` also crosses `/`), listing the repository through the Hub's API. What `rlhf pull --include`
 * does.
 */
export async function snapshotFiles(repoId: string, patterns: string[], opts: ResolveOptions = {}): Promise<HubSnapshot> {
  const s = hubSettings(opts);
  const revision = opts.revision ?? DEFAULT_REVISION;
  const cache = new RepoCache(s.cacheDir, repoId);
  const client = new HubClient(repoId, s);
  if (s.offline) throw new HubOfflineError(repoId, `HF_HUB_OFFLINE is set, and listing the files of ${repoId} to match --include needs the Hub; unset HF_HUB_OFFLINE`);
  const { commit, files } = await client.listFiles(revision);
  const regexes = patterns.map(globToRegExp);
  const wanted = files.filter((f) => regexes.some((r) => r.test(f)));
  if (!wanted.length) throw new HubNotFoundError(repoId, `no file of ${describe(repoId, revision)} matches ${patterns.join(', ')}; it has ${files.slice(0, 20).join(', ')}${files.length > 20 ? ', …' : ''}`);
  const todo: [string, FileMeta][] = [];
  for (const file of wanted) {
    if (cache.has(commit, file)) continue;
    const head = await client.head(commit, file);
    if (!head.found) throw new HubNotFoundError(repoId, `${describe(repoId, revision)} lists ${file} but it cannot be downloaded (no such model or file)`);
    todo.push([file, head.meta]);
  }
  const bar = todo.length ? progressBar(repoId, todo.reduce((n, [, m]) => n + (m.size ?? 0), 0), opts.progress) : null;
  let done = 0;
  try {
    for (const [file, meta] of todo) {
      await downloadBlob({ client, cache, file, meta, refresh: () => freshMeta(client, commit, file), onProgress: (n) => bar?.update(done + n, file) });
      await cache.link(commit, file, meta.etag);
      done += meta.size ?? 0;
    }
  } finally {
    bar?.done();
  }
  await cache.writeRef(revision, commit);
  return { repoId, revision, commit, dir: cache.snapshot(commit), downloaded: todo.map(([f]) => f) };
}

/** `*` any run of characters (also `/`, as fnmatch), `?` one, `[…]` a class; the rest literally. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end);
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

// ----- the cache alone ------------------------------------------------------------------------

/** The snapshot of `revision` when the cache holds a complete model for it (no request). */
export function cachedSnapshot(cache: RepoCache, revision: string): HubSnapshot | null {
  const commit = cache.commitOf(revision);
  if (!commit || missingFromSnapshot(cache, commit, cache.repoId).length) return null;
  return { repoId: cache.repoId, revision, commit, dir: cache.snapshot(commit), downloaded: [] };
}

function cachedOrThrow(cache: RepoCache, revision: string, s: HubSettings, why: string): HubSnapshot {
  const found = cachedSnapshot(cache, revision);
  if (found) return found;
  const commit = cache.commitOf(revision);
  const lacking = commit ? missingFromSnapshot(cache, commit, cache.repoId) : [];
  const state = commit ? `its cached snapshot ${commit.slice(0, 12)} lacks ${lacking.join(', ')}` : `it is not in the Hugging Face cache (${s.cacheDir})`;
  throw new HubOfflineError(cache.repoId, `${why} and ${describe(cache.repoId, revision)} cannot be loaded: ${state}. Fetch it while online with 'rlhf pull ${cache.repoId}${revision === DEFAULT_REVISION ? '' : ` --revision ${revision}`}' (or 'huggingface-cli download ${cache.repoId}'), or unset HF_HUB_OFFLINE`);
}

/** What a snapshot lacks to be loadable: a config and complete weights (a model's, or a LoRA adapter's). */
function missingFromSnapshot(cache: RepoCache, commit: string, repoId: string): string[] {
  const out: string[] = [];
  if (!cache.has(commit, 'config.json') && !cache.has(commit, 'adapter_config.json')) out.push('config.json');
  if (cache.has(commit, SINGLE) || cache.has(commit, 'adapter_model.safetensors')) return out;
  if (!cache.has(commit, INDEX)) return [...out, SINGLE];
  try {
    out.push(...shardsOf(cache, commit, repoId).filter((f) => !cache.has(commit, f)));
  } catch {
    out.push(INDEX);
  }
  return out;
}

/** The shard files `model.safetensors.index.json` names (checked to be plain names in the snapshot). */
function shardsOf(cache: RepoCache, commit: string, repoId: string): string[] {
  const file = cache.pointer(commit, INDEX);
  let map: unknown;
  try {
    map = (JSON.parse(readFileSync(file, 'utf8')) as { weight_map?: unknown }).weight_map;
  } catch (err) {
    throw new HubFormatError(repoId, `${file} is not valid JSON (${(err as Error).message}); delete it and run again`, { cause: err });
  }
  if (map === null || typeof map !== 'object') throw new HubFormatError(repoId, `${file} has no weight_map; the repository's ${INDEX} is not a safetensors index`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const s of shards) {
    if (typeof s !== 'string' || s.startsWith('/') || s.split('/').some((p) => p === '..' || p === '')) throw new HubFormatError(repoId, `${file} names the shard ${JSON.stringify(s)}, which is not a file name in the repository`);
  }
  return (shards as string[]).sort();
}

// ----- helpers --------------------------------------------------------------------------------

/** A fresh HEAD for a file, for a signed download URL that expired. */
async function freshMeta(client: HubClient, commit: string, file: string): Promise<FileMeta> {
  const head = await client.head(commit, file);
  if (!head.found) throw new HubNotFoundError(client.repoId, `${client.repoId}/${file} is no longer on the Hub at commit ${commit} (no such model or file)`);
  return head.meta;
}

function describe(repoId: string, revision: string): string {
  return revision === DEFAULT_REVISION ? repoId : `${repoId} (revision ${revision})`;
}

/** A byte-counting progress bar in MB (kB below 1 MB); null when progress bars are off. */
function progressBar(repoId: string, totalBytes: number, stream: ProgressStream | false | undefined): { update(bytes: number, file: string): void; done(): void } | null {
  if (stream === false || /^(1|on|yes|true)$/i.test(process.env.HF_HUB_DISABLE_PROGRESS_BARS ?? '')) return null;
  const [scale, unit] = totalBytes >= 1e6 ? [1e6, 'MB'] : [1e3, 'kB'];
  const units = Math.max(1, Math.ceil(totalBytes / scale));
  const bar = new Progress({ total: units, label: `downloading ${repoId}`, unit, ...(stream ? { stream } : {}) });
  return {
    update: (bytes, file) => bar.update(bytes >= totalBytes ? units : Math.floor(bytes / scale), { file }),
    done: () => bar.done(),
  };
}
