// The Hugging Face cache, laid out exactly as Python's huggingface_hub lays it out, so that a model
// downloaded by either is found by the other:
//
//   $HF_HUB_CACHE (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
//   └── models--HuggingFaceTB--SmolLM2-135M          models--{org}--{name}
//       ├── blobs/<etag>                             file contents, named by ETag: the sha256 of an
//       │                                            LFS file, the git blob sha1 of any other file
//       ├── blobs/<etag>.incomplete                  a download in progress (resumed with Range)
//       ├── refs/main                                the commit a branch or tag pointed to (no newline)
//       ├── snapshots/<commit>/config.json           → ../../blobs/<etag> (relative symlinks)
//       └── .no_exist/<commit>/<file>                empty: "this file is not in that commit"
//   .locks/models--{org}--{name}/<etag>.lock          held while a blob downloads
//
// Settings come from the same environment variables as huggingface_hub: HF_ENDPOINT, HF_HUB_CACHE
// (HUGGINGFACE_HUB_CACHE), HF_HOME, XDG_CACHE_HOME, HF_TOKEN (HUGGING_FACE_HUB_TOKEN, else the
// file HF_TOKEN_PATH or $HF_HOME/token that `huggingface-cli login` writes), HF_HUB_OFFLINE,
// (TRANSFORMERS_OFFLINE), HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT, HF_HUB_DISABLE_PROGRESS_BARS.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';
/** A full commit hash: what snapshots/ is named by. */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** Where and how to reach the Hub; every field defaults from the environment (hubSettings). */
export interface HubSettings {
  /** Base URL of the Hub (HF_ENDPOINT), no trailing slash. */
  endpoint: string;
  /** The hub cache directory (HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir: string;
  /** Sent as `Authorization: Bearer …` to the Hub (never to a CDN on another host). */
  token: string | null;
  /** Cache only: no request at all (HF_HUB_OFFLINE=1). */
  offline: boolean;
  /** Timeout of a metadata request (HEAD), ms (HF_HUB_ETAG_TIMEOUT, seconds; default 10). */
  etagTimeoutMs: number;
  /** Longest wait for the next bytes of a download, ms (HF_HUB_DOWNLOAD_TIMEOUT, seconds; default 10). */
  downloadTimeoutMs: number;
}

const truthy = (v: string | undefined): boolean => v !== undefined && /^(1|on|yes|true)$/i.test(v.trim());
const expand = (p: string): string => (p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p);

/** HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HOME) return expand(env.HF_HOME);
  return join(env.XDG_CACHE_HOME ? expand(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'huggingface');
}

/** The settings of the environment, with `overrides` on top. */
export function hubSettings(overrides: Partial<HubSettings> = {}, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const seconds = (v: string | undefined, d: number): number => (v !== undefined && Number(v) > 0 ? Number(v) * 1000 : d);
  return {
    endpoint: (overrides.endpoint ?? env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    cacheDir: overrides.cacheDir ?? expand(env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(env), 'hub')),
    token: overrides.token !== undefined ? overrides.token : tokenFromEnv(env),
    offline: overrides.offline ?? (truthy(env.HF_HUB_OFFLINE) || truthy(env.TRANSFORMERS_OFFLINE)),
    etagTimeoutMs: overrides.etagTimeoutMs ?? seconds(env.HF_HUB_ETAG_TIMEOUT, 10_000),
    downloadTimeoutMs: overrides.downloadTimeoutMs ?? seconds(env.HF_HUB_DOWNLOAD_TIMEOUT, 10_000),
  };
}

/** HF_TOKEN, HUGGING_FACE_HUB_TOKEN, else the token file `huggingface-cli login` writes. */
function tokenFromEnv(env: NodeJS.ProcessEnv): string | null {
  const direct = env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (direct !== undefined) return direct.trim() || null;
  const file = env.HF_TOKEN_PATH ? expand(env.HF_TOKEN_PATH) : join(hfHome(env), 'token');
  try {
    return readFileSync(file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** One model repository in the cache. */
export class RepoCache {
  /** models--{org}--{name} under the cache directory. */
  readonly dir: string;
  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.dir = resolve(cacheDir, `models--${repoId.split('/').join('--')}`);
  }

  /** The commit `revision` resolved to when it was last seen online: itself for a commit hash, else refs/<revision>. */
  commitOf(revision: string): string | null {
    if (COMMIT_HASH.test(revision)) return revision;
    try {
      const commit = readFileSync(this.inside('refs', revision), 'utf8').trim();
      return COMMIT_HASH.test(commit) ? commit : null;
    } catch {
      return null;
    }
  }

  /** Records that `revision` (a branch or tag) points at `commit`; nothing for a commit hash. */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    const file = this.inside('refs', revision);
    const old = await readFile(file, 'utf8').catch(() => null);
    if (old === commit) return; // unchanged: do not touch a cache that may be read-only
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, commit);
  }

  snapshot(commit: string): string {
    return this.inside('snapshots', commit);
  }

  /** snapshots/<commit>/<file>: a symlink to the blob. */
  pointer(commit: string, file: string): string {
    return this.inside('snapshots', commit, file);
  }

  blob(etag: string): string {
    return this.inside('blobs', etag);
  }

  /** .no_exist/<commit>/<file>: the file was looked for in that commit and is not there. */
  noExist(commit: string, file: string): string {
    return this.inside('.no_exist', commit, file);
  }

  /** Whether the snapshot has `file` (a symlink whose blob is there, or a plain file). */
  has(commit: string, file: string): boolean {
    return statSync(this.pointer(commit, file), { throwIfNoEntry: false })?.isFile() === true;
  }

  /** Whether `file` is known to be absent from `commit`. */
  knownMissing(commit: string, file: string): boolean {
    return existsSync(this.noExist(commit, file));
  }

  async markMissing(commit: string, file: string): Promise<void> {
    const p = this.noExist(commit, file);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, '');
  }

  /**
   * Makes snapshots/<commit>/<file> a relative symlink to blobs/<etag> (so the cache can be moved),
   * replacing whatever was there. Where symlinks are not allowed, a copy of the blob.
   */
  async link(commit: string, file: string, etag: string): Promise<void> {
    const pointer = this.pointer(commit, file);
    const blob = this.blob(etag);
    await mkdir(dirname(pointer), { recursive: true });
    await unlink(pointer).catch(() => undefined);
    try {
      await symlink(relative(dirname(pointer), blob), pointer);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      await copyFile(blob, pointer);
    }
  }

  /** Where a download of blob `etag` is locked: .locks/models--{org}--{name}/<etag>.lock, as huggingface_hub. */
  lock(etag: string): string {
    this.blob(etag); // the same checks on the name
    return join(resolve(this.cacheDir), '.locks', basename(this.dir), `${etag}.lock`);
  }

  /** A path under the repo folder; refuses names that would climb out of it. */
  private inside(...parts: string[]): string {
    const p = resolve(this.dir, ...parts);
    if (!p.startsWith(this.dir + sep) || parts.some((x) => isAbsolute(x))) throw new Error(`hub cache: ${parts.join('/')} is not a path inside ${this.dir}`);
    return p;
  }
}
