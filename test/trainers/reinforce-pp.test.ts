// REINFORCE++: returns without a critic by hand and against the naive sum, the global batch
// normalisation, the token-level KL reward, the group-mean baseline, gradients of the clipped loss
// on REINFORCE++ advantages, the first step's invariants, "it learns", and the command line.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble } from '../engine/helpers.js';
import { maskedMean } from '../../src/trainers/common/masked.js';
import { klPenaltyRewards, ppoPolicyLoss } from '../../src/trainers/ppo/loss.js';
import { discountedReturns, normalizeAdvantagesGlobal, subtractGroupMean } from '../../src/trainers/reinforce-pp/loss.js';
import { reinforcePP, reinforcePPConfig } from '../../src/trainers/index.js';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { reinforcePP as reinforcePPCommand } from '../../src/cli/reinforce-pp.js';
import { commands } from '../../src/cli/index.js';
import { rlhf, tempDir } from './fixtures.js';
import { great, greatRewardFile, sftModelAndPrompts } from './online-fixtures.js';

torch.setNumThreads(1);
const f64 = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: 'float64' });

/** G_t = Σ_{s ≥ t, s valid} γ^{s−t} r_s for the run of valid tokens starting at t, in plain arrays. */
function returnsNaive(r: number[][], m: number[][], gamma: number): number[][] {
  return r.map((row, b) =>
    row.map((_, t) => {
      if (!(m[b] as number[])[t]) return 0;
      let g = 0;
      for (let s = t; s < row.length && (m[b] as number[])[s]; s++) g += gamma ** (s - t) * (row[s] as number);
      return g;
    }),
  );
}

describe('REINFORCE++ math', () => {
  test('returns without a critic: suffix sums at γ = 1, the naive discounted sum at γ = 0.5, 0 at padding', () => {
    torch.tidy(() => {
      const r = [[1, 2, 3, 4], [0.5, -1, 9, 9]];
      const m = [[1, 1, 1, 1], [1, 1, 0, 0]];
      assertClose(discountedReturns(f64(r), f64(m), 1), [[10, 9, 7, 4], [-0.5, -1, 0, 0]], { rtol: 1e-12 });
      assertClose(discountedReturns(f64(r), f64(m), 0.5), returnsNaive(r, m, 0.5), { rtol: 1e-12 });
      const big = randDouble([5, 7], 3).data() as Float64Array;
      const rows = Array.from({ length: 5 }, (_, b) => Array.from(big.slice(b * 7, b * 7 + 7)));
      const masks = [7, 1, 4, 0, 6].map((n) => Array.from({ length: 7 }, (_, t) => (t < n ? 1 : 0)));
      assertClose(discountedReturns(f64(rows), f64(masks), 0.9), returnsNaive(rows, masks, 0.9), { rtol: 1e-12 });
    });
  });

  test('global normalisation: over every valid token of the batch (biased variance), not per row; 0 at padding', () => {
    torch.tidy(() => {
      const A = f64([[1, 2, 3], [10, 0, 0]]);
      const mask = f64([[1, 1, 1], [1, 0, 0]]);
      const n = normalizeAdvantagesGlobal(A, mask);
      // valid values 1, 2, 3, 10: mean 4, biased variance (9 + 4 + 1 + 36)/4 = 12.5
      const s = Math.sqrt(12.5);
      assertClose(n, [[-3 / s, -2 / s, -1 / s], [6 / s, 0, 0]], { rtol: 1e-12 });
      assertClose(maskedMean(n, mask), 0, { atol: 1e-12 });
      assertClose(maskedMean(n.square(), mask), 1, { rtol: 1e-12 });
      // a constant batch: the variance is clamped at 1e-8, never a division by 0
      assertClose(normalizeAdvantagesGlobal(f64([[2, 2]]), f64([[1, 1]])), [[0, 0]], { atol: 0 });
    });
  });

  test('token-level KL in the reward: before normalisation A_t = score − β·Σ_{s≥t} KL_s; the group-mean baseline', () => {
    torch.tidy(() => {
      const lp = f64([[-1, -2, -1.5]]);
      const ref = f64([[-1.5, -1, -1.5]]);
      const mask = f64([[1, 1, 1]]);
      const beta = 0.1;
      const shaped = klPenaltyRewards(lp, ref, mask, f64([2]), beta, 'k1', [2]);
      const kl = [0.5, -1, 0];
      assertClose(discountedReturns(shaped.rewards, mask, 1), [[2 - beta * (0.5 - 1 + 0), 2 - beta * (-1 + 0), 2]], { rtol: 1e-12 });
      assertClose(shaped.kl, [kl], { rtol: 1e-12 });
      assertClose(subtractGroupMean(f64([1, 3, 0, 0, 5, 1]), 2), [-1, 1, 0, 0, 2, -2], { rtol: 1e-12 });
      assert.throws(() => subtractGroupMean(f64([1, 2, 3]), 2), /groups of 2/);
    });
  });

  test('gradients of the clipped policy loss on REINFORCE++ advantages against central differences', () => {
    const mask = f64([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]);
    const rewards = randDouble([3, 4], 41, -1, 1);
    const A = normalizeAdvantagesGlobal(discountedReturns(rewards, mask, 1), mask);
    const old = randDouble([3, 4], 42, -3, -1);
    const dl = [0.05, -0.4, 0.1, 0.3, 0.35, -0.1, 0.01, 0.5, -0.3, 0.12, -0.06, 0.4];
    torch.tidy(() => void gradcheck((lp) => ppoPolicyLoss(lp, old, A, mask, 0.2).loss, [old.add(torch.tensor(Float64Array.from(dl), { shape: [3, 4] }))], { name: 'REINFORCE++ policy loss' }));
  });
});

describe('REINFORCE++ trainer', () => {
  const root = tempDir('rlhf-rpp-');
  let sftDir = '';
  let prompts = '';

  before(async () => {
    ({ sftDir, prompts } = await sftModelAndPrompts(root));
  });

  test('it learns: the score rises to > 0.8 in 40 iterations; first minibatch ratio 1 (1e-6), approx-KL 0, clip fraction 0; KL starts at 0; live tensors flat', async () => {
    const firsts: Record<string, number>[] = [];
    const live: number[] = [];
    const r = await reinforcePP(
      { model: sftDir, prompts, out: join(root, 'learn'), batchSize: 16, maxNewTokens: 4, maxSteps: 40, lr: 3e-3, saveEvery: 0, klCoef: 0.02, ppoEpochs: 2, numMiniBatches: 2 },
      {
        rewardFns: [great],
        onMinibatch: ({ pass, step, micro, stats }) => {
          if (pass === 0 && step === 0 && micro === 0) firsts.push(stats);
        },
        onIteration: () => live.push(torch.memory().liveTensors),
      },
    );
    const scores = r.history.map((h) => h['objective/scores'] as number);
    const early = scores.slice(0, 4).reduce((a, b) => a + b, 0) / 4;
    const late = scores.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(early < 0.5 && late > 0.8, `score ${early.toFixed(2)} → ${late.toFixed(2)}`);
    assert.ok(Math.abs(r.history[0]?.['objective/kl'] as number) < 1e-5, `KL at the first iteration ${r.history[0]?.['objective/kl']}`);
    for (const s of firsts) {
      assert.ok(Math.abs((s['policy/ratio'] as number) - 1) < 1e-6, `ratio ${s['policy/ratio']}`);
      assert.ok((s['policy/approx_kl'] as number) < 1e-10, `approx_kl ${s['policy/approx_kl']}`);
      assert.equal(s['policy/clipfrac'], 0);
    }
    for (const key of ['objective/non_score_reward', 'returns/mean', 'policy/entropy_avg', 'loss/policy', 'response/length', 'rewards/great/mean']) assert.ok(key in (r.history[0] as object), key);
    assert.equal(new Set(live.slice(2)).size, 1, `live tensors flat across iterations: ${live.join(',')}`);
    r.dispose();
  });

  test('REINFORCE++-baseline: a reward that depends only on the prompt leaves nothing after the group mean is subtracted — zero returns, zero loss, zero gradient', async () => {
    const byPrompt = (p: string[]): number[] => p.map((x) => x.length);
    const r = await reinforcePP({ model: sftDir, prompts, out: join(root, 'baseline'), batchSize: 4, samplesPerPrompt: 4, groupBaseline: true, maxNewTokens: 4, maxSteps: 3, lr: 3e-3, saveEvery: 0, klCoef: 0 }, { rewardFns: [byPrompt] });
    assert.equal(r.history.length, 3);
    for (const h of r.history) {
      assert.ok((h['objective/raw_scores'] as number) > 10, 'the raw scores are the prompt lengths');
      assert.deepEqual([h['objective/kl'], h['returns/mean'], h['loss/policy'], h.grad_norm], [0, 0, 0, 0]);
    }
    r.dispose();
    await assert.rejects(reinforcePP({ model: sftDir, prompts, out: join(root, 'b2'), groupBaseline: true, maxNewTokens: 4 }, { rewardFns: [great] }), { name: 'TrainerError', message: /--group-baseline .* needs --samples-per-prompt 2 or more/ });
  });

  test('command line: --help from the schema; a couple of steps from a reward file', () => {
    const help = reinforcePPCommand.help;
    for (const f of fieldsOf(reinforcePPConfig)) assert.ok(help.includes(f.flag), `reinforce-pp --help lacks ${f.flag}`);
    assert.match(help, /--kl-coef X\s+β of the per-token KL penalty.*\(default 0\.01\)/);
    assert.ok(commands.includes(reinforcePPCommand), 'rlhf reinforce-pp is registered');
    const out = join(root, 'cli');
    const run = rlhf('reinforce-pp', '--model', sftDir, '--reward-fn', greatRewardFile(root), '--prompts', prompts, '--out', out, '--max-steps', '2', '--batch-size', '4', '--max-new-tokens', '4', '--quiet');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /reinforce-pp: done — score [\d.]+, KL -?[\d.]+ nats/);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
  });
});
