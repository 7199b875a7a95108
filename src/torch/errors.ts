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

/** "float32[2, 3]" — how errors print a tensor. */
export function describe(dtype: string, shape: readonly number[]): string {
  return `${dtype}[${shape.join(', ')}]`;
}
