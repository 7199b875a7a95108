// Requests to the Hub, as huggingface_hub makes them.
//
//   HEAD {endpoint}/{id}/resolve/{revision}/{file}     metadata, without following the redirect:
//     200                     a regular (git) file: ETag = git blob sha1, Content-Length
//     302 Location: https://cdn…   an LFS file: X-Linked-Etag = sha256, X-Linked-Size; the Location is
//                             where to GET it (signed; it gets no Authorization header: another host)
//     307 Location: /api/resolve-cache/…   a git file (its metadata is on the 200 that follows), or
//     307 Location: /new/name/…           a renamed repository: relative redirects are followed (with the token)
//     every answer carries X-Repo-Commit: the commit the revision points at
//     404 X-Error-Code: EntryNotFound      no such file in that commit (still with X-Repo-Commit)
//     404 RevisionNotFound, 401/404 RepoNotFound, 401/403 GatedRepo     see errorFor
//   GET  the Location, with Range: bytes=N- to resume a partial download (206 Partial Content)
//   GET  {endpoint}/api/models/{id}/revision/{revision}   {sha, siblings: [{rfilename}]} (rlhf pull --include)
//
// Accept-Encoding: identity on every request, so sizes and byte ranges are those of the file itself.
import type { HubSettings } from './cache.js';
import { HubAuthError, HubConnectionError, HubError, HubNotFoundError } from './errors.js';

const USER_AGENT = `rlhf (Node.js ${process.versions.node}; ${process.platform})`;
const MAX_REDIRECTS = 10;

/** What a HEAD on a resolve URL says about one file. */
export interface FileMeta {
  /** The commit the revision resolved to (X-Repo-Commit). */
  commit: string;
  /** The blob's name: X-Linked-Etag (an LFS file's sha256), else ETag (a git blob sha1), unquoted. */
  etag: string;
  /** Bytes (X-Linked-Size, else Content-Length); null when the server does not say. */
  size: number | null;
  /** Where to GET the bytes: the CDN for LFS files, else the resolve URL. */
  location: string;
}

/** A HEAD's answer: the file's metadata, or "not in this commit" (with the commit when the Hub said it). */
export type Head = { found: true; meta: FileMeta } | { found: false; commit: string | null };

/** The Hub API for one model repository. `ref` is what the user wrote (for messages). */
export class HubClient {
  constructor(
    readonly repoId: string,
    readonly settings: HubSettings,
    readonly ref: string = repoId,
  ) {}

  resolveUrl(revision: string, file: string): string {
    return `${this.settings.endpoint}/${this.repoId}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** Request headers for `url`; the token goes only to the Hub's own host (never to a CDN). */
  headers(url: string, extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...extra };
    if (this.settings.token && hostOf(url) === hostOf(this.settings.endpoint)) h.authorization = `Bearer ${this.settings.token}`;
    return h;
  }

  /**
   * HEAD the file at `revision`, following relative redirects only (see the top of the file).
   * `cached(commit)`: whether the cache already has the file at that commit — then a redirect that
   * names the commit is not followed (its metadata is not needed), saving a round trip.
   */
  async head(revision: string, file: string, cached?: (commit: string) => boolean): Promise<Head> {
    let url = this.resolveUrl(revision, file);
    for (let hops = 0; ; hops++) {
      const res = await this.fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(this.settings.etagTimeoutMs) }, file);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        if (isRelative(location) && hops < MAX_REDIRECTS) {
          const commit = commitHeader(res);
          const etag = normalizeEtag(res.headers.get('x-linked-etag'));
          if (commit && etag && cached?.(commit)) return { found: true, meta: { commit, etag, size: null, location: new URL(location, url).href } };
          url = new URL(location, url).href; // the Hub's /api/resolve-cache/… for git files, or a renamed repository
          continue;
        }
        return { found: true, meta: this.meta(res, new URL(location, url).href, file, true) };
      }
      if (res.ok) return { found: true, meta: this.meta(res, url, file, false) };
      const err = this.errorFor(res, revision, file);
      if (err === 'missing') return { found: false, commit: commitHeader(res) };
      throw err;
    }
  }

  /** GET `url` from byte `start` on (Range) — the body is the caller's to read. */
  async get(url: string, start: number, signal: AbortSignal, file: string): Promise<Response> {
    return this.fetch(url, { headers: this.headers(url, start > 0 ? { range: `bytes=${start}-` } : {}), redirect: 'follow', signal }, file);
  }

  /** The commit of `revision` and every file in it (the Hub's model API). */
  async listFiles(revision: string): Promise<{ commit: string; files: string[] }> {
    const url = `${this.settings.endpoint}/api/models/${this.repoId}/revision/${encodeURIComponent(revision)}`;
    const res = await this.fetch(url, { signal: AbortSignal.timeout(this.settings.etagTimeoutMs) }, null);
    if (!res.ok) {
      const err = this.errorFor(res, revision, null);
      throw err === 'missing' ? new HubNotFoundError(this.repoId, this.noSuchModel()) : err;
    }
    const info = (await res.json().catch(() => null)) as { sha?: unknown; siblings?: { rfilename?: unknown }[] } | null;
    const commit = typeof info?.sha === 'string' ? info.sha : null;
    if (!commit || !Array.isArray(info?.siblings)) throw new HubError(this.repoId, `${url} did not answer with a model's files (no sha/siblings); is HF_ENDPOINT (${this.settings.endpoint}) a Hugging Face hub?`);
    return { commit, files: info.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === 'string') };
  }

  /**
   * The error for a failed answer, or 'missing' when the file is not in the commit (EntryNotFound,
   * or a bare 404 from a mirror that sends no error codes).
   */
  errorFor(res: Response, revision: string, file: string | null): HubError | 'missing' {
    const code = res.headers.get('x-error-code');
    const said = res.headers.get('x-error-message');
    const detail = said ? ` (the Hub says: ${said})` : '';
    const id = this.repoId;
    const page = `${this.settings.endpoint}/${id}`;
    const token = this.settings.token !== null;
    const tokenHelp = 'set HF_TOKEN to a read token of that account (https://huggingface.co/settings/tokens)';
    if (code === 'EntryNotFound' || (res.status === 404 && code === null && file !== null)) return 'missing';
    if (code === 'GatedRepo') {
      return new HubAuthError(id, `${id} is a gated model and ${token ? "HF_TOKEN's account has not been granted access" : 'no HF_TOKEN is set'} (HTTP ${res.status}): accept its licence on ${page} while logged in, then ${tokenHelp}${detail}`);
    }
    const tokenRefused = said === 'Invalid credentials in Authorization header';
    // The Hub answers 401 without an error code for a repository that does not exist (or is private)
    // when asked without a token: huggingface_hub reads it as RepositoryNotFound, and so do we.
    if (res.status === 401 && code === null && !tokenRefused && !token) return new HubNotFoundError(id, this.noSuchModel()); // its message ("Invalid username or password.") would mislead
    if (code === 'RepoNotFound' || (res.status === 404 && code === null)) return new HubNotFoundError(id, this.noSuchModel(detail));
    if (code === 'RevisionNotFound') {
      return new HubNotFoundError(id, `${id} has no revision '${revision}' on ${this.settings.endpoint}: give a branch, a tag or a full commit hash (--revision; the branches are listed on ${page})${detail}`);
    }
    if (res.status === 401) {
      return new HubAuthError(id, `${this.settings.endpoint} refused ${token ? 'HF_TOKEN' : 'the request'} for ${id} (HTTP 401): the token is invalid or expired; create a new read token at https://huggingface.co/settings/tokens and set HF_TOKEN${detail}`);
    }
    if (res.status === 403) {
      return new HubAuthError(id, `access to ${id} denied (HTTP 403)${token ? " for HF_TOKEN's account" : ''}: the model is gated or private — accept its licence on ${page} and ${tokenHelp}${detail}`);
    }
    const what = file === null ? id : `${id}/${file}`;
    if (res.status === 429 || res.status >= 500) return new HubConnectionError(id, `${this.settings.endpoint} answered HTTP ${res.status} for ${what}${detail}; try again later`);
    return new HubError(id, `${this.settings.endpoint} answered HTTP ${res.status} for ${what}${detail}`);
  }

  noSuchModel(detail = ''): string {
    return `no such model or file: ${this.settings.endpoint}/${this.repoId} does not exist${this.settings.token ? ' or HF_TOKEN cannot read it' : ' (or it is private or gated: set HF_TOKEN to a read token, and for a gated model accept its licence on the model page)'}, and '${this.ref}' is not a local directory either — check the spelling${detail}`;
  }

  /** fetch, with a failure to connect turned into a HubConnectionError that names the endpoint. */
  private async fetch(url: string, init: RequestInit & { headers?: Record<string, string> }, file: string | null): Promise<Response> {
    try {
      return await fetch(url, { ...init, headers: init.headers ?? this.headers(url) });
    } catch (err) {
      throw connectionError(this.repoId, url, file, err);
    }
  }

  /** What a HEAD said; the Content-Length of a redirect is its own body's, so only X-Linked-Size counts there. */
  private meta(res: Response, location: string, file: string, redirect: boolean): FileMeta {
    const commit = commitHeader(res);
    if (!commit) throw new HubError(this.repoId, `${this.settings.endpoint} sent no X-Repo-Commit header for ${this.repoId}/${file}; is HF_ENDPOINT a Hugging Face hub (or a mirror that passes its headers through)?`);
    const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
    if (!etag) throw new HubError(this.repoId, `${this.settings.endpoint} sent no ETag for ${this.repoId}/${file}, so the download could not be checked or cached; is HF_ENDPOINT a Hugging Face hub?`);
    const size = Number(res.headers.get('x-linked-size') ?? (redirect ? null : res.headers.get('content-length')) ?? Number.NaN);
    return { commit, etag, size: Number.isSafeInteger(size) && size >= 0 ? size : null, location };
  }
}

/** A network failure (refused, DNS, timeout, reset) as a HubConnectionError naming what was asked. */
export function connectionError(repoId: string, url: string, file: string | null, err: unknown): HubConnectionError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const name = (err as Error).name;
  const why = name === 'TimeoutError' || name === 'AbortError' ? 'no answer in time' : (cause?.code ?? cause?.message ?? (err as Error).message);
  return new HubConnectionError(repoId, `cannot reach ${new URL(url).origin} for ${repoId}${file ? `/${file}` : ''} (${why})`, { cause: err });
}

function commitHeader(res: Response): string | null {
  return res.headers.get('x-repo-commit');
}

/** `"abc"` → abc, `W/"abc"` → abc. Null unless the result is a safe file name. */
export function normalizeEtag(etag: string | null): string | null {
  if (!etag) return null;
  const e = etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return /^[A-Za-z0-9._-]+$/.test(e) && e !== '.' && e !== '..' ? e : null;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** A Location without scheme and host: same site (RFC 7231). */
function isRelative(location: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('//');
}
