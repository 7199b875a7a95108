// State dicts to and from safetensors files: the bridge between tensors and the byte-level
// format in src/torch/safetensors.ts.
import { Tensor } from '../torch/tensor.js';
import { native } from '../torch/native.js';
import { dtypeCode, type DType } from '../torch/dtype.js';
import type { Device } from '../torch/tensor.js';
import { readSafetensorsFile, writeSafetensorsFile, type RawTensor, type SafetensorsDtype } from '../torch/safetensors.js';

const TO_ST: Record<DType, SafetensorsDtype> = {
  float32: 'F32', float64: 'F64', bfloat16: 'BF16', float16: 'F16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_ST: Partial<Record<SafetensorsDtype, DType>> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));

/** The tensor's bytes (a copy, on the CPU) in safetensors' terms. */
export function tensorToRaw(t: Tensor): RawTensor {
  return { dtype: TO_ST[t.dtype], shape: t.shape, data: new Uint8Array(native.toBuffer(t.handle)) };
}

/** A new tensor holding a safetensors entry's bytes. */
export function rawToTensor(raw: RawTensor, opts: { name?: string; device?: Device } = {}): Tensor {
  const dtype = FROM_ST[raw.dtype];
  if (!dtype) throw new Error(`tensor ${opts.name ?? ''} has dtype ${raw.dtype}, which rlhf cannot compute with; convert it to F32/BF16/F16/I64 first`);
  return new Tensor(native.fromBuffer(raw.data, raw.shape, dtypeCode(dtype), opts.device ?? 'cpu'));
}

/** Writes tensors to a .safetensors file atomically (a crash leaves the old file or the new one). */
export async function saveStateDict(path: string, sd: Map<string, Tensor>, metadata: Record<string, string> = { format: 'pt' }): Promise<void> {
  const raw = new Map<string, RawTensor>();
  for (const [k, t] of sd) raw.set(k, tensorToRaw(t));
  await writeSafetensorsFile(path, raw, metadata);
}

/** Reads a .safetensors file into new tensors (the caller owns them). */
export async function loadStateDictFile(path: string, opts: { device?: Device } = {}): Promise<Map<string, Tensor>> {
  const { tensors } = await readSafetensorsFile(path);
  const out = new Map<string, Tensor>();
  for (const [k, raw] of tensors) out.set(k, rawToTensor(raw, { name: k, device: opts.device }));
  return out;
}
