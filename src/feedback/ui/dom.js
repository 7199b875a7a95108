// DOM helpers. Everything user- or model-written goes into the page as text (textContent, or a
// text node), never as HTML: there is no innerHTML anywhere in the studio's UI.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('div', { class: 'card', onclick: fn, style: { width: '3px' } }, 'text', child, [more])
 * Strings become text nodes; null/false children are skipped; `on*` props become listeners.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

/** Same as h() for SVG elements. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

function applyProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'style') for (const [p, pv] of Object.entries(v)) el.style.setProperty(p, String(pv));
    else if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A keyboard-key badge. */
export function kbd(label) {
  return h('kbd', null, label);
}

let toastTimer = 0;
/** A short message at the bottom of the screen ("Saved", an error …). */
export function toast(message, kind = 'ok') {
  let el = document.getElementById('toast');
  if (!el) {
    el = h('div', { id: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.append(el);
  }
  el.className = `toast show ${kind}`;
  el.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), kind === 'error' ? 6000 : 1600);
}

export function timeAgo(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

/** A horizontal progress bar with an accessible value. */
export function progressBar(done, total, extraClass) {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return h('div', { class: ['progress', extraClass], role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(total), 'aria-valuenow': String(done) },
    h('div', { class: 'progress-fill', style: { width: `${pct.toFixed(1)}%` } }));
}

export const KIND_INFO = {
  pairwise: { label: 'Pairwise', icon: '⇄', blurb: 'Compare two responses: A better, B better, tie, or both bad.' },
  rating: { label: 'Rating', icon: '★', blurb: 'Score one response from 1 to 5 on each dimension.' },
  ranking: { label: 'Ranking', icon: '☰', blurb: 'Order several responses from best to worst.' },
  edit: { label: 'Write / edit', icon: '✎', blurb: 'Write or improve a response: demonstrations for SFT.' },
};

export function kindPill(kind) {
  const k = KIND_INFO[kind] ?? { label: kind, icon: '•' };
  return h('span', { class: `pill kind-${kind}` }, h('span', { 'aria-hidden': 'true' }, k.icon), ' ', k.label);
}

/** Copies text; falls back to selecting it when the clipboard API is unavailable. */
export async function copyText(text, inputEl) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to clipboard');
  } catch {
    if (inputEl) {
      inputEl.focus();
      inputEl.select();
    }
    toast('Press Ctrl+C to copy');
  }
}

/** Whether a key event comes from a text field (shortcuts then stay out of the way). */
export function inTextField(e) {
  const t = e.target;
  return t instanceof HTMLElement && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && !['button', 'checkbox', 'radio'].includes(t.type)) || t.isContentEditable);
}

/**
 * Keys inside a text field on a labelling page: Ctrl/Cmd+Enter submits, Escape leaves the field,
 * anything else is typing. Returns true when the key was handled, false when it was typing, and
 * null when the event is not from a text field (the page's own shortcuts apply).
 */
export function textFieldKeys(e, submit) {
  if (!inTextField(e)) return null;
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) return submit(), true;
  if (e.key === 'Escape') return e.target.blur(), true;
  return false;
}

export function emptyState(title, text, action) {
  return h('div', { class: 'card empty' }, h('div', { class: 'empty-icon', 'aria-hidden': 'true' }, '✦'), h('h2', null, title), h('p', { class: 'muted' }, text), action);
}

export function logo() {
  return s('svg', { viewBox: '0 0 32 32', width: '28', height: '28', 'aria-hidden': 'true', class: 'logo' },
    s('rect', { x: '1', y: '1', width: '30', height: '30', rx: '9', class: 'logo-bg' }),
    s('path', { d: 'M9 20.5c2.2-5.5 4.4-8.3 7-8.3s4.8 2.8 7 8.3', class: 'logo-line' }),
    s('circle', { cx: '9', cy: '20.5', r: '2.2', class: 'logo-dot' }),
    s('circle', { cx: '23', cy: '20.5', r: '2.2', class: 'logo-dot' }),
    s('circle', { cx: '16', cy: '12.2', r: '2.2', class: 'logo-dot accent' }));
}
