// Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_): if ‖g‖₂ over all parameters
// exceeds maxNorm, scale every gradient by maxNorm / (‖g‖₂ + 1e-6).
import { Tensor } from '../torch/tensor.js';
import { native } from '../torch/native.js';
import { noGrad, tidy } from '../torch/index.js';

/** Clips in place; returns the total norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  return noGrad(() =>
    tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const total = new Tensor(native.globalNorm(grads.map((g) => g.handle))); // 0-d float32
      const norm = total.item();
      const coef = maxNorm / (norm + 1e-6);
      if (coef < 1) {
        for (const g of grads) g.mul_(coef);
      }
      return norm;
    }),
  );
}
