// SFT and --max-length: an example whose completion truncation cuts off entirely has nothing to
// learn; it is dropped (and counted) rather than trained as a step over zero tokens, and a file
// where that happens to every example is refused with the fix.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { sft, TrainerError } from '../../src/trainers/index.js';
import { PROMPTS, sentences, tempDir, tinyModel, writeJsonl } from './fixtures.js';

torch.setNumThreads(1);

const root = tempDir('rlhf-sft-');
let base = '';
/** A prompt far longer than 12 tokens: "the movie was great . the plot was bad . … the plot was". */
const LONG_PROMPT = `${sentences(8).map((s) => s.text).join(' ')} the plot was`;

before(async () => {
  base = await tinyModel(join(root, 'base'));
});

test('examples whose completion --max-length cuts off entirely are dropped and counted, not trained as zero-token steps', async () => {
  const rows = [
    ...PROMPTS.map((p) => ({ prompt: p, completion: ' great .' })),
    { prompt: LONG_PROMPT, completion: ' great .' },
    ...PROMPTS.map((p) => ({ prompt: p, completion: ' bad .' })),
    { prompt: LONG_PROMPT, completion: ' bad .' },
  ];
  const data = writeJsonl(join(root, 'cut.jsonl'), rows);
  const lines: string[] = [];
  const r = await sft({ model: base, data, out: join(root, 'cut'), maxLength: 12, batchSize: 1, evalSplit: 0, saveEvery: 0, logEvery: 1, lr: 1e-3 }, { onLog: (l) => lines.push(l) });
  assert.deepEqual(lines, ['sft: 8 training examples, 0 held out (prompt_completion data); 2 examples dropped: --max-length 12 cut off all their labelled (completion or assistant) tokens']);
  assert.equal(r.history.length, 8);
  for (const h of r.history) assert.ok((h.tokens as number) > 0, `a step trained on ${h.tokens} tokens`);
  r.model.dispose();
});

test('every example cut off: a TrainerError naming --max-length and the fix', async () => {
  const data = writeJsonl(join(root, 'all-cut.jsonl'), [{ prompt: LONG_PROMPT, completion: ' great .' }, { prompt: LONG_PROMPT, completion: ' bad .' }]);
  await assert.rejects(
    sft({ model: base, data, out: join(root, 'all-cut'), maxLength: 12, evalSplit: 0, saveEvery: 0 }),
    (e: unknown) => e instanceof TrainerError && /^--data \S+all-cut\.jsonl: --max-length 12 cut off every labelled \(completion or assistant\) token of all 2 examples, leaving nothing to learn; raise --max-length \(the model takes up to 64\) or shorten the prompts\.$/.test(e.message),
  );
  // capped by the model's positions: raising --max-length cannot help
  const long = writeJsonl(join(root, 'too-long.jsonl'), [{ prompt: `${LONG_PROMPT} ${LONG_PROMPT} ${LONG_PROMPT}`, completion: ' great .' }]);
  await assert.rejects(
    sft({ model: base, data: long, out: join(root, 'too-long'), maxLength: 1000, evalSplit: 0, saveEvery: 0 }),
    (e: unknown) => e instanceof TrainerError && /--max-length 1000 \(capped at the model's 64 positions\) cut off .* of all 1 examples, leaving nothing to learn; shorten the prompts\.$/.test(e.message),
  );
});
