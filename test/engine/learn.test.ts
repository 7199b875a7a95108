// "It learns": a two-layer MLP learns XOR, and a tiny causal transformer overfits one batch, in
// float32 and under bfloat16 autocast with float32 master weights.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { F } from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { Module, Linear } from '../../src/nn/index.js';
import { AdamW } from '../../src/optim/index.js';
import { TinyGpt, type TinyGptConfig } from './fixtures/tiny-gpt.js';

// These tensors are tiny: one thread is as fast, and stays fast when other processes load the
// cores (OpenMP's barriers make 2 threads 5-10× slower on a busy 2-core machine).
torch.setNumThreads(1);

class Mlp extends Module {
  readonly fc1 = this.registerModule('fc1', new Linear(2, 8));
  readonly fc2 = this.registerModule('fc2', new Linear(8, 1));
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).tanh()); // (N, 1) logits
  }
}

describe('a two-layer MLP', () => {
  test('learns XOR', () => {
    torch.manualSeed(0);
    const model = new Mlp();
    const opt = new AdamW(model.parameters(), { lr: 0.05, weightDecay: 0 });
    const x = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
    const y = torch.tensor([[0], [1], [1], [0]]);
    const lossAt = (): number => torch.tidy(() => torch.noGrad(() => F.binaryCrossEntropyWithLogits(model.forward(x), y).item()));
    const first = lossAt();
    assert.ok(first > 0.5, `an untrained MLP cannot solve XOR (loss ${first})`);
    for (let step = 0; step < 500; step++) {
      torch.tidy(() => {
        opt.zeroGrad();
        F.binaryCrossEntropyWithLogits(model.forward(x), y).backward();
        opt.step();
      });
    }
    const last = lossAt();
    assert.ok(last < 0.05, `loss after 500 steps: ${last}`);
    const pred = torch.tidy(() => torch.noGrad(() => model.forward(x).sigmoid().gt(0.5).toArray()));
    assert.deepEqual(pred, [[false], [true], [true], [false]]);
    opt.dispose();
    model.dispose();
  });
});

const cfg: TinyGptConfig = { vocabSize: 16, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 32 };

/** One fixed batch: 4 random sequences of 9 tokens; inputs are the first 8, targets the last 8. */
function batch(): { x: Tensor; y: Tensor } {
  torch.manualSeed(1234);
  const seq = torch.randint(0, cfg.vocabSize, [4, cfg.blockSize + 1]); // (B, T+1)
  return { x: seq.slice(1, 0, cfg.blockSize).contiguous(), y: seq.slice(1, 1).contiguous() }; // (B, T) each
}

function train(model: TinyGpt, steps: number, forward: (x: Tensor) => Tensor): number[] {
  const { x, y } = batch();
  const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    losses.push(
      torch.tidy(() => {
        opt.zeroGrad();
        const loss = F.crossEntropy(forward(x).float(), y); // logits (B, T, V) vs targets (B, T)
        loss.backward();
        opt.step();
        return loss.item();
      }),
    );
  }
  opt.dispose();
  x.dispose();
  y.dispose();
  return losses;
}

describe('a tiny causal transformer (2 layers, d=32, 2 heads, vocab 16, T=8)', () => {
  test('overfits one batch in float32: loss from ≈ log 16 to < 0.1', () => {
    torch.manualSeed(42);
    const model = new TinyGpt(cfg);
    const losses = train(model, 200, (x) => model.forward(x));
    const first = losses[0] as number;
    const last = losses[losses.length - 1] as number;
    assert.ok(Math.abs(first - Math.log(16)) < 0.5, `initial loss ${first} should be near log 16 = ${Math.log(16)}`);
    assert.ok(last < 0.1, `loss after ${losses.length} steps: ${last} (trajectory ${losses.filter((_, i) => i % 50 === 0).map((l) => l.toFixed(3)).join(' ')})`);
    model.dispose();
  });

  test('learns under bfloat16 autocast while the parameters stay float32', () => {
    torch.manualSeed(42);
    const model = new TinyGpt(cfg);
    // Inside autocast, linear layers compute in bfloat16; their weights are not converted.
    torch.tidy(() =>
      torch.autocast('bfloat16', () => {
        const { x } = batch();
        const h = model.wte.forward(x); // (B, T, C) float32: embedding is not autocast
        assert.equal(h.dtype, 'float32');
        assert.equal(model.blocks[0]?.mlp.cFc.forward(h).dtype, 'bfloat16');
        assert.equal(F.linear(h, model.lmHead.weight).dtype, 'bfloat16');
        assert.equal(h.matmul(model.lmHead.weight.T).dtype, 'bfloat16');
        assert.equal(model.forward(x).dtype, 'bfloat16');
      }),
    );
    assert.equal(torch.tidy(() => model.lmHead.forward(torch.zeros([1, cfg.nEmbd])).dtype), 'float32', 'autocast ends with its scope');
    // The bf16 forward really is lower precision: the loss differs from float32's, but only slightly.
    const [l32, l16] = torch.tidy(() =>
      torch.noGrad(() => {
        const { x, y } = batch();
        return [F.crossEntropy(model.forward(x), y).item(), F.crossEntropy(torch.autocast('bfloat16', () => model.forward(x)).float(), y).item()];
      }),
    ) as [number, number];
    assert.notEqual(l16, l32);
    assert.ok(Math.abs(l16 - l32) < 0.05, `bf16 loss ${l16} vs float32 ${l32}`);

    const losses = train(model, 150, (x) => torch.autocast('bfloat16', () => model.forward(x)));
    const first = losses[0] as number;
    const last = losses[losses.length - 1] as number;
    assert.ok(Math.abs(first - Math.log(16)) < 0.5, `initial loss ${first}`);
    assert.ok(last < 0.25, `bf16 loss should fall clearly: ${first} → ${last}`);
    for (const [name, p] of model.namedParameters()) {
      assert.equal(p.dtype, 'float32', `${name} must stay float32`);
      const g = p.grad;
      assert.ok(g !== null, `${name} has a gradient`);
      assert.equal(g.dtype, 'float32', `${name}'s gradient is float32`);
    }
    model.dispose();
  });
});

describe('CUDA (skipped without a GPU)', () => {
  const skip = torch.cudaAvailable() ? false : 'no CUDA device';
  test('autocast on CUDA: float16 and bfloat16 linear outputs, float32 master weights', { skip }, () => {
    torch.tidy(() => {
      const fc = new Linear(8, 4);
      fc.to('cuda');
      const x = torch.randn([2, 8]).to('cuda');
      assert.equal(fc.weight.device, 'cuda:0');
      assert.equal(torch.autocast('float16', () => fc.forward(x), 'cuda').dtype, 'float16');
      assert.equal(torch.autocast('bfloat16', () => fc.forward(x), 'cuda').dtype, 'bfloat16');
      assert.equal(fc.forward(x).dtype, 'float32');
      torch.autocast('float16', () => fc.forward(x), 'cuda').float().sum().backward();
      assert.equal(fc.weight.dtype, 'float32');
      assert.equal(fc.weight.grad?.dtype, 'float32');
      const back = fc.forward(x).to('cpu');
      assert.equal(back.device, 'cpu');
      fc.dispose();
    });
  });

  test('the tiny transformer overfits on CUDA too', { skip }, () => {
    torch.manualSeed(42);
    const model = new TinyGpt(cfg).to('cuda');
    const { x, y } = batch();
    const [xc, yc] = [x.to('cuda'), y.to('cuda')];
    const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
    let last = Infinity;
    for (let step = 0; step < 200; step++) {
      last = torch.tidy(() => {
        opt.zeroGrad();
        const loss = F.crossEntropy(model.forward(xc), yc);
        loss.backward();
        opt.step();
        return loss.item();
      });
    }
    assert.ok(last < 0.1, `loss ${last}`);
    opt.dispose();
    model.dispose();
  });
});
