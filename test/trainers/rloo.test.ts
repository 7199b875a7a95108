// RLOO: the leave-one-out baseline and the KL-penalised sequence reward in closed form, the loss
// at ρ = 1 as REINFORCE, clipping by hand, gradients against central differences, the first
// step's invariants, "it learns" on a tiny task, and the command line.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble, rng } from '../engine/helpers.js';
import { readStats } from '../../src/trainers/common/masked.js';
import { klPenalizedScores, normalizeBatch, rlooAdvantages, rlooLoss } from '../../src/trainers/rloo/loss.js';
import { rloo, rlooConfig } from '../../src/trainers/index.js';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { rloo as rlooCommand } from '../../src/cli/rloo.js';
import { commands } from '../../src/cli/index.js';
import { rlhf, tempDir } from './fixtures.js';
import { great, greatRewardFile, sftModelAndPrompts } from './online-fixtures.js';

torch.setNumThreads(1);
const f64 = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: 'float64' });

describe('RLOO math', () => {
  test('the baseline of each sample is the mean reward of the other k − 1; advantages sum to 0 per prompt', () => {
    torch.tidy(() => {
      const r = [1, 2, 3, 4, 0, 10, -2, 4]; // two prompts, k = 4
      const { advantages, baselines } = rlooAdvantages(f64(r), 4);
      const loo = r.map((_, i) => {
        const g = Math.floor(i / 4) * 4;
        const others = [0, 1, 2, 3].map((j) => g + j).filter((j) => j !== i).map((j) => r[j] as number);
        return others.reduce((a, b) => a + b, 0) / 3;
      });
      assertClose(baselines, loo, { rtol: 1e-12 });
      assertClose(baselines.narrow(0, 0, 4), [3, 8 / 3, 7 / 3, 2], { rtol: 1e-12 });
      assertClose(advantages, r.map((x, i) => x - (loo[i] as number)), { rtol: 1e-12 });
      assertClose(advantages.view(2, 4).sum(1), [0, 0], { atol: 1e-12 });
      // k = 2: each baseline is simply the other sample's reward
      assertClose(rlooAdvantages(f64([5, 1]), 2).advantages, [4, -4], { rtol: 1e-12 });
      assert.throws(() => rlooAdvantages(f64([1, 2]), 1), /at least 2 samples/);
    });
  });

  test('the KL penalty is sequence-level k1: r − β·Σ_t (log π_old − log π_ref) over valid tokens', () => {
    torch.tidy(() => {
      const lp = f64([[-1, -2, -3], [-0.5, -0.5, -9]]);
      const ref = f64([[-1.5, -1, -3], [-1, -1, 7]]);
      const mask = f64([[1, 1, 1], [1, 1, 0]]); // the padded 9 vs 7 must not count
      const { rewards, stats } = klPenalizedScores(f64([1, 2]), lp, ref, mask, 0.1);
      // row 0: (0.5) + (−1) + 0 = −0.5; row 1: 0.5 + 0.5 = 1
      assertClose(rewards, [1 + 0.05, 2 - 0.1], { rtol: 1e-12 });
      assertClose(stats.kl, (-0.5 + 1) / 2, { rtol: 1e-12 });
    });
  });

  test('at ρ = 1 the loss is −mean(A) and its gradient is REINFORCE\'s, −1/N Σ_i A_i ∇ log π(y_i); clipping by hand', () => {
    torch.tidy(() => {
      const mask = f64([[1, 1, 0], [1, 1, 1]]);
      const A = f64([2, -1]);
      const lp = randDouble([2, 3], 3, -2, -0.5).requiresGrad_();
      const out = rlooLoss(lp, lp.detach(), A, mask, { epsilon: 0.2 });
      assertClose(out.loss, -(2 - 1) / 2, { rtol: 1e-12 });
      out.loss.backward();
      // ∂/∂lp_i,t of −1/N Σ_i A_i Σ_t lp_i,t = −A_i/N on valid tokens, 0 on padding
      assertClose(lp.grad as Tensor, [[-1, -1, 0], [0.5, 0.5, 0.5]], { rtol: 1e-12 });
      assert.equal(readStats(out.stats)['policy/ratio'], 1);
      // sequence ratios 1.5 (A > 0: capped at 1.2) and 0.5 (A < 0: held at 0.8)
      const old = f64([[0, 0, 0], [0, 0, 0]]);
      const clipped = rlooLoss(f64([[Math.log(1.5), 0, 5], [Math.log(0.5), 0, 0]]), old, f64([1, -1]), mask, { epsilon: 0.2 });
      assertClose(clipped.loss, (-1.2 + 0.8) / 2, { rtol: 1e-12 });
      const st = readStats(clipped.stats);
      assert.deepEqual([st['clip_ratio/high_mean'], st['clip_ratio/low_mean'], st['clip_ratio/region_mean']], [0.5, 0.5, 1]);
      assertClose(normalizeBatch(f64([1, 2, 3, 4])), [-1.5, -0.5, 0.5, 1.5].map((x) => x / (Math.sqrt(5 / 3) + 1e-4)), { rtol: 1e-12 });
    });
  });

  test('gradients of rlooLoss against central differences (ratios away from the clip)', () => {
    const r = rng(29);
    const mask = f64([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]);
    const old = randDouble([3, 4], 30, -3, -1);
    // per-token log-ratios small enough that each sequence ratio stays inside (0.8, 1.2) or clearly out
    const dl = [0.05, -0.02, 0.04, 0.3, 0.3, 0.15, 0.01, 9, -0.1, -0.1, -0.06, -0.05].map((x) => x * (0.9 + 0.2 * r()));
    torch.tidy(() => void gradcheck((lp) => rlooLoss(lp, old, f64([0.7, -1.3, 0.4]), mask, { epsilon: 0.2 }).loss, [old.add(torch.tensor(Float64Array.from(dl), { shape: [3, 4] }))], { name: 'rlooLoss' }));
  });
});

describe('RLOO trainer', () => {
  const root = tempDir('rlhf-rloo-');
  let sftDir = '';
  let prompts = '';

  before(async () => {
    ({ sftDir, prompts } = await sftModelAndPrompts(root));
  });

  test('it learns: the reward rises to > 0.8 in 40 iterations with the KL penalty on; first step ratio 1 (1e-6), KL 0, no clipping; live tensors flat', async () => {
    const firsts: Record<string, number>[] = [];
    const live: number[] = [];
    const r = await rloo(
      { model: sftDir, prompts, out: join(root, 'learn'), batchSize: 8, numGenerations: 4, maxCompletionLength: 4, maxSteps: 40, lr: 3e-3, saveEvery: 0, beta: 0.02 },
      {
        rewardFns: [great],
        onMinibatch: ({ pass, step, micro, stats }) => {
          if (pass === 0 && step === 0 && micro === 0) firsts.push(stats);
        },
        onIteration: () => live.push(torch.memory().liveTensors),
      },
    );
    const rewards = r.history.map((h) => h.reward as number);
    const early = rewards.slice(0, 4).reduce((a, b) => a + b, 0) / 4;
    const late = rewards.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(early < 0.5 && late > 0.8, `reward ${early.toFixed(2)} → ${late.toFixed(2)}`);
    assert.ok(Math.abs(r.history[0]?.kl as number) < 1e-5, `KL at the first iteration ${r.history[0]?.kl} (policy = reference)`);
    assert.ok((r.history.at(-1)?.kl as number) > 0, 'the policy moved away from the reference');
    for (const s of firsts) {
      assert.ok(Math.abs((s['policy/ratio'] as number) - 1) < 1e-6, `ratio ${s['policy/ratio']}`);
      assert.equal(s['clip_ratio/region_mean'], 0);
      assert.ok(Math.abs(s.loss as number) < 1e-6, `loss at ρ = 1 is −mean(A) = 0 (advantages sum to 0 per prompt): ${s.loss}`);
    }
    for (const key of ['rlhf_reward', 'baseline', 'entropy', 'rewards/great/mean', 'completions/mean_length', 'time/training']) assert.ok(key in (r.history[0] as object), key);
    assert.equal(new Set(live.slice(2)).size, 1, `live tensors flat across iterations: ${live.join(',')}`);
    assert.ok(existsSync(join(root, 'learn', 'rlhf_config.json')));
    r.dispose();
  });

  test('command line: --help from the schema; a couple of steps; k = 1 is refused with the flag named', () => {
    const help = rlooCommand.help;
    for (const f of fieldsOf(rlooConfig)) assert.ok(help.includes(f.flag), `rloo --help lacks ${f.flag}`);
    assert.match(help, /--num-generations N\s+k: responses per prompt.*\(default 2\)/);
    assert.match(help, /--beta X\s+β of the sequence-level KL penalty.*\(default 0\.05\)/);
    assert.ok(commands.includes(rlooCommand), 'rlhf rloo is registered');
    const greatFile = greatRewardFile(root);
    const out = join(root, 'cli');
    const run = rlhf('rloo', '--model', sftDir, '--reward-fn', greatFile, '--prompts', prompts, '--out', out, '--max-steps', '2', '--batch-size', '2', '--max-completion-length', '4', '--quiet');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /rloo: done — reward [\d.]+, KL -?[\d.]+ nats/);
    assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2);
    const bad = rlhf('rloo', '--model', sftDir, '--reward-fn', greatFile, '--prompts', prompts, '--out', join(root, 'bad'), '--num-generations', '1');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--num-generations: Too small/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
