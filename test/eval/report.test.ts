// writeReport into a temp directory: the page and every file it links to exist, charts decode, summary.json
// parses, model output is escaped, ids stay unique with several inline SVGs, and bad input names its section.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { escapeHtml, formatNumber, renderMarkdownish, scopeSvgIds, writeReport } from '../../src/eval/report.js';
import type { ReportInput, WrittenReport } from '../../src/eval/report.js';
import { barWithErrors, calibrationChart, lineChart } from '../../src/eval/charts.js';

const XSS = '<script>alert("pwned")</script>';
const BAR = barWithErrors([{ name: 'SFT', mean: 0.4, lo: 0.3, hi: 0.5 }, { name: 'PPO', mean: 1.2, lo: 1.0, hi: 1.4 }], { title: 'Reward', yTitle: 'reward' });

const REPORT: ReportInput = {
  title: 'PPO vs SFT <eval>',
  subtitle: 'tiny fixture',
  sections: [
    { kind: 'text', title: 'Overview', markdownish: 'PPO wins **often**.\n\n- reward up\n- KL `2.1`\n\nRaw <b>tags</b> stay text.' },
    {
      kind: 'chart',
      id: 'reward',
      title: 'Reward by policy',
      caption: 'Means with 95% CIs.',
      spec: BAR,
    },
    {
      kind: 'chart',
      id: 'training_curves',
      title: 'Training',
      spec: lineChart([{ name: 'reward', points: [{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 1.5 }] }], { title: 'Training', xTitle: 'step', yTitle: 'reward' }),
    },
    { kind: 'chart', id: 'calibration', title: 'Calibration', spec: calibrationChart([{ predicted: 0.2, observed: 0.3, count: 5 }, { predicted: 0.8, observed: 0.7, count: 5 }]) },
    { kind: 'table', title: 'Metrics', columns: ['policy', 'reward', 'win rate'], rows: [['SFT', 0.41234, NaN], ['PPO <b>', 1.2, 0.75]], caption: 'n = 2' },
    {
      kind: 'samples',
      title: 'Samples',
      prompts: ['Say hi', `Inject ${XSS}`],
      policies: [
        { name: 'SFT', responses: ['hi', XSS], rewards: [0.1, -1] },
        { name: 'PPO', responses: ['Hello & welcome', 'no'] },
      ],
    },
  ],
  summary: { reward: { sft: 0.41, ppo: 1.2 }, winRate: 0.75, note: XSS },
};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Signature, IHDR size, and IDAT that inflates to exactly height × (1 + width × channels) bytes. */
function checkPng(bytes: Buffer): { width: number; height: number } {
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE);
  assert.equal(bytes.toString('latin1', 12, 16), 'IHDR');
  const width = bytes.readUInt32BE(16), height = bytes.readUInt32BE(20);
  const channels = ({ 2: 3, 6: 4 } as Record<number, number>)[bytes[25]!]!;
  const idat: Buffer[] = [];
  for (let off = 8; off < bytes.length; ) {
    const len = bytes.readUInt32BE(off);
    if (bytes.toString('latin1', off + 4, off + 8) === 'IDAT') idat.push(bytes.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  assert.equal(inflateSync(Buffer.concat(idat)).length, height * (1 + width * channels));
  return { width, height };
}

describe('writeReport', () => {
  let dir: string;
  let written: WrittenReport;
  let html: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rlhf-report-'));
    written = await writeReport(join(dir, 'out'), REPORT, { generatedAt: new Date('2025-01-02T03:04:05Z') });
    html = await readFile(written.html, 'utf8');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes report.html, summary.json and an SVG and a PNG per chart; no temp files left', async () => {
    const out = join(dir, 'out');
    assert.equal(written.html, join(out, 'report.html'));
    assert.deepEqual((await readdir(out)).sort(), ['charts', 'report.html', 'summary.json']);
    assert.deepEqual((await readdir(join(out, 'charts'))).sort(), ['calibration.png', 'calibration.svg', 'reward.png', 'reward.svg', 'training_curves.png', 'training_curves.svg']);
    assert.deepEqual(written.charts.map((c) => c.id), ['reward', 'training_curves', 'calibration']);
  });

  test('every href and src resolves: files next to the page, #anchors to ids in it; nothing remote', async () => {
    const links = [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    assert.ok(links.length >= 2 * 3 + 1, `links found: ${links.length}`);
    const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
    for (const link of links) {
      assert.ok(!/^[a-z]+:/i.test(link) && !link.startsWith('//'), `no remote or scheme links: ${link}`);
      if (link.startsWith('#')) {
        assert.ok(ids.has(decodeURIComponent(link.slice(1))), `anchor ${link} exists`);
        continue;
      }
      const file = resolve(dir, 'out', decodeURIComponent(link));
      assert.ok((await stat(file)).isFile(), `${link} exists`);
    }
    assert.ok(links.includes('charts/reward.png') && links.includes('charts/reward.svg') && links.includes('summary.json'));
    assert.ok(!/<link\s|@import|url\(http/i.test(html), 'no external stylesheets');
  });

  test('charts are inlined as SVG, saved as SVG and PNG; the PNG is 2× the SVG and decodes', async () => {
    assert.equal(html.match(/<svg[\s>]/g)?.length, 3);
    for (const c of written.charts) {
      const svg = await readFile(c.svg, 'utf8');
      const w = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)![1]), h = Number(/<svg[^>]*\sheight="([\d.]+)"/.exec(svg)![1]);
      const png = checkPng(await readFile(c.png));
      assert.deepEqual(png, { width: Math.round(2 * w), height: Math.round(2 * h) }, c.id);
    }
  });

  test('ids are unique across the inline SVGs (vega clip paths are scoped per chart)', () => {
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
    assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids.filter((x, i) => ids.indexOf(x) !== i).join(', ')}`);
    for (const m of html.matchAll(/url\(#([^)]+)\)/g)) assert.ok(ids.includes(m[1]!), `url(#${m[1]}) points at an element of this page`);
  });

  test('summary.json parses back to the summary', async () => {
    assert.deepEqual(JSON.parse(await readFile(written.summary, 'utf8')), REPORT.summary);
  });

  test('model output is escaped: no <script> element, the text shows as written', () => {
    assert.ok(!/<script/i.test(html), 'no script tag in the page');
    assert.ok(html.includes('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;'));
    assert.ok(html.includes('Hello &amp; welcome'));
    assert.ok(html.includes('<title>PPO vs SFT &lt;eval&gt;</title>'));
    assert.ok(html.includes('PPO &lt;b&gt;'), 'table cells are escaped');
    assert.ok(html.includes('Raw &lt;b&gt;tags&lt;/b&gt; stay text.'), 'text sections are escaped');
  });

  test('header, table and samples carry what they should', () => {
    assert.ok(html.includes('<time datetime="2025-01-02T03:04:05.000Z">2025-01-02 03:04:05 UTC</time>'));
    assert.ok(html.includes('<td class="num">0.4123</td>'), 'numbers to 4 significant digits, right-aligned');
    assert.ok(html.includes('<td class="num">—</td>'), 'NaN as a dash');
    assert.ok(html.includes('<th scope="col" class="num">reward</th>'), 'numeric column headers right-aligned');
    assert.ok(html.includes('<span class="reward neg" title="reward">−1</span>'));
    assert.equal(html.match(/class="sample"/g)?.length, 2);
    assert.ok(html.includes('<strong>often</strong>') && html.includes('<code>2.1</code>') && html.includes('<li>reward up</li>'));
  });

  test('bad input names the section and the fix', async () => {
    const base = { title: 't', summary: {} };
    await assert.rejects(writeReport(join(dir, 'bad1'), { ...base, sections: [{ kind: 'chart', id: '../x', title: 'C', spec: BAR }] }), { name: 'ReportError', message: /chart id "\.\.\/x"/ });
    await assert.rejects(
      writeReport(join(dir, 'bad2'), { ...base, sections: [{ kind: 'samples', title: 'S', prompts: ['a', 'b'], policies: [{ name: 'p', responses: ['only one'] }] }] }),
      { name: 'ReportError', message: /policy "p" has 1 responses for 2 prompts/ },
    );
    await assert.rejects(writeReport(join(dir, 'bad3'), { ...base, sections: [{ kind: 'table', title: 'T', columns: ['a', 'b'], rows: [[1]] }] }), { name: 'ReportError', message: /row 0 has 1 cells for 2 columns/ });
  });
});

describe('report helpers', () => {
  test('escapeHtml, formatNumber, markdownish, scopeSvgIds', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.deepEqual([3, -2, 0.123456, 1234.5678, 1e-7, NaN, Infinity].map(formatNumber), ['3', '−2', '0.1235', '1235', '1e-7', '—', '∞']);
    assert.equal(renderMarkdownish('### Head\n\na **b** <i>\nnext'), '<h3>Head</h3>\n<p>a <strong>b</strong> &lt;i&gt;<br>next</p>');
    assert.equal(
      scopeSvgIds('<svg><clipPath id="clip1"></clipPath><g clip-path="url(#clip1)"></g><use href="#clip1"/></svg>', 'c'),
      '<svg><clipPath id="c-clip1"></clipPath><g clip-path="url(#c-clip1)"></g><use href="#c-clip1"/></svg>',
    );
  });
});
