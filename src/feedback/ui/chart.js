// Small inline-SVG charts for the dashboard (no chart library). Labels are SVG text nodes.
import { h, s } from './dom.js';

/**
 * Grouped bar chart: one group per dimension, one bar per model, values on a 1–5 scale.
 * data: { groups: string[], series: string[], values: number[][] (group × series), errors?: number[][] }
 */
export function groupedBars({ groups, series, values, errors, max = 5, title, width = 720 }) {
  const W = Math.round(width);
  const H = W < 500 ? 240 : 300;
  const m = { top: 16, right: 12, bottom: 44, left: 34 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const gw = iw / Math.max(1, groups.length);
  const bw = Math.min(46, (gw * 0.72) / Math.max(1, series.length));
  const y = (v) => m.top + ih - (ih * v) / max;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title ?? 'chart' });
  for (let t = 0; t <= max; t++) {
    svg.append(s('line', { x1: m.left, x2: W - m.right, y1: y(t), y2: y(t), class: t === 0 ? 'axis' : 'grid' }));
    svg.append(s('text', { x: m.left - 8, y: y(t) + 4, class: 'tick', 'text-anchor': 'end' }, String(t)));
  }
  groups.forEach((g, gi) => {
    const gx = m.left + gi * gw + (gw - bw * series.length) / 2;
    series.forEach((name, si) => {
      const v = values[gi][si];
      if (v === null || v === undefined) return;
      const x = gx + si * bw;
      const bar = s('rect', { x: x + 2, y: y(v), width: Math.max(1, bw - 4), height: Math.max(0, y(0) - y(v)), rx: 4, class: `bar series-${si % 6}` });
      bar.append(s('title', null, `${name} · ${g}: ${v.toFixed(2)}`));
      svg.append(bar);
      const err = errors?.[gi]?.[si];
      if (err) {
        const cx = x + bw / 2;
        svg.append(s('line', { x1: cx, x2: cx, y1: y(Math.min(max, v + err)), y2: y(Math.max(0, v - err)), class: 'errbar' }));
      }
      svg.append(s('text', { x: x + bw / 2, y: y(v) - 5, class: 'value', 'text-anchor': 'middle' }, v.toFixed(1)));
    });
    const name = g.replace(/_/g, ' ');
    const maxChars = Math.max(4, Math.floor(gw / 7.5));
    svg.append(s('text', { x: m.left + gi * gw + gw / 2, y: H - m.bottom + 20, class: 'label', 'text-anchor': 'middle' }, name.length > maxChars ? `${name.slice(0, maxChars - 1)}…` : name, s('title', null, name)));
  });
  return h('figure', { class: 'chart-wrap' }, svg, legend(series));
}

export function legend(series) {
  return h('figcaption', { class: 'legend' }, series.map((name, i) => h('span', { class: 'legend-item' }, h('span', { class: `swatch series-${i % 6}` }), name)));
}

/** Horizontal bars: rows [{ label, value, display, cls }], value in [0, max]. */
export function hbars(rows, { max = 1 } = {}) {
  return h('div', { class: 'hbars' }, rows.map((r) =>
    h('div', { class: 'hbar-row' },
      h('div', { class: 'hbar-label' }, r.label),
      h('div', { class: 'hbar-track' }, h('div', { class: ['hbar-fill', r.cls], style: { width: `${Math.max(0, Math.min(100, (100 * r.value) / (max || 1))).toFixed(1)}%` } })),
      h('div', { class: 'hbar-value' }, r.display ?? String(r.value)))));
}

/** Win-rate matrix: row model's win rate against column model, colored from red (0) through grey to green (1). */
export function winMatrix(winRates) {
  const models = [...new Set(winRates.flatMap((w) => [w.model, w.opponent]))].sort();
  const get = (a, b) => winRates.find((w) => w.model === a && w.opponent === b);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'matrix' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'row beats column'), models.map((m) => h('th', { scope: 'col' }, m)))),
    h('tbody', null, models.map((a) => h('tr', null, h('th', { scope: 'row' }, a), models.map((b) => {
      if (a === b) return h('td', { class: 'diag' }, '—');
      const w = get(a, b);
      if (!w || w.winRate === null) return h('td', { class: 'empty-cell' }, '·');
      const hue = Math.round(w.winRate * 140);
      return h('td', { class: 'heat', style: { '--heat-hue': String(hue) }, title: `${w.wins} wins, ${w.losses} losses, ${w.ties} ties, ${w.bothBad} both bad` },
        h('strong', null, `${Math.round(w.winRate * 100)}%`), h('span', { class: 'small' }, `${w.wins}–${w.losses}${w.ties ? ` · ${w.ties}=` : ''}`));
    }))))));
}

/** A ring showing a share (0–1). */
export function ring(share, label) {
  const r = 26;
  const c = 2 * Math.PI * r;
  const pct = Math.max(0, Math.min(1, share));
  return s('svg', { viewBox: '0 0 64 64', width: '64', height: '64', class: 'ring', role: 'img', 'aria-label': label },
    s('circle', { cx: 32, cy: 32, r, class: 'ring-track' }),
    s('circle', { cx: 32, cy: 32, r, class: 'ring-fill', 'stroke-dasharray': `${(c * pct).toFixed(2)} ${c.toFixed(2)}`, transform: 'rotate(-90 32 32)' }),
    s('text', { x: 32, y: 37, 'text-anchor': 'middle', class: 'ring-text' }, `${Math.round(pct * 100)}%`));
}
