// Small, deterministic things the trainer tests share: a tiny GPT-2 directory with the GPT-2
// tokenizer, datasets written to a temp directory, the SFT model and preference pairs the offline
// preference trainers start from, and the command line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualSeed, noGrad, tidy } from '../../src/torch/index.js';
import { GPT2LMHeadModel, GPT2_DEFAULTS, loadPretrained, savePretrained, type CausalLM } from '../../src/models/index.js';
import { trainByteLevelBpe } from '../../src/tokenizers/index.js';
import { sft } from '../../src/trainers/sft/train.js';

export function tempDir(prefix = 'rlhf-trainers-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A freshly initialised 2-layer GPT-2 saved with a byte-level BPE tokenizer trained on the fixture
 * sentences (a few hundred tokens: the tests spend their time on the algorithms, not on a 50k head).
 */
export async function tinyModel(dir: string, opts: { nEmbd?: number; nLayer?: number; seed?: number; nPositions?: number } = {}): Promise<string> {
  manualSeed(opts.seed ?? 0);
  const nPositions = opts.nPositions ?? 64;
  const corpus = [...sentences(256).map((s) => s.text), 'the plot was great . the movie was bad .'];
  const tokenizer = trainByteLevelBpe(corpus, { vocabSize: 320, modelMaxLength: nPositions });
  const ids = { vocab_size: tokenizer.vocabSize, bos_token_id: tokenizer.eosTokenId as number, eos_token_id: tokenizer.eosTokenId as number };
  const model = new GPT2LMHeadModel({ ...GPT2_DEFAULTS, ...ids, n_layer: opts.nLayer ?? 2, n_embd: opts.nEmbd ?? 32, n_head: 2, n_positions: nPositions, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
  await savePretrained(model, dir, { tokenizer });
  model.dispose();
  return dir;
}

export function writeJsonl(file: string, rows: readonly unknown[]): string {
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

const POS = ['great', 'good', 'fun', 'lovely'];
const NEG = ['bad', 'dull', 'awful', 'boring'];
const NOUNS = ['movie', 'plot', 'film', 'cast'];

/** "the <noun> was <adj> ." with a known label, deterministic. */
export function sentences(n: number): { text: string; label: number }[] {
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const adj = (label ? POS : NEG)[(i >> 1) % 4] as string;
    return { text: `the ${NOUNS[(i >> 3) % 4]} was ${adj} .`, label };
  });
}

export const PROMPTS = NOUNS.map((n) => `the ${n} was`);
export const POSITIVE_WORDS = POS;
export const NEGATIVE_WORDS = NEG;

/**
 * What the offline preference trainers' tests (KTO, ORPO, SimPO) start from, under `root`: a tiny
 * model fine-tuned on the sentences, so it speaks their language, and 48 pairs preferring
 * ` <positive word> .` to ` <negative word> .` after each prompt.
 */
export async function sftModelAndPairs(root: string): Promise<{ sftDir: string; pairsFile: string }> {
  const base = await tinyModel(join(root, 'base'));
  const text = writeJsonl(join(root, 'text.jsonl'), sentences(64).map((s) => ({ text: s.text })));
  const sftDir = join(root, 'sft');
  (await sft({ model: base, data: text, out: sftDir, epochs: 40, lr: 5e-3, batchSize: 16, maxLength: 16, evalSplit: 0, saveEvery: 0, warmupSteps: 2 })).model.dispose();
  const pairsFile = writeJsonl(join(root, 'pairs.jsonl'), Array.from({ length: 48 }, (_, i) => ({ prompt: PROMPTS[i % 4], chosen: ` ${POS[i % 4]} .`, rejected: ` ${NEG[(i >> 2) % 4]} .` })));
  return { sftDir, pairsFile };
}

const BIN = new URL('../../bin/rlhf.js', import.meta.url).pathname;

/** `rlhf ARGS…` run from the sources in a child process (2 minutes at most). */
export function rlhf(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A LoRA run (--lora-r, default targets: c_attn on GPT-2) left a PEFT adapter directory in `out` —
 * adapter_config.json naming `base`, adapter_model.safetensors, no whole model — and only the
 * adapted weights of the returned model (the adapter merged in) differ from `base`'s.
 */
export async function assertLoraOut(out: string, trained: CausalLM, base: string, r: number): Promise<void> {
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'tokenizer.json', 'rlhf_config.json']) assert.ok(existsSync(join(out, f)), `${f} in ${out}`);
  for (const f of ['config.json', 'model.safetensors']) assert.ok(!existsSync(join(out, f)), `${f} must not be in an adapter directory`);
  const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([cfg.r, cfg.target_modules, cfg.task_type, cfg.base_model_name_or_path], [r, ['c_attn'], 'CAUSAL_LM', base]);
  const orig = (await loadPretrained(base, { tokenizer: false })).model;
  const before = new Map(orig.namedParameters());
  for (const [name, p] of trained.namedParameters()) {
    const moved = noGrad(() => tidy(() => p.sub(before.get(name) as typeof p).abs().max().item())) > 0;
    assert.equal(moved, name.endsWith('.c_attn.weight'), `${name} ${moved ? 'moved' : 'did not move'}`);
  }
  orig.dispose();
}
