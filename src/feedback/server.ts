// `rlhf studio`: the HTTP server. One process, one SQLite file under DIR, model generation in a
// worker thread. Sign-in is by personal token; the admin's is kept in DIR/admin-token (mode 600)
// so the same link keeps working across restarts.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { adminApi, signInLink } from './api-admin.js';
import { labelApi } from './api-label.js';
import { StudioError } from './errors.js';
import { GenerationService } from './generation-runner.js';
import type { Env } from './http.js';
import { errorResponse, refuseCrossSite, requireAdmin, requireUser, securityHeaders } from './http.js';
import { staticUi } from './static-ui.js';
import { Store } from './store.js';

export interface StudioOptions {
  /** Folder holding studio.db and admin-token (created if missing). */
  dir: string;
  /** 0 picks a free port. Default 7860. */
  port?: number;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Module exporting loadForGeneration (default src/generation); tests pass a fake. */
  generatorModule?: string;
  /** Where server errors are reported (default: nowhere). */
  log?: (line: string) => void;
}

export interface RunningStudio {
  url: string;
  port: number;
  adminToken: string;
  adminLink: string;
  store: Store;
  generation: GenerationService;
  close(): Promise<void>;
}

/** Returns the admin's token, creating the admin (or a new token) when DIR/admin-token is missing or stale. */
export function ensureAdmin(store: Store, dir: string): string {
  const file = join(dir, 'admin-token');
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (store.authenticate(token)?.role === 'admin') return token;
  } catch {
    // missing: make one below
  }
  const existing = store.listUsers().find((u) => u.role === 'admin' && !u.disabled);
  const token = existing ? store.resetToken(existing.id) : store.createUser('admin', 'admin').token;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

/** The Hono app over a store: UI at /, API at /api. */
export function createStudioApp(store: Store, opts: { publicUrl: () => string; generation: GenerationService; log?: (line: string) => void }): Hono<Env> {
  const log = opts.log ?? (() => {});
  const app = new Hono<Env>();
  app.use('*', securityHeaders);
  app.use('/api/*', refuseCrossSite);
  app.use('/api/*', requireUser(store));
  app.use('/api/admin/*', requireAdmin);
  app.route('/api', labelApi(store));
  app.route('/api/admin', adminApi(store, { publicUrl: opts.publicUrl, generation: opts.generation }));
  app.route('/', staticUi());
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}.` } }, 404));
  app.onError((err, c) => errorResponse(err, c, log));
  return app;
}

export class ServerStartError extends StudioError {
  override name = 'ServerStartError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(500, 'server_start', message, options);
  }
}

/** Opens the store, makes sure there is an admin, starts listening, and resumes unfinished generation jobs. */
export async function startStudio(opts: StudioOptions): Promise<RunningStudio> {
  const host = opts.host ?? '127.0.0.1';
  const store = Store.open(opts.dir);
  const log = opts.log ?? (() => {});
  const generation = new GenerationService(store, {
    ...(opts.generatorModule ? { modulePath: opts.generatorModule } : {}),
    onError: (task, err) => log(`generation for task "${task}" failed: ${err instanceof Error ? err.message : String(err)}`),
  });
  let publicUrl = '';
  const app = createStudioApp(store, { publicUrl: () => publicUrl, generation, log });
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: opts.port ?? 7860, hostname: host }, () => resolve(s as Server));
      (s as Server).once('error', reject);
    });
  } catch (err) {
    store.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new ServerStartError(
      code === 'EADDRINUSE' ? `port ${opts.port ?? 7860} on ${host} is already in use; pass another --port (0 picks a free one).` : `cannot listen on ${host}:${opts.port ?? 7860}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  server.keepAliveTimeout = 65_000;
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  publicUrl = `http://${shownHost}:${port}`;
  store.setMeta('public_url', publicUrl);
  const adminToken = ensureAdmin(store, opts.dir);
  // Resume jobs a previous run left half done; without the model layer they are marked failed with the reason.
  generation.resumeAll();
  let closed = false;
  return {
    url: publicUrl,
    port,
    adminToken,
    adminLink: signInLink(publicUrl, adminToken),
    store,
    generation,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await generation.close();
      store.close();
    },
  };
}
