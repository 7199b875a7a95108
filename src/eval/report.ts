// The evaluation report: one self-contained HTML page plus the files beside it.
//
//   <dir>/report.html      inline CSS, every chart as inline SVG, no scripts, no network: opens offline
//   <dir>/charts/<id>.svg  each chart as a standalone SVG …
//   <dir>/charts/<id>.png  … and as a 2× PNG (for slides and papers); the page links to both
//   <dir>/summary.json     the caller's `summary`, for scripts and for comparing runs
//
// Every piece of text is HTML-escaped: sample responses are model output and may contain markup. Files are
// written atomically (src/util/atomic.ts): charts first, then summary.json, report.html last, so a page on disk
// never points at charts that are not there yet.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, atomicWriteFiles, atomicWriteJson } from '../util/atomic.js';
import { renderChart } from './charts.js';
import type { RenderOptions, VegaLiteSpec } from './charts.js';

export interface ChartSection {
  kind: 'chart';
  /** File name stem under charts/: letters, digits, '-' and '_'; unique within the report. */
  id: string;
  title: string;
  caption?: string;
  spec: VegaLiteSpec;
}

export interface TableSection {
  kind: 'table';
  title: string;
  columns: string[];
  /** Numbers are right-aligned and shown with up to 4 significant digits; NaN shows as '—'. */
  rows: (string | number)[][];
  caption?: string;
}

export interface SamplesSection {
  kind: 'samples';
  title: string;
  prompts: string[];
  /** `responses[i]` (and `rewards[i]`) answer `prompts[i]`. */
  policies: { name: string; responses: string[]; rewards?: number[] }[];
}

export interface TextSection {
  kind: 'text';
  title: string;
  /**
   * A small subset of Markdown: paragraphs separated by blank lines, lines starting with '- ' as a bullet
   * list, '### ' as a subheading, and inline **bold** and `code`. Anything else is shown as written.
   */
  markdownish: string;
}

export type ReportSection = ChartSection | TableSection | SamplesSection | TextSection;

export interface ReportInput {
  title: string;
  subtitle?: string;
  sections: ReportSection[];
  /** Written to summary.json as it is (NaN and Infinity become null, as JSON.stringify does). */
  summary: unknown;
}

export interface WriteReportOptions extends RenderOptions {
  /** The time printed in the header. Default: now. */
  generatedAt?: Date;
}

export interface WrittenReport {
  html: string;
  summary: string;
  charts: { id: string; svg: string; png: string }[];
}

/** The report input is unusable (a bad chart id, samples whose lengths disagree); the message names the section. */
export class ReportError extends Error {
  override name = 'ReportError';
}

/** Writes report.html, charts/*.svg, charts/*.png and summary.json into `dir` (created if missing). */
export async function writeReport(dir: string, report: ReportInput, options: WriteReportOptions = {}): Promise<WrittenReport> {
  validate(report);
  const chartsDir = join(dir, 'charts');
  await mkdir(chartsDir, { recursive: true });

  // 1. render and write the charts
  const svgs = new Map<string, string>();
  const charts: WrittenReport['charts'] = [];
  for (const s of report.sections) {
    if (s.kind !== 'chart') continue;
    const { svg, png } = await renderChart(s.spec, options);
    const paths = { id: s.id, svg: join(chartsDir, `${s.id}.svg`), png: join(chartsDir, `${s.id}.png`) };
    await atomicWriteFiles([{ path: paths.svg, data: svg }, { path: paths.png, data: png }]);
    svgs.set(s.id, svg);
    charts.push(paths);
  }

  // 2. summary.json, then the page that links to everything
  const summary = join(dir, 'summary.json');
  await atomicWriteJson(summary, report.summary ?? null);
  const html = join(dir, 'report.html');
  await atomicWriteFile(html, renderReportHtml(report, svgs, options.generatedAt ?? new Date()));
  return { html, summary, charts };
}

function validate(report: ReportInput): void {
  const ids = new Set<string>();
  report.sections.forEach((s, i) => {
    const where = `section ${i} ("${s.title}")`;
    if (s.kind === 'chart') {
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(s.id)) throw new ReportError(`writeReport: ${where} has chart id "${s.id}"; use letters, digits, '-' and '_' (it names charts/<id>.svg)`);
      if (ids.has(s.id)) throw new ReportError(`writeReport: ${where} reuses chart id "${s.id}"; chart ids must be unique`);
      ids.add(s.id);
    } else if (s.kind === 'table') {
      s.rows.forEach((row, r) => {
        if (row.length !== s.columns.length) throw new ReportError(`writeReport: ${where}: row ${r} has ${row.length} cells for ${s.columns.length} columns`);
      });
    } else if (s.kind === 'samples') {
      for (const p of s.policies) {
        if (p.responses.length !== s.prompts.length) throw new ReportError(`writeReport: ${where}: policy "${p.name}" has ${p.responses.length} responses for ${s.prompts.length} prompts`);
        if (p.rewards && p.rewards.length !== s.prompts.length) throw new ReportError(`writeReport: ${where}: policy "${p.name}" has ${p.rewards.length} rewards for ${s.prompts.length} prompts`);
      }
    }
  });
}

// ----- HTML -----------------------------------------------------------------------------------------------------

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A table cell's number: integers as they are, others to 4 significant digits, NaN as '—'. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  const s = Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
  return s.replace(/^-/, '−');
}

/** The whole page. `svgs` maps chart ids to their SVG markup (from renderChart, which escapes its text). */
export function renderReportHtml(report: ReportInput, svgs: ReadonlyMap<string, string>, generatedAt: Date): string {
  const anchors = new Set<string>();
  const sections = report.sections.map((s) => ({ s, anchor: uniqueAnchor(s.title, anchors) }));
  const toc = sections.length >= 3
    ? `<nav class="toc" aria-label="Contents"><ol>${sections.map(({ s, anchor }) => `<li><a href="#${anchor}">${escapeHtml(s.title)}</a></li>`).join('')}</ol></nav>`
    : '';
  const body = sections.map(({ s, anchor }) => renderSection(s, anchor, svgs)).join('\n');
  const when = generatedAt.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rlhf eval">
<title>${escapeHtml(report.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="page-header">
<div class="wrap">
<p class="eyebrow">rlhf · evaluation report</p>
<h1>${escapeHtml(report.title)}</h1>
${report.subtitle ? `<p class="subtitle">${escapeHtml(report.subtitle)}</p>` : ''}
<p class="meta">Generated <time datetime="${generatedAt.toISOString()}">${when}</time> · <a href="summary.json">summary.json</a></p>
</div>
</header>
<main class="wrap">
${toc}
${body}
</main>
<footer class="wrap"><p>Charts are also saved as SVG and 2× PNG in <code>charts/</code>; the numbers behind this page are in <a href="summary.json">summary.json</a>.</p></footer>
</body>
</html>
`;
}

function renderSection(s: ReportSection, anchor: string, svgs: ReadonlyMap<string, string>): string {
  const h2 = `<h2>${escapeHtml(s.title)}</h2>`;
  switch (s.kind) {
    case 'chart': {
      const svg = svgs.get(s.id) ?? '';
      const file = `charts/${encodeURIComponent(s.id)}`;
      return `<section id="${anchor}" class="chart">${h2}
<figure><div class="chart-frame">${scopeSvgIds(stripXmlProlog(svg), `chart-${s.id}`)}</div>
<figcaption>${s.caption ? `<span>${escapeHtml(s.caption)}</span>` : ''}<span class="downloads"><a href="${file}.png">PNG</a><a href="${file}.svg">SVG</a></span></figcaption></figure>
</section>`;
    }
    case 'table': {
      const numeric = s.columns.map((_, c) => s.rows.length > 0 && s.rows.every((r) => typeof r[c] === 'number'));
      const head = s.columns.map((c, i) => `<th scope="col"${numeric[i] ? ' class="num"' : ''}>${escapeHtml(c)}</th>`).join('');
      const rows = s.rows
        .map((r) => `<tr>${r.map((v) => (typeof v === 'number' ? `<td class="num">${formatNumber(v)}</td>` : `<td>${escapeHtml(v)}</td>`)).join('')}</tr>`)
        .join('\n');
      return `<section id="${anchor}" class="table">${h2}
<div class="table-wrap"><table>
<thead><tr>${head}</tr></thead>
<tbody>
${rows}
</tbody>
</table></div>${s.caption ? `\n<p class="caption">${escapeHtml(s.caption)}</p>` : ''}
</section>`;
    }
    case 'samples': {
      const items = s.prompts
        .map((prompt, i) => {
          const responses = s.policies
            .map((p) => {
              const reward = p.rewards?.[i];
              const badge = reward === undefined ? '' : `<span class="reward${reward < 0 ? ' neg' : ''}" title="reward">${formatNumber(reward)}</span>`;
              return `<div class="response"><div class="policy"><span>${escapeHtml(p.name)}</span>${badge}</div><pre>${escapeHtml(p.responses[i]!)}</pre></div>`;
            })
            .join('');
          return `<article class="sample"><div class="prompt"><span class="label">Prompt ${i + 1}</span><pre>${escapeHtml(prompt)}</pre></div><div class="responses">${responses}</div></article>`;
        })
        .join('\n');
      return `<section id="${anchor}" class="samples">${h2}\n${items}\n</section>`;
    }
    case 'text':
      return `<section id="${anchor}" class="text">${h2}\n${renderMarkdownish(s.markdownish)}\n</section>`;
    default: {
      const never: never = s;
      throw new ReportError(`writeReport: unknown section kind ${JSON.stringify((never as { kind: unknown }).kind)}; use chart, table, samples or text`);
    }
  }
}

/** The Markdown subset described on TextSection, escaped first and formatted after. */
export function renderMarkdownish(text: string): string {
  const inline = (t: string): string =>
    escapeHtml(t)
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter((block) => block !== '')
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((l) => /^\s*[-*] /.test(l))) return `<ul>${lines.map((l) => `<li>${inline(l.replace(/^\s*[-*] /, ''))}</li>`).join('')}</ul>`;
      if (lines.length === 1 && lines[0]!.startsWith('### ')) return `<h3>${inline(lines[0]!.slice(4))}</h3>`;
      return `<p>${lines.map(inline).join('<br>')}</p>`;
    })
    .join('\n');
}

function uniqueAnchor(title: string, used: Set<string>): string {
  const base = title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'section';
  let a = base;
  for (let i = 2; used.has(a); i++) a = `${base}-${i}`;
  used.add(a);
  return a;
}

/**
 * Prefixes the ids inside one SVG (Vega names its clip paths clip1, clip2, …) and the references to them, so
 * that several charts inlined in one page do not point at each other's clip paths.
 */
export function scopeSvgIds(svg: string, prefix: string): string {
  const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
  if (ids.size === 0) return svg;
  return svg
    .replace(/(\sid=")([^"]+)"/g, (all, head: string, id: string) => (ids.has(id) ? `${head}${prefix}-${id}"` : all))
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => (ids.has(id) ? `url(#${prefix}-${id})` : all))
    .replace(/(href=")#([^"]+)"/g, (all, head: string, id: string) => (ids.has(id) ? `${head}#${prefix}-${id}"` : all));
}

function stripXmlProlog(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d8dee4;--soft:#f6f8fa;--accent:#0969da;--zebra:#f6f8fa}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;font-feature-settings:"tnum" 1}
.wrap{max-width:960px;margin:0 auto;padding:0 24px}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
code,pre{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:13px}
code{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:0 4px}
.page-header{border-bottom:1px solid var(--line);background:linear-gradient(#fbfcfd,#fff);padding:28px 0 18px;margin-bottom:8px}
.eyebrow{margin:0 0 4px;color:var(--muted);font-size:12px;letter-spacing:.06em;text-transform:uppercase}
h1{margin:0;font-size:28px;line-height:1.25;font-weight:650;letter-spacing:-.01em}
.subtitle{margin:6px 0 0;color:var(--muted);font-size:16px}
.meta{margin:12px 0 0;color:var(--muted);font-size:13px}
.toc{margin:20px 0 4px;padding:12px 16px;border:1px solid var(--line);border-radius:8px;background:var(--soft)}
.toc ol{margin:0;padding-left:20px;columns:2;column-gap:32px;font-size:14px}
.toc li{break-inside:avoid;padding:1px 0}
section{margin:36px 0;scroll-margin-top:16px}
h2{font-size:19px;font-weight:620;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:18px 0 6px}
figure{margin:0}
.chart-frame{border:1px solid var(--line);border-radius:8px;padding:8px;background:#fff;overflow-x:auto;text-align:center}
.chart-frame svg{max-width:100%;height:auto;display:inline-block;vertical-align:top}
figcaption{display:flex;gap:16px;justify-content:space-between;align-items:baseline;margin-top:8px;color:var(--muted);font-size:13.5px}
.downloads{margin-left:auto;white-space:nowrap}
.downloads a{margin-left:12px;font-size:12px;font-weight:600;letter-spacing:.03em}
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:7px 12px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
thead th{background:var(--soft);font-weight:600;font-size:13px;color:var(--muted);white-space:nowrap}
tbody tr:nth-child(even){background:var(--zebra)}
tbody tr:last-child td{border-bottom:0}
tbody tr:hover{background:#eef4fc}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.caption{color:var(--muted);font-size:13.5px;margin:8px 0 0}
.sample{border:1px solid var(--line);border-radius:8px;margin:0 0 16px;overflow:hidden}
.prompt{background:var(--soft);padding:10px 14px;border-bottom:1px solid var(--line)}
.label{display:block;color:var(--muted);font-size:11.5px;font-weight:600;letter-spacing:.05em;text-transform:uppercase;margin-bottom:2px}
.responses{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}
.response{padding:10px 14px;border-top:1px solid var(--line);border-left:1px solid var(--line);margin:-1px 0 0 -1px;min-width:0}
.policy{display:flex;justify-content:space-between;align-items:center;gap:8px;font-size:13px;font-weight:600;margin-bottom:4px}
.reward{font-weight:600;font-size:12px;font-variant-numeric:tabular-nums;background:#ddf4ff;color:#0550ae;border-radius:999px;padding:1px 8px}
.reward.neg{background:#ffebe9;color:#a40e26}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.5}
.sample pre{font-family:inherit;font-size:14.5px}
.text p,.text ul{margin:0 0 10px}
footer{border-top:1px solid var(--line);margin-top:48px;padding-top:12px;padding-bottom:32px;color:var(--muted);font-size:13px}
@media (max-width:640px){.wrap{padding:0 14px}h1{font-size:23px}.toc ol{columns:1}}
@media print{.toc,.downloads{display:none}.sample,.chart{break-inside:avoid}}
`.trim();
