import { freemem, totalmem } from 'node:os';

// Errors from the tensor layer. Each names the operation, the shapes and dtypes involved, and
// what was expected, so a user can find the bad line without a debugger.

export class TorchError extends Error {
  override name = 'TorchError';
}

export class ShapeError extends TorchError {
  override name = 'ShapeError';
}

export class DisposedTensorError extends TorchError {
  override name = 'DisposedTensorError';
  constructor() {
    super('tensor was used after dispose() (or after the tidy() scope that created it ended); keep(t) or return it from the scope to use it later');
  }
}

/** An allocation libtorch could not make: the sizes involved are too large for this machine. */
export class OutOfMemoryError extends TorchError {
  override name = 'OutOfMemoryError';
  /** Bytes asked for, when libtorch said. */
  readonly bytes: number | null;
  constructor(call: string, bytes: number | null, options?: ErrorOptions) {
    const asked = bytes === null ? 'more memory than is free' : `${formatBytes(bytes)}`;
    super(
      `${call}: cannot allocate ${asked} (this machine has ${formatBytes(freemem())} free of ${formatBytes(totalmem())}); ` +
        'the sizes are too large — check the model config (vocab_size, n_embd / hidden_size, n_layer), or lower the batch size or sequence length',
      options,
    );
    this.bytes = bytes;
  }
}

/** 1.5 GB, 300 MB, 12 kB: for messages. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** "float32[2, 3]" — how errors print a tensor. */
export function describe(dtype: string, shape: readonly number[]): string {
  return `${dtype}[${shape.join(', ')}]`;
}
