// A local imitation of the Hugging Face Hub's download endpoints, on 127.0.0.1, for the hub tests.
//
//   hub server   HEAD/GET /{id}/resolve/{revision}/{file}    (as huggingface.co answered in 2026)
//                  regular (git) files: 307 to the relative /api/resolve-cache/models/{id}/{commit}/{file},
//                  with X-Repo-Commit and X-Linked-Etag; that URL answers 200, ETag "<git blob sha1>",
//                  Content-Length, X-Repo-Commit, and serves the bytes (with Range)
//                  *.safetensors (LFS): 302 Location: http://<cdn>/lfs/<sha256>?sig=…, X-Linked-Etag
//                  "<sha256>", X-Linked-Size, ETag of the pointer, X-Repo-Commit
//                  404 X-Error-Code EntryNotFound (with X-Repo-Commit), RevisionNotFound; no such repository:
//                  401 without an error code when anonymous (X-Error-Message: Invalid username or password.),
//                  404 RepoNotFound with a token; GatedRepo 401 (anonymous) / 403 (token without access)
//                  a renamed repository: 307 to a relative URL
//                GET /api/models/{id}/revision/{revision}  {id, sha, siblings: [{rfilename}]}
//   cdn server   GET /lfs/<sha256>, with Range (206 + Content-Range); `cutAfter` drops the connection
//                after N bytes of the body, once per entry
// Every request is logged (server, method, path, Range and Authorization headers).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface FakeRepo {
  /** branch or tag → commit */
  refs: Record<string, string>;
  /** commit → file → bytes */
  commits: Record<string, Record<string, Buffer>>;
  /** Needs `Authorization: Bearer <one of these>`: 401 GatedRepo without a token, 403 with another. */
  gatedTokens?: string[];
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const isLfs = (file: string): boolean => file.endsWith('.safetensors') || file.endsWith('.bin');

/** Every file of a directory (recursively), by its path relative to it, following nothing. */
export function readDirFiles(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p);
    }
  };
  walk(dir);
  return out;
}

/** A commit hash for a set of files (deterministic, 40 hex digits). */
export function commitOf(files: Record<string, Buffer>, salt = ''): string {
  const h = createHash('sha1').update(salt);
  for (const [name, b] of Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1))) h.update(name).update(gitSha1(b));
  return h.digest('hex');
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  /** old id → new id: the Hub answers 307 to the new name. */
  readonly renamed = new Map<string, string>();
  readonly log: LoggedRequest[] = [];
  /** sha256 → bytes: the CDN drops the connection after this many bytes of the body, once. */
  readonly cutAfter = new Map<string, number>();
  /** The CDN ignores Range and sends the whole file with 200. */
  ignoreRange = false;
  private hub!: Server;
  private cdn!: Server;
  hubUrl = '';
  cdnUrl = '';

  async start(): Promise<this> {
    this.hub = createServer((req, res) => this.serveHub(req, res));
    this.cdn = createServer((req, res) => this.serveCdn(req, res));
    this.hubUrl = await listen(this.hub);
    this.cdnUrl = await listen(this.cdn);
    return this;
  }

  async stop(): Promise<void> {
    this.hub.closeAllConnections();
    this.cdn.closeAllConnections();
    await Promise.all([new Promise((r) => this.hub.close(r)), new Promise((r) => this.cdn.close(r))]);
  }

  /** Adds (or extends) a repository: `files` become commit `commit`, which `refs` (e.g. ['main']) point at. */
  addCommit(id: string, files: Record<string, Buffer>, refs: string[] = ['main'], opts: { salt?: string; gatedTokens?: string[] } = {}): string {
    const repo = this.repos.get(id) ?? { refs: {}, commits: {} };
    const commit = commitOf(files, opts.salt ?? '');
    repo.commits[commit] = files;
    for (const r of refs) repo.refs[r] = commit;
    if (opts.gatedTokens) repo.gatedTokens = opts.gatedTokens;
    this.repos.set(id, repo);
    return commit;
  }

  requests(server?: 'hub' | 'cdn'): LoggedRequest[] {
    return server ? this.log.filter((r) => r.server === server) : this.log;
  }

  clearLog(): void {
    this.log.length = 0;
  }

  private record(server: 'hub' | 'cdn', req: IncomingMessage): void {
    this.log.push({
      server,
      method: req.method ?? '',
      path: req.url ?? '',
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
  }

  private serveHub(req: IncomingMessage, res: ServerResponse): void {
    this.record('hub', req);
    const url = new URL(req.url ?? '/', this.hubUrl);
    const path = decodeURIComponent(url.pathname);
    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(url.pathname);
    const cached = /^\/api\/resolve-cache\/models\/(.+)\/([0-9a-f]{40})\/(.+)$/.exec(url.pathname);
    const m = api ? null : (cached ?? /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname));
    if (!api && !m) return end(res, 404, { 'x-error-code': 'RepoNotFound' });
    const id = decodeURIComponent((api ?? m)![1] as string);
    const revision = decodeURIComponent((api ?? m)![2] as string);
    const renamedTo = this.renamed.get(id);
    if (renamedTo) return end(res, 307, { location: path.replace(`/${id}/`, `/${renamedTo}/`) });
    const repo = this.repos.get(id);
    const auth = req.headers.authorization ?? '';
    if (!repo) return auth ? end(res, 404, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found' }) : end(res, 401, { 'x-error-message': 'Invalid username or password.', 'www-authenticate': 'Bearer realm="Authentication required", charset="UTF-8"' });
    if (repo.gatedTokens) {
      if (!auth) return end(res, 401, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${id} is restricted. You must be authenticated to access it.` });
      if (!repo.gatedTokens.includes(auth.replace(/^Bearer /, ''))) return end(res, 403, { 'x-error-code': 'GatedRepo', 'x-error-message': `Access to model ${id} is restricted and you are not in the authorized list.` });
    }
    const commit = repo.refs[revision] ?? (repo.commits[revision] ? revision : undefined);
    if (!commit) return end(res, 404, { 'x-error-code': 'RevisionNotFound', 'x-error-message': `Invalid rev id: ${revision}` });
    const files = repo.commits[commit] as Record<string, Buffer>;
    if (api) {
      const body = JSON.stringify({ id, sha: commit, siblings: Object.keys(files).sort().map((rfilename) => ({ rfilename })) });
      return end(res, 200, { 'content-type': 'application/json', 'x-repo-commit': commit }, Buffer.from(body), req.method === 'HEAD');
    }
    const file = decodeURIComponent(m![3] as string);
    const bytes = files[file];
    if (!bytes) return end(res, 404, { 'x-error-code': 'EntryNotFound', 'x-error-message': 'Entry not found', 'x-repo-commit': commit });
    if (isLfs(file)) {
      const sha = sha256(bytes);
      const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\nsize ${bytes.length}\n`);
      return end(res, 302, {
        location: `${this.cdnUrl}/lfs/${sha}?sig=${commit.slice(0, 8)}`,
        'x-linked-etag': `"${sha}"`,
        'x-linked-size': String(bytes.length),
        etag: `"${gitSha1(pointer)}"`,
        'x-repo-commit': commit,
      });
    }
    if (!cached) {
      const to = `/api/resolve-cache/models/${id}/${commit}/${m![3]}?etag=%22${gitSha1(bytes)}%22`;
      return end(res, 307, { location: to, 'x-repo-commit': commit, 'x-linked-etag': `"${gitSha1(bytes)}"` }, Buffer.from(`Temporary Redirect. Redirecting to ${to}`), req.method === 'HEAD');
    }
    serveBytes(req, res, bytes, { etag: `"${gitSha1(bytes)}"`, 'x-repo-commit': commit }, false);
  }

  private serveCdn(req: IncomingMessage, res: ServerResponse): void {
    this.record('cdn', req);
    const m = /^\/lfs\/([0-9a-f]{64})/.exec(req.url ?? '');
    const sha = m?.[1] ?? '';
    let bytes: Buffer | undefined;
    for (const repo of this.repos.values()) for (const files of Object.values(repo.commits)) for (const b of Object.values(files)) if (sha256(b) === sha) bytes = b;
    if (!bytes) return end(res, 404, {});
    const cut = this.cutAfter.get(sha);
    if (cut !== undefined) this.cutAfter.delete(sha);
    serveBytes(req, res, bytes, { etag: `"${sha}"` }, this.ignoreRange, cut);
  }
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function end(res: ServerResponse, status: number, headers: Record<string, string>, body?: Buffer, head = false): void {
  res.writeHead(status, { ...headers, 'content-length': String(body?.length ?? 0) });
  res.end(head ? undefined : body);
}

/** The bytes, honouring `Range: bytes=N-`; with `cut`, the connection drops after that many body bytes. */
function serveBytes(req: IncomingMessage, res: ServerResponse, bytes: Buffer, headers: Record<string, string>, ignoreRange: boolean, cut?: number): void {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  let start = 0;
  let status = 200;
  const h: Record<string, string> = { ...headers, 'accept-ranges': 'bytes' };
  if (range && !ignoreRange) {
    start = Number(range[1]);
    if (start >= bytes.length) return end(res, 416, { 'content-range': `bytes */${bytes.length}` });
    status = 206;
    h['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
  }
  const body = bytes.subarray(start);
  res.writeHead(status, { ...h, 'content-length': String(body.length) });
  if (req.method === 'HEAD') return void res.end();
  if (cut === undefined) return void res.end(body);
  res.write(body.subarray(0, cut), () => res.socket?.end()); // FIN mid-body: the client has exactly `cut` bytes
}
