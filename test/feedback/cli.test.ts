// `rlhf studio` subcommands, run as a user would (a child process per command).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { studio } from '../../src/cli/studio.js';
import { Store } from '../../src/feedback/store.js';
import { PAIRWISE_ITEMS, jsonl, tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./fixtures/studio-entry.ts', import.meta.url));
const FAKE = new URL('./fixtures/fake-generator.ts', import.meta.url).href;

function rlhfStudio(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--help explains every subcommand, the task kinds and the export formats', () => {
  for (const s of ['rlhf studio import', 'rlhf studio export', 'rlhf studio generate', 'annotator add NAME', '--format trl', 'both bad', '--per-item K', '--dimensions']) {
    assert.ok(studio.help.includes(s), `help mentions ${s}`);
  }
});

test('import → annotator add → tasks → export → stats, and errors that name the file, line and field', () => {
  const { dir, cleanup } = tempDir();
  try {
    const studioDir = join(dir, 'studio');
    const file = join(dir, 'pairs.jsonl');
    writeFileSync(file, jsonl(PAIRWISE_ITEMS));

    const imp = rlhfStudio(['import', '--dir', studioDir, '--task', 'helpful', '--kind', 'pairwise', '--per-item', '1', file]);
    assert.equal(imp.code, 0, imp.err);
    assert.equal(imp.out, 'created pairwise task "helpful" with 3 items (1 annotators per item)\n');

    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"prompt": "fine", "responses": ["a", "b"]}\n{"responses": ["a", "b"]}\n');
    const refused = rlhfStudio(['import', '--dir', studioDir, '--task', 'helpful', bad]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 2: missing "prompt" \\(expected string\\)`));
    assert.match(refused.err, /nothing was imported/);

    const add = rlhfStudio(['annotator', 'add', 'ada', '--dir', studioDir]);
    assert.equal(add.code, 0, add.err);
    const link = /(http:\/\/127\.0\.0\.1:7860\/#\/signin\/(\d+\.[\w-]{43}))/.exec(add.out);
    assert.ok(link, add.out);

    // Label through the store (as the server would), then read everything back through the CLI.
    const store = Store.open(studioDir);
    const task = store.getTask('helpful');
    const ada = store.authenticate(link[2]!)!;
    for (let i = 0; i < 3; i++) {
      const a = store.nextAssignment(task, ada.id)!;
      store.submitLabel(task, ada.id, { itemId: a.item.id, idempotencyKey: `cli-test-${i}-xx`, value: { choice: i === 2 ? 'tie' : 'A' } });
    }
    store.close();

    const tasks = rlhfStudio(['tasks', '--dir', studioDir]);
    assert.match(tasks.out, /helpful\s+pairwise\s+ready\s+3\s+3\s+3\s+1/);

    const out = join(dir, 'helpful.trl.jsonl');
    const exp = rlhfStudio(['export', '--dir', studioDir, '--task', 'helpful', '--format', 'trl', '--out', out]);
    assert.equal(exp.code, 0, exp.err);
    assert.match(exp.out, /wrote 2 rows to .*helpful\.trl\.jsonl \(trl, from 3 labels; left out: 1 tie\)/);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(rows.map((r) => Object.keys(r)), [['prompt', 'chosen', 'rejected'], ['prompt', 'chosen', 'rejected']]);

    const wrong = rlhfStudio(['export', '--dir', studioDir, '--task', 'helpful', '--format', 'sft', '--out', out]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.err, /use --format trl or pairs/);

    const stats = rlhfStudio(['stats', '--dir', studioDir, '--task', 'helpful']);
    assert.match(stats.out, /3\/3 items complete, 3 labels/);
    assert.match(stats.out, /ada\s+3 labels/);

    const rm = rlhfStudio(['remove-task', '--dir', studioDir, '--task', 'helpful']);
    assert.equal(rm.code, 2);
    assert.match(rm.err, /add --yes to confirm/);

    const unknown = rlhfStudio(['frobnicate', '--dir', studioDir]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown subcommand 'frobnicate'/);
  } finally {
    cleanup();
  }
});

test('generate: live generation from a prompt file through the worker', () => {
  const { dir, cleanup } = tempDir();
  try {
    for (const name of ['m-a', 'm-b']) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'config.json'), JSON.stringify({ name }));
    }
    const prompts = join(dir, 'prompts.txt');
    writeFileSync(prompts, 'Tell a joke.\nName a colour.\n');
    const r = rlhfStudio(['generate', '--dir', join(dir, 'studio'), '--task', 'ab', '--kind', 'pairwise', '--prompts', prompts, '--model', join(dir, 'm-a'), '--model', join(dir, 'm-b'), '--max-new-tokens', '12'], { RLHF_GENERATOR_MODULE: FAKE });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /done: task "ab" has 2 items/);
    const store = Store.open(join(dir, 'studio'));
    const items = store.items(store.getTask('ab').id);
    store.close();
    assert.deepEqual(items.map((i) => i.responses.map((x) => x.model)), [['m-a', 'm-b'], ['m-a', 'm-b']]);
    assert.match(items[1]!.responses[1]!.text, /^m-b answers "Name a colour\." \(seed 0, T=0\.8, max 12\)$/);
  } finally {
    cleanup();
  }
});
