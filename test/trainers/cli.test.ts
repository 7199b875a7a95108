// Every training command from the command line: --help generated from its schema, a couple of
// steps end to end, YAML configs, bad input with a clear message, and `rlhf pipeline` skipping
// finished stages.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fieldsOf } from '../../src/config/schema-cli.js';
import { sftConfig, rewardConfig, ppoConfig, dpoConfig, runPipeline } from '../../src/trainers/index.js';
import { tempDir, tinyModel, writeJsonl, sentences, PROMPTS, POSITIVE_WORDS } from './fixtures.js';
import { greatRewardFile } from './online-fixtures.js';

const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;
const root = tempDir('rlhf-cli-');
let model = '';

function rlhf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  model = await tinyModel(join(root, 'tiny'));
  writeJsonl(join(root, 'text.jsonl'), sentences(32).map((s) => ({ text: s.text })));
  writeJsonl(join(root, 'labels.jsonl'), sentences(32).map((s) => ({ text: s.text, label: s.label })));
  writeJsonl(join(root, 'prefs.jsonl'), Array.from({ length: 16 }, (_, i) => ({ prompt: PROMPTS[i % 4], chosen: ` ${POSITIVE_WORDS[i % 4]} .`, rejected: ' bad .' })));
  writeFileSync(join(root, 'prompts.txt'), PROMPTS.join('\n') + '\n');
});

test('--help lists every option of the schema with its default', () => {
  for (const [cmd, schema] of [['sft', sftConfig], ['reward', rewardConfig], ['ppo', ppoConfig], ['dpo', dpoConfig]] as const) {
    const r = rlhf(cmd, '--help');
    assert.equal(r.status, 0);
    for (const f of fieldsOf(schema)) assert.ok(r.stdout.includes(f.flag), `${cmd} --help lacks ${f.flag}`);
    assert.match(r.stdout, /--config FILE\.yaml/);
  }
  assert.match(rlhf('sft', '--help').stdout, /--lr X\s+peak learning rate of AdamW \(default 0\.00005\)|--lr X\s+peak learning rate of AdamW \(default 5e-5\)/);
  const main = rlhf('--help').stdout;
  for (const cmd of ['sft', 'reward', 'ppo', 'dpo', 'pipeline']) assert.match(main, new RegExp(`\\n  ${cmd} +\\S`));
});

test('sft, reward, ppo and dpo each run a couple of steps from the command line', () => {
  const sft = rlhf('sft', '--model', model, '--data', join(root, 'text.jsonl'), '--out', join(root, 'sft'), '--max-steps', '3', '--batch-size', '4', '--quiet');
  assert.equal(sft.status, 0, sft.stderr);
  assert.match(sft.stdout, /sft: done — held-out loss [\d.]+, perplexity [\d.]+/);
  const rm = rlhf('reward', '--model', join(root, 'sft'), '--data', join(root, 'labels.jsonl'), '--out', join(root, 'rm'), '--max-steps', '2', '--batch-size', '4', '--quiet');
  assert.equal(rm.status, 0, rm.stderr);
  assert.match(rm.stdout, /reward: done \(labels\)/);
  const ppo = rlhf('ppo', '--model', join(root, 'sft'), '--reward-model', join(root, 'rm'), '--prompts', join(root, 'prompts.txt'), '--out', join(root, 'ppo'), '--max-steps', '2', '--batch-size', '4', '--max-new-tokens', '4', '--quiet');
  assert.equal(ppo.status, 0, ppo.stderr);
  for (const f of ['config.json', 'model.safetensors', 'metrics.jsonl', 'value_model/config.json', 'rlhf_config.json']) assert.ok(existsSync(join(root, 'ppo', f)), f);
  const dpo = rlhf('dpo', '--model', join(root, 'sft'), '--data', join(root, 'prefs.jsonl'), '--out', join(root, 'dpo'), '--max-steps', '2', '--batch-size', '4', '--quiet');
  assert.equal(dpo.status, 0, dpo.stderr);
  assert.ok(readFileSync(join(root, 'dpo', 'metrics.jsonl'), 'utf8').includes('rewards/margins'));
  const events = readFileSync(join(root, 'dpo', 'metrics.jsonl'), 'utf8');
  assert.ok(events.length > 0);
});

test('a YAML config, overridden by flags; bad values name the file and line', () => {
  const cfg = join(root, 'sft.yaml');
  writeFileSync(cfg, `model: ${model}\ndata: ${join(root, 'text.jsonl')}\nmax_steps: 2\nbatch-size: 4\nlr: 0.01\n`);
  const r = rlhf('sft', '--config', cfg, '--out', join(root, 'sft-yaml'), '--lr', '0.002', '--quiet');
  assert.equal(r.status, 0, r.stderr);
  const saved = JSON.parse(readFileSync(join(root, 'sft-yaml', 'rlhf_config.json'), 'utf8')) as { lr: number; maxSteps: number; batchSize: number };
  assert.deepEqual([saved.lr, saved.maxSteps, saved.batchSize], [0.002, 2, 4]);
  writeFileSync(cfg, `model: ${model}\ndata: x\nbatch_size: 0\n`);
  const bad = rlhf('sft', '--config', cfg, '--out', join(root, 'x'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /sft\.yaml:3: batchSize: Too small/);
});

test('bad input: a missing reward, a malformed row, an unknown flag — each named, exit 2, no stack trace', () => {
  const noReward = rlhf('ppo', '--model', model, '--prompts', join(root, 'prompts.txt'), '--out', join(root, 'p2'));
  assert.equal(noReward.status, 2);
  assert.match(noReward.stderr, /--reward-model DIR .* or --reward-fn FILE\.ts/);
  writeFileSync(join(root, 'broken.jsonl'), '{"text": "fine"}\n{"text": oops}\n');
  const broken = rlhf('sft', '--model', model, '--data', join(root, 'broken.jsonl'), '--out', join(root, 's2'));
  assert.equal(broken.status, 2);
  assert.match(broken.stderr, /broken\.jsonl:2/);
  const flag = rlhf('dpo', '--model', model, '--bta', '0.1');
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /unknown option --bta \(did you mean --beta\?\)/);
  for (const r of [noReward, broken, flag]) assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('rlhf pipeline runs sft → reward → ppo, feeding each stage to the next, and skips finished stages on a rerun', () => {
  const file = join(root, 'pipeline.yaml');
  writeFileSync(file, `stages:
  - name: sft
    run: sft
    model: ${model}
    data: text.jsonl
    out: runs/sft
    max_steps: 2
    batch_size: 4
  - name: rm
    run: reward
    model: \${sft}
    data: labels.jsonl
    out: runs/rm
    max_steps: 2
    batch_size: 4
  - name: ppo
    run: ppo
    model: \${sft}
    reward_model: \${rm}
    prompts: prompts.txt
    out: runs/ppo
    max_steps: 1
    batch_size: 4
    max_new_tokens: 4
`);
  const first = rlhf('pipeline', file, '--quiet');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /ran sft, rm, ppo/);
  assert.ok(existsSync(join(root, 'runs', 'ppo', 'model.safetensors')));
  const again = rlhf('pipeline', file, '--quiet');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /ran nothing; skipped sft, rm, ppo/);
  writeFileSync(file, 'stages:\n  - name: a\n    run: sft\n    model: m\n    data: d\n    out: o\n    lr: -1\n');
  const bad = rlhf('pipeline', file);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /pipeline\.yaml:7: lr/);
});

test('pipeline stages of the critic-free online trainers: grpo → rloo → reinforce-pp, each starting from the last', async () => {
  greatRewardFile(root);
  const file = join(root, 'online.yaml');
  const common = 'reward_fn: [great.ts]\n    prompts: prompts.txt\n    max_steps: 1\n    batch_size: 2';
  writeFileSync(file, `stages:
  - name: grpo
    run: grpo
    model: ${model}
    ${common}
    num_generations: 2
    max_completion_length: 4
    out: runs/grpo
  - name: rloo
    run: rloo
    model: \${grpo}
    ${common}
    max_completion_length: 4
    out: runs/rloo
  - name: rpp
    run: reinforce-pp
    model: \${rloo}
    ${common}
    max_new_tokens: 4
    out: runs/rpp
`);
  assert.deepEqual(await runPipeline(file), { ran: ['grpo', 'rloo', 'rpp'], skipped: [] });
  for (const stage of ['grpo', 'rloo', 'rpp']) assert.ok(existsSync(join(root, 'runs', stage, 'model.safetensors')), stage);
  assert.equal(JSON.parse(readFileSync(join(root, 'runs', 'rpp', 'rlhf_config.json'), 'utf8')).model, join(root, 'runs', 'rloo'));
  assert.deepEqual(await runPipeline(file), { ran: [], skipped: ['grpo', 'rloo', 'rpp'] });
});
