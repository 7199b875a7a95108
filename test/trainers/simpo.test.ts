// SimPO: closed forms (equal lengths: DPO's form with a zero reference and margin γ), the CPO NLL
// term, gradients against central differences, "it learns" on a tiny task, and the command line.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble } from '../engine/helpers.js';
import { readStats } from '../../src/trainers/common/masked.js';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { dpoSigmoidLoss, simpo, simpoConfig, simpoLoss } from '../../src/trainers/index.js';
import { assertLoraOut, rlhf, sftModelAndPairs, tempDir } from './fixtures.js';

torch.setNumThreads(1);

const f64 = (data: number[]): Tensor => torch.tensor(data, { dtype: 'float64' });
const logSigma = (x: number): number => -Math.log1p(Math.exp(-x));
const root = tempDir('rlhf-simpo-');
let sftDir = '';
let pairsFile = '';

before(async () => {
  ({ sftDir, pairsFile } = await sftModelAndPairs(root));
});

describe('simpoLoss', () => {
  test('equal lengths: DPO with a zero reference on per-token log-probs, shifted by the margin γ', () => {
    torch.tidy(() => {
      const L = 4, beta = 2;
      const sc = f64([-6, -10, -3]), sr = f64([-8, -9, -12]), n = f64([L, L, L]);
      // γ = 0 is exactly reference-free DPO on log π / |y|
      assertClose(simpoLoss({ sum: sc, count: n }, { sum: sr, count: n }, beta, 0).loss, dpoSigmoidLoss(sc.div(L), sr.div(L), null, null, beta).loss.item(), { rtol: 1e-12 });
      const gamma = 0.5;
      const want = [[-6, -8], [-10, -9], [-3, -12]].map(([c, r]) => -logSigma((beta / L) * ((c as number) - (r as number)) - gamma));
      assertClose(simpoLoss({ sum: sc, count: n }, { sum: sr, count: n }, beta, gamma).loss, (want[0]! + want[1]! + want[2]!) / 3, { rtol: 1e-12 });
      // margin reached exactly: r_c − r_r = γ gives log 2
      assertClose(simpoLoss({ sum: f64([-2]), count: f64([L]) }, { sum: f64([-3]), count: f64([L]) }, beta, beta / L).loss, Math.LN2, { rtol: 1e-12 });
    });
  });

  test('unequal lengths normalise each response by its own length; α adds the chosen NLL per token; stats', () => {
    torch.tidy(() => {
      const chosen = { sum: f64([-3, -8]), count: f64([1, 4]) }, rejected = { sum: f64([-10, -3]), count: f64([5, 2]) };
      const beta = 2.5, gamma = 0.3;
      const rc = [beta * -3, beta * -2], rr = [beta * -2, beta * -1.5];
      const pref = -(logSigma(rc[0]! - rr[0]! - gamma) + logSigma(rc[1]! - rr[1]! - gamma)) / 2;
      assertClose(simpoLoss(chosen, rejected, beta, gamma).loss, pref, { rtol: 1e-12 });
      const nll = (3 + 8) / 5;
      const r = simpoLoss(chosen, rejected, beta, gamma, 0.2);
      assertClose(r.loss, pref + 0.2 * nll, { rtol: 1e-12 });
      const s = readStats(r.stats);
      assertClose([s['rewards/chosen'], s['rewards/rejected'], s['rewards/margins'], s['rewards/accuracies'], s.nll_loss], [(rc[0]! + rc[1]!) / 2, (rr[0]! + rr[1]!) / 2, (rc[0]! + rc[1]! - rr[0]! - rr[1]!) / 2, 0, nll], { rtol: 1e-12 });
    });
  });

  test('gradients against central differences (with and without the NLL term)', () => {
    const nc = f64([3, 1, 6]), nr = f64([2, 4, 1]);
    for (const alpha of [0, 0.7]) {
      torch.tidy(() => void gradcheck((c, r) => simpoLoss({ sum: c, count: nc }, { sum: r, count: nr }, 2, 0.5, alpha).loss, [randDouble([3], 51, -8, -0.5), randDouble([3], 52, -8, -0.5)], { name: `simpoLoss α=${alpha}` }));
    }
    nc.dispose();
    nr.dispose();
  });
});

describe('SimPO trainer', () => {
  test('it learns: the per-token log-prob margin of chosen over rejected rises past γ/β; held-out accuracy', async () => {
    const r = await simpo({ model: sftDir, data: pairsFile, out: join(root, 'simpo'), epochs: 10, lr: 1e-3, batchSize: 8, evalSplit: 0.2, saveEvery: 0, logEvery: 1 });
    const h = r.history;
    const first = h[0] as Record<string, number>, last = h[h.length - 1] as Record<string, number>;
    const margin = (x: Record<string, number>): number => (x['logps/chosen'] as number) - (x['logps/rejected'] as number);
    assert.ok(margin(last) > margin(first) + 1 && margin(last) > 0.5 / 2, `per-token margin ${margin(first)} → ${margin(last)}`);
    assert.ok((last.loss as number) < (first.loss as number) / 4, `loss ${first.loss} → ${last.loss}`);
    assert.equal(r.eval['eval/rewards/accuracies'], 1);
    assert.ok((r.eval['eval/rewards/margins'] as number) > 0.5, `held-out margin ${r.eval['eval/rewards/margins']} vs γ = 0.5`);
    r.model.dispose();
  });

  test('LoRA (--lora-r 4): only the adapters train, the margin rises and the loss falls, OUT is a PEFT adapter', async () => {
    const out = join(root, 'simpo-lora');
    const r = await simpo({ model: sftDir, data: pairsFile, out, loraR: 4, maxSteps: 20, lr: 1e-2, batchSize: 8, evalSplit: 0, saveEvery: 0, logEvery: 1 });
    const first = r.history[0] as Record<string, number>, last = r.history[r.history.length - 1] as Record<string, number>;
    assert.ok((last['rewards/margins'] as number) > (first['rewards/margins'] as number) + 0.5, `margin ${first['rewards/margins']} → ${last['rewards/margins']}`);
    assert.ok((last.loss as number) < (first.loss as number) / 2, `loss ${first.loss} → ${last.loss}`);
    await assertLoraOut(out, r.model, sftDir, 4);
    r.model.dispose();
  });

  test('command line: --help from the schema (defaults named), a run, bad input named with exit 2', () => {
    const help = rlhf('simpo', '--help');
    assert.equal(help.status, 0);
    for (const f of fieldsOf(simpoConfig)) assert.ok(help.stdout.includes(f.flag), `simpo --help lacks ${f.flag}`);
    assert.match(help.stdout, /--beta X\s+β: .*\(default 2\)/);
    assert.match(help.stdout, /--simpo-gamma X\s+γ: .*\(default 0\.5\)/);
    const run = rlhf('simpo', '--model', sftDir, '--data', pairsFile, '--out', join(root, 'simpo-cli'), '--max-steps', '2', '--batch-size', '4', '--cpo-alpha', '0.1', '--quiet');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /simpo: done — held-out reward accuracy [\d.]+, margin -?[\d.]+/);
    const gamma = rlhf('simpo', '--model', sftDir, '--data', pairsFile, '--out', join(root, 's2'), '--simpo-gamma', '-1');
    assert.equal(gamma.status, 2);
    assert.match(gamma.stderr, /--simpo-gamma: Too small/);
    writeFileSync(join(root, 'bad.jsonl'), '{"prompt": "a", "chosen": " b", "rejected": " c"}\n{"prompt": "a", "chosen": " b", "rejected": 3}\n');
    const bad = rlhf('simpo', '--model', sftDir, '--data', join(root, 'bad.jsonl'), '--out', join(root, 's3'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bad\.jsonl:2.*rejected/);
    for (const r of [gamma, bad]) assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
