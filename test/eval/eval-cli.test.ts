// `rlhf eval` from the command line on a tiny GPT-2 with a reward function: --help from the schema, a full run
// writing report.html / summary.json / charts whose every link resolves, the studio round trip (pairs pushed as
// a pairwise task, labels submitted through the store, human win rates read back), and bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { evalConfig } from '../../src/cli/eval.js';
import type { EvalResult } from '../../src/eval/evaluate.js';
import { MetricsLogger } from '../../src/trainers/common/metrics-log.js';
import { Store } from '../../src/feedback/store.js';
import { LETTERS } from '../../src/feedback/label-values.js';
import { PROMPTS, tempDir, tinyModel, writeJsonl } from '../trainers/fixtures.js';

const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;
const root = tempDir('rlhf-eval-cli-');
let model = '';

function rlhf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const f = (name: string): string => join(root, name);

before(async () => {
  model = await tinyModel(f('tiny'));
  writeFileSync(f('reward.ts'), "export default (_prompts: string[], responses: string[]) => responses.map((r) => (r.match(/e/g) ?? []).length);\n");
  writeFileSync(f('prompts.txt'), PROMPTS.join('\n') + '\n');
  writeFileSync(f('ood.txt'), 'hello\nwhat is this\n');
  writeJsonl(f('dolly.jsonl'), PROMPTS.map((p, i) => ({ instruction: `say how ${p}`, context: i % 2 ? 'a film' : '', response: `${p} great .` })));
  writeJsonl(f('held-out.jsonl'), [{ text: 'the movie was great .' }, { text: 'the plot was dull .' }]);
  writeJsonl(f('rm-labels.jsonl'), [{ text: 'eeee', label: 1 }, { text: 'x', label: 0 }, { text: 'eee e', label: 1 }, { text: 'y', label: 1 }]);
  const ppo = new MetricsLogger(f('ppo-run'), { tensorboard: false });
  for (let s = 1; s <= 4; s++) ppo.log(s, { 'objective/scores': 0.1 * s, 'objective/kl': 0.02 * s, 'loss/policy': -0.01 * s, 'loss/value': 1 / s });
  ppo.close();
  const sft = new MetricsLogger(f('sft-run'), { tensorboard: false });
  for (let s = 1; s <= 3; s++) sft.log(s, { loss: 3 - s / 2, ...(s === 3 ? { 'eval/loss': 2 } : {}) });
  sft.close();
});

after(() => rmSync(root, { recursive: true, force: true }));

test('--help lists every option of the schema; rlhf --help lists eval', () => {
  const r = rlhf('eval', '--help');
  assert.equal(r.status, 0);
  for (const fl of fieldsOf(evalConfig)) assert.ok(r.stdout.includes(fl.flag), `eval --help lacks ${fl.flag}`);
  assert.match(r.stdout, /NAME=bestof:N:DIR/);
  assert.match(rlhf('--help').stdout, /\n {2}eval +compare policies/);
});

test('a full run: table on stdout, report.html, summary.json and charts, every link in the page resolves', () => {
  const out = f('out');
  const r = rlhf(
    'eval', '--policies', `random=random,sft=${model},best-of-2=bestof:2:${model}`, '--reward-fn', f('reward.ts'), '--ref-model', model,
    '--references', f('dolly.jsonl'), '--ood-prompts', f('ood.txt'), '--held-out', f('held-out.jsonl'), '--rm-data', f('rm-labels.jsonl'),
    '--runs', `ppo=${f('ppo-run')},sft=${f('sft-run')}/metrics.jsonl`, '--max-new-tokens', '6', '--seed', '2', '--out', out, '--quiet',
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^policy\s+reward\s+±95%\s+win\s+KL\s+length\s+distinct-2$/);
  assert.match(lines[1]!, /^random\s.*\sbase\s/);
  assert.match(lines[2]!, /^sft\s/);
  assert.match(lines[3]!, /^best-of-2\s/);
  assert.equal(lines.at(-1), `report: ${join(out, 'report.html')}`);

  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as EvalResult;
  assert.deepEqual(summary.policies.map((p) => p.name), ['random', 'sft', 'best-of-2']);
  assert.equal(summary.settings.prompts, 4, 'the prompts came from the Dolly references');
  assert.equal(summary.settings.maxNewTokens, 6);
  const [random, sft, bo] = summary.policies;
  assert.equal(random!.length.mean, 6);
  assert.match(sft!.samples[0]!.prompt, /^### Instruction:\nsay how the movie was\n\n### Response:\n$/);
  assert.equal(sft!.kl!.mean, 0, 'the policy is its own reference');
  assert.ok(bo!.reward.mean >= sft!.reward.mean);
  assert.ok(typeof sft!.bleu === 'number' && typeof sft!.rougeL === 'number' && typeof sft!.perplexity === 'number');
  assert.equal(sft!.ood!.reward.n, 2);
  assert.equal(summary.rewardModel!.labels!.accuracy, 0.75);

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const id of ['reward', 'win-rate', 'reward-ood', 'train-objective-scores', 'train-objective-kl', 'train-loss-policy', 'train-loss-value', 'train-loss', 'train-eval-loss', 'robustness-truncate', 'robustness-typos', 'robustness-shuffle', 'calibration']) {
    for (const ext of ['svg', 'png']) {
      const file = join(out, 'charts', `${id}.${ext}`);
      assert.ok(existsSync(file) && statSync(file).size > 500, `${file} is missing or empty`);
    }
    assert.ok(html.includes(`href="charts/${id}.svg"`), `the page links ${id}.svg`);
  }
  for (const text of ['Reward across policies', 'Metrics per policy', 'Out-of-distribution metrics', 'Reward-model quality', 'Samples', 'best-of-2']) assert.ok(html.includes(text), text);
  const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(hrefs.length > 20);
  for (const href of hrefs) {
    if (href.startsWith('#')) assert.ok(html.includes(`id="${href.slice(1)}"`), `anchor ${href}`);
    else assert.ok(existsSync(join(out, decodeURIComponent(href))), `link ${href}`);
  }
});

test('--studio pushes baseline-vs-policy pairs; labels submitted in the studio come back as human win rates', () => {
  const studio = f('studio');
  const args = ['eval', '--policies', `sft=${model},best-of-3=bestof:3:${model}`, '--reward-fn', f('reward.ts'), '--prompts', f('prompts.txt'),
    '--max-new-tokens', '6', '--perturbations', '', '--studio', studio, '--studio-task', 'sft-vs-bo', '--quiet'];
  const first = rlhf(...args, '--out', f('studio-out-1'));
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /studio: task "sft-vs-bo" in .* — created, 4 pairs added, 0 labels read back/);
  const summary = JSON.parse(readFileSync(f('studio-out-1/summary.json'), 'utf8')) as EvalResult;
  const [sft, bo] = summary.policies;

  const store = Store.open(studio);
  try {
    const task = store.getTask('sft-vs-bo');
    assert.equal(task.kind, 'pairwise');
    const items = store.items(task.id);
    assert.equal(items.length, PROMPTS.length);
    items.forEach((it, i) => {
      assert.equal(it.prompt, PROMPTS[i]);
      assert.deepEqual(it.responses.map((x) => [x.model, x.text]), [['sft', sft!.samples[i]!.response], ['best-of-3', bo!.samples[i]!.response]]);
    });
    // one annotator: best-of-3 wins items 0 and 1, the baseline item 2, a tie on item 3 → (1 + 1 + 0 + ½) / 4
    const user = store.createUser('ann', 'annotator').user;
    const verdict = ['best-of-3', 'best-of-3', 'sft', 'tie'];
    for (let k = 0; k < items.length; k++) {
      const a = store.nextAssignment(task, user.id)!;
      const want = verdict[a.item.position]!;
      const choice = want === 'tie' ? 'tie' : LETTERS[a.shown.indexOf(a.item.responses.findIndex((x) => x.model === want))]!;
      store.submitLabel(task, user.id, { itemId: a.item.id, idempotencyKey: `label-key-${k}0000`, value: { choice } });
    }
  } finally {
    store.close();
  }

  const second = rlhf(...args, '--out', f('studio-out-2'));
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /— 0 pairs added, 4 labels read back/);
  assert.match(second.stdout.split('\n')[0]!, /\bhuman\b/);
  const again = JSON.parse(readFileSync(f('studio-out-2/summary.json'), 'utf8')) as EvalResult;
  assert.equal(again.policies[1]!.humanWinRate, 0.625);
  assert.equal(again.policies[0]!.humanWinRate, undefined, 'the baseline has none');
  assert.ok(readFileSync(f('studio-out-2/report.html'), 'utf8').includes('human win rate'));
});

test('bad input: no reward, a malformed best-of, --studio alone, a missing model — each named, exit 2', () => {
  const common = ['--prompts', f('prompts.txt'), '--out', f('bad')];
  const noReward = rlhf('eval', '--policies', `sft=${model}`, ...common);
  assert.equal(noReward.status, 2);
  assert.match(noReward.stderr, /--reward-model DIR .* or --reward-fn FILE\.ts/);
  const badBo = rlhf('eval', '--policies', `bo=bestof:x:${model}`, '--reward-fn', f('reward.ts'), ...common);
  assert.equal(badBo.status, 2);
  assert.match(badBo.stderr, /best-of-n is written bestof:N:DIR/);
  const studioAlone = rlhf('eval', '--policies', `sft=${model}`, '--reward-fn', f('reward.ts'), '--studio', f('s'), ...common);
  assert.equal(studioAlone.status, 2);
  assert.match(studioAlone.stderr, /--studio DIR and --studio-task NAME go together/);
  const missing = rlhf('eval', '--policies', `sft=${f('nope')}`, '--reward-fn', f('reward.ts'), ...common);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope is not a model directory \(no config\.json\)/);
  for (const r of [noReward, badBo, studioAlone, missing]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
