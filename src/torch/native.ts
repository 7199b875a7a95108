// Loads the native addon (native/*.cc, built by `npm install`) and types its functions.
// Nothing here has logic: see tensor.ts for the API users see.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** An opaque reference to one libtorch tensor owned by JavaScript: a slot number in the addon's table. */
export type Handle = number & { readonly __tensorHandle: unique symbol };
type H = Handle;
type N = number;
type B = boolean;
type Ns = readonly number[];
type Hs = readonly H[];
type OptH = H | null;

export interface NativeAddon {
  dispose(h: H): void;
  isDisposed(h: H): boolean;
  memory(): { liveTensors: number; bytes: number };
  meta(h: H): number[];
  deviceOf(h: H): string;
  isContiguous(h: H): boolean;
  strides(h: H): number[];
  fromBuffer(data: ArrayBufferView, shape: Ns, dtype: N, device: string): H;
  toBuffer(h: H): ArrayBuffer;
  item(h: H): number | boolean;
  zeros(shape: Ns, dtype: N, device: string): H;
  ones(shape: Ns, dtype: N, device: string): H;
  empty(shape: Ns, dtype: N, device: string): H;
  full(shape: Ns, value: number | boolean, dtype: N, device: string): H;
  arange(start: N, end: N, step: N, dtype: N, device: string): H;
  linspace(start: N, end: N, steps: N, dtype: N, device: string): H;
  eye(n: N, dtype: N, device: string): H;
  randn(shape: Ns, dtype: N, device: string): H;
  rand(shape: Ns, dtype: N, device: string): H;
  randint(low: N, high: N, shape: Ns, dtype: N, device: string): H;
  manualSeed(seed: N): void;
  getRngState(): H;
  setRngState(state: H): void;
  setRequiresGrad(h: H, v: B): void;
  grad(h: H): H | null;
  setGrad(h: H, g: OptH): void;
  backward(h: H, grad: OptH, retainGraph: B): void;
  autogradGrad(outputs: Hs, inputs: Hs, gradOutputs: Hs | null, retainGraph: B, createGraph: B): (H | null)[];
  retainGrad(h: H): void;
  isLeaf(h: H): boolean;
  gradFnName(h: H): string | null;
  setGradEnabled(v: B): boolean;
  isGradEnabled(): boolean;
  setAutocast(device: string, enabled: B, dtype: N): boolean;
  autocastIncrementNesting(): number;
  autocastDecrementNesting(): number;
  setNumThreads(n: N): void;
  getNumThreads(): number;
  buildInfo(): { torchVersion: string; config: string; parallelInfo: string; mkldnn: B; mkl: B; lapack: B; cudaCompiled: B };
  cudaDeviceCount(): number;
  synchronize(): void;
  // unary
  neg(h: H): H; exp(h: H): H; log(h: H): H; log1p(h: H): H; expm1(h: H): H; sqrt(h: H): H; rsqrt(h: H): H;
  abs(h: H): H; sin(h: H): H; cos(h: H): H; tanh(h: H): H; sigmoid(h: H): H; relu(h: H): H; silu(h: H): H;
  erf(h: H): H; sign(h: H): H; floor(h: H): H; ceil(h: H): H; round(h: H): H; reciprocal(h: H): H; square(h: H): H;
  logicalNot(h: H): H; isnan(h: H): H; isfinite(h: H): H; logSigmoid(h: H): H; softplus(h: H): H;
  gelu(h: H, tanh: B): H; clamp(h: H, lo: N | null, hi: N | null): H; clampT(h: H, lo: OptH, hi: OptH): H;
  powS(h: H, e: N): H; toDtype(h: H, d: N): H; toDevice(h: H, dev: string, nonBlocking: B): H;
  clone(h: H): H; detach(h: H): H; contiguous(h: H): H;
  // binary
  add(a: H, b: H, alpha?: N): H; sub(a: H, b: H, alpha?: N): H; mul(a: H, b: H): H; div(a: H, b: H): H;
  pow(a: H, b: H): H; maximum(a: H, b: H): H; minimum(a: H, b: H): H; eq(a: H, b: H): H; ne(a: H, b: H): H;
  lt(a: H, b: H): H; le(a: H, b: H): H; gt(a: H, b: H): H; ge(a: H, b: H): H; logicalAnd(a: H, b: H): H;
  logicalOr(a: H, b: H): H; atan2(a: H, b: H): H; remainder(a: H, b: H): H;
  addS(a: H, s: N): H; subS(a: H, s: N): H; mulS(a: H, s: N): H; divS(a: H, s: N): H; rsubS(a: H, s: N): H;
  eqS(a: H, s: N | B): H; neS(a: H, s: N | B): H; ltS(a: H, s: N): H; leS(a: H, s: N): H; gtS(a: H, s: N): H;
  geS(a: H, s: N): H; remainderS(a: H, s: N): H;
  where(c: H, a: H, b: H): H; whereS(c: H, a: H, s: N): H; lerp(a: H, b: H, w: N): H;
  // reductions
  sum(h: H, dims: Ns | null, keepdim: B, dtype: N | null): H; mean(h: H, dims: Ns | null, keepdim: B): H;
  prod(h: H, dim: N | null, keepdim: B): H; amax(h: H, dims: Ns, keepdim: B): H; amin(h: H, dims: Ns, keepdim: B): H;
  maxAll(h: H): H; minAll(h: H): H; maxDim(h: H, dim: N, keepdim: B): [H, H]; minDim(h: H, dim: N, keepdim: B): [H, H];
  argmax(h: H, dim: N | null, keepdim: B): H; argmin(h: H, dim: N | null, keepdim: B): H;
  var(h: H, dims: Ns | null, correction: N, keepdim: B): H; std(h: H, dims: Ns | null, correction: N, keepdim: B): H;
  logsumexp(h: H, dims: Ns, keepdim: B): H; all(h: H, dim: N | null, keepdim: B): H; any(h: H, dim: N | null, keepdim: B): H;
  norm(h: H, p: N, dims: Ns | null, keepdim: B): H; cumsum(h: H, dim: N): H; cumprod(h: H, dim: N): H;
  // linear algebra
  matmul(a: H, b: H): H; bmm(a: H, b: H): H; mm(a: H, b: H): H; linear(x: H, w: H, b: OptH): H;
  addmm(c: H, a: H, b: H, beta: N, alpha: N): H; baddbmm(c: H, a: H, b: H, beta: N, alpha: N): H; einsum(eq: string, hs: Hs): H;
  // shape
  view(h: H, s: Ns): H; reshape(h: H, s: Ns): H; permute(h: H, d: Ns): H; transpose(h: H, a: N, b: N): H;
  expand(h: H, s: Ns): H; squeeze(h: H, dim: N | null): H; unsqueeze(h: H, dim: N): H; flatten(h: H, a: N, b: N): H;
  narrow(h: H, dim: N, start: N, len: N): H; slice(h: H, dim: N, start: N, end: N, step: N): H; select(h: H, dim: N, i: N): H;
  cat(hs: Hs, dim: N): H; stack(hs: Hs, dim: N): H; split(h: H, sizes: Ns, dim: N): H[]; chunk(h: H, n: N, dim: N): H[];
  flip(h: H, dims: Ns): H; roll(h: H, shifts: Ns, dims: Ns): H; repeat(h: H, r: Ns): H; repeatInterleave(h: H, r: N, dim: N): H;
  // indexing
  gather(h: H, dim: N, idx: H): H; scatter(h: H, dim: N, idx: H, src: H): H; scatterAdd(h: H, dim: N, idx: H, src: H): H;
  indexSelect(h: H, dim: N, idx: H): H; index(h: H, idx: readonly (H | null)[]): H;
  indexPut_(h: H, idx: readonly (H | null)[], v: H, accumulate: B): void;
  maskedFill(h: H, mask: H, v: N): H; maskedSelect(h: H, mask: H): H; tril(h: H, k: N): H; triu(h: H, k: N): H; nonzero(h: H): H;
  // nn
  softmax(h: H, dim: N): H; logSoftmax(h: H, dim: N): H;
  layerNorm(x: H, shape: Ns, w: OptH, b: OptH, eps: N): H; embedding(w: H, idx: H, paddingIdx: N): H;
  dropout(h: H, p: N, train: B): H;
  crossEntropy(logits: H, target: H, weight: OptH, reduction: N, ignoreIndex: N, labelSmoothing: N): H;
  nllLoss(logp: H, target: H, weight: OptH, reduction: N, ignoreIndex: N): H; mseLoss(a: H, b: H, reduction: N): H;
  bceWithLogits(x: H, y: H, weight: OptH, posWeight: OptH, reduction: N): H;
  sdpa(q: H, k: H, v: H, mask: OptH, dropoutP: N, isCausal: B, scale: N | null): H;
  // sampling, sorting
  multinomial(h: H, n: N, replacement: B): H; topk(h: H, k: N, dim: N, largest: B, sorted: B): [H, H];
  sort(h: H, dim: N, descending: B): [H, H]; argsort(h: H, dim: N, descending: B): H;
  // in place
  add_(a: H, b: H): void; sub_(a: H, b: H): void; mul_(a: H, b: H): void; div_(a: H, b: H): void; copy_(a: H, b: H): void;
  addS_(a: H, s: N): void; mulS_(a: H, s: N): void; divS_(a: H, s: N): void; fill_(a: H, s: N | B): void;
  addScaled_(a: H, b: H, alpha: N): void; zero_(a: H): void; addcmul_(a: H, b: H, c: H, v: N): void;
  addcdiv_(a: H, b: H, c: H, v: N): void; lerp_(a: H, b: H, w: N): void; clamp_(a: H, lo: N | null, hi: N | null): void;
  uniform_(a: H, lo: N, hi: N): void; normal_(a: H, mean: N, std: N): void; narrowCopy_(dst: H, dim: N, start: N, src: H): void;
  adamwStep(p: Hs, g: Hs, m: Hs, v: Hs, lr: N, b1: N, b2: N, eps: N, wd: N, step: N): void;
  globalNorm(hs: Hs): H; mulListByTensor_(hs: Hs, s: H): void; setData_(t: H, src: H): void;
  // fused (native/fused.cc)
  linearLogProbs(hidden: H, weight: H, targets: H, temperature: N, chunkRows: N, withEntropy: B, ignoreIndex: N): H[];
  linearCrossEntropy(hidden: H, weight: H, targets: H, chunkRows: N, ignoreIndex: N, mean: B): H;
}

/** RLHF_NUM_THREADS as a thread count: a positive integer, else null (unset, or not a number: warned). */
function requestedThreads(): number | null {
  const raw = process.env.RLHF_NUM_THREADS;
  if (raw === undefined || raw.trim() === '') return null;
  const n = Number(raw);
  if (Number.isSafeInteger(n) && n > 0) return n;
  process.emitWarning(`RLHF_NUM_THREADS=${JSON.stringify(raw)} is not a positive whole number; ignored (every core is used). Set it to e.g. 1 or 2.`, { code: 'RLHF_NUM_THREADS' });
  return null;
}

/**
 * Float32 matrix products go to BLAS (OpenBLAS with Debian's libtorch, MKL with a pip torch), which
 * keeps a thread pool of its own, sized at load from OPENBLAS_NUM_THREADS / MKL_NUM_THREADS /
 * OMP_NUM_THREADS — not from at::set_num_threads. So RLHF_NUM_THREADS is passed on to those
 * variables before the addon (and BLAS with it) loads, unless they are set already.
 */
function limitBlasThreads(n: number | null): void {
  if (n === null) return;
  for (const v of ['OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS']) if (!process.env[v]) process.env[v] = String(n);
}

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  // src/torch/native.ts and dist/torch/native.js are both two levels below the package root.
  const path = new URL('../../build/Release/rlhf_torch.node', import.meta.url).pathname;
  if (!existsSync(path)) {
    throw new Error(
      `rlhf's native addon is not built (${path} is missing). Run \`npm install\` in the rlhf package ` +
        '(it finds or installs libtorch and builds the addon), or `npm rebuild rlhf` in a project that depends on it.',
    );
  }
  limitBlasThreads(threadsAsked);
  const addon = require(path) as NativeAddon;
  return addon;
}

const threadsAsked = requestedThreads();
export const native: NativeAddon = load();

// Use every core unless the user chose (RLHF_NUM_THREADS, else OMP_NUM_THREADS). OpenMP in a process
// that Node started often comes up with 1 thread, which halves the speed on a 2-core machine.
const requested = threadsAsked ?? Number(process.env.OMP_NUM_THREADS ?? 0);
native.setNumThreads(requested > 0 ? requested : availableParallelism());
