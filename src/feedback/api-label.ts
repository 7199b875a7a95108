// What every signed-in person can do: see their tasks, get their next item, submit or skip it,
// and read their own labels (only their own). Responses are shown blind: no model names.
import { Hono } from 'hono';
import { InvalidInputError } from './errors.js';
import type { Env } from './http.js';
import { jsonBody } from './http.js';
import { LETTERS, displayValue } from './label-values.js';
import { LabelWriter } from './label-writer.js';
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
  const writer = new LabelWriter(store);

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

  /** The person's next item in a task (blind: letters and texts only) and their progress. */
  const next = (task: Task, userId: number): Record<string, unknown> => {
    const a = store.nextAssignment(task, userId);
    const progress = { mine: store.countLabelsByUser(userId, task.id), remaining: store.remainingFor(task, userId) };
    if (!a) return { task: publicTask(task), item: null, progress };
    const item = {
      id: a.item.id,
      prompt: a.item.prompt,
      responses: a.shown.map((idx, j) => ({ letter: LETTERS[j], text: a.item.responses[idx]!.text })),
      expiresAt: a.expiresAt,
    };
    return { task: publicTask(task), item, progress };
  };

  api.get('/tasks/:task/next', (c) => c.json(next(store.getTask(c.req.param('task')), c.get('user').id)));

  api.post('/tasks/:task/labels', async (c) => {
    const u = c.get('user');
    const task = store.getTask(c.req.param('task'));
    const body = await jsonBody(c, LIMITS.labelBody);
    // The next item is reserved in the same transaction, so labelling costs one round trip and one commit per item.
    const { result, then } = await writer.submit(task, u.id, body, () => next(task, u.id));
    // The transaction has committed: only now is the label acknowledged.
    const { label, replayed } = result;
    return c.json({ label: { id: label.id, itemId: label.itemId, createdAt: label.createdAt }, replayed, next: then });
  });

  api.post('/tasks/:task/skip', async (c) => {
    const u = c.get('user');
    const task = store.getTask(c.req.param('task'));
    const body = (await jsonBody(c, 4096)) as { itemId?: unknown };
    if (typeof body !== 'object' || body === null || !Number.isInteger(body.itemId)) throw new InvalidInputError('Send {"itemId": <the item\'s id>} to skip it.', [{ path: 'itemId', message: 'missing "itemId" (expected integer)' }]);
    store.skip(task, body.itemId as number, u.id);
    return c.json({ skipped: body.itemId, next: next(task, u.id) });
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
