// One blob into the cache, never leaving a corrupt file behind (as huggingface_hub does it):
//
//   1. take .locks/models--{org}--{name}/<etag>.lock (another process downloading the same blob: wait for it)
//   2. append to blobs/<etag>.incomplete, asking for the rest with Range: bytes=<its size>- — so a
//      download cut off (connection lost, process killed) resumes where it stopped, in this run
//      (up to `retries` times in a row without progress) or the next one
//   3. check the size (X-Linked-Size / Content-Length) and the content against the ETag: an LFS
//      file's ETag is its sha256, a git file's is its git blob sha1 = sha1("blob <size>\0" + bytes);
//      a mismatch deletes the partial file and fails, naming the file
//   4. rename blobs/<etag>.incomplete → blobs/<etag>: only a complete, verified blob has that name
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RepoCache } from './cache.js';
import { connectionError, type FileMeta, type HubClient } from './http.js';
import { HubConnectionError, HubError } from './errors.js';

export interface BlobDownload {
  client: HubClient;
  cache: RepoCache;
  /** The file's name in the repository (for messages). */
  file: string;
  meta: FileMeta;
  /** Metadata with a fresh location, for when a signed CDN URL has expired (another HEAD). */
  refresh?: () => Promise<FileMeta>;
  /** Bytes of this file on disk so far; called as they arrive (0 again when a server ignores Range). */
  onProgress?: (bytes: number) => void;
  /** Attempts in a row without a single new byte before giving up. Default 5. */
  retries?: number;
  /** Wait before the first retry, doubling each time. Default 500 ms. */
  retryDelayMs?: number;
}

/** Downloads `meta` into blobs/<etag> unless it is there already. */
export async function downloadBlob(d: BlobDownload): Promise<void> {
  const blob = d.cache.blob(d.meta.etag);
  if (await isFile(blob)) return;
  const lock = d.cache.lock(d.meta.etag);
  await mkdir(dirname(blob), { recursive: true });
  await mkdir(dirname(lock), { recursive: true });
  await withFileLock(lock, async () => {
    if (await isFile(blob)) return; // another process finished it while we waited
    const part = `${blob}.incomplete`;
    const fh = await open(part, 'a');
    try {
      await fetchInto(d, fh, part);
    } finally {
      await fh.close();
    }
    await rename(part, blob);
  });
}

async function fetchInto(d: BlobDownload, fh: FileHandle, part: string): Promise<void> {
  const { client, file } = d;
  let meta = d.meta;
  const expected = meta.size;
  const retries = d.retries ?? 5;
  let size = (await fh.stat()).size;
  if (expected !== null && size > expected) {
    await fh.truncate(0);
    size = 0;
  }
  let hash = await hashOfPrefix(meta, part, size);
  const restart = async (): Promise<void> => {
    await fh.truncate(0);
    size = 0;
    hash = contentHash(meta);
    d.onProgress?.(0);
  };
  d.onProgress?.(size);

  let failures = 0;
  let refreshed = false;
  for (;;) {
    if (expected !== null && size === expected) break;
    // One attempt: GET from `size` on, append what arrives. A stalled connection is aborted after
    // downloadTimeoutMs without bytes.
    const abort = new AbortController();
    let timer = setTimeout(() => abort.abort(), client.settings.downloadTimeoutMs);
    const progressBefore = size;
    let failure: unknown = null;
    try {
      const res = await client.get(meta.location, size, abort.signal, file);
      if (!res.ok || res.status === 416) await res.body?.cancel().catch(() => undefined);
      if (res.status === 416 && size > 0) {
        // Range Not Satisfiable: the partial file is all of a file of unknown size, or no prefix of it
        if (expected === null) break;
        await restart();
        continue; // without a Range header this cannot happen again
      }
      if (!res.ok) {
        const err = client.errorFor(res, meta.commit, file);
        if (!refreshed && d.refresh && (res.status === 401 || res.status === 403 || res.status === 410 || res.status === 404)) {
          refreshed = true; // a signed CDN URL that expired: ask the Hub for a new one
          meta = { ...(await d.refresh()), size: expected };
          continue;
        }
        throw err === 'missing' ? new HubError(client.repoId, `${client.settings.endpoint} answered HTTP ${res.status} for the bytes of ${client.repoId}/${file} at ${meta.location}`) : err;
      }
      if (size > 0 && res.status !== 206) await restart(); // the server ignored Range: it sends the whole file
      else if (size > 0 && rangeStart(res) !== size) await restart();
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          clearTimeout(timer);
          timer = setTimeout(() => abort.abort(), client.settings.downloadTimeoutMs);
          await fh.write(chunk);
          hash?.update(chunk);
          size += chunk.length;
          d.onProgress?.(size);
        }
      }
      if (expected === null || size >= expected) break;
      failure = new Error(`the connection closed after ${size} of ${expected} bytes`);
    } catch (err) {
      if (err instanceof HubError && !(err instanceof HubConnectionError)) throw err;
      failure = err instanceof HubError ? err : connectionError(client.repoId, meta.location, file, err);
    } finally {
      clearTimeout(timer);
    }
    failures = size > progressBefore ? 1 : failures + 1; // bytes arrived: the count starts again
    if (failures > retries) {
      const why = failure instanceof Error ? failure.message : String(failure);
      throw new HubConnectionError(client.repoId, `downloading ${client.repoId}/${file} failed ${failures} times in a row (${why}); ${size} bytes are kept in ${part} and the next run resumes from there`, { cause: failure });
    }
    await sleep((d.retryDelayMs ?? 500) * 2 ** (failures - 1));
  }

  // Check before the rename: only a verified blob gets its final name.
  if (expected !== null && size !== expected) {
    await fh.truncate(0);
    throw new HubError(client.repoId, `${client.repoId}/${file}: downloaded ${size} bytes but the Hub announced ${expected}; the partial file was deleted — run the command again`);
  }
  const digest = hash?.digest('hex');
  if (digest !== undefined && digest !== meta.etag) {
    await fh.truncate(0);
    throw new HubError(client.repoId, `${client.repoId}/${file}: the downloaded bytes hash to ${digest}, not to its ETag ${meta.etag}; the file was deleted — run the command again (a proxy altering downloads?)`);
  }
}

/** The hash the ETag promises, or null when the ETag is not a content hash we can check. */
function contentHash(meta: FileMeta): Hash | null {
  if (/^[0-9a-f]{64}$/.test(meta.etag)) return createHash('sha256');
  if (/^[0-9a-f]{40}$/.test(meta.etag) && meta.size !== null) return createHash('sha1').update(`blob ${meta.size}\0`);
  return null;
}

/** The hash over the first `size` bytes already in the partial file. */
async function hashOfPrefix(meta: FileMeta, part: string, size: number): Promise<Hash | null> {
  const hash = contentHash(meta);
  if (hash && size > 0) for await (const chunk of createReadStream(part, { start: 0, end: size - 1 })) hash.update(chunk as Buffer);
  return hash;
}

/** The first byte of a 206 answer (Content-Range: bytes START-END/TOTAL). */
function rangeStart(res: Response): number {
  const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : Number.NaN;
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

// ----- locks ---------------------------------------------------------------------------------

const held = new Map<string, Promise<void>>();

/**
 * Runs fn holding `path`: in this process (a queue per path) and across processes (the file
 * created exclusively, holding our pid; a lock whose process is gone is taken over).
 */
async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const before = held.get(path) ?? Promise.resolve();
  let release = (): void => undefined;
  const mine = before.then(() => new Promise<void>((r) => (release = r)));
  held.set(path, mine);
  await before;
  try {
    await acquire(path);
    try {
      return await fn();
    } finally {
      await unlink(path).catch(() => undefined);
    }
  } finally {
    release();
    if (held.get(path) === mine) held.delete(path);
  }
}

async function acquire(path: string): Promise<void> {
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    const st = await stat(path).catch(() => null);
    const stale = st === null || (holder > 0 ? holder === process.pid || !alive(holder) : Date.now() - st.mtimeMs > 10_000);
    if (stale) await unlink(path).catch(() => undefined);
    else await sleep(200);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
