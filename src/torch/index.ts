// The tensor engine: `import * as torch from 'rlhf/torch'` or `import { torch } from 'rlhf'`.
export { Tensor, type Device, type NestedArray, type Reduction } from './tensor.js';
export { type DType, type FloatDType, DTYPES, itemSize, isFloating } from './dtype.js';
export * from './creation.js';
export * as F from './functional.js';
export { noGrad, enableGrad, isGradEnabled, grad } from './autograd.js';
export { autocast } from './autocast.js';
export { tidy, keep, disposeAll } from './scope.js';
export { memory, type MemoryReport } from './memory.js';
export { reclaimDropped } from './reclaim.js';
export { cudaAvailable, cudaDeviceCount, defaultDevice, synchronize, setNumThreads, getNumThreads, buildInfo } from './device.js';
export { TorchError, ShapeError, DisposedTensorError, OutOfMemoryError } from './errors.js';
