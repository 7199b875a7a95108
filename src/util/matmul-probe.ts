// Measures square-matmul throughput in GFLOP/s: the physical limit that MFU is reported against.
import * as torch from '../torch/index.js';

export function measureMatmul(n: number, dtype: 'float32' | 'bfloat16', seconds = 0.6): number {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const a = torch.randn([n, n]).to(dtype);
      const b = torch.randn([n, n]).to(dtype);
      a.matmul(b).dispose(); // warm-up (thread pool, packing buffers, oneDNN kernels)
      let iters = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < seconds * 1000 || iters < 3) {
        a.matmul(b).dispose();
        iters++;
      }
      const dt = (performance.now() - t0) / 1000;
      return (2 * n ** 3 * iters) / dt / 1e9;
    }),
  );
}
