// Deterministic memory: the leak test (500 training steps with live tensors and RSS flat), and
// the scope rules — tidy frees intermediates and keeps what it returns, keep() escapes, dispose()
// is idempotent, use after dispose is a DisposedTensorError, `using` frees, errors still free.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as torch from '../../src/torch/index.js';
import { F, DisposedTensorError } from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import { AdamW, LRScheduler, clipGradNorm, cosineSchedule } from '../../src/optim/index.js';
import { TinyGpt } from './fixtures/tiny-gpt.js';

torch.setNumThreads(1); // tiny tensors; see learn.test.ts

/** global.gc when node runs with --expose-gc, else the same function obtained through V8's flags. */
function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = getGc();

const live = (): number => torch.memory().liveTensors;

describe('the leak test', () => {
  // The loop yields to the event loop every 10 steps, as an async trainer does (logging, checkpoint
  // writes); the synchronous case is tested at the end of this file.
  test('500 AdamW steps of a small transformer: live tensors identical at step 50 and 500, RSS flat', async () => {
    torch.manualSeed(0);
    const model = new TinyGpt({ vocabSize: 16, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 });
    const opt = new AdamW(model.parameters(), { lr: 1e-3 });
    const sched = new LRScheduler(opt, 1e-3, cosineSchedule(10, 500));
    const [x, y] = torch.tidy(() => {
      const seq = torch.randint(0, 16, [4, 9]); // (B, T+1)
      return [seq.slice(1, 0, 8).contiguous(), seq.slice(1, 1).contiguous()]; // 2 × (B, T)
    });
    const liveAt = new Map<number, number>();
    const bytesAt = new Map<number, number>();
    let rss100 = 0;
    let firstLoss = 0;
    let lastLoss = 0;
    for (let step = 1; step <= 500; step++) {
      if (step % 10 === 0) await new Promise((r) => setImmediate(r));
      const loss = torch.tidy(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(model.forward(x), y);
        l.backward();
        clipGradNorm(model.parameters(), 1.0);
        opt.step();
        sched.step();
        return l.item();
      });
      if (step === 1) firstLoss = loss;
      lastLoss = loss;
      if (step % 50 === 0) {
        liveAt.set(step, live());
        bytesAt.set(step, torch.memory().bytes);
      }
      if (step === 100) {
        gc();
        rss100 = process.memoryUsage.rss();
      }
    }
    gc();
    const rss500 = process.memoryUsage.rss();
    const counts = [...liveAt.values()];
    assert.ok(counts.every((c) => c === liveAt.get(50)), `live tensors at steps 50, 100, …, 500: ${counts.join(', ')}`);
    assert.ok([...bytesAt.values()].every((b) => b === bytesAt.get(50)), `tensor bytes: ${[...bytesAt.values()].join(', ')}`);
    const growth = (rss500 - rss100) / 2 ** 20;
    assert.ok(growth < 8, `RSS grew ${growth.toFixed(1)} MB between step 100 and 500`);
    assert.ok(lastLoss < firstLoss, 'and it trained');
    // What stays alive is exactly the model, the optimizer's moments and the batch.
    const nParams = model.parameters().length;
    const base = live();
    opt.dispose();
    model.dispose();
    for (const t of [x, y]) t.dispose();
    assert.equal(base - live(), 3 * nParams + 2); // parameters, AdamW moments m and v, x, y
  });
});

describe('tidy', () => {
  test('frees intermediates and keeps returned tensors, nested in arrays, objects and Maps', () => {
    const before = live();
    let inner: Tensor[] = [];
    const out = torch.tidy(() => {
      const a = torch.ones([3]);
      const b = a.mul(2);
      const c = b.add(1);
      const d = c.exp();
      inner = [a, b];
      return { first: c, more: [d, { deep: torch.zeros([1]) }], map: new Map([['k', torch.ones([2])]]), n: 5, s: 'x' };
    });
    assert.ok(inner.every((t) => t.isDisposed), 'intermediates are freed');
    assert.equal(out.first.isDisposed, false);
    assert.deepEqual(out.first.toArray(), [3, 3, 3]);
    assert.equal((out.more[0] as Tensor).isDisposed, false);
    assert.equal((out.more[1] as { deep: Tensor }).deep.isDisposed, false);
    assert.equal(out.map.get('k')?.isDisposed, false);
    assert.equal(live() - before, 4);
    torch.disposeAll(out);
    assert.equal(live(), before);
  });

  test('nested scopes: an inner result belongs to the outer scope', () => {
    const before = live();
    let innerResult: Tensor | null = null;
    const r = torch.tidy(() => {
      assert.equal(torch.memory().scopeDepth, 1);
      innerResult = torch.tidy(() => {
        assert.equal(torch.memory().scopeDepth, 2);
        torch.ones([2]);
        return torch.zeros([2]);
      });
      assert.equal((innerResult as Tensor).isDisposed, false);
      return torch.full([1], 3);
    });
    assert.equal(torch.memory().scopeDepth, 0);
    assert.equal((innerResult as unknown as Tensor).isDisposed, true, 'not returned from the outer scope: freed there');
    assert.equal(r.item(), 3);
    assert.equal(live() - before, 1);
    r.dispose();
  });

  test('keep() lets a tensor escape every scope; the caller then owns it', () => {
    const before = live();
    let kept: Tensor | null = null;
    torch.tidy(() => {
      torch.tidy(() => {
        kept = torch.keep(torch.ones([2]).mul(5));
        torch.keep({ list: [] as Tensor[] }); // values without tensors are fine
      });
    });
    const k = kept as unknown as Tensor;
    assert.equal(k.isDisposed, false);
    assert.deepEqual(k.toArray(), [5, 5]);
    assert.equal(live() - before, 1);
    k.dispose();
    assert.equal(live(), before);
  });

  test('rethrows and still frees everything it created', () => {
    const before = live();
    const made: Tensor[] = [];
    assert.throws(
      () =>
        torch.tidy(() => {
          made.push(torch.ones([2]), torch.zeros([3]));
          torch.ones([2]).matmul(torch.ones([3])); // ShapeError
        }),
      torch.ShapeError,
    );
    assert.ok(made.every((t) => t.isDisposed));
    assert.equal(live(), before);
    assert.equal(torch.memory().scopeDepth, 0);
    assert.throws(() => torch.tidy(() => { throw new RangeError('mine'); }), RangeError);
    assert.equal(torch.memory().scopeDepth, 0);
  });

  test('rejects an async function (scopes are synchronous)', () => {
    const before = live();
    let made: Tensor | null = null;
    assert.throws(
      () =>
        torch.tidy(async () => {
          made = torch.ones([1]); // runs synchronously, inside the scope
          return made;
        }),
      (e: unknown) => e instanceof TypeError && /Promise/.test(e.message),
    );
    assert.equal(torch.memory().scopeDepth, 0);
    assert.equal((made as unknown as Tensor).isDisposed, true, 'what it made before returning is freed');
    assert.equal(live(), before);
  });

  test('a tensor returned twice or shared between results is counted once', () => {
    const before = live();
    const r = torch.tidy(() => {
      const a = torch.ones([2]);
      return [a, a, { a }];
    });
    assert.equal(live() - before, 1);
    torch.disposeAll(r);
    assert.equal(live(), before);
  });
});

describe('dispose', () => {
  test('dispose() frees once; a second call is a no-op', () => {
    const before = live();
    const a = torch.ones([1000]);
    assert.equal(live(), before + 1);
    a.dispose();
    assert.equal(a.isDisposed, true);
    assert.equal(live(), before);
    a.dispose();
    assert.equal(live(), before);
    assert.equal(a.toString(), 'Tensor(disposed)');
  });

  test('use after dispose is a DisposedTensorError, as receiver or as argument', () => {
    const a = torch.ones([2]);
    const b = torch.ones([2]);
    a.dispose();
    assert.throws(() => a.add(1), DisposedTensorError);
    assert.throws(() => a.shape, DisposedTensorError);
    assert.throws(() => a.item(), DisposedTensorError);
    assert.throws(() => a.toArray(), DisposedTensorError);
    assert.throws(() => b.add(a), DisposedTensorError);
    assert.throws(() => torch.cat([b, a]), DisposedTensorError);
    assert.throws(() => F.linear(b, a), DisposedTensorError);
    const e = (() => {
      try {
        a.exp();
      } catch (err) {
        return err;
      }
      return null;
    })();
    assert.ok(e instanceof DisposedTensorError && /keep\(t\)/.test(e.message), 'the message says how to keep a tensor');
    // A tensor freed by its scope reports the same error.
    const gone = torch.tidy(() => {
      torch.ones([1]);
      return 0;
    });
    assert.equal(gone, 0);
    let escaped: Tensor | null = null;
    torch.tidy(() => {
      escaped = torch.ones([1]);
    });
    assert.throws(() => (escaped as unknown as Tensor).sum(), DisposedTensorError);
  });

  test('`using` frees at the end of the block (Symbol.dispose)', () => {
    const before = live();
    let ref: Tensor | null = null;
    {
      using t = torch.ones([4]);
      ref = t;
      assert.equal(live(), before + 1);
    }
    assert.equal((ref as unknown as Tensor).isDisposed, true);
    assert.equal(live(), before);
  });

  test('bytes are accounted per storage (views cost nothing) and returned on dispose', () => {
    const before = torch.memory().bytes;
    const a = torch.zeros([1000]); // 4000 bytes
    assert.equal(torch.memory().bytes - before, 4000);
    const v = a.view(10, 100);
    const s = a.slice(0, 0, 10);
    assert.equal(torch.memory().bytes - before, 4000);
    const d = torch.zeros([10], { dtype: 'float64' });
    assert.equal(torch.memory().bytes - before, 4080);
    for (const t of [a, v, s, d]) t.dispose();
    assert.equal(torch.memory().bytes, before);
  });

  // Known native bug (reported, not fixed here: native/ is not ours to change). AccountedBytes in
  // Handles that alias a storage — p.grad (a new handle per read), contiguous() and to(sameDtype) on a
  // tensor that needs no copy, detach() — must not count the storage again.
  test('bytes count a storage once however many handles alias it', () => {
    const before = torch.memory().bytes;
    const a = torch.zeros([1000]); // 4000 bytes
    const aliases = [a.contiguous(), a.to('float32'), a.detach()];
    const p = torch.zeros([1000]).requiresGrad_();
    torch.tidy(() => p.sum().backward());
    const g1 = p.grad as Tensor;
    const g2 = p.grad as Tensor;
    try {
      assert.equal(torch.memory().bytes - before, 4000 + 4000 + 4000, 'a, p and p.grad: 12000 bytes');
    } finally {
      for (const t of [a, ...aliases, p, g1, g2]) t.dispose();
    }
  });

  test('tensors dropped without dispose are freed by the garbage collector (the fallback)', async () => {
    const collect = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
    };
    await collect(); // earlier tests' unreferenced tensors go first
    const before = live();
    (() => {
      for (let i = 0; i < 200; i++) torch.ones([16]);
    })();
    assert.equal(live(), before + 200);
    await collect();
    assert.ok(live() <= before, `${live() - before} of 200 unreferenced tensors still alive after GC`);
  });

  // Handles are slots in the addon's table (reused after dispose) and only unscoped tensors are
  // registered with the FinalizationRegistry (dispose unregisters), so nothing waits for the event
  // loop: a loop that never yields stays flat.
  test('a synchronous loop that disposes every tensor keeps RSS flat', () => {
    const x = torch.ones([1]);
    for (let i = 0; i < 200_000; i++) x.add(1).dispose(); // warm up the allocator and the V8 heap
    gc();
    const r0 = process.memoryUsage.rss();
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 600_000; i++) x.add(1).dispose(); // ~150 MB if each handle left ~250 bytes behind
    gc();
    const growth = (process.memoryUsage.rss() - r0) / 2 ** 20;
    const heapGrowth = (process.memoryUsage().heapUsed - h0) / 2 ** 20;
    x.dispose();
    // RSS moves by a few tens of MB with V8's semi-space sizing and malloc's arenas; the heap is exact.
    assert.ok(growth < 50, `RSS grew ${growth.toFixed(1)} MB over 600k create/dispose pairs without yielding`);
    assert.ok(heapGrowth < 2, `the JS heap grew ${heapGrowth.toFixed(1)} MB over 600k create/dispose pairs`);
  });
});
