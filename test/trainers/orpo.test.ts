// ORPO: log(1 − e^x) and the odds ratio on known probabilities, gradients against central
// differences, "it learns" on a tiny task, and the command line.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { assertClose, gradcheck, randDouble } from '../engine/helpers.js';
import { readStats } from '../../src/trainers/common/masked.js';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { log1mexp, orpo, orpoConfig, orpoLoss } from '../../src/trainers/index.js';
import { assertLoraOut, rlhf, sftModelAndPairs, tempDir } from './fixtures.js';

torch.setNumThreads(1);

const f64 = (data: number[]): Tensor => torch.tensor(data, { dtype: 'float64' });
const logSigma = (x: number): number => -Math.log1p(Math.exp(-x));
const root = tempDir('rlhf-orpo-');
let sftDir = '';
let pairsFile = '';

/** Rows with P(y|x) = p per token over n tokens: sum n·log p, count n. */
const rows = (ps: number[], ns: number[]) => ({ sum: f64(ps.map((p, i) => (ns[i] as number) * Math.log(p))), count: f64(ns) });

before(async () => {
  ({ sftDir, pairsFile } = await sftModelAndPairs(root));
});

describe('orpoLoss', () => {
  test('log1mexp = log(1 − e^x) across the range, finite at 0', () => {
    torch.tidy(() => {
      const xs = [-50, -20, -3, -Math.LN2 - 1e-9, -Math.LN2 + 1e-9, -0.1, -1e-5, -1e-10];
      assertClose(log1mexp(f64(xs)), xs.map((x) => (x < -Math.LN2 ? Math.log1p(-Math.exp(x)) : Math.log(-Math.expm1(x)))), { rtol: 1e-12, atol: 1e-15 });
      assertClose(log1mexp(f64([0])), [Math.log(1e-12)], { rtol: 1e-9 });
    });
  });

  test('the odds ratio on known probabilities, length-averaged; NLL per chosen token', () => {
    torch.tidy(() => {
      // pair 0: P(y_c) = 0.8 over 2 tokens, P(y_r) = 0.2 over 4; pair 1: 0.5 over 3, 0.25 over 1
      const chosen = rows([0.8, 0.5], [2, 3]), rejected = rows([0.2, 0.25], [4, 1]);
      const logOdds = [Math.log(0.8 / 0.2) - Math.log(0.2 / 0.8), Math.log(0.5 / 0.5) - Math.log(0.25 / 0.75)]; // 2·log 4, log 3
      const nll = -(2 * Math.log(0.8) + 3 * Math.log(0.5)) / 5;
      const lambda = 0.25;
      const r = orpoLoss(chosen, rejected, lambda);
      assertClose(r.loss, nll - lambda * (logSigma(logOdds[0]!) + logSigma(logOdds[1]!)) / 2, { rtol: 1e-12 });
      const s = readStats(r.stats);
      assertClose([s.nll_loss, s.log_odds_chosen, s.log_odds_ratio], [nll, (logOdds[0]! + logOdds[1]!) / 2, (logSigma(logOdds[0]!) + logSigma(logOdds[1]!)) / 2], { rtol: 1e-12 });
      assertClose([s['rewards/chosen'], s['rewards/rejected'], s['rewards/accuracies']], [lambda * (Math.log(0.8) + Math.log(0.5)) / 2, lambda * (Math.log(0.2) + Math.log(0.25)) / 2, 1], { rtol: 1e-12 });
      // equal odds: L_OR = log 2, whatever the lengths
      const even = orpoLoss(rows([0.3], [5]), rows([0.3], [2]), 1);
      assertClose(even.loss, -Math.log(0.3) + Math.LN2, { rtol: 1e-12 });
    });
  });

  test('gradients against central differences', () => {
    const counts = [f64([2, 5, 1]), f64([3, 1, 4])];
    const check = (lambda: number): void => torch.tidy(() => void gradcheck((c, r) => orpoLoss({ sum: c, count: counts[0] as Tensor }, { sum: r, count: counts[1] as Tensor }, lambda).loss, [randDouble([3], 41, -6, -0.5), randDouble([3], 42, -6, -0.5)], { name: `orpoLoss λ=${lambda}` }));
    check(0.1);
    check(2);
    for (const c of counts) c.dispose();
  });
});

describe('ORPO trainer', () => {
  test('it learns: the chosen-over-rejected margin and the odds ratio rise, chosen NLL falls; held-out accuracy', async () => {
    const r = await orpo({ model: sftDir, data: pairsFile, out: join(root, 'orpo'), epochs: 10, lr: 2e-3, batchSize: 8, evalSplit: 0.2, saveEvery: 0, logEvery: 1, beta: 0.5 });
    const h = r.history;
    const first = h[0] as Record<string, number>, last = h[h.length - 1] as Record<string, number>;
    const margin = (x: Record<string, number>): number => (x['logps/chosen'] as number) - (x['logps/rejected'] as number);
    assert.ok(margin(last) > margin(first) + 0.5, `per-token log-prob margin ${margin(first)} → ${margin(last)}`);
    assert.ok((last.log_odds_chosen as number) > (first.log_odds_chosen as number) + 1, `log odds ${first.log_odds_chosen} → ${last.log_odds_chosen}`);
    assert.ok((last.nll_loss as number) < (first.nll_loss as number), `NLL ${first.nll_loss} → ${last.nll_loss}`);
    assert.equal(r.eval['eval/rewards/accuracies'], 1);
    assert.ok(Number.isFinite(r.eval['eval/nll_loss']));
    assert.ok(readFileSync(join(root, 'orpo', 'metrics.jsonl'), 'utf8').includes('log_odds_ratio'));
    r.model.dispose();
  });

  test('LoRA (--lora-r 4): only the adapters train, the loss falls and the odds ratio rises, OUT is a PEFT adapter', async () => {
    const out = join(root, 'orpo-lora');
    const r = await orpo({ model: sftDir, data: pairsFile, out, loraR: 4, maxSteps: 20, lr: 1e-2, batchSize: 8, evalSplit: 0, saveEvery: 0, logEvery: 1, beta: 0.5 });
    const h = r.history;
    const mean = (key: string): number => h.slice(-5).reduce((a, x) => a + (x[key] as number), 0) / 5;
    assert.ok(mean('loss') < (h[0]?.loss as number) - 0.04, `loss ${h[0]?.loss} → ${mean('loss')} (last 5 steps)`);
    assert.ok(mean('log_odds_chosen') > (h[0]?.log_odds_chosen as number) + 0.1, `log odds ${h[0]?.log_odds_chosen} → ${mean('log_odds_chosen')} (last 5 steps)`);
    await assertLoraOut(out, r.model, sftDir, 4);
    r.model.dispose();
  });

  test('command line: --help from the schema, a run, bad input named with exit 2', () => {
    const help = rlhf('orpo', '--help');
    assert.equal(help.status, 0);
    for (const f of fieldsOf(orpoConfig)) assert.ok(help.stdout.includes(f.flag), `orpo --help lacks ${f.flag}`);
    const run = rlhf('orpo', '--model', sftDir, '--data', pairsFile, '--out', join(root, 'orpo-cli'), '--max-steps', '2', '--batch-size', '4', '--quiet');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /orpo: done — held-out reward accuracy [\d.]+, margin -?[\d.]+, NLL [\d.]+/);
    const beta = rlhf('orpo', '--model', sftDir, '--data', pairsFile, '--out', join(root, 'o2'), '--beta', '0');
    assert.equal(beta.status, 2);
    assert.match(beta.stderr, /--beta: Too small/);
    writeFileSync(join(root, 'kto.jsonl'), '{"prompt": "a", "completion": " b", "label": true}\n');
    const kto = rlhf('orpo', '--model', sftDir, '--data', join(root, 'kto.jsonl'), '--out', join(root, 'o3'));
    assert.equal(kto.status, 2);
    assert.match(kto.stderr, /kto\.jsonl.*looks like kto .* this needs preference/);
    for (const r of [beta, kto]) assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
