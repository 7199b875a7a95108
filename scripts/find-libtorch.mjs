// Finds a libtorch to build against, in the order the design gives:
//   1. $LIBTORCH            a directory with include/ and lib/ (the official libtorch zip, or any build)
//   2. a Python `torch`      torch/include and torch/lib of `python3 -c 'import torch'` (brings CUDA on GPU machines)
//   3. the system package    Debian/Ubuntu `libtorch-dev` (/usr/include, /usr/lib/<multiarch>)
// Returns null when none is usable. Shared by the install script and `rlhf doctor`.
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function fromDir(root, source) {
  const inc = join(root, 'include');
  const lib = join(root, 'lib');
  if (!existsSync(join(inc, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch.so'))) return null;
  const cuda = existsSync(join(lib, 'libtorch_cuda.so'));
  return {
    source,
    root,
    includes: [inc, join(inc, 'torch', 'csrc', 'api', 'include')],
    libDir: lib,
    libs: ['torch', 'torch_cpu', 'c10', ...(cuda ? ['torch_cuda', 'c10_cuda'] : [])],
    cuda,
    cxx11abi: null,
  };
}

function fromPython() {
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      const out = execFileSync(
        py,
        ['-c', 'import torch, os, json; print(json.dumps({"dir": os.path.dirname(torch.__file__), "abi": int(torch._C._GLIBCXX_USE_CXX11_ABI), "version": torch.__version__}))'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
      );
      const info = JSON.parse(out.trim().split('\n').pop());
      const found = fromDir(info.dir, `python torch ${info.version} (${py})`);
      if (found) return { ...found, cxx11abi: info.abi };
    } catch {
      // this python has no torch, or no headers with it (Debian's python3-torch keeps them in libtorch-dev)
    }
  }
  return null;
}

function fromSystem() {
  if (!existsSync('/usr/include/ATen/ATen.h')) return null;
  const candidates = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  const libDir = candidates.find((d) => existsSync(join(d, 'libtorch.so')));
  if (!libDir) return null;
  const cuda = existsSync(join(libDir, 'libtorch_cuda.so'));
  return {
    source: 'system package (libtorch-dev)',
    root: '/usr',
    includes: ['/usr/include', '/usr/include/torch/csrc/api/include'],
    libDir,
    libs: ['torch', 'torch_cpu', 'c10', ...(cuda ? ['torch_cuda', 'c10_cuda'] : [])],
    cuda,
    cxx11abi: 1,
  };
}

export function findLibtorch() {
  if (process.env.LIBTORCH) {
    const found = fromDir(process.env.LIBTORCH, `LIBTORCH=${process.env.LIBTORCH}`);
    if (!found) throw new Error(`LIBTORCH=${process.env.LIBTORCH} has no include/ATen/ATen.h and lib/libtorch.so; point it at an unpacked libtorch directory or unset it.`);
    return found;
  }
  return fromPython() ?? fromSystem();
}

/** Where OpenBLAS is, if it is installed (Debian's libtorch uses whatever libblas.so.3 points to). */
export function findOpenblas() {
  for (const d of ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu']) {
    if (!existsSync(d)) continue;
    if (readdirSync(d).some((f) => f.startsWith('libopenblas'))) return d;
  }
  return null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(findLibtorch(), null, 2));
}
