// What only an admin can do: create tasks (import or live generation), manage people and their
// sign-in links, read the dashboard, and download exports.
import { Hono } from 'hono';
import { z } from 'zod';
import { EXPORT_FORMATS, exportRows, toJsonl } from './export.js';
import type { ExportOptions } from './export.js';
import type { GenerationService } from './generation-runner.js';
import type { Env } from './http.js';
import { jsonBody } from './http.js';
import { parseItemsJsonl } from './import-jsonl.js';
import { LIMITS, createUserSchema, parseOrThrow, parseTaskSpec, taskSpecSchema } from './schemas.js';
import { taskStats } from './stats.js';
import type { Store } from './store.js';

const createTaskBody = z.object({ task: z.unknown(), jsonl: z.string().min(1, 'the JSONL is empty'), source: z.string().max(200).optional() }).strict();
const appendBody = z.object({ jsonl: z.string().min(1, 'the JSONL is empty'), source: z.string().max(200).optional() }).strict();
const disableBody = z.object({ disabled: z.boolean() }).strict();
const exportQuery = z.object({
  format: z.enum(EXPORT_FORMATS),
  aggregate: z.enum(['majority', 'none']).optional(),
  ties: z.enum(['drop', 'include']).optional(),
});

export interface AdminApiOptions {
  /** Base URL that sign-in links point at, e.g. http://127.0.0.1:7860. */
  publicUrl: () => string;
  generation: GenerationService;
}

export function signInLink(base: string, token: string): string {
  return `${base.replace(/\/+$/, '')}/#/signin/${token}`;
}

export function adminApi(store: Store, opts: AdminApiOptions): Hono<Env> {
  const api = new Hono<Env>();

  api.get('/overview', (c) => {
    const tasks = store.listTasks().map((t) => {
      const p = store.progress(t);
      return {
        name: t.name, title: t.title, kind: t.kind, status: t.status, error: t.error, perItem: t.config.perItem, dimensions: t.config.dimensions,
        createdAt: t.createdAt, items: p.items, complete: p.complete, labels: p.labels, annotators: p.byUser.length,
        generation: t.config.generation ? { models: t.config.generation.modelNames, prompts: t.config.generation.prompts.length, progress: opts.generation.progress.get(t.name) ?? null } : null,
      };
    });
    const users = store.listUsers().map((u) => ({ ...u, labels: (store.db.prepare('SELECT COUNT(*) AS n FROM labels WHERE user_id = ?').get(u.id) as { n: number }).n }));
    return c.json({ tasks, users });
  });

  api.get('/tasks/:task/stats', (c) => c.json(taskStats(store, store.getTask(c.req.param('task')))));

  api.post('/tasks', async (c) => {
    const body = parseOrThrow(createTaskBody, await jsonBody(c, LIMITS.importBody), 'Invalid request');
    const spec = parseTaskSpec(body.task);
    const items = parseItemsJsonl(body.jsonl, spec.kind, body.source ?? 'the uploaded file');
    const task = store.db.transaction(() => {
      const t = store.createTask(spec);
      store.addItems(t.id, items);
      return t;
    }).immediate();
    return c.json({ task: { name: task.name, kind: task.kind }, added: items.length }, 201);
  });

  api.post('/tasks/:task/items', async (c) => {
    const task = store.getTask(c.req.param('task'));
    const body = parseOrThrow(appendBody, await jsonBody(c, LIMITS.importBody), 'Invalid request');
    const items = parseItemsJsonl(body.jsonl, task.kind, body.source ?? 'the uploaded file');
    return c.json({ added: store.addItems(task.id, items) });
  });

  api.delete('/tasks/:task', (c) => {
    const task = store.getTask(c.req.param('task'));
    store.deleteTask(task.id);
    return c.json({ deleted: task.name });
  });

  api.post('/generate', async (c) => {
    const task = await opts.generation.create(await jsonBody(c, LIMITS.importBody));
    return c.json({ task: { name: task.name, kind: task.kind, status: task.status } }, 202);
  });

  api.get('/tasks/:task/export', (c) => {
    const task = store.getTask(c.req.param('task'));
    const q = parseOrThrow(exportQuery, c.req.query(), 'Invalid export request');
    const o: ExportOptions = { format: q.format };
    if (q.aggregate) o.aggregate = q.aggregate;
    if (q.ties) o.ties = q.ties;
    const { rows, summary } = exportRows(store, task, o);
    c.header('Content-Type', 'application/x-ndjson; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="${task.name}.${q.format}.jsonl"`);
    c.header('X-Export-Summary', JSON.stringify(summary));
    return c.body(toJsonl(rows));
  });

  api.get('/users', (c) => c.json({ users: store.listUsers() }));

  api.post('/users', async (c) => {
    const body = parseOrThrow(createUserSchema, await jsonBody(c, 4096), 'Invalid person');
    const { user, token } = store.createUser(body.name, body.role);
    return c.json({ user, token, link: signInLink(opts.publicUrl(), token) }, 201);
  });

  api.post('/users/:id/reset', (c) => {
    const id = Number(c.req.param('id'));
    const token = store.resetToken(Number.isInteger(id) ? id : -1);
    return c.json({ token, link: signInLink(opts.publicUrl(), token) });
  });

  api.post('/users/:id/disable', async (c) => {
    const id = Number(c.req.param('id'));
    const body = parseOrThrow(disableBody, await jsonBody(c, 1024), 'Invalid request');
    if (id === c.get('user').id && body.disabled) return c.json({ error: { code: 'conflict', message: 'You cannot disable yourself.' } }, 409);
    store.setDisabled(Number.isInteger(id) ? id : -1, body.disabled);
    return c.json({ id, disabled: body.disabled });
  });

  // Lets the task form show the same validation as the CLI before uploading a large file.
  api.post('/validate-task', async (c) => {
    const spec = parseOrThrow(taskSpecSchema, await jsonBody(c, 64 * 1024), 'Invalid task');
    return c.json({ ok: true, name: spec.name });
  });

  return api;
}
