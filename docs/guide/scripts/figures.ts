// The guide's pictures that need no training run, drawn from the project's own code:
//   node --import tsx docs/guide/scripts/figures.ts
// writes docs/guide/img/causal-mask.png: the attention mask and position ids that
// src/models/gpt2.ts builds (buildAttentionMask, positionIdsFor) for a left-padded batch of two
// prompts, rendered with src/eval/charts.ts (Vega-Lite → SVG → PNG). Seconds, no model.
// (docs/guide/scripts/reward-hacking.ts draws chapter 5's picture from two PPO runs.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAttentionMask, positionIdsFor } from '../../../src/models/gpt2.js';
import { gpt2Tokenizer } from '../../../src/tokenizers/index.js';
import { padLeft } from '../../../src/data/index.js';
import { renderChart, type VegaLiteSpec } from '../../../src/eval/charts.js';

const img = new URL('../img/', import.meta.url).pathname;
mkdirSync(img, { recursive: true });

// Two prompts of different lengths, left-padded as generation and PPO pad them.
const tok = gpt2Tokenizer();
const texts = ['The cat sat on the warm mat', 'Hello world'];
const ids = texts.map((t) => tok.encode(t));
const { inputIds, attentionMask } = padLeft(ids, tok.eosTokenId ?? 0); // (B, T)
const T = inputIds.size(1);
const mask = buildAttentionMask(attentionMask, T, T)!; // (B, 1, T, T) bool: may query t see key j?
const pos = positionIdsFor(attentionMask, 0, T, 2); // (B, T)
const allowed = mask.long().toFlatArray(); // B·T·T
const positions = pos.toFlatArray();
const real = attentionMask.toFlatArray();

const cells: { row: number; q: string; k: string; seen: string; qi: number; ki: number }[] = [];
const label = (b: number, t: number): string => {
  const id = inputIds.toFlatArray()[b * T + t] as number;
  const isPad = real[b * T + t] === 0;
  return `${String(t).padStart(2, ' ')} ${isPad ? '[pad]' : JSON.stringify(tok.decode([id]))} · pos ${isPad ? '–' : positions[b * T + t]}`;
};
for (let b = 0; b < 2; b++) {
  for (let q = 0; q < T; q++) {
    for (let k = 0; k < T; k++) {
      const a = allowed[b * T * T + q * T + k] === 1;
      const causalOnly = k <= q;
      cells.push({ row: b, q: label(b, q), k: String(k), qi: q, ki: k, seen: a ? 'attends' : causalOnly ? 'padding (masked)' : 'future (masked)' });
    }
  }
}
for (const t of [inputIds, attentionMask, mask, pos]) t.dispose();

const panel = (b: number): Record<string, unknown> => ({
  title: { text: `row ${b}: ${JSON.stringify(texts[b])}`, fontSize: 13, anchor: 'start' },
  width: 30 * T,
  height: 30 * T,
  data: { values: cells.filter((c) => c.row === b) },
  mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
  encoding: {
    x: { field: 'k', type: 'ordinal', sort: null, title: 'key position j', axis: { labelAngle: 0 } },
    y: { field: 'q', type: 'ordinal', sort: null, title: 'query t: token · position id' },
    color: { field: 'seen', type: 'nominal', title: null, scale: { domain: ['attends', 'future (masked)', 'padding (masked)'], range: ['#0072B2', '#e6e8eb', '#E69F00'] } },
  },
});
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: { text: 'Who may attend to whom: the causal mask of a left-padded batch', subtitle: 'from buildAttentionMask and positionIdsFor in src/models/gpt2.ts' },
  hconcat: [panel(0), panel(1)],
  spacing: 40,
  config: { legend: { orient: 'bottom', symbolType: 'square' } },
} as unknown as VegaLiteSpec;
const { png } = await renderChart(spec);
writeFileSync(join(img, 'causal-mask.png'), png);
console.log(`wrote ${join(img, 'causal-mask.png')} (${png.length} bytes)`);
