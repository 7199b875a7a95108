// Exact resume: a run killed with SIGKILL mid-training and resumed with --resume logs the same
// losses, step for step, as one never interrupted — for SFT and for PPO. And a corrupt checkpoint
// is refused whole.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, tinyModel, writeJsonl, sentences, PROMPTS } from './fixtures.js';

const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;
const root = tempDir('rlhf-resume-');
let model = '';
let data = '';
let prompts = '';
let rewardFn = '';

before(async () => {
  model = await tinyModel(join(root, 'tiny'), { nEmbd: 64, nLayer: 3 });
  data = writeJsonl(join(root, 'text.jsonl'), sentences(128).map((s) => ({ text: s.text })));
  prompts = writeJsonl(join(root, 'prompts.jsonl'), Array.from({ length: 16 }, (_, i) => ({ prompt: PROMPTS[i % 4] })));
  rewardFn = join(root, 'reward.ts');
  writeFileSync(rewardFn, `export default (prompts: string[], responses: string[]): number[] => responses.map((r) => (r.match(/great|good/g) ?? []).length);\n`);
});

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a run and SIGKILLs it once its second checkpoint exists; returns the step it had logged by then. */
async function runAndKill(args: string[], out: string, checkpoint: string): Promise<number> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let killedAt = -1;
  for (;;) {
    if (existsSync(join(out, 'checkpoints', checkpoint))) {
      child.kill('SIGKILL');
      const lines = existsSync(join(out, 'metrics.jsonl')) ? readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n') : [];
      killedAt = lines.length;
      break;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const code = await exited;
  assert.equal(code, null, 'the run was killed, not finished');
  return killedAt;
}

function losses(out: string, key: string): [number, number][] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).map((r) => [r.step as number, r[key] as number]);
}

test('SFT: SIGKILL mid-run, then --resume → the same losses step for step', async () => {
  const common = ['sft', '--model', model, '--data', data, '--max-steps', '60', '--batch-size', '8', '--lr', '3e-3', '--log-every', '1', '--save-every', '10', '--eval-split', '0', '--quiet'];
  const a = run([...common, '--out', join(root, 'sft-a')]);
  assert.equal(a.status, 0, a.stderr);
  const outB = join(root, 'sft-b');
  const killedAt = await runAndKill([...common, '--out', outB], outB, 'step-000020');
  assert.ok(killedAt < 60, `killed at ${killedAt} of 60 steps`);
  const again = run([...common, '--out', outB]);
  assert.notEqual(again.status, 0, 'without --resume the old checkpoints are not silently mixed in');
  assert.match(again.stderr, /--resume/);
  const b = run([...common, '--out', outB, '--resume']);
  assert.equal(b.status, 0, b.stderr);
  const la = losses(join(root, 'sft-a'), 'loss');
  const lb = losses(outB, 'loss');
  assert.equal(lb.length, 60);
  assert.deepEqual(lb, la);
});

test('PPO: SIGKILL mid-run, then --resume → the same scores and losses step for step', async () => {
  const common = ['ppo', '--model', model, '--reward-fn', rewardFn, '--prompts', prompts, '--batch-size', '4', '--max-new-tokens', '6', '--max-steps', '16', '--lr', '1e-3', '--log-every', '1', '--save-every', '4', '--ppo-epochs', '2', '--num-mini-batches', '2', '--adaptive-kl', '--quiet', '--sample-every', '0'];
  const a = run([...common, '--out', join(root, 'ppo-a')]);
  assert.equal(a.status, 0, a.stderr);
  const outB = join(root, 'ppo-b');
  const killedAt = await runAndKill([...common, '--out', outB], outB, 'step-000008');
  assert.ok(killedAt < 16, `killed at ${killedAt} of 16 iterations`);
  const b = run([...common, '--out', outB, '--resume']);
  assert.equal(b.status, 0, b.stderr);
  for (const key of ['objective/scores', 'loss/policy', 'loss/value', 'objective/kl', 'kl_coef']) assert.deepEqual(losses(outB, key), losses(join(root, 'ppo-a'), key), key);
});

test('a corrupt checkpoint is refused with a clear message, and nothing is half-loaded', () => {
  const out = join(root, 'sft-corrupt');
  const common = ['sft', '--model', model, '--data', data, '--max-steps', '20', '--batch-size', '8', '--save-every', '10', '--eval-split', '0', '--quiet', '--out', out];
  // Stop after the checkpoint at 10 by asking for 15 steps, then damage it and ask for 20.
  assert.equal(run([...common.slice(0, 5), '--max-steps', '15', ...common.slice(7)]).status, 0);
  const dir = join(out, 'checkpoints');
  const ckpt = readdirSync(dir).filter((d) => d.startsWith('step-')).sort()[0] as string;
  const weights = join(dir, ckpt, 'model.safetensors');
  truncateSync(weights, Math.floor(statSync(weights).size / 2));
  const r = run([...common, '--resume']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /checkpoint .*step-000010 is unusable: model\.safetensors has \d+ bytes, \d+ were written/);
  assert.match(r.stderr, /Delete that directory/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
});
