// A diverged step (NaN or infinite gradients) is refused before it reaches the weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { createOptimizer, optimizerStep, TrainerError } from '../../src/trainers/common/setup.js';

const OPTIM = { lr: 1e-2, weightDecay: 0, adamBetas: [0.9, 0.999], schedule: 'constant' as const, warmupSteps: 0, epochs: 1, maxSteps: 0, batchSize: 1, gradAccum: 1, maxGradNorm: 1 };

for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
  test(`optimizerStep refuses a step whose gradient norm is ${bad}, leaving the weights as they were`, () => {
    const w = torch.tensor([1, 2, 3]).requiresGrad_();
    const { optimizer, scheduler } = createOptimizer([w], OPTIM, 10);
    torch.tidy(() => w.mul(torch.tensor([1, bad, 1])).sum().backward());
    assert.throws(() => optimizerStep([w], optimizer, scheduler, 1.0), (e: unknown) => e instanceof TrainerError && /not finite .* step 1: the run diverged.*--lr/.test(e.message));
    assert.deepEqual(Array.from(w.toFlatArray()), [1, 2, 3]);
    // a finite step afterwards still trains
    torch.tidy(() => w.mul(torch.tensor([1, 1, 1])).sum().backward());
    optimizerStep([w], optimizer, scheduler, 1.0);
    assert.ok(Array.from(w.toFlatArray()).every((x, i) => x < [1, 2, 3][i]!));
    w.dispose();
  });
}
