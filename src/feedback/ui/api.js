// The studio API from the browser. The sign-in token lives in localStorage and goes out as
// `Authorization: Bearer …` on every call (no cookies, so other sites cannot ride on it).

const TOKEN_KEY = 'rlhf-studio-token';

export function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}
export function setToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}
export function clearToken() {
  localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `Request failed (${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error?.code;
    this.issues = body?.error?.issues ?? [];
    this.lines = body?.error?.lines ?? [];
  }
}

async function request(method, path, body, { raw = false } = {}) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  if (raw && res.ok) return res;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body ?? {}),
  del: (path) => request('DELETE', path),
  download: (path) => request('GET', path, undefined, { raw: true }),
};

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * Submits a label. One idempotency key per submission: a network failure is retried with the same
 * key, so the label is stored once even when the first attempt reached the server.
 */
export async function submitLabel(task, itemId, value, durationMs) {
  const body = { itemId, idempotencyKey: newKey(), durationMs: Math.max(0, Math.round(durationMs)), value };
  const path = `/api/tasks/${encodeURIComponent(task)}/labels`;
  let delay = 300;
  for (let attempt = 0; ; attempt++) {
    try {
      return await request('POST', path, body);
    } catch (err) {
      const retriable = !(err instanceof ApiError) || err.status >= 500;
      if (!retriable || attempt >= 4) throw err;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}
