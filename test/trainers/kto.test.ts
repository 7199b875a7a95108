// KTO: the loss in closed form and against central differences, the data path (unpairing, KL
// completions, the λ advice), "it learns" on a tiny task, exact resume, and the command line.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble } from '../engine/helpers.js';
import { readStats } from '../../src/trainers/common/masked.js';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { ktoLoss, ktoConfig, kto, weightAdvice } from '../../src/trainers/index.js';
import { unpairPreferences, withKlCompletions, type KtoItem } from '../../src/trainers/kto/data.js';
import { heldOutMetrics } from '../../src/trainers/kto/train.js';
import { assertLoraOut, rlhf, sftModelAndPairs, tempDir, writeJsonl, PROMPTS, POSITIVE_WORDS, NEGATIVE_WORDS } from './fixtures.js';

torch.setNumThreads(1);

const f64 = (data: number[]): Tensor => torch.tensor(data, { dtype: 'float64' });
const sigma = (x: number): number => 1 / (1 + Math.exp(-x));
const root = tempDir('rlhf-kto-');
let sftDir = '';
let pairsFile = '';

before(async () => {
  ({ sftDir, pairsFile } = await sftModelAndPairs(root));
});

describe('ktoLoss', () => {
  test('zero log-ratios and z0 = 0: each example costs λ_y·(1 − σ(0)) = λ_y/2', () => {
    torch.tidy(() => {
      const lp = f64([-3, -5, -2]);
      const kl = f64([-4, -1, -6]);
      const r = ktoLoss(lp, lp, torch.tensor([true, false, true]), kl, kl, 0.1, 1.5, 0.5);
      assertClose(r.loss, (1.5 / 2 + 0.5 / 2 + 1.5 / 2) / 3, { rtol: 1e-12 });
      const s = readStats(r.stats);
      assert.deepEqual([s.kl, s['rewards/chosen'], s['rewards/rejected'], s['rewards/margins'], s['rewards/sign_accuracy']], [0, 0, 0, 0, 0]);
    });
  });

  test('by hand: r, z0 from the mismatched pairs, λ_D / λ_U, and the stats', () => {
    torch.tidy(() => {
      // r = π − π_ref = [1, −2, 0.5]; the KL pairs' log-ratios [0.3, 0.1, −0.1] give z0 = 0.1
      const pi = f64([-2, -6, -3.5]), ref = f64([-3, -4, -4]);
      const piKl = f64([-4.7, -5.9, -7.1]), refKl = f64([-5, -6, -7]);
      const beta = 0.5, lD = 1, lU = 2;
      const r = ktoLoss(pi, ref, f64([1, 0, 0]), piKl, refKl, beta, lD, lU);
      const want = [lD * (1 - sigma(beta * (1 - 0.1))), lU * (1 - sigma(beta * (0.1 + 2))), lU * (1 - sigma(beta * (0.1 - 0.5)))];
      assertClose(r.loss, (want[0]! + want[1]! + want[2]!) / 3, { rtol: 1e-12 });
      const s = readStats(r.stats);
      assertClose([s.kl, s['rewards/chosen'], s['rewards/rejected'], s['rewards/margins'], s['rewards/sign_accuracy']], [0.1, 0.5, (-1 + 0.25) / 2, 0.5 + 0.375, 2 / 3], { rtol: 1e-12 });
      assertClose([s['logps/chosen'], s['logps/rejected']], [-2, -4.75], { rtol: 1e-12 });
    });
  });

  test('z0 is clamped at 0 and gets no gradient (TRL: detached)', () => {
    torch.tidy(() => {
      const pi = f64([-2, -6]).requiresGrad_(), ref = f64([-3, -4]);
      const piKl = f64([-6, -8]).requiresGrad_(), refKl = f64([-5, -6]); // log-ratios −1, −2: KL estimate < 0 → z0 = 0
      const r = ktoLoss(pi, ref, torch.tensor([true, false]), piKl, refKl, 1, 1, 1);
      assertClose(r.loss, ((1 - sigma(1)) + (1 - sigma(2))) / 2, { rtol: 1e-12 });
      assert.equal(readStats(r.stats).kl, 0);
      r.loss.backward();
      assert.ok(pi.grad !== null);
      assert.ok(piKl.grad === null || piKl.grad.abs().sum().item() === 0, 'no gradient reaches the KL log-probs');
    });
  });

  test('gradients against central differences (z0 > 0, both labels, unequal weights)', () => {
    const desirable = torch.tensor([true, false, true, false]);
    const piKl = f64([-3, -2, -4, -5]), refKl = f64([-3.5, -2.2, -4.1, -5.6]); // z0 = 0.35
    torch.tidy(() => void gradcheck((a, b) => ktoLoss(a, b, desirable, piKl, refKl, 0.7, 1.33, 0.8).loss, [randDouble([4], 31, -6, -1), randDouble([4], 32, -6, -1)], { name: 'ktoLoss' }));
    desirable.dispose();
    piKl.dispose();
    refKl.dispose();
  });
});

describe('KTO data', () => {
  const ex = (c: number, label = true): Omit<KtoItem, 'klCompletionIds'> => ({ promptIds: [100, 101, 102], completionIds: [c, c], label, pair: null });

  test('KL completions rotate by one within each batch; a lone last example takes the one before; they fit in maxLength', () => {
    const xs = [ex(1), ex(2), ex(3), ex(4), ex(5)];
    assert.deepEqual(withKlCompletions(xs, 2, 16).map((e) => e.klCompletionIds[0]), [2, 1, 4, 3, 4]);
    assert.deepEqual(withKlCompletions(xs, 3, 16).map((e) => e.klCompletionIds[0]), [3, 1, 2, 5, 4]);
    assert.deepEqual(withKlCompletions(xs, 2, 4).map((e) => e.klCompletionIds), [[2], [1], [4], [3], [4]]);
  });

  test('a preference pair becomes a desirable and an undesirable example of the same pair', () => {
    const u = unpairPreferences([{ promptIds: [1], chosenIds: [2], rejectedIds: [3] }, { promptIds: [4], chosenIds: [5], rejectedIds: [6] }]);
    assert.deepEqual(u.map((e) => [e.promptIds[0], e.completionIds[0], e.label, e.pair]), [[1, 2, true, 0], [1, 3, false, 0], [4, 5, true, 1], [4, 6, false, 1]]);
  });

  test('λ advice (eq. 8): none when balanced or in range; the ranges when not', () => {
    assert.equal(weightAdvice(20, 20, 1, 1), null);
    assert.equal(weightAdvice(10, 12, 1.33, 1), null); // 13.3 / 12 = 1.11
    const a = weightAdvice(10, 30, 1, 1) as string;
    assert.match(a, /= 0\.33, outside \[1, 4\/3\]/);
    assert.match(a, /--desirable-weight in \[3\.00, 4\.00\] or --undesirable-weight in \[0\.25, 0\.33\]/);
  });

  test('held-out metrics: sign accuracy over examples, pairwise accuracy over pairs', () => {
    const items: KtoItem[] = [
      { ...ex(1, true), pair: 0, klCompletionIds: [] }, { ...ex(2, false), pair: 0, klCompletionIds: [] },
      { ...ex(3, true), pair: 1, klCompletionIds: [] }, { ...ex(4, false), pair: 1, klCompletionIds: [] },
    ];
    const m = heldOutMetrics(items, [0.5, -0.2, -0.1, -0.3], [-1, -2, -3, -4], 0.4, 0.05);
    assertClose([m['rewards/chosen'] as number, m['rewards/rejected'] as number, m['rewards/margins'] as number], [0.2, -0.25, 0.45], { rtol: 1e-12 });
    assert.equal(m['rewards/sign_accuracy'], 3 / 4);
    assert.equal(m['rewards/accuracies'], 1); // 0.5 > −0.2 and −0.1 > −0.3
    assert.deepEqual([m.loss, m.kl, m['logps/chosen'], m['logps/rejected']], [0.4, 0.05, -2, -3]);
    assert.equal(heldOutMetrics(items.map((e) => ({ ...e, pair: null })), [0.5, -0.2, -0.1, -0.3], [0, 0, 0, 0], 0, 0)['rewards/accuracies'], undefined);
  });
});

describe('KTO trainer', () => {
  test('it learns: desirable log-ratios rise, undesirable ones fall; held-out signs and pairs right', async () => {
    const r = await kto({ model: sftDir, data: pairsFile, out: join(root, 'kto'), epochs: 8, lr: 2e-3, batchSize: 8, evalSplit: 0.2, saveEvery: 0, logEvery: 1 });
    const h = r.history;
    assert.ok(Math.abs(h[0]?.['rewards/chosen'] as number) < 0.05 && Math.abs(h[0]?.['rewards/rejected'] as number) < 0.05, 'the first step starts at the reference');
    const last = h[h.length - 1] as Record<string, number>;
    assert.ok((last['rewards/chosen'] as number) > 0.02, `desirable reward ${last['rewards/chosen']}`);
    assert.ok((last['rewards/rejected'] as number) < -1, `undesirable reward ${last['rewards/rejected']}`);
    assert.ok((last['logps/rejected'] as number) < (h[0]?.['logps/rejected'] as number) - 5, 'undesirable completions became much less likely');
    assert.ok(h.every((x) => (x.kl as number) >= 0), 'z0 ≥ 0');
    assert.ok((r.eval['eval/rewards/sign_accuracy'] as number) > 0.9, `sign accuracy ${r.eval['eval/rewards/sign_accuracy']}`);
    assert.ok((r.eval['eval/rewards/accuracies'] as number) > 0.9, `pairwise accuracy ${r.eval['eval/rewards/accuracies']}`);
    assert.ok((r.eval['eval/rewards/margins'] as number) > 1);
    assert.ok(existsSync(join(root, 'kto', 'model.safetensors')) && existsSync(join(root, 'kto', 'rlhf_config.json')));
    assert.ok(readdirSync(join(root, 'kto')).some((f) => f.includes('tfevents')), 'TensorBoard events');
    r.model.dispose();
  });

  test('unpaired KTO rows, imbalanced: trains, advises on λ, reports sign accuracy (no pairs)', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => (i % 4 === 0
      ? { prompt: PROMPTS[i % 4], completion: ` ${NEGATIVE_WORDS[(i >> 2) % 4]} .`, label: false }
      : { prompt: PROMPTS[i % 4], completion: ` ${POSITIVE_WORDS[i % 4]} .`, label: true }));
    const lines: string[] = [];
    const r = await kto({ model: sftDir, data: writeJsonl(join(root, 'kto-rows.jsonl'), rows), out: join(root, 'kto-rows'), maxSteps: 6, lr: 2e-3, batchSize: 4, evalSplit: 0.2, saveEvery: 0 }, { onLog: (l) => lines.push(l) });
    assert.ok(lines.some((l) => /desirable.*undesirable examples.*outside \[1, 4\/3\]/.test(l)), lines.join('\n'));
    assert.ok(Number.isFinite(r.eval['eval/rewards/sign_accuracy']) && r.eval['eval/rewards/accuracies'] === undefined);
    r.model.dispose();
  });

  test('LoRA (--lora-r 4): only the adapters train, the reference is the policy with its adapters off, OUT is a PEFT adapter', async () => {
    const out = join(root, 'kto-lora');
    const lines: string[] = [];
    const r = await kto({ model: sftDir, data: pairsFile, out, loraR: 4, maxSteps: 30, lr: 2e-2, batchSize: 16, evalSplit: 0.25, saveEvery: 0, logEvery: 1 }, { onLog: (l) => lines.push(l) });
    assert.ok(lines.some((l) => /^lora: r 4, α 32 on 2 layers \(c_attn\)/.test(l)), lines.join('\n'));
    const margins = r.history.map((x) => x['rewards/margins'] as number);
    assert.ok(Math.abs(margins[0] as number) < 1e-6, `first margin ${margins[0]}: policy = reference at init (B = 0)`);
    const late = margins.slice(-10);
    assert.ok(late.every((m) => m > 0) && late.reduce((a, b) => a + b, 0) / late.length > 0.01, `margins over the last 10 steps: ${late.map((m) => m.toFixed(3))}`);
    assert.ok((r.eval['eval/rewards/margins'] as number) > 0 && (r.eval['eval/rewards/accuracies'] as number) > 0.7, JSON.stringify(r.eval));
    await assertLoraOut(out, r.model, sftDir, 4);
    r.model.dispose();
  });

  test('resume: a run continued from its step-3 checkpoint logs the same losses as the uninterrupted run', async () => {
    const common = { model: sftDir, data: pairsFile, maxSteps: 6, lr: 2e-3, batchSize: 4, evalSplit: 0.2, saveEvery: 3, logEvery: 1 };
    const a = await kto({ ...common, out: join(root, 'kto-a') });
    a.model.dispose();
    cpSync(join(root, 'kto-a', 'checkpoints', 'step-000003'), join(root, 'kto-b', 'checkpoints', 'step-000003'), { recursive: true });
    const b = await kto({ ...common, out: join(root, 'kto-b'), resume: true });
    b.model.dispose();
    assert.equal(b.history.length, 3);
    for (const key of ['loss', 'rewards/chosen', 'rewards/rejected', 'kl']) assert.deepEqual(b.history.map((x) => x[key]), a.history.slice(3).map((x) => x[key]), key);
    assert.deepEqual(b.eval, a.eval);
  });

  test('command line: --help from the schema (and the pair rule), a run, bad input named with exit 2', () => {
    const help = rlhf('kto', '--help');
    assert.equal(help.status, 0);
    for (const f of fieldsOf(ktoConfig)) assert.ok(help.stdout.includes(f.flag), `kto --help lacks ${f.flag}`);
    assert.match(help.stdout, /each pair becomes\s+a desirable example/);
    const run = rlhf('kto', '--model', sftDir, '--data', pairsFile, '--out', join(root, 'kto-cli'), '--max-steps', '2', '--batch-size', '4', '--quiet');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /kto: done — held-out sign accuracy [\d.]+, pairwise accuracy [\d.]+, margin -?[\d.]+/);
    const one = rlhf('kto', '--model', sftDir, '--data', pairsFile, '--out', join(root, 'kto-1'), '--batch-size', '1');
    assert.equal(one.status, 2);
    assert.match(one.stderr, /--batch-size 1: KTO estimates its reference point z0 .* needs --batch-size 2 or more/);
    writeFileSync(join(root, 'bad.jsonl'), '{"prompt": "a", "completion": " b", "label": true}\n{"prompt": "a", "completion": " c", "label": "maybe"}\n');
    const bad = rlhf('kto', '--model', sftDir, '--data', join(root, 'bad.jsonl'), '--out', join(root, 'kto-bad'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bad\.jsonl:2.*label.*expected a boolean/);
    for (const r of [one, bad]) assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
