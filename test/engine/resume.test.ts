// Exact resume: the RNG state round trip, and a training run stopped after 5 steps and restarted
// from its saved state (model weights, optimizer, schedule, RNG — through safetensors + JSON, as a
// checkpoint stores them) gives bit-identical losses and weights to the run that went on.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { F } from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { AdamW, SGD, LRScheduler, clipGradNorm, cosineSchedule, decayGroups, OptimizerStateError } from '../../src/optim/index.js';
import { GPT2LMHeadModel, type GPT2Config } from '../../src/models/gpt2.js';
import { saveStateDict, loadStateDictFile } from '../../src/nn/state-dict.js';
import { rng } from './helpers.js';

torch.setNumThreads(1); // tiny tensors

const dir = mkdtempSync(join(tmpdir(), 'rlhf-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('RNG state', () => {
  test('get state, draw, set state, draw again: identical draws', () => {
    torch.manualSeed(7);
    torch.tidy(() => {
      torch.randn([3]); // move away from the seed's start
      const state = torch.getRngState();
      assert.equal(state.dtype, 'uint8');
      assert.equal(state.ndim, 1);
      const a = [torch.randn([5]).toFlatArray(), torch.rand([4]).toFlatArray(), torch.randint(0, 100, [6]).toFlatArray()];
      torch.setRngState(state);
      const b = [torch.randn([5]).toFlatArray(), torch.rand([4]).toFlatArray(), torch.randint(0, 100, [6]).toFlatArray()];
      assert.deepEqual(b, a);
      assert.notDeepEqual(torch.randn([5]).toFlatArray(), a[0], 'the generator moves on afterwards');
    });
  });

  test('a state of the wrong size or dtype is refused with a clear error', () => {
    torch.tidy(() => {
      assert.throws(() => torch.setRngState(torch.zeros([10], { dtype: 'uint8' })), /state has 10 bytes, but this process's generators .* need \d+/);
      assert.throws(() => torch.setRngState(torch.zeros([10])), /1-D uint8 tensor getRngState\(\) returns/);
    });
  });
});

// ---- a small training run ---------------------------------------------------------------------

const V = 37;
const cfg: Partial<GPT2Config> = { vocab_size: V, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 };
const B = 4, T = 8;

/** Batch `step` of a fixed stream: drawn from a JS PRNG, so it does not touch libtorch's RNG. */
function batch(step: number): [Tensor, Tensor] {
  const r = rng(1000 + step);
  const seq = Array.from({ length: B }, () => Array.from({ length: T + 1 }, () => Math.floor(r() * V)));
  const x = torch.tensor(seq.map((s) => s.slice(0, T)), { dtype: 'int64' }); // (B, T)
  const y = torch.tensor(seq.map((s) => s.slice(1)), { dtype: 'int64' }); // (B, T)
  return [x, y];
}

type Kind = 'AdamW' | 'SGD';
interface Run {
  model: GPT2LMHeadModel;
  opt: AdamW | SGD;
  sched: LRScheduler;
}

function build(kind: Kind, seed: number): Run {
  torch.manualSeed(seed);
  const model = new GPT2LMHeadModel(cfg).train(); // dropout on: the RNG state matters
  const groups = decayGroups(model.namedParameters(), 0.1);
  const opt = kind === 'AdamW' ? new AdamW(groups, { lr: 3e-3 }) : new SGD(groups, { lr: 3e-2, momentum: 0.9, nesterov: true });
  const sched = new LRScheduler(opt, kind === 'AdamW' ? 3e-3 : 3e-2, cosineSchedule(3, 10));
  return { model, opt, sched };
}

function trainStep({ model, opt, sched }: Run, step: number): number {
  return torch.tidy(() => {
    const [x, y] = batch(step);
    opt.zeroGrad();
    const loss = F.crossEntropy(model.forward(x).logits, y);
    loss.backward();
    clipGradNorm(model.parameters(), 1.0);
    opt.step();
    sched.step();
    return loss.item();
  });
}

async function save(run: Run, name: string): Promise<void> {
  await saveStateDict(join(dir, `${name}-model.safetensors`), run.model.stateDict());
  const o = run.opt.stateDict();
  await saveStateDict(join(dir, `${name}-optimizer.safetensors`), o.tensors);
  const rngState = torch.getRngState();
  await saveStateDict(join(dir, `${name}-rng.safetensors`), new Map([['cpu', rngState]]));
  rngState.dispose();
  writeFileSync(join(dir, `${name}-state.json`), JSON.stringify({ optimizer: o.meta, schedule: run.sched.stateDict() }));
}

async function load(run: Run, name: string): Promise<void> {
  const weights = await loadStateDictFile(join(dir, `${name}-model.safetensors`));
  const optTensors = await loadStateDictFile(join(dir, `${name}-optimizer.safetensors`));
  const rngFile = await loadStateDictFile(join(dir, `${name}-rng.safetensors`));
  const json = JSON.parse(readFileSync(join(dir, `${name}-state.json`), 'utf8')) as { optimizer: unknown; schedule: unknown };
  run.model.loadStateDict(weights);
  run.opt.loadStateDict({ tensors: optTensors, meta: json.optimizer });
  run.sched.loadStateDict(json.schedule);
  torch.setRngState(rngFile.get('cpu') as Tensor);
  for (const sd of [weights, optTensors, rngFile]) torch.disposeAll(sd); // the optimizer copied them
}

const weightsOf = (m: GPT2LMHeadModel): number[][] => m.parameters().map((p) => p.toFlatArray());

describe('exact resume', () => {
  for (const kind of ['AdamW', 'SGD'] as const) {
    test(`${kind}: 5 steps, save, 5 more = fresh objects loaded from the save, 5 steps (bitwise)`, async () => {
      const a = build(kind, 0);
      for (let s = 1; s <= 5; s++) trainStep(a, s);
      await save(a, kind);
      const L: number[] = [];
      for (let s = 6; s <= 10; s++) L.push(trainStep(a, s));

      const b = build(kind, 999); // other initial weights and RNG: everything must come from the save
      await load(b, kind);
      assert.equal(b.sched.currentStep, 5);
      const L2: number[] = [];
      for (let s = 6; s <= 10; s++) L2.push(trainStep(b, s));
      assert.deepEqual(L2, L, 'losses after resuming');
      assert.deepEqual(weightsOf(b.model), weightsOf(a.model), 'weights after resuming');
      assert.ok(L.every(Number.isFinite));
      for (const r of [a, b]) {
        r.model.dispose();
        r.opt.dispose();
      }
    });
  }

  test('the optimizer state dict: keys by parameter index, steps and hyper-parameters in JSON', () => {
    const a = build('AdamW', 1);
    trainStep(a, 1);
    const { tensors, meta } = (a.opt as AdamW).stateDict();
    const n = a.model.parameters().length;
    assert.equal(meta.optimizer, 'AdamW');
    assert.equal(meta.numParams, n);
    assert.equal(tensors.size, 2 * n);
    assert.ok(tensors.has('state.0.exp_avg') && tensors.has(`state.${n - 1}.exp_avg_sq`));
    assert.deepEqual(meta.state['0'], { step: 1 });
    assert.equal(meta.groups.length, 2);
    assert.deepEqual(meta.groups.flatMap((g) => g.params).sort((x, y) => x - y), [...Array(n).keys()]);
    assert.equal(meta.groups[1]?.config.weightDecay, 0);
    assert.deepEqual(JSON.parse(JSON.stringify(meta)), meta, 'the meta survives JSON');
    a.model.dispose();
    a.opt.dispose();
  });

  test('a state that does not fit is refused before anything changes', () => {
    const a = build('AdamW', 2);
    trainStep(a, 1);
    const sd = (a.opt as AdamW).stateDict();
    const sgd = build('SGD', 3);
    assert.throws(() => sgd.opt.loadStateDict(sd), (e: Error) => e instanceof OptimizerStateError && /saved by "AdamW", not by SGD/.test(e.message));
    const fewer = new AdamW(a.model.parameters().slice(1));
    assert.throws(() => fewer.loadStateDict(sd), /covers \d+ parameters, this optimizer has \d+/);
    const oneGroup = new AdamW(a.model.parameters());
    assert.throws(() => oneGroup.loadStateDict(sd), /2 parameter groups, this optimizer has 1/);
    const b = build('AdamW', 4);
    const wrong = new Map(sd.tensors);
    const k = 'state.0.exp_avg';
    const bad = torch.zeros([3]);
    wrong.set(k, bad);
    assert.throws(() => b.opt.loadStateDict({ tensors: wrong, meta: sd.meta }), /state\.0\.exp_avg has shape \[3\], its parameter \[/);
    wrong.delete(k);
    assert.throws(() => b.opt.loadStateDict({ tensors: wrong, meta: sd.meta }), /tensor state\.0\.exp_avg is missing/);
    assert.equal((b.opt as AdamW).state.size, 0, 'nothing was loaded');
    assert.throws(() => b.sched.loadStateDict({ step: -1 }), /expected \{ step: integer ≥ 0 \}/);
    bad.dispose();
    for (const r of [a, sgd, b]) {
      r.model.dispose();
      r.opt.dispose();
    }
  });
});
