// Mixed precision: inside autocast, matmuls and linear layers run in bfloat16 (AMX on Sapphire
// Rapids CPUs, tensor cores on GPUs) while the weights stay float32 ("master weights") and
// precision-sensitive ops (softmax, losses, norms) keep float32 — libtorch's autocast policy.
import { native } from './native.js';
import { dtypeCode } from './dtype.js';

export type AutocastDevice = 'cpu' | 'cuda';
type AutocastDtype = 'bfloat16' | 'float16';

// libtorch keeps one autocast dtype per device type; we remember it to restore nested regions.
const current: Record<AutocastDevice, AutocastDtype> = { cpu: 'bfloat16', cuda: 'float16' };

/** Runs fn with autocast to dtype on the given device type (CPU autocast supports bfloat16 only). */
export function autocast<T>(dtype: AutocastDtype, fn: () => T, device: AutocastDevice = 'cpu'): T {
  if (device === 'cpu' && dtype !== 'bfloat16') throw new TypeError(`autocast: CPU autocast supports bfloat16 only, got ${dtype}`);
  const prevDtype = current[device];
  const prevEnabled = native.setAutocast(device, true, dtypeCode(dtype));
  current[device] = dtype;
  native.autocastIncrementNesting();
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('autocast(fn): fn must be synchronous');
    return r;
  } finally {
    native.autocastDecrementNesting();
    native.setAutocast(device, prevEnabled, dtypeCode(prevDtype));
    current[device] = prevDtype;
  }
}
