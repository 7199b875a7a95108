// What every signed-in person can do: see their tasks, get their next item, submit or skip it,
// and read their own labels (only their own). Responses are shown blind: no model names.
import { Hono } from 'hono';
import { InvalidInputError } from './errors.js';
import type { Env } from './http.js';
import { jsonBody, limitBody } from './http.js';
import { LETTERS, displayValue } from './label-values.js';
import { LIMITS } from './schemas.js';
import type { Store } from './store.js';
import type { Task } from './types.js';

/** A task as an annotator sees it. */
export function publicTask(t: Task): Record<string, unknown> {
  return { name: t.name, title: t.title, kind: t.kind, instructions: t.instructions, status: t.status, perItem: t.config.perItem, dimensions: t.config.dimensions };
}

function intParam(v: string | undefined, name: string, dflt: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidInputError(`"${name}" must be a whole number from 0 to ${max}.`);
  return n;
}

export function labelApi(store: Store): Hono<Env> {
  const api = new Hono<Env>();

  api.get('/me', (c) => {
    const u = c.get('user');
    return c.json({ user: { id: u.id, name: u.name, role: u.role } });
  });

  api.get('/tasks', (c) => {
    const u = c.get('user');
    const tasks = store.listTasks().map((t) => ({
      ...publicTask(t),
      mine: store.countLabelsByUser(u.id, t.id),
      remaining: store.remainingFor(t, u.id),
    }));
    return c.json({ tasks });
  });

  api.get('/tasks/:task/next', (c) => {
    const u = c.get('user');
    const task = store.getTask(c.req.param('task'));
    const a = store.nextAssignment(task, u.id);
    const progress = { mine: store.countLabelsByUser(u.id, task.id), remaining: store.remainingFor(task, u.id) };
    if (!a) return c.json({ task: publicTask(task), item: null, progress });
    const item = {
      id: a.item.id,
      prompt: a.item.prompt,
      responses: a.shown.map((idx, j) => ({ letter: LETTERS[j], text: a.item.responses[idx]!.text })),
      expiresAt: a.expiresAt,
    };
    return c.json({ task: publicTask(task), item, progress });
  });

  api.post('/tasks/:task/labels', limitBody(LIMITS.labelBody), async (c) => {
    const u = c.get('user');
    const task = store.getTask(c.req.param('task'));
    const body = await jsonBody(c);
    const { label, replayed } = store.submitLabel(task, u.id, body);
    // The transaction has committed: only now is the label acknowledged.
    return c.json({ label: { id: label.id, itemId: label.itemId, createdAt: label.createdAt }, replayed });
  });

  api.post('/tasks/:task/skip', limitBody(4096), async (c) => {
    const u = c.get('user');
    const task = store.getTask(c.req.param('task'));
    const body = (await jsonBody(c)) as { itemId?: unknown };
    if (typeof body !== 'object' || body === null || !Number.isInteger(body.itemId)) throw new InvalidInputError('Send {"itemId": <the item\'s id>} to skip it.', [{ path: 'itemId', message: 'missing "itemId" (expected integer)' }]);
    store.skip(task, body.itemId as number, u.id);
    return c.json({ skipped: body.itemId });
  });

  api.get('/my/labels', (c) => {
    const u = c.get('user');
    const taskName = c.req.query('task');
    const task = taskName ? store.getTask(taskName) : undefined;
    const limit = intParam(c.req.query('limit'), 'limit', 50, 500);
    const offset = intParam(c.req.query('offset'), 'offset', 0, 10_000_000);
    const tasks = new Map(store.listTasks().map((t) => [t.id, t]));
    const labels = store.labelsByUser(u.id, { ...(task ? { taskId: task.id } : {}), limit, offset }).map((l) => {
      const t = tasks.get(l.taskId)!;
      const item = store.getItem(l.itemId);
      return {
        id: l.id,
        task: t.name,
        taskTitle: t.title,
        kind: t.kind,
        itemId: l.itemId,
        prompt: item.prompt.length > 400 ? `${item.prompt.slice(0, 400)}…` : item.prompt,
        value: displayValue(t, l.value, l.shown),
        createdAt: l.createdAt,
      };
    });
    return c.json({ labels });
  });

  return api;
}
