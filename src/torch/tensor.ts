// The Tensor class: a handle to one libtorch tensor plus the operations on it.
//
// Every method calls exactly one addon function (src/torch/native.ts) and wraps the result in a
// new Tensor, which registers with the enclosing tidy() scope. Methods ending in `_` work in place.
// Dimensions may be negative (counted from the end), as in PyTorch.
import { native } from './native.js';
import type { Handle } from './native.js';
import { type DType, type AnyTypedArray, dtypeCode, dtypeFromCode, viewBytes, isFloating } from './dtype.js';
import { type Scoped, track } from './scope.js';
import { afterRegister, registry } from './reclaim.js';
import { TorchError, ShapeError, DisposedTensorError, OutOfMemoryError, describe } from './errors.js';

export type Device = 'cpu' | 'cuda' | `cuda:${number}`;
export type NestedArray = number | boolean | NestedArray[];
type Operand = Tensor | number;

// Error context: wraps libtorch's message with the op name and the inputs' dtypes and shapes.
function fail(op: string, inputs: readonly unknown[], err: unknown): never {
  if (err instanceof TorchError) throw err;
  const msg = err instanceof Error ? err.message : String(err);
  const args = inputs.map((a) => (a instanceof Tensor ? (a.isDisposed ? 'disposed tensor' : describe(a.dtype, a.shape)) : JSON.stringify(a))).join(', ');
  const firstLine = msg.split('\n')[0] ?? msg;
  if (firstLine.includes('after dispose')) throw new DisposedTensorError();
  // libtorch's allocators: "DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes",
  // "CUDA out of memory. Tried to allocate 2.00 GiB …"
  const oom = /you tried to allocate (\d+) bytes/.exec(firstLine);
  if (oom || /out of memory/i.test(firstLine)) throw new OutOfMemoryError(`${op}(${args})`, oom ? Number(oom[1]) : null, { cause: err });
  throw new TorchError(`${op}(${args}): ${firstLine}`, { cause: err });
}

function wrap(op: string, inputs: readonly unknown[], f: () => Handle): Tensor {
  let h: Handle;
  try {
    h = f();
  } catch (err) {
    fail(op, inputs, err);
  }
  return new Tensor(h);
}

function inplace(op: string, self: Tensor, inputs: readonly unknown[], f: () => void): Tensor {
  try {
    f();
  } catch (err) {
    fail(op, [self, ...inputs], err);
  }
  return self;
}

// The fallback for tensors dropped without dispose(): when the garbage collector reclaims the JS
// object, free its slot. Only tensors outside every tidy() scope are registered (scoped ones are
// freed by their scope), and dispose() unregisters, so a loop that disposes what it makes holds
// no registry cells at all. reclaim.ts keeps that fallback bounded in loops that never yield.
const collected = registry;

const reduction = { none: 0, mean: 1, sum: 2 } as const;
export type Reduction = keyof typeof reduction;
export function reductionCode(r: Reduction): number {
  return reduction[r];
}

export class Tensor implements Scoped, Disposable {
  #h: Handle | null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;
  kept = false;

  /** Wraps a handle from the addon; users create tensors with tensor(), zeros(), … */
  constructor(h: Handle) {
    this.#h = h;
    track(this);
  }

  #registered = false;
  /** No tidy() scope owns this tensor: let the garbage collector free it if it is dropped undisposed. */
  unscoped(): void {
    if (this.#registered || this.#h === null) return;
    this.#registered = true;
    collected.register(this, this.#h, this);
    afterRegister();
  }

  /** The addon handle (throws if disposed). */
  get handle(): Handle {
    if (this.#h === null) throw new DisposedTensorError();
    return this.#h;
  }

  // ----- metadata ---------------------------------------------------------------------------
  #loadMeta(): void {
    const m = native.meta(this.handle);
    this.#dtype = dtypeFromCode(m[0] ?? -1);
    this.#shape = m.slice(2);
  }
  get shape(): number[] {
    if (this.#shape === undefined) this.#loadMeta();
    return (this.#shape as number[]).slice();
  }
  get dtype(): DType {
    if (this.#dtype === undefined) this.#loadMeta();
    return this.#dtype as DType;
  }
  get ndim(): number {
    if (this.#shape === undefined) this.#loadMeta();
    return (this.#shape as number[]).length;
  }
  /** Size of one dimension (negative counts from the end). */
  size(dim: number): number {
    if (this.#shape === undefined) this.#loadMeta();
    const s = this.#shape as number[];
    const d = dim < 0 ? dim + s.length : dim;
    const v = s[d];
    if (v === undefined) throw new ShapeError(`size(${dim}): tensor ${describe(this.dtype, s)} has ${s.length} dims`);
    return v;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get device(): string {
    return native.deviceOf(this.handle);
  }
  get isContiguous(): boolean {
    return native.isContiguous(this.handle);
  }
  get strides(): number[] {
    return native.strides(this.handle);
  }
  get isDisposed(): boolean {
    return this.#h === null;
  }
  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(${describe(this.dtype, this.shape)}, ${this.device})`;
  }

  // ----- memory -----------------------------------------------------------------------------
  /** Frees the libtorch tensor now. Safe to call twice. */
  dispose(): void {
    if (this.#h === null) return;
    native.dispose(this.#h);
    this.#h = null;
    if (this.#registered) collected.unregister(this);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ----- data out ---------------------------------------------------------------------------
  /** The elements as a flat typed array (a copy). bfloat16/float16 come back as Float32Array. */
  data(): AnyTypedArray {
    const d = this.dtype;
    if (d === 'bfloat16' || d === 'float16') {
      const f = this.to('float32');
      try {
        return viewBytes(native.toBuffer(f.handle), 'float32');
      } finally {
        f.dispose();
      }
    }
    return viewBytes(native.toBuffer(this.handle), d);
  }
  /** The elements as numbers (int64 converted with Number()). */
  toFlatArray(): number[] {
    const a = this.data();
    if (a instanceof BigInt64Array) return Array.from(a, (x) => Number(x));
    return Array.from(a as ArrayLike<number>);
  }
  /** Nested JavaScript arrays in the tensor's shape (booleans for bool tensors). */
  toArray(): NestedArray {
    const flat: NestedArray[] = this.dtype === 'bool' ? this.toFlatArray().map((x) => x !== 0) : this.toFlatArray();
    const shape = this.shape;
    if (shape.length === 0) return flat[0] as NestedArray;
    let level: NestedArray[] = flat;
    for (let d = shape.length - 1; d > 0; d--) {
      const n = shape[d] as number;
      const groups = shape.slice(0, d).reduce((a, b) => a * b, 1); // counted from the shape: a 0-size dim still nests
      const next: NestedArray[] = [];
      for (let g = 0; g < groups; g++) next.push(level.slice(g * n, g * n + n));
      level = next;
    }
    return level;
  }
  /** The single value of a one-element tensor. */
  item(): number {
    try {
      const v = native.item(this.handle);
      return typeof v === 'boolean' ? Number(v) : v;
    } catch (err) {
      fail('item', [this], err);
    }
  }

  // ----- conversion -------------------------------------------------------------------------
  /** To another dtype or device: t.to('bfloat16'), t.to('cuda'). Returns a new tensor. */
  to(target: DType | Device, opts: { nonBlocking?: boolean } = {}): Tensor {
    if (target === 'cpu' || target === 'cuda' || target.startsWith('cuda:')) {
      return wrap('to', [this, target], () => native.toDevice(this.handle, target, opts.nonBlocking ?? false));
    }
    const code = dtypeCode(target as DType);
    return wrap('to', [this, target], () => native.toDtype(this.handle, code));
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  bfloat16(): Tensor { return this.to('bfloat16'); }
  half(): Tensor { return this.to('float16'); }
  long(): Tensor { return this.to('int64'); }
  int(): Tensor { return this.to('int32'); }
  bool(): Tensor { return this.to('bool'); }
  clone(): Tensor { return wrap('clone', [this], () => native.clone(this.handle)); }
  /** A tensor sharing storage, cut from the autograd graph. */
  detach(): Tensor { return wrap('detach', [this], () => native.detach(this.handle)); }
  contiguous(): Tensor { return wrap('contiguous', [this], () => native.contiguous(this.handle)); }

  // ----- autograd ---------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return native.meta(this.handle)[1] === 1;
  }
  set requiresGrad(v: boolean) {
    if (v && !isFloating(this.dtype)) throw new TorchError(`requiresGrad: only floating-point tensors can require gradients, this one is ${this.dtype}`);
    native.setRequiresGrad(this.handle, v);
  }
  /** Sets requiresGrad and returns this (chainable). */
  requiresGrad_(v = true): Tensor {
    this.requiresGrad = v;
    return this;
  }
  /** The accumulated gradient (a new handle sharing its storage), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    if (g !== null && g.shape.join() !== this.shape.join()) {
      throw new ShapeError(`grad: assigned gradient ${describe(g.dtype, g.shape)} does not match the tensor ${describe(this.dtype, this.shape)}`);
    }
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  /** Forgets the gradient (like PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    native.setGrad(this.handle, null);
  }
  /** Backpropagates from this tensor (a scalar, or pass `gradient` of the same shape). */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean } = {}): void {
    try {
      native.backward(this.handle, gradient ? gradient.handle : null, opts.retainGraph ?? false);
    } catch (err) {
      fail('backward', [this], err);
    }
  }
  /** Keep .grad on a non-leaf tensor too. */
  retainGrad(): Tensor {
    native.retainGrad(this.handle);
    return this;
  }
  get isLeaf(): boolean { return native.isLeaf(this.handle); }
  /** Name of the autograd node that made this tensor, e.g. 'MulBackward0', or null for leaves. */
  get gradFn(): string | null { return native.gradFnName(this.handle); }

  // ----- elementwise --------------------------------------------------------------------------
  add(o: Operand, alpha?: number): Tensor {
    if (typeof o === 'number') return wrap('add', [this, o], () => native.addS(this.handle, o * (alpha ?? 1)));
    return wrap('add', [this, o], () => native.add(this.handle, o.handle, alpha));
  }
  sub(o: Operand, alpha?: number): Tensor {
    if (typeof o === 'number') return wrap('sub', [this, o], () => native.subS(this.handle, o * (alpha ?? 1)));
    return wrap('sub', [this, o], () => native.sub(this.handle, o.handle, alpha));
  }
  /** s − this */
  rsub(s: number): Tensor { return wrap('rsub', [this, s], () => native.rsubS(this.handle, s)); }
  mul(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('mul', [this, o], () => native.mulS(this.handle, o)) : wrap('mul', [this, o], () => native.mul(this.handle, o.handle));
  }
  div(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('div', [this, o], () => native.divS(this.handle, o)) : wrap('div', [this, o], () => native.div(this.handle, o.handle));
  }
  pow(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('pow', [this, o], () => native.powS(this.handle, o)) : wrap('pow', [this, o], () => native.pow(this.handle, o.handle));
  }
  remainder(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('remainder', [this, o], () => native.remainderS(this.handle, o)) : wrap('remainder', [this, o], () => native.remainder(this.handle, o.handle));
  }
  maximum(o: Tensor): Tensor { return wrap('maximum', [this, o], () => native.maximum(this.handle, o.handle)); }
  minimum(o: Tensor): Tensor { return wrap('minimum', [this, o], () => native.minimum(this.handle, o.handle)); }
  atan2(o: Tensor): Tensor { return wrap('atan2', [this, o], () => native.atan2(this.handle, o.handle)); }
  /** this + w·(end − this) */
  lerp(end: Tensor, w: number): Tensor { return wrap('lerp', [this, end, w], () => native.lerp(this.handle, end.handle, w)); }

  eq(o: Operand | boolean): Tensor {
    return o instanceof Tensor ? wrap('eq', [this, o], () => native.eq(this.handle, o.handle)) : wrap('eq', [this, o], () => native.eqS(this.handle, o));
  }
  ne(o: Operand | boolean): Tensor {
    return o instanceof Tensor ? wrap('ne', [this, o], () => native.ne(this.handle, o.handle)) : wrap('ne', [this, o], () => native.neS(this.handle, o));
  }
  lt(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('lt', [this, o], () => native.ltS(this.handle, o)) : wrap('lt', [this, o], () => native.lt(this.handle, o.handle));
  }
  le(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('le', [this, o], () => native.leS(this.handle, o)) : wrap('le', [this, o], () => native.le(this.handle, o.handle));
  }
  gt(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('gt', [this, o], () => native.gtS(this.handle, o)) : wrap('gt', [this, o], () => native.gt(this.handle, o.handle));
  }
  ge(o: Operand): Tensor {
    return typeof o === 'number' ? wrap('ge', [this, o], () => native.geS(this.handle, o)) : wrap('ge', [this, o], () => native.ge(this.handle, o.handle));
  }
  logicalAnd(o: Tensor): Tensor { return wrap('logicalAnd', [this, o], () => native.logicalAnd(this.handle, o.handle)); }
  logicalOr(o: Tensor): Tensor { return wrap('logicalOr', [this, o], () => native.logicalOr(this.handle, o.handle)); }
  logicalNot(): Tensor { return wrap('logicalNot', [this], () => native.logicalNot(this.handle)); }

  neg(): Tensor { return wrap('neg', [this], () => native.neg(this.handle)); }
  exp(): Tensor { return wrap('exp', [this], () => native.exp(this.handle)); }
  log(): Tensor { return wrap('log', [this], () => native.log(this.handle)); }
  log1p(): Tensor { return wrap('log1p', [this], () => native.log1p(this.handle)); }
  expm1(): Tensor { return wrap('expm1', [this], () => native.expm1(this.handle)); }
  sqrt(): Tensor { return wrap('sqrt', [this], () => native.sqrt(this.handle)); }
  rsqrt(): Tensor { return wrap('rsqrt', [this], () => native.rsqrt(this.handle)); }
  abs(): Tensor { return wrap('abs', [this], () => native.abs(this.handle)); }
  sin(): Tensor { return wrap('sin', [this], () => native.sin(this.handle)); }
  cos(): Tensor { return wrap('cos', [this], () => native.cos(this.handle)); }
  tanh(): Tensor { return wrap('tanh', [this], () => native.tanh(this.handle)); }
  sigmoid(): Tensor { return wrap('sigmoid', [this], () => native.sigmoid(this.handle)); }
  logSigmoid(): Tensor { return wrap('logSigmoid', [this], () => native.logSigmoid(this.handle)); }
  softplus(): Tensor { return wrap('softplus', [this], () => native.softplus(this.handle)); }
  relu(): Tensor { return wrap('relu', [this], () => native.relu(this.handle)); }
  silu(): Tensor { return wrap('silu', [this], () => native.silu(this.handle)); }
  /** GELU; approximate 'tanh' is GPT-2's gelu_new, 'none' the exact erf form. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor { return wrap('gelu', [this], () => native.gelu(this.handle, approximate === 'tanh')); }
  erf(): Tensor { return wrap('erf', [this], () => native.erf(this.handle)); }
  sign(): Tensor { return wrap('sign', [this], () => native.sign(this.handle)); }
  floor(): Tensor { return wrap('floor', [this], () => native.floor(this.handle)); }
  ceil(): Tensor { return wrap('ceil', [this], () => native.ceil(this.handle)); }
  round(): Tensor { return wrap('round', [this], () => native.round(this.handle)); }
  reciprocal(): Tensor { return wrap('reciprocal', [this], () => native.reciprocal(this.handle)); }
  square(): Tensor { return wrap('square', [this], () => native.square(this.handle)); }
  isnan(): Tensor { return wrap('isnan', [this], () => native.isnan(this.handle)); }
  isfinite(): Tensor { return wrap('isfinite', [this], () => native.isfinite(this.handle)); }
  clamp(min: number | null, max: number | null = null): Tensor { return wrap('clamp', [this, min, max], () => native.clamp(this.handle, min, max)); }
  /** Clamp with tensor bounds (broadcast). */
  clampT(min: Tensor | null, max: Tensor | null): Tensor { return wrap('clamp', [this, min, max], () => native.clampT(this.handle, min?.handle ?? null, max?.handle ?? null)); }
  /** Where mask is true, value; elsewhere this. */
  maskedFill(mask: Tensor, value: number): Tensor { return wrap('maskedFill', [this, mask, value], () => native.maskedFill(this.handle, mask.handle, value)); }
  maskedSelect(mask: Tensor): Tensor { return wrap('maskedSelect', [this, mask], () => native.maskedSelect(this.handle, mask.handle)); }

  // ----- reductions -------------------------------------------------------------------------
  /** Sum over all elements, or over dim(s). */
  sum(dim?: number | number[], keepdim = false, opts: { dtype?: DType } = {}): Tensor {
    const dims = dim === undefined ? null : Array.isArray(dim) ? dim : [dim];
    const dt = opts.dtype ? dtypeCode(opts.dtype) : null;
    return wrap('sum', [this, dim], () => native.sum(this.handle, dims, keepdim, dt));
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    const dims = dim === undefined ? null : Array.isArray(dim) ? dim : [dim];
    return wrap('mean', [this, dim], () => native.mean(this.handle, dims, keepdim));
  }
  prod(dim?: number, keepdim = false): Tensor { return wrap('prod', [this, dim], () => native.prod(this.handle, dim ?? null, keepdim)); }
  /** Largest element overall (dim omitted), or the largest along dim. See maxWithIndices for indices. */
  max(dim?: number | number[], keepdim = false): Tensor {
    if (dim === undefined) return wrap('max', [this], () => native.maxAll(this.handle));
    return wrap('max', [this, dim], () => native.amax(this.handle, Array.isArray(dim) ? dim : [dim], keepdim));
  }
  min(dim?: number | number[], keepdim = false): Tensor {
    if (dim === undefined) return wrap('min', [this], () => native.minAll(this.handle));
    return wrap('min', [this, dim], () => native.amin(this.handle, Array.isArray(dim) ? dim : [dim], keepdim));
  }
  maxWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    let r: [Handle, Handle];
    try { r = native.maxDim(this.handle, dim, keepdim); } catch (err) { fail('maxWithIndices', [this, dim], err); }
    return { values: new Tensor(r[0]), indices: new Tensor(r[1]) };
  }
  minWithIndices(dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
    let r: [Handle, Handle];
    try { r = native.minDim(this.handle, dim, keepdim); } catch (err) { fail('minWithIndices', [this, dim], err); }
    return { values: new Tensor(r[0]), indices: new Tensor(r[1]) };
  }
  argmax(dim?: number, keepdim = false): Tensor { return wrap('argmax', [this, dim], () => native.argmax(this.handle, dim ?? null, keepdim)); }
  argmin(dim?: number, keepdim = false): Tensor { return wrap('argmin', [this, dim], () => native.argmin(this.handle, dim ?? null, keepdim)); }
  /** Variance with Bessel's correction by default (correction=1), like torch.var. */
  var(dim?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    const dims = dim === undefined ? null : Array.isArray(dim) ? dim : [dim];
    return wrap('var', [this, dim], () => native.var(this.handle, dims, opts.correction ?? 1, opts.keepdim ?? false));
  }
  std(dim?: number | number[], opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
    const dims = dim === undefined ? null : Array.isArray(dim) ? dim : [dim];
    return wrap('std', [this, dim], () => native.std(this.handle, dims, opts.correction ?? 1, opts.keepdim ?? false));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return wrap('logsumexp', [this, dim], () => native.logsumexp(this.handle, Array.isArray(dim) ? dim : [dim], keepdim));
  }
  all(dim?: number, keepdim = false): Tensor { return wrap('all', [this, dim], () => native.all(this.handle, dim ?? null, keepdim)); }
  any(dim?: number, keepdim = false): Tensor { return wrap('any', [this, dim], () => native.any(this.handle, dim ?? null, keepdim)); }
  norm(p = 2, dim?: number | number[], keepdim = false): Tensor {
    const dims = dim === undefined ? null : Array.isArray(dim) ? dim : [dim];
    return wrap('norm', [this, p, dim], () => native.norm(this.handle, p, dims, keepdim));
  }
  cumsum(dim: number): Tensor { return wrap('cumsum', [this, dim], () => native.cumsum(this.handle, dim)); }
  cumprod(dim: number): Tensor { return wrap('cumprod', [this, dim], () => native.cumprod(this.handle, dim)); }

  // ----- linear algebra ---------------------------------------------------------------------
  /** Matrix product with broadcasting over batch dims (torch.matmul). */
  matmul(o: Tensor): Tensor {
    const a = this.shape, b = o.shape;
    if (a.length >= 1 && b.length >= 1) {
      const k1 = a[a.length - 1], k2 = b.length === 1 ? b[0] : b[b.length - 2];
      if (k1 !== k2) throw new ShapeError(`matmul: inner dimensions differ: ${describe(this.dtype, a)} @ ${describe(o.dtype, b)} (${k1} ≠ ${k2})`);
    }
    return wrap('matmul', [this, o], () => native.matmul(this.handle, o.handle));
  }
  mm(o: Tensor): Tensor { return wrap('mm', [this, o], () => native.mm(this.handle, o.handle)); }
  bmm(o: Tensor): Tensor { return wrap('bmm', [this, o], () => native.bmm(this.handle, o.handle)); }

  // ----- shape ------------------------------------------------------------------------------
  #checkNumel(op: string, shape: readonly number[]): void {
    const bad = shape.find((s) => !Number.isInteger(s) || s < -1);
    if (bad !== undefined) {
      const arrays = shape.some((s) => Array.isArray(s));
      throw new ShapeError(`${op}: sizes must be whole numbers ≥ 0 (or one -1), got ${JSON.stringify(shape)}${arrays ? `; pass them as separate arguments: .${op}(${(shape.flat() as number[]).join(', ')})` : ''}`);
    }
    const known = shape.filter((s) => s !== -1);
    const prod = known.reduce((a, b) => a * b, 1);
    const n = this.numel;
    const ok = known.length === shape.length ? prod === n : shape.filter((s) => s === -1).length === 1 && prod > 0 && n % prod === 0;
    if (!ok) throw new ShapeError(`${op}: cannot view ${describe(this.dtype, this.shape)} (${n} elements) as [${shape.join(', ')}]`);
  }
  /** A view with a new shape (one dim may be -1). Needs compatible strides; see reshape. */
  view(...shape: number[]): Tensor {
    this.#checkNumel('view', shape);
    return wrap('view', [this, shape], () => native.view(this.handle, shape));
  }
  /** Like view, copying when the strides do not allow a view. */
  reshape(...shape: number[]): Tensor {
    this.#checkNumel('reshape', shape);
    return wrap('reshape', [this, shape], () => native.reshape(this.handle, shape));
  }
  permute(...dims: number[]): Tensor { return wrap('permute', [this, dims], () => native.permute(this.handle, dims)); }
  transpose(d0: number, d1: number): Tensor { return wrap('transpose', [this, d0, d1], () => native.transpose(this.handle, d0, d1)); }
  /** Transpose of a 2-D tensor. */
  get T(): Tensor { return this.transpose(0, 1); }
  expand(...shape: number[]): Tensor { return wrap('expand', [this, shape], () => native.expand(this.handle, shape)); }
  squeeze(dim?: number): Tensor { return wrap('squeeze', [this, dim], () => native.squeeze(this.handle, dim ?? null)); }
  unsqueeze(dim: number): Tensor { return wrap('unsqueeze', [this, dim], () => native.unsqueeze(this.handle, dim)); }
  flatten(start = 0, end = -1): Tensor { return wrap('flatten', [this, start, end], () => native.flatten(this.handle, start, end)); }
  /** Elements start..end-1 (step) along dim, as a view — PyTorch's t[:, start:end:step]. */
  slice(dim: number, start = 0, end?: number, step = 1): Tensor {
    const e = end ?? Number.MAX_SAFE_INTEGER;
    return wrap('slice', [this, dim, start, end, step], () => native.slice(this.handle, dim, start, e, step));
  }
  narrow(dim: number, start: number, length: number): Tensor { return wrap('narrow', [this, dim, start, length], () => native.narrow(this.handle, dim, start, length)); }
  /** Index i along dim, removing that dim (t[i] for dim 0). */
  select(dim: number, index: number): Tensor { return wrap('select', [this, dim, index], () => native.select(this.handle, dim, index)); }
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    let sizes: number[];
    if (Array.isArray(sizeOrSizes)) sizes = sizeOrSizes;
    else {
      const n = this.size(dim);
      sizes = [];
      for (let i = 0; i < n; i += sizeOrSizes) sizes.push(Math.min(sizeOrSizes, n - i));
    }
    let hs: Handle[];
    try { hs = native.split(this.handle, sizes, dim); } catch (err) { fail('split', [this, sizeOrSizes, dim], err); }
    return hs.map((h) => new Tensor(h));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    let hs: Handle[];
    try { hs = native.chunk(this.handle, chunks, dim); } catch (err) { fail('chunk', [this, chunks, dim], err); }
    return hs.map((h) => new Tensor(h));
  }
  flip(...dims: number[]): Tensor { return wrap('flip', [this, dims], () => native.flip(this.handle, dims)); }
  roll(shifts: number | number[], dims: number | number[]): Tensor {
    const s = Array.isArray(shifts) ? shifts : [shifts], d = Array.isArray(dims) ? dims : [dims];
    return wrap('roll', [this, shifts, dims], () => native.roll(this.handle, s, d));
  }
  repeat(...times: number[]): Tensor { return wrap('repeat', [this, times], () => native.repeat(this.handle, times)); }
  repeatInterleave(repeats: number, dim: number): Tensor { return wrap('repeatInterleave', [this, repeats, dim], () => native.repeatInterleave(this.handle, repeats, dim)); }

  // ----- indexing ---------------------------------------------------------------------------
  gather(dim: number, index: Tensor): Tensor { return wrap('gather', [this, dim, index], () => native.gather(this.handle, dim, index.handle)); }
  /** Out-of-place scatter: a copy of this with src written at index along dim. */
  scatter(dim: number, index: Tensor, src: Tensor): Tensor { return wrap('scatter', [this, dim, index, src], () => native.scatter(this.handle, dim, index.handle, src.handle)); }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return wrap('scatterAdd', [this, dim, index, src], () => native.scatterAdd(this.handle, dim, index.handle, src.handle)); }
  indexSelect(dim: number, index: Tensor): Tensor { return wrap('indexSelect', [this, dim, index], () => native.indexSelect(this.handle, dim, index.handle)); }
  /** Advanced indexing: t.index([rows, null, cols]) is PyTorch's t[rows, :, cols]. */
  index(indices: readonly (Tensor | null)[]): Tensor {
    return wrap('index', [this, ...indices], () => native.index(this.handle, indices.map((t) => (t ? t.handle : null))));
  }
  tril(k = 0): Tensor { return wrap('tril', [this, k], () => native.tril(this.handle, k)); }
  triu(k = 0): Tensor { return wrap('triu', [this, k], () => native.triu(this.handle, k)); }
  nonzero(): Tensor { return wrap('nonzero', [this], () => native.nonzero(this.handle)); }

  // ----- nn-style ---------------------------------------------------------------------------
  softmax(dim: number): Tensor { return wrap('softmax', [this, dim], () => native.softmax(this.handle, dim)); }
  logSoftmax(dim: number): Tensor { return wrap('logSoftmax', [this, dim], () => native.logSoftmax(this.handle, dim)); }

  // ----- sorting and sampling ---------------------------------------------------------------
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    let r: [Handle, Handle];
    try { r = native.topk(this.handle, k, dim, largest, sorted); } catch (err) { fail('topk', [this, k, dim], err); }
    return { values: new Tensor(r[0]), indices: new Tensor(r[1]) };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    let r: [Handle, Handle];
    try { r = native.sort(this.handle, dim, descending); } catch (err) { fail('sort', [this, dim], err); }
    return { values: new Tensor(r[0]), indices: new Tensor(r[1]) };
  }
  argsort(dim = -1, descending = false): Tensor { return wrap('argsort', [this, dim], () => native.argsort(this.handle, dim, descending)); }
  /** n samples per row from the (unnormalised) probabilities in this. */
  multinomial(n: number, replacement = false): Tensor { return wrap('multinomial', [this, n], () => native.multinomial(this.handle, n, replacement)); }

  // ----- in place (no autograd history on leaves that require grad: use inside noGrad) -------
  add_(o: Operand, alpha = 1): Tensor {
    if (typeof o === 'number') return inplace('add_', this, [o], () => native.addS_(this.handle, o * alpha));
    return inplace('add_', this, [o], () => (alpha === 1 ? native.add_(this.handle, o.handle) : native.addScaled_(this.handle, o.handle, alpha)));
  }
  sub_(o: Operand): Tensor {
    if (typeof o === 'number') return inplace('sub_', this, [o], () => native.addS_(this.handle, -o));
    return inplace('sub_', this, [o], () => native.sub_(this.handle, o.handle));
  }
  mul_(o: Operand): Tensor {
    if (typeof o === 'number') return inplace('mul_', this, [o], () => native.mulS_(this.handle, o));
    return inplace('mul_', this, [o], () => native.mul_(this.handle, o.handle));
  }
  div_(o: Operand): Tensor {
    if (typeof o === 'number') return inplace('div_', this, [o], () => native.divS_(this.handle, o));
    return inplace('div_', this, [o], () => native.div_(this.handle, o.handle));
  }
  copy_(src: Tensor): Tensor { return inplace('copy_', this, [src], () => native.copy_(this.handle, src.handle)); }
  zero_(): Tensor { return inplace('zero_', this, [], () => native.zero_(this.handle)); }
  fill_(v: number | boolean): Tensor { return inplace('fill_', this, [v], () => native.fill_(this.handle, v)); }
  addcmul_(a: Tensor, b: Tensor, value = 1): Tensor { return inplace('addcmul_', this, [a, b], () => native.addcmul_(this.handle, a.handle, b.handle, value)); }
  addcdiv_(a: Tensor, b: Tensor, value = 1): Tensor { return inplace('addcdiv_', this, [a, b], () => native.addcdiv_(this.handle, a.handle, b.handle, value)); }
  lerp_(end: Tensor, w: number): Tensor { return inplace('lerp_', this, [end, w], () => native.lerp_(this.handle, end.handle, w)); }
  clamp_(min: number | null, max: number | null = null): Tensor { return inplace('clamp_', this, [min, max], () => native.clamp_(this.handle, min, max)); }
  uniform_(lo = 0, hi = 1): Tensor { return inplace('uniform_', this, [lo, hi], () => native.uniform_(this.handle, lo, hi)); }
  normal_(mean = 0, std = 1): Tensor { return inplace('normal_', this, [mean, std], () => native.normal_(this.handle, mean, std)); }
  /** this[indices] = values (accumulate adds instead). */
  indexPut_(indices: readonly (Tensor | null)[], values: Tensor, accumulate = false): Tensor {
    return inplace('indexPut_', this, [values], () => native.indexPut_(this.handle, indices.map((t) => (t ? t.handle : null)), values.handle, accumulate));
  }
  /** Copies src into this.narrow(dim, start, src.size(dim)) — a KV-cache write without a view handle. */
  narrowCopy_(dim: number, start: number, src: Tensor): Tensor {
    return inplace('narrowCopy_', this, [dim, start, src], () => native.narrowCopy_(this.handle, dim, start, src.handle));
  }

  /** Makes this tensor hold src's data (dtype, device and shape may change), keeping its identity. */
  setData_(src: Tensor): Tensor {
    const r = inplace('setData_', this, [src], () => native.setData_(this.handle, src.handle));
    this.#shape = undefined;
    this.#dtype = undefined;
    return r;
  }

  /** Throws a ShapeError unless the shape matches; null entries match any size. */
  assertShape(expected: readonly (number | null)[], what = 'tensor'): Tensor {
    const s = this.shape;
    if (s.length !== expected.length || expected.some((e, i) => e !== null && e !== s[i])) {
      throw new ShapeError(`${what}: expected shape [${expected.map((e) => (e === null ? '?' : e)).join(', ')}], got ${describe(this.dtype, s)}`);
    }
    return this;
  }
}

export { wrap as wrapHandle, fail as failOp };
