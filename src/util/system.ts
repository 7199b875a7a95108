// Facts about the machine and the libtorch build that `rlhf doctor` and the benchmarks report.
import { readFileSync, existsSync, realpathSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

export interface CpuFeatures {
  model: string;
  logicalCores: number;
  avx2: boolean;
  avx512: boolean;
  /** AVX-512 bf16 dot products. */
  avx512bf16: boolean;
  /** Advanced Matrix Extensions (Sapphire Rapids and later): bf16 tile matmuls. */
  amx: boolean;
}

export function cpuFeatures(): CpuFeatures {
  let flags = new Set<string>();
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => l.startsWith('flags'));
    if (line) flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    // not Linux: leave the flags unknown
  }
  return {
    model: cpus()[0]?.model ?? 'unknown',
    logicalCores: availableParallelism(),
    avx2: flags.has('avx2'),
    avx512: flags.has('avx512f'),
    avx512bf16: flags.has('avx512_bf16'),
    amx: flags.has('amx_bf16') && flags.has('amx_tile'),
  };
}

export type BlasKind = 'openblas' | 'mkl' | 'reference' | 'unknown';

/** Which BLAS library this process has mapped (Debian's libtorch takes whatever libblas.so.3 points to). */
export function blasInUse(): { kind: BlasKind; path: string | null } {
  let maps = '';
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return { kind: 'unknown', path: null };
  }
  const libs = [...new Set(maps.split('\n').map((l) => l.split(/\s+/)[5] ?? '').filter((p) => p.includes('.so')))];
  const mkl = libs.find((p) => /libmkl/.test(p));
  if (mkl) return { kind: 'mkl', path: mkl };
  const open = libs.find((p) => /openblas/.test(p));
  if (open) return { kind: 'openblas', path: open };
  const blas = libs.find((p) => /libblas\.so/.test(p));
  if (blas) {
    const real = existsSync(blas) ? realpathSync(blas) : blas;
    return { kind: /openblas/.test(real) ? 'openblas' : /blis|atlas/.test(real) ? 'unknown' : 'reference', path: real };
  }
  return { kind: 'unknown', path: null };
}

/** Where the addon's libtorch came from, as recorded by the install script. */
export function libtorchSource(): { source: string; root: string; cuda: boolean } | null {
  const stamp = new URL('../../build/rlhf-stamp.json', import.meta.url);
  try {
    const j = JSON.parse(readFileSync(stamp, 'utf8')) as { torch: { source: string; root: string; cuda: boolean } };
    return j.torch;
  } catch {
    return null;
  }
}
