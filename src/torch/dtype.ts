// Element types. The numeric codes match kDtypes in native/core.cc.

export type DType = 'float32' | 'float64' | 'bfloat16' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8' | 'int8' | 'int16';
export type FloatDType = 'float32' | 'float64' | 'bfloat16' | 'float16';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'bfloat16', 'float16', 'int64', 'int32', 'bool', 'uint8', 'int8', 'int16'];

export function dtypeCode(d: DType): number {
  const c = DTYPES.indexOf(d);
  if (c < 0) throw new TypeError(`unknown dtype '${String(d)}'; expected one of ${DTYPES.join(', ')}`);
  return c;
}

export function dtypeFromCode(c: number): DType {
  const d = DTYPES[c];
  if (d === undefined) throw new TypeError(`the addon returned a tensor of an unsupported dtype (code ${c})`);
  return d;
}

export function itemSize(d: DType): number {
  switch (d) {
    case 'float64': case 'int64': return 8;
    case 'float32': case 'int32': return 4;
    case 'bfloat16': case 'float16': case 'int16': return 2;
    case 'bool': case 'uint8': case 'int8': return 1;
  }
}

export function isFloating(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float64' || d === 'bfloat16' || d === 'float16';
}

/** The typed array that holds a dtype's elements as JavaScript reads them (half types read as float32). */
export type TypedArrayFor<D extends DType> = D extends 'float64'
  ? Float64Array
  : D extends 'int64'
    ? BigInt64Array
    : D extends 'int32'
      ? Int32Array
      : D extends 'int16'
        ? Int16Array
        : D extends 'int8'
          ? Int8Array
          : D extends 'uint8' | 'bool'
            ? Uint8Array
            : Float32Array;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/** The dtype a typed array holds by default (Uint16Array is taken as raw bfloat16 bits). */
export function dtypeOfTypedArray(a: AnyTypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint16Array) return 'bfloat16';
  return 'uint8';
}

/** Wraps raw bytes as the typed array for dtype d (bfloat16/float16 come back as Uint16Array bits). */
export function viewBytes(buf: ArrayBuffer, d: DType): AnyTypedArray {
  switch (d) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'bfloat16': case 'float16': return new Uint16Array(buf);
    case 'bool': case 'uint8': return new Uint8Array(buf);
  }
}
