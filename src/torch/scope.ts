// Deterministic memory: scopes free every tensor created inside them, except what they return.
//
//   const loss = tidy(() => model.forward(x).crossEntropy(y));   // intermediates freed here
//
// A tensor created outside any scope lives until dispose() (or `using`), or until the garbage
// collector finalizes its handle — the fallback, not the plan: V8 does not see libtorch memory
// as pressure quickly enough for a training loop. keep(t) lets a tensor outlive its scope.

/** What a scope needs from a tensor; Tensor implements it. */
export interface Scoped {
  dispose(): void;
  readonly isDisposed: boolean;
  /** Set by keep(): no scope frees it. */
  kept: boolean;
  /** Called when no scope owns the tensor any more: the garbage collector becomes its fallback owner. */
  unscoped(): void;
}

const stack: Scoped[][] = [];

/** Called by every Tensor constructor. */
export function track(t: Scoped): void {
  const top = stack[stack.length - 1];
  if (top) top.push(t);
  else t.unscoped();
}

/** Marks tensors to survive every enclosing scope; the caller now owns them. Returns its argument. */
export function keep<T>(value: T): T {
  forEachScoped(value, (t) => {
    if (!t.kept) t.unscoped();
    t.kept = true;
  });
  return value;
}

function forEachScoped(value: unknown, fn: (t: Scoped) => void, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isScoped(value)) {
    fn(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) forEachScoped(v, fn, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) forEachScoped(v, fn, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) forEachScoped(v, fn, seen);
  }
}

function isScoped(v: object): v is Scoped {
  return 'kept' in v && 'dispose' in v && typeof (v as Scoped).dispose === 'function';
}

/**
 * Runs fn and frees every tensor created during it, except tensors in its result (found in
 * arrays, Maps and plain objects) and kept ones. Returned tensors move to the enclosing scope.
 * fn must be synchronous: an async fn would let other code create tensors inside this scope.
 */
export function tidy<T>(fn: () => T): T {
  stack.push([]);
  let result: T;
  let created: Scoped[];
  try {
    result = fn();
  } catch (err) {
    created = stack.pop() ?? [];
    for (const t of created) if (!t.kept) t.dispose();
    throw err;
  }
  created = stack.pop() ?? [];
  if (result instanceof Promise) {
    for (const t of created) if (!t.kept) t.dispose(); // what the async fn made before its first await
    throw new TypeError('tidy(fn): fn returned a Promise; scopes are synchronous. Await outside tidy, or dispose tensors yourself.');
  }
  const escaping = new Set<Scoped>();
  forEachScoped(result, (t) => escaping.add(t));
  const outer = stack[stack.length - 1];
  for (const t of created) {
    if (escaping.has(t)) {
      if (outer) outer.push(t);
      else if (!t.kept) t.unscoped();
    } else if (!t.kept) t.dispose();
  }
  return result;
}

/** Disposes every tensor found in value (arrays, Maps, plain objects). */
export function disposeAll(value: unknown): void {
  forEachScoped(value, (t) => t.dispose());
}

/** How deep the current scope stack is (0 outside tidy). */
export function scopeDepth(): number {
  return stack.length;
}
