// GRPO: the advantages and the four loss normalisations in closed form on hand-made groups and
// masks, the k3 KL, gradients against central differences, the first step's invariants, exact
// resume, "it learns" on a tiny task, and the command line.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble, rng } from '../engine/helpers.js';
import { readStats } from '../../src/trainers/common/masked.js';
import { klK3 } from '../../src/trainers/ppo/loss.js';
import { ADVANTAGE_EPS, aggregateBnpo, aggregateDapo, aggregateDrGrpo, aggregateGrpo, grpoAdvantages, grpoLoss, grpoTokenLoss, type GrpoLossType } from '../../src/trainers/grpo/loss.js';
import { grpo, grpoConfig } from '../../src/trainers/index.js';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { grpo as grpoCommand } from '../../src/cli/grpo.js';
import { commands } from '../../src/cli/index.js';
import { rlhf, tempDir } from './fixtures.js';
import { great, greatRewardFile, sftModelAndPrompts } from './online-fixtures.js';
import { answerOf, makeProblems } from '../../examples/arithmetic/task.js';
import exactAnswer from '../../examples/arithmetic/exact-answer.js';
import { createScorer } from '../../src/trainers/common/rewards.js';

torch.setNumThreads(1);
const f64 = (data: number[] | number[][]): Tensor => torch.tensor(data, { dtype: 'float64' });
const std = (xs: number[]): number => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

describe('GRPO math', () => {
  test('advantages on hand-made groups: (r − mean)/(std + 1e-4) per group; unscaled (Dr. GRPO); batch std', () => {
    torch.tidy(() => {
      // two prompts, G = 4: one group with signal, one where every response got the same reward
      const r = [1, 0, 0, 1, 2, 2, 2, 2];
      const s1 = std([1, 0, 0, 1]); // √(1/3)
      const group = grpoAdvantages(f64(r), 4, 'group');
      assertClose(group.advantages, [0.5 / (s1 + ADVANTAGE_EPS), -0.5 / (s1 + ADVANTAGE_EPS), -0.5 / (s1 + ADVANTAGE_EPS), 0.5 / (s1 + ADVANTAGE_EPS), 0, 0, 0, 0], { rtol: 1e-12 });
      const st = readStats(group.stats);
      assertClose([st.reward, st.reward_std, st.frac_reward_zero_std], [10 / 8, s1 / 2, 0.5], { rtol: 1e-12 });
      const none = grpoAdvantages(f64(r), 4, 'none');
      assertClose(none.advantages, [0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0], { rtol: 1e-12 });
      const batch = grpoAdvantages(f64(r), 4, 'batch');
      const sb = std(r);
      assertClose(batch.advantages, [0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0].map((a) => a / (sb + ADVANTAGE_EPS)), { rtol: 1e-12 });
      // each group's advantages sum to 0 whatever the scaling
      for (const a of [group, none, batch]) assertClose(a.advantages.view(2, 4).sum(1), [0, 0], { atol: 1e-12 });
      assert.throws(() => grpoAdvantages(f64([1, 2, 3]), 2, 'group'), /groups of 2/);
    });
  });

  test('k3 KL: 0 at equal log-probs, e^d − d − 1 at a known point, ≥ 0; the loss adds β·KL', () => {
    torch.tidy(() => {
      const lp = f64([[-1, -2, -0.5]]);
      assertClose(klK3(lp, lp), [[0, 0, 0]], { atol: 0 });
      // d = log π_ref − log π = log 2: π_ref/π − log(π_ref/π) − 1 = 2 − log 2 − 1
      assertClose(klK3(f64([[0]]), f64([[Math.LN2]])), [[1 - Math.LN2]], { rtol: 1e-12 });
      assertClose(klK3(f64([[0]]), f64([[-Math.LN2]])), [[0.5 + Math.LN2 - 1]], { rtol: 1e-12 });
      const ref = f64([[-1 + Math.LN2, -2, -0.5]]);
      const mask = f64([[1, 1, 0]]);
      const A = f64([0.3]);
      const { tokenLoss, stats } = grpoTokenLoss(lp, lp, ref, A, mask, { epsilon: 0.2, beta: 0.1 });
      // ratio 1: −A plus β·KL on valid tokens, 0 at padding
      assertClose(tokenLoss, [[-0.3 + 0.1 * (1 - Math.LN2), -0.3, 0]], { rtol: 1e-12 });
      assertClose(stats.kl, (1 - Math.LN2) / 2, { rtol: 1e-12 });
      assertClose(stats['policy/ratio'], 1, { rtol: 0 });
    });
  });

  test('each loss_type on a hand-made mask (ratio 1, β = 0: every token loss is −Â_i)', () => {
    torch.tidy(() => {
      const lengths = [3, 1, 2]; // N = 3 responses, L = 4 columns
      const mask = f64(lengths.map((n) => [0, 1, 2, 3].map((t) => (t < n ? 1 : 0))));
      const A = [1, -2, 0.5];
      const lp = randDouble([3, 4], 5, -3, -1);
      const tok = grpoTokenLoss(lp, lp, null, f64(A), mask, { epsilon: 0.2, beta: 0 }).tokenLoss;
      const sum = A.reduce((s, a, i) => s - a * (lengths[i] as number), 0); // Σ_i Σ_t −Â_i = −(3 − 2 + 1) = −2
      assertClose(aggregateGrpo(tok, mask), -(1 - 2 + 0.5) / 3, { rtol: 1e-12 }); // mean over responses of −Â_i
      assertClose(aggregateBnpo(tok, mask), sum / 6, { rtol: 1e-12 });
      assertClose(aggregateDrGrpo(tok, mask, 8), sum / (3 * 8), { rtol: 1e-12 });
      assertClose(aggregateDapo(tok, mask, 24), sum / 24, { rtol: 1e-12 });
      assertClose(aggregateDapo(tok, mask, 6), aggregateBnpo(tok, mask).item(), { rtol: 1e-12 }); // one micro-batch per step: dapo = bnpo
      for (const lossType of ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as const) {
        const expected = { grpo: 0.5 / 3, bnpo: sum / 6, dr_grpo: sum / (3 * 8), dapo: sum / 6 }[lossType];
        assertClose(grpoLoss(lp, lp, null, f64(A), mask, { epsilon: 0.2, beta: 0, lossType, maxCompletionLength: 8 }).loss, expected, { rtol: 1e-12 });
      }
    });
  });

  test('clipping by hand: below 1 − ε with Â < 0 and above 1 + ε_high with Â > 0 are clipped (and counted); ε_high widens the top', () => {
    torch.tidy(() => {
      const old = f64([[0, 0, 0, 0]]);
      const ratios = [0.7, 1.1, 1.25, 1.4];
      const lp = f64([ratios.map(Math.log)]);
      const mask = f64([[1, 1, 1, 1]]);
      const pos = grpoTokenLoss(lp, old, null, f64([1]), mask, { epsilon: 0.2, beta: 0 });
      assertClose(pos.tokenLoss, [[-0.7, -1.1, -1.2, -1.2]], { rtol: 1e-12 }); // Â > 0: min(r, clip(r)) caps the top only
      assertClose(readStats(pos.stats)['clip_ratio/high_mean'], 0.5, { rtol: 0 });
      const neg = grpoTokenLoss(lp, old, null, f64([-1]), mask, { epsilon: 0.2, beta: 0 });
      assertClose(neg.tokenLoss, [[0.8, 1.1, 1.25, 1.4]], { rtol: 1e-12 }); // Â < 0: the bottom is held at 1 − ε
      const st = readStats(neg.stats);
      assert.deepEqual([st['clip_ratio/low_mean'], st['clip_ratio/high_mean'], st['clip_ratio/region_mean']], [0.25, 0, 0.25]);
      const high = grpoTokenLoss(lp, old, null, f64([1]), mask, { epsilon: 0.2, epsilonHigh: 0.28, beta: 0 });
      assertClose(high.tokenLoss, [[-0.7, -1.1, -1.25, -1.28]], { rtol: 1e-12 });
    });
  });

  test('gradients of grpoLoss for every loss type, with the KL term, against central differences', () => {
    const r = rng(17);
    // log-ratios away from log(1 − ε) and log(1 + ε) so no token sits on a kink of the clip
    const logRatio = Array.from({ length: 12 }, () => {
      for (;;) {
        const x = -0.5 + r();
        if (Math.abs(x - Math.log(1.2)) > 0.02 && Math.abs(x - Math.log(0.8)) > 0.02 && Math.abs(x - Math.log(1.28)) > 0.02) return x;
      }
    });
    const old = randDouble([3, 4], 18, -3, -1);
    const ref = randDouble([3, 4], 19, -3, -1);
    const A = f64([0.7, -1.3, 0.4]);
    const mask = f64([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]);
    for (const lossType of ['grpo', 'bnpo', 'dr_grpo', 'dapo'] as GrpoLossType[]) {
      torch.tidy(() =>
        void gradcheck((lp) => grpoLoss(lp, old, ref, A, mask, { epsilon: 0.2, epsilonHigh: 0.28, beta: 0.05, lossType, maxCompletionLength: 6, stepTokens: 13 }).loss, [old.add(torch.tensor(Float64Array.from(logRatio), { shape: [3, 4] }))], { name: `grpoLoss ${lossType}` }),
      );
    }
  });
});

describe('the arithmetic example (examples/arithmetic)', () => {
  test('problems are distinct, held-out ones never seen in training; the reward is 1 exactly for the sum', async () => {
    const train = makeProblems(500, 1);
    const held = makeProblems(100, 2, { exclude: new Set(train.map((p) => p.prompt)) });
    assert.equal(new Set(train.map((p) => p.prompt)).size, 500);
    assert.ok(held.every((p) => !train.some((t) => t.prompt === p.prompt)));
    for (const p of [...train, ...held]) assert.equal(answerOf(p.prompt), p.answer);
    assert.deepEqual(exactAnswer(['23+48=', '23+48=', '23+48=', '9+9=', 'hello'], ['71', ' 71 ', '711', '18', '18']), [1, 1, 0, 1, 0]);
    const scorer = await createScorer({ rewardFn: [new URL('../../examples/arithmetic/exact-answer.ts', import.meta.url).pathname] }); // as --reward-fn loads it
    assert.deepEqual(scorer.names, ['exact-answer']);
    assert.deepEqual(Array.from(await scorer.score(['5+7='], ['12'])), [1]);
  });
});

describe('GRPO trainer', () => {
  const root = tempDir('rlhf-grpo-');
  let sftDir = '';
  let prompts = '';
  const period = (_p: string[], responses: string[]): number[] => responses.map((t) => (t.trim().endsWith('.') ? 1 : 0));

  before(async () => {
    ({ sftDir, prompts } = await sftModelAndPrompts(root));
  });

  test('it learns: the reward rises from ~0.2 to > 0.85 in 40 iterations; first step ratio exactly 1, clip 0; one mean per reward function; live tensors flat', async () => {
    const firsts: Record<string, number>[] = [];
    const live: number[] = [];
    const r = await grpo(
      { model: sftDir, prompts, out: join(root, 'learn'), batchSize: 8, numGenerations: 8, maxCompletionLength: 4, maxSteps: 40, lr: 3e-3, saveEvery: 0, rewardWeights: [1, 0.1] },
      {
        rewardFns: [great, period],
        onMinibatch: ({ pass, step, micro, stats }) => {
          if (pass === 0 && step === 0 && micro === 0) firsts.push(stats);
        },
        onIteration: () => live.push(torch.memory().liveTensors),
      },
    );
    const rewards = r.history.map((h) => h['rewards/great/mean'] as number);
    const early = rewards.slice(0, 4).reduce((a, b) => a + b, 0) / 4;
    const late = rewards.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(early < 0.5 && late > 0.85, `exact-word reward ${early.toFixed(2)} → ${late.toFixed(2)}`);
    for (const h of r.history) assertClose(h.reward as number, (h['rewards/great/mean'] as number) + 0.1 * (h['rewards/period/mean'] as number), { rtol: 1e-6, atol: 1e-6 });
    for (const s of firsts) {
      assert.equal(s['policy/ratio'], 1); // μ = 1, one step: π_old is π_θ detached
      assert.equal(s['clip_ratio/region_mean'], 0);
    }
    assert.ok(!('kl' in (r.history[0] as object)), 'β = 0: no KL logged, no reference loaded');
    for (const key of ['loss', 'entropy', 'reward_std', 'frac_reward_zero_std', 'completions/mean_length', 'completions/clipped_ratio', 'rewards/period/std', 'time/generation', 'episodes']) assert.ok(key in (r.history[0] as object), key);
    assert.equal(r.history[0]?.episodes, 64);
    assert.equal(new Set(live.slice(2)).size, 1, `live tensors flat across iterations: ${live.join(',')}`);
    const lines = readFileSync(join(root, 'learn', 'metrics.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 40);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'rlhf_config.json']) assert.ok(existsSync(join(root, 'learn', f)), f);
    r.dispose();
  });

  test('μ = 2 passes, 2 steps per rollout, β > 0: the recomputed old log-probs give ratio 1 (1e-6) and k3 KL 0 at the first micro-batch; later passes move the ratio', async () => {
    const firsts: Record<string, number>[] = [];
    const later: Record<string, number>[] = [];
    const r = await grpo(
      { model: sftDir, prompts, out: join(root, 'mu'), batchSize: 4, numGenerations: 4, maxCompletionLength: 5, maxSteps: 2, lr: 1e-2, saveEvery: 0, numIterations: 2, stepsPerGeneration: 2, gradAccum: 2, beta: 0.04, lossType: 'grpo' },
      {
        rewardFns: [great],
        onMinibatch: ({ iteration, pass, step, micro, stats }) => {
          if (iteration === 0 && pass === 0 && step === 0 && micro === 0) firsts.push(stats);
          if (pass === 1) later.push(stats);
        },
      },
    );
    const s = firsts[0] as Record<string, number>;
    assert.ok(Math.abs((s['policy/ratio'] as number) - 1) < 1e-6, `ratio ${s['policy/ratio']}`);
    assert.ok(Math.abs(s.kl as number) < 1e-6, `k3 KL at the start ${s.kl}`);
    assert.ok(later.some((x) => Math.abs((x['policy/ratio'] as number) - 1) > 1e-4), 'after an optimizer step the ratio moves');
    assert.ok('kl' in (r.history[0] as object));
    r.dispose();
  });

  test('resume: a run stopped after iteration 5 and resumed from its checkpoint at 4 logs what an uninterrupted run logs', async () => {
    const cfg = { model: sftDir, prompts, batchSize: 4, numGenerations: 4, maxCompletionLength: 4, maxSteps: 7, lr: 3e-3, saveEvery: 2, beta: 0.02 };
    const a = await grpo({ ...cfg, out: join(root, 'res-a') }, { rewardFns: [great] });
    a.dispose();
    const outB = join(root, 'res-b');
    await assert.rejects(
      grpo({ ...cfg, out: outB }, {
        rewardFns: [great],
        onIteration: (it) => {
          if (it === 5) throw new Error('stop');
        },
      }),
      /stop/,
    );
    const b = await grpo({ ...cfg, out: outB, resume: true }, { rewardFns: [great] });
    b.dispose();
    const rows = (dir: string): number[][] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).map((x) => [x.step as number, x.loss as number, x.reward as number, x.kl as number]);
    assert.deepEqual(rows(outB), rows(join(root, 'res-a')));
  });

  test('command line: --help from the schema; two reward files with weights; bad weights named in one line, exit 2', () => {
    const help = grpoCommand.help; // what `rlhf grpo --help` prints
    for (const f of fieldsOf(grpoConfig)) assert.ok(help.includes(f.flag), `grpo --help lacks ${f.flag}`);
    assert.match(help, /--num-generations N\s+G: responses sampled per prompt.*\(default 8\)/);
    assert.match(help, /--loss-type grpo\|bnpo\|dr_grpo\|dapo/);
    assert.ok(commands.includes(grpoCommand), 'rlhf grpo is registered');
    const greatFile = greatRewardFile(root);
    writeFileSync(join(root, 'brief.ts'), 'export function reward(_p: string[], r: string[]): number[] { return r.map((t) => -t.length / 10); }\n');
    const out = join(root, 'cli');
    const run = rlhf('grpo', '--model', sftDir, '--reward-fn', greatFile, '--reward-fn', join(root, 'brief.ts'), '--reward-weights', '1,0.5', '--prompts', prompts, '--out', out, '--max-steps', '2', '--batch-size', '2', '--num-generations', '2', '--max-completion-length', '4', '--quiet');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /grpo: done — reward -?[\d.]+/);
    const row = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')[1] as string) as Record<string, number>;
    assertClose(row.reward as number, (row['rewards/great/mean'] as number) + 0.5 * (row['rewards/brief/mean'] as number), { rtol: 1e-6, atol: 1e-6 });
    const bad = rlhf('grpo', '--model', sftDir, '--reward-fn', greatFile, '--reward-weights', '1,2', '--prompts', prompts, '--out', join(root, 'bad'), '--max-completion-length', '4');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--reward-weights has 2 values for 1 reward \(--reward-fn .*great\.ts\)/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });

  test('bad input is a TrainerError naming the fix: no reward, groups that do not split into steps, top-p without consent', async () => {
    const base = { model: sftDir, prompts, out: join(root, 'bad-api'), maxCompletionLength: 4 };
    await assert.rejects(grpo(base), { name: 'TrainerError', message: /GRPO needs a reward: --reward-model DIR .* --reward-fn FILE\.ts/ });
    await assert.rejects(grpo({ ...base, batchSize: 3, numGenerations: 3, stepsPerGeneration: 2 }, { rewardFns: [great] }), { name: 'TrainerError', message: /3 × 3 = 9 responses\) must be divisible by --steps-per-generation × --grad-accum \(2 × 1\)/ });
    await assert.rejects(grpo({ ...base, topP: 0.9 }, { rewardFns: [great] }), { name: 'TrainerError', message: /--allow-sampling-mismatch/ });
    await assert.rejects(grpo({ ...base, maxCompletionLength: 100 }, { rewardFns: [great] }), { name: 'TrainerError', message: /exceed the model's 64 positions; lower --max-prompt-length or --max-completion-length/ });
  });
});
