// `rlhf doctor`: what a user runs first when something is slow or broken.
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { cpuFeatures, blasInUse, libtorchSource } from '../util/system.js';
import { measureMatmul } from '../util/matmul-probe.js';

const help = `rlhf doctor [--json] [--size N]

Checks the installation and measures this machine:
  • Node and libtorch versions, and where libtorch came from (LIBTORCH, a Python torch, or libtorch-dev)
  • devices (CUDA GPUs when present), threads, the BLAS library in use
  • bf16 support (AVX-512 BF16 / AMX) and the measured fp32 and bf16 matmul GFLOP/s

It warns, with the fix, when matrix products run on the reference BLAS (about 50× slower than
OpenBLAS) or when only one thread is used on a multi-core machine.

Options:
  --json      print one JSON object instead of the report
  --size N    matrix size for the matmul measurement (default 1024)
`;

export interface DoctorReport {
  node: string;
  libtorch: { version: string; source: string | null; cudaCompiled: boolean; mkldnn: boolean };
  devices: { cpu: string; logicalCores: number; cuda: number };
  threads: number;
  blas: { kind: string; path: string | null };
  bf16: { avx512bf16: boolean; amx: boolean };
  matmul: { size: number; fp32Gflops: number; bf16Gflops: number };
  warnings: string[];
}

export async function runDoctor(size = 1024): Promise<DoctorReport> {
  const torch = await import('../torch/index.js');
  const info = torch.buildInfo();
  const cpu = cpuFeatures();
  const threads = torch.getNumThreads();
  const fp32 = measureMatmul(size, 'float32');
  const bf16 = measureMatmul(size, 'bfloat16');
  const blas = blasInUse();
  const warnings: string[] = [];
  if (blas.kind === 'reference' || fp32 < 20) {
    warnings.push(
      `fp32 matmul runs at ${fp32.toFixed(1)} GFLOP/s${blas.kind === 'reference' ? ` on the reference BLAS (${blas.path})` : ''}: ` +
        'about 50× slower than it should be. Fix: sudo apt-get install libopenblas0-pthread (Debian/Ubuntu), then restart.',
    );
  }
  if (threads === 1 && cpu.logicalCores > 1) {
    warnings.push(`libtorch uses 1 thread on a ${cpu.logicalCores}-core machine. Fix: unset OMP_NUM_THREADS=1 / RLHF_NUM_THREADS=1, or set it to ${cpu.logicalCores}.`);
  }
  if (!cpu.amx && !cpu.avx512bf16) warnings.push('this CPU has no bf16 instructions (AVX-512 BF16 / AMX): bf16 autocast will be slower than fp32 here; train in fp32.');
  const src = libtorchSource();
  return {
    node: process.version,
    libtorch: { version: info.torchVersion, source: src?.source ?? null, cudaCompiled: info.cudaCompiled, mkldnn: info.mkldnn },
    devices: { cpu: cpu.model, logicalCores: cpu.logicalCores, cuda: torch.cudaDeviceCount() },
    threads,
    blas,
    bf16: { avx512bf16: cpu.avx512bf16, amx: cpu.amx },
    matmul: { size, fp32Gflops: round(fp32), bf16Gflops: round(bf16) },
    warnings,
  };
}

const round = (x: number): number => Math.round(x * 10) / 10;

function render(r: DoctorReport): string {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const lines = [
    'rlhf doctor',
    '',
    `  node            ${r.node}`,
    `  libtorch        ${r.libtorch.version}  (from ${r.libtorch.source ?? 'unknown'})`,
    `  cpu             ${r.devices.cpu}, ${r.devices.logicalCores} logical cores`,
    `  cuda            ${r.devices.cuda > 0 ? `${r.devices.cuda} device(s)` : r.libtorch.cudaCompiled ? 'built with CUDA, no device visible' : 'not in this build'}`,
    `  threads         ${r.threads}`,
    `  blas            ${r.blas.kind}${r.blas.path ? `  (${r.blas.path})` : ''}`,
    `  bf16            AVX-512 BF16: ${yes(r.bf16.avx512bf16)}, AMX: ${yes(r.bf16.amx)}, oneDNN: ${yes(r.libtorch.mkldnn)}`,
    `  matmul ${String(r.matmul.size).padEnd(8)} fp32 ${r.matmul.fp32Gflops} GFLOP/s, bf16 ${r.matmul.bf16Gflops} GFLOP/s`,
    '',
  ];
  if (r.warnings.length === 0) lines.push('  ✓ everything looks right', '');
  else for (const w of r.warnings) lines.push(`  ⚠ ${w}`, '');
  return lines.join('\n');
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'check the installation and measure matmul speed (run this first)',
  help,
  async run(argv) {
    let values: { json?: boolean; size?: string };
    try {
      ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, size: { type: 'string' } }, allowPositionals: false }));
    } catch (err) {
      throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}. Run 'rlhf doctor --help' (options: --json, --size N).`);
    }
    const size = values.size === undefined ? 1024 : Number(values.size);
    if (!Number.isInteger(size) || size < 16 || size > 8192) throw new UsageError(`--size must be an integer between 16 and 8192, got '${values.size}'`);
    if (!values.json) process.stderr.write('measuring matmul throughput…\n');
    const report = await runDoctor(size);
    process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : render(report));
    return 0;
  },
};
