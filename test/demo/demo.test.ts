// The demo in its reduced size (what CI runs): every stage end to end, and the result that matters —
// PPO's responses are more positive than SFT's by the generator's own lexicon, not only by the
// reward model — plus a report whose charts exist and whose links resolve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tempDir } from '../trainers/fixtures.js';

const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;

test('rlhf demo --quick: SFT → annotators → reward model → PPO → evaluation, and PPO is clearly more positive', () => {
  const out = join(tempDir('rlhf-demo-'), 'run');
  const r = spawnSync(process.execPath, [BIN, 'demo', '--quick', '--out', out, '--quiet'], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  for (const stage of ['[1/6]', '[2/6]', '[3/6]', '[4/6]', '[5/6]', '[6/6]']) assert.ok(r.stdout.includes(stage), stage);
  assert.match(r.stdout, /Fleiss' kappa -?[\d.]+/);
  assert.match(r.stdout, /Report: .*report\.html/);
  const summary = JSON.parse(readFileSync(join(out, 'report', 'summary.json'), 'utf8')) as { policies: { name: string; reward: { mean: number }; scorers: Record<string, { mean: number }>; kl: { mean: number } | null }[] };
  const by = Object.fromEntries(summary.policies.map((p) => [p.name, p]));
  const sft = by.SFT!;
  const ppo = by.PPO!;
  assert.ok(ppo.reward.mean > sft.reward.mean, `reward: PPO ${ppo.reward.mean} vs SFT ${sft.reward.mean}`);
  const lexS = sft.scorers.lexicon!.mean;
  const lexP = ppo.scorers.lexicon!.mean;
  assert.ok(lexP > lexS + 0.15, `lexicon: PPO ${lexP.toFixed(3)} vs SFT ${lexS.toFixed(3)}`);
  assert.ok(ppo.kl !== null && Number.isFinite(ppo.kl.mean));
  // The report: every link resolves, every chart decodes as an image.
  const html = readFileSync(join(out, 'report', 'report.html'), 'utf8');
  const links = [...html.matchAll(/(?:href|src)="([^"#]+)"/g)].map((m) => m[1] as string).filter((l) => !l.startsWith('data:'));
  assert.ok(links.length > 0);
  for (const l of links) assert.ok(existsSync(join(dirname(join(out, 'report', 'report.html')), decodeURIComponent(l))), `link ${l}`);
  for (const l of links.filter((x) => x.endsWith('.png'))) {
    const png = readFileSync(join(out, 'report', l));
    assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], `${l} is a PNG`);
  }
  // The studio project holds the annotators' task and the before/after pairs for a person.
  assert.ok(existsSync(join(out, 'studio', 'studio.db')));
});

test('rlhf demo --task sst2 without --data: one line naming the flag, exit 2, and OUT untouched', () => {
  const out = tempDir('rlhf-demo-bad-');
  const r = spawnSync(process.execPath, [BIN, 'demo', '--task', 'sst2', '--out', out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--task sst2 needs --data FILE/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.ok(existsSync(out), 'an existing OUT is not deleted before the input is checked');
});
