// Making tensors: from JavaScript data, constants, ranges and random numbers.
import { native } from './native.js';
import { type DType, type AnyTypedArray, dtypeCode, dtypeOfTypedArray } from './dtype.js';
import { Tensor, wrapHandle, failOp, type Device, type NestedArray } from './tensor.js';
import { TorchError } from './errors.js';

export interface CreateOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferShape(data: NestedArray, path = 'data'): number[] {
  if (!Array.isArray(data)) return [];
  if (data.length === 0) return [0];
  const inner = inferShape(data[0] as NestedArray, `${path}[0]`);
  for (let i = 1; i < data.length; i++) {
    const s = inferShape(data[i] as NestedArray, `${path}[${i}]`);
    if (s.length !== inner.length || s.some((v, k) => v !== inner[k])) {
      throw new TorchError(`tensor(): ragged nested array: ${path}[0] has shape [${inner.join(', ')}] but ${path}[${i}] has [${s.join(', ')}]`);
    }
  }
  return [data.length, ...inner];
}

function flatten(data: NestedArray): (number | boolean)[] {
  const out: (number | boolean)[] = [];
  const walk = (d: NestedArray, path: string): void => {
    if (Array.isArray(d)) d.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (typeof d === 'number' || typeof d === 'boolean') out.push(d);
    else throw new TorchError(`tensor(): ${path} is ${describeValue(d)}; a tensor holds numbers or booleans (convert strings with Number(s) first)`);
  };
  walk(data, 'data');
  return out;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`}`;
}

/**
 * Checks a shape before it reaches libtorch, which would truncate 2.5 to 2 and read NaN as 0:
 * every size must be an integer ≥ 0.
 */
export function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape)) throw new TorchError(`${op}(): the shape must be an array of sizes like [2, 3], got ${describeValue(shape)}`);
  shape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new TorchError(`${op}(): shape[${i}] is ${typeof d === 'number' ? d : describeValue(d)} in [${shape.map(String).join(', ')}]; every size must be a whole number ≥ 0`);
    }
  });
}

function typedFor(dtype: DType, values: readonly (number | boolean)[]): AnyTypedArray {
  switch (dtype) {
    case 'float64': return Float64Array.from(values, Number);
    case 'int64': return BigInt64Array.from(values, (v) => BigInt(Math.trunc(Number(v))));
    case 'int32': return Int32Array.from(values, Number);
    case 'int16': return Int16Array.from(values, Number);
    case 'int8': return Int8Array.from(values, Number);
    case 'uint8': return Uint8Array.from(values, (v) => Number(v));
    case 'bool': return Uint8Array.from(values, (v) => (v !== 0 && v !== false ? 1 : 0)); // truthiness, as bool(x): 0.5 → true
    default: return Float32Array.from(values, Number);
  }
}

/**
 * A tensor from nested arrays, a typed array, or a number.
 * Numbers default to float32 (not int64 as in PyTorch: every JS number is a double); booleans to bool;
 * typed arrays keep their type (Float64Array → float64, Int32Array → int32, BigInt64Array → int64, …).
 * Pass `shape` with a flat typed array to reshape it.
 */
export function tensor(data: NestedArray | AnyTypedArray, opts: CreateOptions & { shape?: number[] } = {}): Tensor {
  let shape: number[];
  let typed: AnyTypedArray;
  let srcDtype: DType;
  if (ArrayBuffer.isView(data)) {
    typed = data;
    srcDtype = dtypeOfTypedArray(data);
    shape = opts.shape ?? [data.length];
  } else {
    if (!Array.isArray(data) && typeof data !== 'number' && typeof data !== 'boolean') throw new TorchError(`tensor(): data is ${describeValue(data)}; pass numbers, booleans, nested arrays of them, or a typed array`);
    shape = opts.shape ?? inferShape(data);
    const flat = flatten(data);
    srcDtype = opts.dtype ?? (flat.length > 0 && typeof flat[0] === 'boolean' ? 'bool' : 'float32');
    if (srcDtype === 'bfloat16' || srcDtype === 'float16') {
      typed = Float32Array.from(flat, Number);
      srcDtype = 'float32';
    } else typed = typedFor(srcDtype, flat);
  }
  checkShape('tensor', shape);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== typed.length) throw new TorchError(`tensor(): shape [${shape.join(', ')}] needs ${n} elements, data has ${typed.length}`);
  let t = wrapHandle('tensor', [], () => native.fromBuffer(typed, shape, dtypeCode(srcDtype), opts.device ?? 'cpu'));
  if (opts.dtype && opts.dtype !== srcDtype) {
    const c = t.to(opts.dtype);
    t.dispose();
    t = c;
  }
  return finish(t, opts);
}

const dt = (o: CreateOptions): number => dtypeCode(o.dtype ?? 'float32');
const dev = (o: CreateOptions): string => o.device ?? 'cpu';

export function zeros(shape: number[], opts: CreateOptions = {}): Tensor {
  checkShape('zeros', shape);
  return finish(wrapHandle('zeros', [shape], () => native.zeros(shape, dt(opts), dev(opts))), opts);
}
export function ones(shape: number[], opts: CreateOptions = {}): Tensor {
  checkShape('ones', shape);
  return finish(wrapHandle('ones', [shape], () => native.ones(shape, dt(opts), dev(opts))), opts);
}
/** Uninitialised memory: fast, contents arbitrary. */
export function empty(shape: number[], opts: CreateOptions = {}): Tensor {
  checkShape('empty', shape);
  return finish(wrapHandle('empty', [shape], () => native.empty(shape, dt(opts), dev(opts))), opts);
}
export function full(shape: number[], value: number | boolean, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  return finish(wrapHandle('full', [shape, value], () => native.full(shape, value, dt(opts), dev(opts))), opts);
}
export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device as Device, ...opts });
}
export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device as Device, ...opts });
}
export function fullLike(t: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, device: t.device as Device, ...opts });
}
/** start, start+step, … below end. arange(5) is 0..4. Like PyTorch: int64 when every argument is an integer, else float32. */
export function arange(startOrEnd: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  const o = { dtype: ([s, e, step].every(Number.isInteger) ? 'int64' : 'float32') as DType, ...opts };
  return finish(wrapHandle('arange', [s, e, step], () => native.arange(s, e, step, dt(o), dev(o))), o);
}
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  return finish(wrapHandle('linspace', [start, end, steps], () => native.linspace(start, end, steps, dt(opts), dev(opts))), opts);
}
export function eye(n: number, opts: CreateOptions = {}): Tensor {
  return finish(wrapHandle('eye', [n], () => native.eye(n, dt(opts), dev(opts))), opts);
}
/** Standard normal samples. */
export function randn(shape: number[], opts: CreateOptions = {}): Tensor {
  checkShape('randn', shape);
  return finish(wrapHandle('randn', [shape], () => native.randn(shape, dt(opts), dev(opts))), opts);
}
/** Uniform samples in [0, 1). */
export function rand(shape: number[], opts: CreateOptions = {}): Tensor {
  checkShape('rand', shape);
  return finish(wrapHandle('rand', [shape], () => native.rand(shape, dt(opts), dev(opts))), opts);
}
/** Integers uniform in [low, high). Defaults to int64. */
export function randint(low: number, high: number, shape: number[], opts: CreateOptions = {}): Tensor {
  checkShape('randint', shape);
  const o = { dtype: 'int64' as DType, ...opts };
  return finish(wrapHandle('randint', [low, high, shape], () => native.randint(low, high, shape, dt(o), dev(o))), o);
}
/** Seeds libtorch's generators (CPU and every CUDA device): same seed, same samples. */
export function manualSeed(seed: number): void {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new TorchError(`manualSeed(${typeof seed === 'number' ? seed : describeValue(seed)}): a seed must be a whole number between −(2^53 − 1) and 2^53 − 1 (larger ones are not exact in JavaScript)`);
  }
  native.manualSeed(seed);
}
/**
 * The state of libtorch's default generators as one 1-D uint8 tensor: the CPU generator's, then
 * each CUDA device's (torch.get_rng_state() + torch.cuda.get_rng_state_all()). Save it with a
 * checkpoint and pass it to setRngState() to resume a run with the same random draws.
 */
export function getRngState(): Tensor {
  return wrapHandle('getRngState', [], () => native.getRngState());
}
/** Restores what getRngState() returned (in a process with the same devices). */
export function setRngState(state: Tensor): void {
  try {
    native.setRngState(state.handle);
  } catch (err) {
    failOp('setRngState', [state], err);
  }
}

/** Concatenates along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new TorchError('cat(): needs at least one tensor');
  return wrapHandle('cat', tensors, () => native.cat(tensors.map((t) => t.handle), dim));
}
/** Stacks along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new TorchError('stack(): needs at least one tensor');
  return wrapHandle('stack', tensors, () => native.stack(tensors.map((t) => t.handle), dim));
}
/** cond ? a : b, elementwise with broadcasting (b may be a number). */
export function where(cond: Tensor, a: Tensor, b: Tensor | number): Tensor {
  if (typeof b === 'number') return wrapHandle('where', [cond, a, b], () => native.whereS(cond.handle, a.handle, b));
  return wrapHandle('where', [cond, a, b], () => native.where(cond.handle, a.handle, b.handle));
}
/** Einstein summation: einsum('bij,bjk->bik', a, b). */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return wrapHandle(`einsum('${equation}')`, operands, () => native.einsum(equation, operands.map((t) => t.handle)));
}
