// What is alive in libtorch right now: for leak tests and for `rlhf doctor`.
import { native } from './native.js';
import { scopeDepth } from './scope.js';

export interface MemoryReport {
  /** Tensor handles JavaScript holds that are not yet disposed. */
  liveTensors: number;
  /** Bytes of storage those handles own (views count 0: their base owns the storage). */
  bytes: number;
  /** Nesting of tidy() scopes at the call. */
  scopeDepth: number;
  /** Resident set size of the process. */
  rss: number;
}

export function memory(): MemoryReport {
  const m = native.memory();
  return { liveTensors: m.liveTensors, bytes: m.bytes, scopeDepth: scopeDepth(), rss: process.memoryUsage.rss() };
}
