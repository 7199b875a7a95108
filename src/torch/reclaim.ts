// Tensors dropped without dispose() outside every tidy() scope: memory stays bounded even in a
// loop that never yields to the event loop.
//
// The garbage collector is the fallback owner of such a tensor: tensor.ts registers it here, and
// when V8 collects the JS object the registry frees its libtorch tensor. But V8 runs finalization
// callbacks only when the event loop turns, so a synchronous training loop that forgets tidy()
// grew without limit (6 GB of native memory in 3,000 small steps) although V8 had long collected
// the objects. So every registration compares the addon's live tensors and bytes with a high-water
// mark; above it, the finalizers V8 has queued run now (FinalizationRegistry.cleanupSome), and when
// that is not enough, after a full garbage collection. The new mark is what is still alive plus
// half of it (at least the floors below), so a program that really holds many tensors pays for a
// few reclamations, not one per tensor. The first reclamation that frees anything prints a
// one-time warning with the fix: each reclamation is a full GC, the slow path.
//
// cleanupSome and gc() are V8 features behind flags (--harmony-weak-refs-with-cleanup-some,
// --expose-gc); both are switched on just long enough to make one fresh context, whose
// FinalizationRegistry and gc this module keeps, and switched off again. Where a future V8 lacks
// them, crossing the mark prints the warning instead, once.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from './native.js';
import type { Handle } from './native.js';

/** Live tensors the addon may hold before the first reclamation. */
const FLOOR_TENSORS = 20_000;
/** Bytes of tensor storage the addon may hold before the first reclamation. */
const FLOOR_BYTES = 512 * 2 ** 20;

interface CleanableRegistry extends FinalizationRegistry<Handle> {
  cleanupSome?: (callback?: (h: Handle) => void) => void;
}

function withFlag<T>(flag: string, fn: () => T): T | null {
  try {
    setFlagsFromString(`--${flag}`);
    try {
      return fn();
    } finally {
      setFlagsFromString(`--no-${flag}`);
    }
  } catch {
    return null;
  }
}

const free = (h: Handle): void => native.dispose(h);

function makeRegistry(): CleanableRegistry {
  const FR = withFlag('harmony-weak-refs-with-cleanup-some', () => runInNewContext('FinalizationRegistry') as typeof FinalizationRegistry);
  const r: CleanableRegistry = FR ? new FR<Handle>(free) : new FinalizationRegistry<Handle>(free);
  return typeof r.cleanupSome === 'function' ? r : new FinalizationRegistry<Handle>(free);
}

/** Frees the libtorch tensor of a Tensor object the garbage collector reclaimed. */
export const registry: CleanableRegistry = makeRegistry();
const gc = withFlag('expose-gc', () => runInNewContext('gc') as () => void);

let markTensors = FLOOR_TENSORS;
let markBytes = FLOOR_BYTES;
let reclaimedTotal = 0;
let warned = false;

/** Tensors freed by reclaimDropped() so far (tensors the garbage collector would have freed later). */
export function reclaimedTensors(): number {
  return reclaimedTotal;
}

/** Called when a tensor is registered with `registry`: reclaims dropped tensors above the mark. */
export function afterRegister(): void {
  const m = native.memory();
  if (m.liveTensors > markTensors || m.bytes > markBytes) reclaim(false);
}

/**
 * Frees now every tensor whose JS object is unreachable (dropped without dispose(), outside any
 * tidy() scope) without waiting for the event loop, by a full garbage collection. Returns how many
 * were freed. Correct code never needs it; rlhf calls it by itself when memory crosses the mark.
 */
export function reclaimDropped(): number {
  return reclaim(true);
}

function reclaim(explicit: boolean): number {
  const before = native.memory();
  if (registry.cleanupSome) {
    registry.cleanupSome(); // what V8 has already collected
    const now = native.memory();
    if (gc && (explicit || now.liveTensors > markTensors || now.bytes > markBytes)) {
      gc();
      registry.cleanupSome();
    }
  }
  const after = native.memory();
  const freed = Math.max(0, before.liveTensors - after.liveTensors);
  reclaimedTotal += freed;
  markTensors = after.liveTensors + Math.max(FLOOR_TENSORS, after.liveTensors / 2);
  markBytes = after.bytes + Math.max(FLOOR_BYTES, after.bytes / 2);
  if (!explicit && !warned && (freed > 0 || !registry.cleanupSome)) {
    warned = true;
    const what =
      freed > 0
        ? `rlhf freed ${freed.toLocaleString('en-US')} tensors that were dropped without dispose() outside any tidy() scope, with a forced garbage collection (slow)`
        : `${before.liveTensors.toLocaleString('en-US')} tensors (${(before.bytes / 2 ** 20).toFixed(0)} MB) are alive, and this Node cannot free dropped ones before the event loop turns`;
    process.emitWarning(`${what}. Wrap each step of a loop in torch.tidy(() => …) and dispose() what you keep across steps. (shown once)`, { code: 'RLHF_UNDISPOSED_TENSORS' });
  }
  return freed;
}
