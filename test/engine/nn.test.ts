// nn.Module: naming of parameters and buffers, train/eval, state dicts (strict errors), in-place
// dtype conversion, and safetensors round trips for every dtype with rejection of corrupt files.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import type { Tensor, DType } from '../../src/torch/index.js';
import { Module, Linear, Embedding, LayerNorm, Dropout, StateDictError, saveStateDict, loadStateDictFile, tensorToRaw, init } from '../../src/nn/index.js';
import { SafetensorsError, readSafetensorsFile } from '../../src/torch/safetensors.js';
import { assertClose } from './helpers.js';

class Block extends Module {
  readonly ln = this.registerModule('ln', new LayerNorm(4));
  readonly fc = this.registerModule('fc', new Linear(4, 4));
  readonly drop = this.registerModule('drop', new Dropout(0.5));
  readonly mask = this.registerBuffer('mask', torch.ones([4, 4], { dtype: 'bool' }).tril());
  readonly cache = this.registerBuffer('cache', torch.zeros([2]), false);
  forward(x: Tensor): Tensor {
    return this.drop.forward(this.fc.forward(this.ln.forward(x)));
  }
}

class Net extends Module {
  readonly wte = this.registerModule('wte', new Embedding(10, 4));
  readonly h = [this.registerModule('h.0', new Block()), this.registerModule('h.1', new Block())];
  readonly head = this.registerModule('head', new Linear(4, 10, { bias: false }));
  readonly step = this.registerBuffer('step', torch.zeros([], { dtype: 'int64' }));
  constructor(tie = false) {
    super();
    if (tie) this.registerParameter('tied', this.wte.weight); // same tensor under a second name
  }
  forward(ids: Tensor): Tensor {
    let x = this.wte.forward(ids);
    for (const b of this.h) x = b.forward(x);
    return this.head.forward(x);
  }
}

describe('Module', () => {
  test('parameters and buffers are named by registration path', () => {
    const net = new Net();
    assert.deepEqual(
      net.namedParameters().map(([n]) => n),
      ['wte.weight', 'h.0.ln.weight', 'h.0.ln.bias', 'h.0.fc.weight', 'h.0.fc.bias', 'h.1.ln.weight', 'h.1.ln.bias', 'h.1.fc.weight', 'h.1.fc.bias', 'head.weight'],
    );
    assert.deepEqual(net.namedBuffers().map(([n]) => n), ['step', 'h.0.mask', 'h.0.cache', 'h.1.mask', 'h.1.cache']);
    assert.deepEqual(net.namedBuffers('', true).map(([n]) => n), ['step', 'h.0.mask', 'h.1.mask']);
    assert.deepEqual([...net.stateDict().keys()], [...net.namedParameters().map(([n]) => n), 'step', 'h.0.mask', 'h.1.mask']);
    assert.deepEqual(net.namedModules().map(([n]) => n), ['', 'wte', 'h.0', 'h.0.ln', 'h.0.fc', 'h.0.drop', 'h.1', 'h.1.ln', 'h.1.fc', 'h.1.drop', 'head']);
    assert.deepEqual(net.children().map(([n]) => n), ['wte', 'h.0', 'h.1', 'head']);
    assert.deepEqual(net.namedParameters('model').map(([n]) => n)[0], 'model.wte.weight');
    assert.equal(net.numParameters(), 10 * 4 + 2 * (4 + 4 + 16 + 4) + 40);
    assert.ok(net.parameters().every((p) => p.requiresGrad));
    assert.ok(net.namedBuffers().every(([, b]) => !b.requiresGrad));
    assert.equal(net.stateDict().get('h.0.fc.weight'), net.h[0]?.fc.weight, 'the state dict holds the module\'s own tensors');
  });

  test('a tied parameter is listed once', () => {
    const net = new Net(true);
    const names = net.namedParameters().map(([n]) => n);
    assert.equal(names.filter((n) => n === 'tied' || n === 'wte.weight').length, 1);
    assert.equal(net.numParameters(), new Net().numParameters());
  });

  test('parameters survive the tidy scope the module was built in', () => {
    const net = torch.tidy(() => new Net());
    assert.ok(net.parameters().every((p) => !p.isDisposed));
    assert.ok(net.namedBuffers().every(([, b]) => !b.isDisposed));
    const before = torch.memory().liveTensors;
    const n = net.parameters().length + net.namedBuffers().length;
    net.dispose();
    assert.equal(before - torch.memory().liveTensors, n);
  });

  test('layer initialisation follows PyTorch (Linear U(±1/√in), Embedding N(0, 1), LayerNorm 1 and 0)', () => {
    torch.manualSeed(0);
    const fc = new Linear(64, 256);
    const bound = 1 / Math.sqrt(64); // kaiming_uniform(a=√5) gives the same bound for the weight
    assert.ok(fc.weight.abs().max().item() <= bound && fc.weight.abs().max().item() > 0.9 * bound);
    assert.ok(fc.bias !== null && fc.bias.abs().max().item() <= bound);
    assertClose(fc.weight.var(), (bound * bound) / 3, { rtol: 0.1 });
    const e = new Embedding(1000, 16);
    assertClose(e.weight.mean(), 0, { atol: 0.03 });
    assertClose(e.weight.std(), 1, { atol: 0.03 });
    assertClose(new Embedding(1000, 16, { std: 0.02 }).weight.std(), 0.02, { rtol: 0.05 });
    const ln = new LayerNorm(3);
    assert.deepEqual(ln.weight.toArray(), [1, 1, 1]);
    assert.deepEqual(ln.bias.toArray(), [0, 0, 0]);
    assert.equal(new Linear(2, 2, { bias: false }).bias, null);
    const w = torch.empty([100, 200]);
    init.xavierUniform_(w);
    const a = Math.sqrt(6 / 300);
    assert.ok(w.abs().max().item() <= a && w.abs().max().item() > 0.9 * a);
    assert.deepEqual(init.fans(torch.empty([3, 4, 5])), { fanIn: 20, fanOut: 15 });
  });

  test('train() / eval() toggle dropout in every submodule', () => {
    torch.manualSeed(1);
    const net = new Net();
    const ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]], { dtype: 'int64' });
    assert.ok(net.namedModules().every(([, m]) => m.training));
    net.eval();
    assert.ok(net.namedModules().every(([, m]) => !m.training));
    const a = net.forward(ids).toFlatArray();
    const b = net.forward(ids).toFlatArray();
    assert.deepEqual(a, b, 'eval is deterministic');
    net.train();
    assert.ok(net.namedModules().every(([, m]) => m.training));
    const c = net.forward(ids).toFlatArray();
    const d = net.forward(ids).toFlatArray();
    assert.notDeepEqual(c, d, 'training applies dropout');
    const h = net.h[0] as Block;
    const x = torch.ones([1, 1000]);
    const zeros = h.drop.forward(x).eq(0).to('float32').mean().item();
    assert.ok(Math.abs(zeros - 0.5) < 0.06, `dropout zero fraction ${zeros}`);
    net.train(false);
    assert.deepEqual(h.drop.forward(x).toFlatArray(), x.toFlatArray());
  });

  test('zeroGrad and requiresGrad_ (freeze)', () => {
    const net = new Net();
    net.forward(torch.tensor([[1, 2]], { dtype: 'int64' })).sum().backward();
    assert.ok(net.parameters().every((p) => p.grad !== null));
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null));
    net.requiresGrad_(false);
    assert.ok(net.parameters().every((p) => !p.requiresGrad));
    assert.equal(net.forward(torch.tensor([[1, 2]], { dtype: 'int64' })).requiresGrad, false);
    net.requiresGrad_(true);
    assert.ok(net.parameters().every((p) => p.requiresGrad));
  });
});

describe('state dicts', () => {
  test('loadStateDict copies every value (and converts dtypes)', () => {
    torch.manualSeed(2);
    const a = new Net();
    const b = new Net();
    const ids = torch.tensor([[3, 1, 4]], { dtype: 'int64' });
    a.eval();
    b.eval();
    assert.notDeepEqual(a.forward(ids).toFlatArray(), b.forward(ids).toFlatArray());
    const sd = a.stateDict();
    const r = b.loadStateDict(sd);
    assert.deepEqual(r, { missing: [], unexpected: [] });
    assert.deepEqual(b.forward(ids).toFlatArray(), a.forward(ids).toFlatArray());
    // Copies, not aliases.
    torch.noGrad(() => a.head.weight.fill_(0));
    assert.notDeepEqual(b.head.weight.toFlatArray(), a.head.weight.toFlatArray());
    // A float64 checkpoint loads into float32 parameters.
    const d64 = new Map([...b.stateDict()].map(([k, t]) => [k, t.dtype === 'float32' ? t.to('float64') : t]));
    const c = new Net();
    c.loadStateDict(d64);
    assert.equal(c.head.weight.dtype, 'float32');
    assert.deepEqual(c.head.weight.toFlatArray(), b.head.weight.toFlatArray());
  });

  test('strict loading lists missing, unexpected and wrong-shape keys together', () => {
    const net = new Net();
    const sd = new Map(net.stateDict());
    sd.delete('h.1.fc.bias');
    sd.delete('step');
    sd.set('h.2.fc.weight', torch.zeros([4, 4]));
    sd.set('head.weight', torch.zeros([10, 5]));
    assert.throws(
      () => net.loadStateDict(sd),
      (e: unknown) => {
        assert.ok(e instanceof StateDictError);
        assert.match(e.message, /missing keys \(2\): h\.1\.fc\.bias, step/);
        assert.match(e.message, /unexpected keys \(1\): h\.2\.fc\.weight/);
        assert.match(e.message, /wrong shapes \(1\): head\.weight: checkpoint \[10, 5\] vs model \[10, 4\]/);
        return true;
      },
    );
    // Non-strict: missing/unexpected are reported, not fatal; wrong shapes still are.
    sd.set('head.weight', torch.zeros([10, 4]));
    const before = net.h[0]?.fc.weight.toFlatArray();
    const r = net.loadStateDict(sd, { strict: false });
    assert.deepEqual(r, { missing: ['h.1.fc.bias', 'step'], unexpected: ['h.2.fc.weight'] });
    assert.deepEqual(net.head.weight.toFlatArray(), new Array(40).fill(0));
    assert.deepEqual(net.h[0]?.fc.weight.toFlatArray(), before);
    sd.set('head.weight', torch.zeros([4, 10]));
    assert.throws(() => net.loadStateDict(sd, { strict: false }), /wrong shapes \(1\): head\.weight: checkpoint \[4, 10\] vs model \[10, 4\]/);
  });

  test('a long key list is abbreviated', () => {
    const net = new Net();
    assert.throws(() => net.loadStateDict(new Map()), /missing keys \(13\): .*… \(1 more\)/);
  });
});

describe('Module.to', () => {
  test("to('bfloat16') converts in place: references stay valid, integer and bool buffers are kept", () => {
    torch.manualSeed(3);
    const net = new Net();
    const w = net.h[0]?.fc.weight as Tensor;
    const before = w.toFlatArray();
    const params = net.parameters();
    net.to('bfloat16');
    assert.equal(w.dtype, 'bfloat16');
    assert.equal(w.requiresGrad, true);
    assert.deepEqual(net.parameters(), params, 'the same tensor objects');
    assert.ok(net.parameters().every((p) => p.dtype === 'bfloat16'));
    assert.equal(net.step.dtype, 'int64');
    assert.equal(net.h[0]?.mask.dtype, 'bool');
    assert.equal(net.h[0]?.cache.dtype, 'bfloat16');
    assertClose(w.toFlatArray(), before, { rtol: 2 ** -8, atol: 0, msg: 'bf16 rounding' });
    const bf = torch.tensor(before).to('bfloat16').toFlatArray();
    assert.deepEqual(w.toFlatArray(), bf, 'exactly the bfloat16 rounding of the float32 values');
    net.eval();
    const out = net.forward(torch.tensor([[1, 2]], { dtype: 'int64' }));
    assert.equal(out.dtype, 'bfloat16');
    out.float().sum().backward();
    assert.equal(w.grad?.dtype, 'bfloat16');
    net.to('float32');
    assert.equal(w.dtype, 'float32');
    assert.deepEqual(w.toFlatArray(), bf);
    assert.equal(net.step.dtype, 'int64');
  });
});

const ALL_DTYPES: DType[] = ['float32', 'float64', 'bfloat16', 'float16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];

/** Values that stress each dtype: extremes, signed zero, non-finite, subnormal. */
function sample(dtype: DType): Tensor {
  switch (dtype) {
    case 'float32': return torch.tensor(new Float32Array([0.1, -0, 3.4028234663852886e38, 1.401298464324817e-45, Infinity, NaN]), { shape: [2, 3] });
    case 'float64': return torch.tensor(new Float64Array([0.1, -1e-300, Number.MAX_VALUE, 5e-324, -Infinity, NaN]), { shape: [3, 2] });
    case 'bfloat16': return torch.tensor([0.10009765625, -0.0078125, 3.3895313892515355e38, 1.5, Infinity, NaN]).to('bfloat16');
    case 'float16': return torch.tensor([[0.0999755859375, 65504], [-(2 ** -24), -0], [Infinity, 1.5]]).to('float16');
    case 'int64': return torch.tensor(new BigInt64Array([2n ** 62n + 1n, -(2n ** 63n), 0n, 2n ** 63n - 1n]), { shape: [2, 2] });
    case 'int32': return torch.tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 7]));
    case 'int16': return torch.tensor(new Int16Array([-32768, 32767, -1]));
    case 'int8': return torch.tensor(new Int8Array([-128, 127, 0, 5]), { shape: [2, 1, 2] });
    case 'uint8': return torch.tensor(new Uint8Array([0, 255, 128]));
    case 'bool': return torch.tensor([[true, false, true]]);
  }
}

describe('safetensors files', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rlhf-engine-nn-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('saveStateDict / loadStateDictFile round trip every dtype bit for bit', async () => {
    const sd = new Map<string, Tensor>(ALL_DTYPES.map((d) => [`t.${d}`, sample(d)]));
    sd.set('scalar', torch.tensor(2.5));
    sd.set('transposed', torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'bfloat16' }).T); // non-contiguous: saved in logical order
    sd.set('empty', torch.zeros([0, 3]));
    const path = join(dir, 'all.safetensors');
    await saveStateDict(path, sd, { format: 'pt', note: 'engine test' });
    const loaded = await loadStateDictFile(path);
    assert.deepEqual([...loaded.keys()].sort(), [...sd.keys()].sort());
    for (const [k, t] of sd) {
      const l = loaded.get(k) as Tensor;
      assert.equal(l.dtype, t.dtype, k);
      assert.deepEqual(l.shape, t.shape, k);
      assert.deepEqual(tensorToRaw(l).data, tensorToRaw(t).data, `${k}: bytes differ`);
      assert.deepEqual(l.data(), t.data(), `${k}: values differ`);
    }
    assert.deepEqual(Array.from((loaded.get('t.int64') as Tensor).data() as BigInt64Array), [2n ** 62n + 1n, -(2n ** 63n), 0n, 2n ** 63n - 1n]);
    assert.deepEqual((loaded.get('t.bool') as Tensor).toArray(), [[true, false, true]]);
    assert.deepEqual((loaded.get('t.float16') as Tensor).toArray(), [[0.0999755859375, 65504], [-(2 ** -24), -0], [Infinity, 1.5]]);
    assert.ok(Object.is((loaded.get('t.float32') as Tensor).toFlatArray()[1], -0));
    assert.deepEqual((loaded.get('transposed') as Tensor).toArray(), [[1, 4], [2, 5], [3, 6]]);
    const file = await readSafetensorsFile(path);
    assert.deepEqual(file.metadata, { format: 'pt', note: 'engine test' });
    assert.equal(file.tensors.get('t.bfloat16')?.dtype, 'BF16');
    assert.equal(file.tensors.get('t.bool')?.dtype, 'BOOL');
  });

  test('a model round trips through a file: same outputs after loading into a fresh model', async () => {
    torch.manualSeed(4);
    const a = new Net();
    const b = new Net();
    const path = join(dir, 'model.safetensors');
    await saveStateDict(path, a.stateDict());
    b.loadStateDict(await loadStateDictFile(path));
    a.eval();
    b.eval();
    const ids = torch.tensor([[0, 9, 5]], { dtype: 'int64' });
    assert.deepEqual(b.forward(ids).toFlatArray(), a.forward(ids).toFlatArray());
  });

  test('corrupt and truncated files are SafetensorsErrors naming the file, not crashes', async () => {
    const good = join(dir, 'good.safetensors');
    await saveStateDict(good, new Map([['w', torch.randn([8, 8])], ['b', torch.zeros([8], { dtype: 'int64' })]]));
    const bytes = new Uint8Array(await readFile(good));
    const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const variants: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /too-short/],
      ['truncated data', bytes.subarray(0, bytes.length - 10), /out-of-bounds|size-mismatch/],
      ['truncated header', bytes.subarray(0, 8 + Math.floor(headerLen / 2)), /header-length/],
      ['trailing bytes', new Uint8Array([...bytes, 1, 2, 3]), /trailing-data/],
      ['huge header length', (() => { const c = bytes.slice(); new DataView(c.buffer).setBigUint64(0, 2n ** 40n, true); return c; })(), /header-too-large|header-length/],
      ['garbage header', (() => { const c = bytes.slice(); c.fill(0x7a, 8, 8 + headerLen); return c; })(), /header-json/],
      ['random bytes', Uint8Array.from({ length: 256 }, (_, i) => (i * 97 + 13) & 255), /.+/],
    ];
    for (const [name, data, code] of variants) {
      const p = join(dir, `${name.replace(/ /g, '-')}.safetensors`);
      await writeFile(p, data);
      await assert.rejects(
        loadStateDictFile(p),
        (e: unknown) => {
          assert.ok(e instanceof SafetensorsError, `${name}: expected a SafetensorsError, got ${String(e)}`);
          assert.match(e.code, code, `${name}: code ${e.code}`);
          assert.ok(e.message.includes(p), `${name}: the message names the file`);
          return true;
        },
      );
    }
    // A header whose offsets disagree with the shape.
    const header = JSON.stringify({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } });
    const pad = ' '.repeat((8 - (header.length % 8)) % 8);
    const h = new TextEncoder().encode(header + pad);
    const buf = new Uint8Array(8 + h.length + 12);
    new DataView(buf.buffer).setBigUint64(0, BigInt(h.length), true);
    buf.set(h, 8);
    const bad = join(dir, 'mismatch.safetensors');
    await writeFile(bad, buf);
    await assert.rejects(loadStateDictFile(bad), (e: unknown) => e instanceof SafetensorsError && e.code === 'size-mismatch');
    await assert.rejects(loadStateDictFile(join(dir, 'does-not-exist.safetensors')), (e: unknown) => e instanceof SafetensorsError && e.code === 'io');
    await assert.rejects(loadStateDictFile(dir), (e: unknown) => e instanceof SafetensorsError && e.code === 'io'); // a directory
    // A valid file whose dtype the engine cannot compute with names the tensor and the dtype.
    const u16 = JSON.stringify({ ids: { dtype: 'U16', shape: [2], data_offsets: [0, 4] } });
    const hu = new TextEncoder().encode(u16 + ' '.repeat((8 - (u16.length % 8)) % 8));
    const ubuf = new Uint8Array(8 + hu.length + 4);
    new DataView(ubuf.buffer).setBigUint64(0, BigInt(hu.length), true);
    ubuf.set(hu, 8);
    const upath = join(dir, 'u16.safetensors');
    await writeFile(upath, ubuf);
    await assert.rejects(loadStateDictFile(upath), /tensor ids has dtype U16/);
    // The good file still loads after all that.
    assert.deepEqual((await loadStateDictFile(good)).get('b')?.toArray(), [0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
