// Serves the web UI: plain HTML/CSS/JS files from src/feedback/ui/, read once at start.
// The path is resolved from this module so it works from src/feedback (tsx) and dist/feedback (built).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/** The UI folder: `../../src/feedback/ui/` from both src/feedback/*.ts and dist/feedback/*.js. */
export const UI_DIR = fileURLToPath(new URL('../../src/feedback/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

interface Asset { body: Buffer; type: string; etag: string }

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type || !/^[a-z0-9][a-z0-9._-]*$/.test(name)) continue;
    const body = readFileSync(new URL(name, `file://${dir.endsWith('/') ? dir : `${dir}/`}`));
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

export function staticUi(dir: string = UI_DIR): Hono {
  const assets = loadAssets(dir);
  const app = new Hono();
  const send = (name: string) => (c: import('hono').Context) => {
    const a = assets.get(name);
    if (!a) return c.json({ error: { code: 'not_found', message: `No such file: ${name}` } }, 404);
    c.header('ETag', a.etag);
    c.header('Cache-Control', 'no-cache');
    if (c.req.header('if-none-match') === a.etag) return c.body(null, 304);
    c.header('Content-Type', a.type);
    return c.body(new Uint8Array(a.body));
  };
  app.get('/', send('index.html'));
  app.get('/assets/:name', (c) => send(c.req.param('name'))(c));
  return app;
}
