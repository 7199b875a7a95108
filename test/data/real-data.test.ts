// The real files in /work/shared/data, when present (a fresh clone does not have them: skipped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { REWARD_FORMATS, SFT_FORMATS, readDataset, tokenizePreference, tokenizeSft } from '../../src/data/index.js';
import { gpt2Tokenizer } from '../../src/tokenizers/index.js';

const SST2 = '/work/shared/data/sst2-train.tsv';
const DPO = '/work/shared/data/dpo-en-demo.json';

test('SST-2 train with --columns text=sentence: labels for the RM, text for SFT', { skip: !existsSync(SST2) && `${SST2} is absent` }, () => {
  const rm = readDataset(SST2, { columns: { text: 'sentence' }, expectFormat: REWARD_FORMATS });
  assert.equal(rm.format, 'labels');
  if (rm.format !== 'labels') return;
  assert.equal(rm.rows.length, 67_349);
  assert.equal(rm.skipped, 0);
  assert.equal(rm.positiveLabel, '1');
  assert.deepEqual(rm.rows[0], { line: 2, prompt: '', response: 'hide new secretions from the parental units ', label: 0, rawLabel: '0' });
  const positive = rm.rows.filter((r) => r.label === 1).length;
  assert.ok(positive > 30_000 && positive < 40_000, `${positive} positive`);
  const sft = readDataset(SST2, { columns: { text: 'sentence' }, expectFormat: SFT_FORMATS, limit: 100 });
  assert.equal(sft.format, 'text');
});

test('dpo-en-demo.json: ShareGPT preference pairs through the chat template', { skip: !existsSync(DPO) && `${DPO} is absent` }, () => {
  const ds = readDataset(DPO, { expectFormat: ['preference'] });
  assert.equal(ds.rows.length, 300);
  assert.match(ds.layout, /ShareGPT/);
  const first = ds.rows[0]!;
  assert.equal(first.chat, true);
  assert.equal(first.line, 2);
  const tok = gpt2Tokenizer();
  const ex = tokenizePreference(ds.rows.slice(0, 20), tok, { maxLength: 256, maxPromptLength: 128 });
  for (const e of ex) {
    assert.ok(e.promptIds.length <= 128);
    assert.ok(e.promptIds.length + e.chosenIds.length <= 256);
    assert.ok(e.promptIds.length + e.rejectedIds.length <= 256);
    assert.ok(tok.decode(e.promptIds).endsWith('<|im_start|>assistant\n'));
  }
  assert.ok(tokenizeSft([{ line: 1, messages: [...first.prompt, ...(first.chat ? first.chosen : [])] }], tok)[0]!.lossMask.includes(1));
});
