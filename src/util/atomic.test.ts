import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AtomicWriteError,
  atomicWriteFile,
  atomicWriteFileSync,
  atomicWriteFiles,
  atomicWriteJson,
  atomicWriteJsonSync,
  removeStaleTempFiles,
} from './atomic.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rlhf-atomic-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const boom = new Error('disk on fire');

test('writes bytes, text, chunk lists and async chunk streams; replaces an existing file', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'out.bin');
    await atomicWriteFile(path, Uint8Array.of(1, 2, 3));
    assert.deepEqual([...(await readFile(path))], [1, 2, 3]);
    await atomicWriteFile(path, 'héllo');
    assert.equal(await readFile(path, 'utf8'), 'héllo');
    await atomicWriteFile(path, [Uint8Array.of(0x61), 'bc', new Uint8Array(0), Buffer.from('d')]);
    assert.equal(await readFile(path, 'utf8'), 'abcd');
    async function* stream(): AsyncGenerator<Uint8Array | string> {
      for (let i = 0; i < 100; i++) yield `${i},`;
    }
    await atomicWriteFile(path, stream());
    assert.equal(await readFile(path, 'utf8'), Array.from({ length: 100 }, (_, i) => `${i},`).join(''));
    atomicWriteFileSync(path, ['sync ', Uint8Array.of(0x21)]);
    assert.equal(await readFile(path, 'utf8'), 'sync !');
    assert.deepEqual(await readdir(dir), ['out.bin']); // no temp files left
  });
});

test('a write that fails midway leaves the old file intact and no temp file behind', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'model.safetensors');
    await writeFile(path, 'the old checkpoint');
    function* failing(): Generator<Uint8Array | string> {
      yield 'the new checkp';
      yield new Uint8Array(1 << 20);
      throw boom;
    }
    await assert.rejects(atomicWriteFile(path, failing()), (err: unknown) =>
      err instanceof AtomicWriteError && err.cause === boom && err.path === path && err.message === `could not write ${path}: disk on fire`);
    assert.equal(await readFile(path, 'utf8'), 'the old checkpoint');
    assert.deepEqual(await readdir(dir), ['model.safetensors']);

    assert.throws(() => atomicWriteFileSync(path, failing()), (err: unknown) => err instanceof AtomicWriteError && err.cause === boom);
    assert.equal(await readFile(path, 'utf8'), 'the old checkpoint');
    assert.deepEqual(await readdir(dir), ['model.safetensors']);

    // a bad chunk is a failure too, not a half-written file
    await assert.rejects(atomicWriteFile(path, ['ok', 5 as unknown as string]), AtomicWriteError);
    assert.equal(await readFile(path, 'utf8'), 'the old checkpoint');
    assert.deepEqual(await readdir(dir), ['model.safetensors']);
  });
});

test('errors name the path and keep the errno code', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'no', 'such', 'dir', 'f.json');
    await assert.rejects(atomicWriteFile(path, 'x'), (err: unknown) =>
      err instanceof AtomicWriteError && err.code === 'ENOENT' && err.message.startsWith(`could not write ${path}: ENOENT`));
    assert.throws(() => atomicWriteFileSync(path, 'x'), (err: unknown) => err instanceof AtomicWriteError && err.code === 'ENOENT');
    // the target is a directory: the rename fails, and the temp file is cleaned up
    await assert.rejects(atomicWriteFile(dir, 'x'), (err: unknown) => err instanceof AtomicWriteError && err.path === dir);
    assert.deepEqual(await readdir(dir), []);
  });
});

test('JSON: pretty, with a trailing newline', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'config.json');
    await atomicWriteJson(path, { n_embd: 768, layers: [1, 2] });
    assert.equal(await readFile(path, 'utf8'), '{\n  "n_embd": 768,\n  "layers": [\n    1,\n    2\n  ]\n}\n');
    atomicWriteJsonSync(path, 'text');
    assert.equal(await readFile(path, 'utf8'), '"text"\n');
    await assert.rejects(atomicWriteJson(path, undefined), /could not write .*config\.json: undefined cannot be written as JSON/);
    assert.equal(await readFile(path, 'utf8'), '"text"\n');
  });
});

test('concurrent writers to one path: the result is one complete version, never a mix', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'state.json');
    const versions = Array.from({ length: 20 }, (_, i) => String(i).repeat(50_000));
    await Promise.all(versions.map((v) => atomicWriteFile(path, [v.slice(0, 25_000), v.slice(25_000)])));
    assert.ok(versions.includes(await readFile(path, 'utf8')));
    assert.deepEqual(await readdir(dir), ['state.json']);
  });
});

test('several files: all written, or on failure none of the temp files left', async () => {
  await withDir(async (dir) => {
    await atomicWriteFiles([{ path: join(dir, 'a'), data: 'A' }, { path: join(dir, 'b'), data: 'B' }]);
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'A');
    assert.equal(await readFile(join(dir, 'b'), 'utf8'), 'B');
    function* failing(): Generator<string> {
      yield 'partial';
      throw boom;
    }
    await assert.rejects(atomicWriteFiles([{ path: join(dir, 'a'), data: 'A2' }, { path: join(dir, 'b'), data: failing() }]), (err: unknown) =>
      err instanceof AtomicWriteError && err.path === join(dir, 'b'));
    assert.equal(await readFile(join(dir, 'a'), 'utf8'), 'A', 'renames happen only after every file is written');
    assert.deepEqual((await readdir(dir)).sort(), ['a', 'b']);
  });
});

test('SIGKILL in the middle of a write leaves the old file intact; the stale temp file can be removed', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'model.safetensors');
    await writeFile(path, 'old');
    const atomic = fileURLToPath(new URL('./atomic.ts', import.meta.url));
    // The child writes one chunk, reports, then waits forever inside the write.
    const script = `
      import { atomicWriteFile } from ${JSON.stringify(atomic)};
      async function* slow() { yield 'new data that never completes'; process.stdout.write('started\\n'); await new Promise(() => setInterval(() => {}, 1000)); }
      await atomicWriteFile(${JSON.stringify(path)}, slow());
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    assert.equal(await readFile(path, 'utf8'), 'old');
    const left = (await readdir(dir)).filter((f) => f !== 'model.safetensors');
    assert.equal(left.length, 1);
    assert.match(left[0]!, new RegExp(`^model\\.safetensors\\.tmp-${child.pid}-[0-9a-f]{12}$`));

    // a temp file of a live process (this one) is kept; the dead child's is removed
    const mine = join(dir, `other.json.tmp-${process.pid}-0123456789ab`);
    await writeFile(mine, '');
    assert.deepEqual(await removeStaleTempFiles(dir), [join(dir, left[0]!)]);
    assert.deepEqual((await readdir(dir)).sort(), ['model.safetensors', `other.json.tmp-${process.pid}-0123456789ab`]);
  });
});

test('removeStaleTempFiles can be narrowed to some targets', async () => {
  await withDir(async (dir) => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has exited
    await writeFile(join(dir, `a.bin.tmp-${dead}-aaaaaaaaaaaa`), '');
    await writeFile(join(dir, `b.bin.tmp-${dead}-bbbbbbbbbbbb`), '');
    await writeFile(join(dir, 'c.bin.tmp-not-ours'), '');
    assert.deepEqual(await removeStaleTempFiles(dir, (target) => target === 'a.bin'), [join(dir, `a.bin.tmp-${dead}-aaaaaaaaaaaa`)]);
    assert.deepEqual((await readdir(dir)).sort(), [`b.bin.tmp-${dead}-bbbbbbbbbbbb`, 'c.bin.tmp-not-ours']);
    assert.deepEqual(await removeStaleTempFiles(join(dir, 'missing')), []);
  });
});
