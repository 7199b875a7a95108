// The studio's single-page app: sign-in, the task list, "my labels", and routing to the labelling
// and admin views. Routes live in the URL hash: #/, #/label/TASK, #/mine, #/admin, #/admin/task/TASK,
// #/admin/new, #/admin/people, and #/signin/TOKEN (the personal sign-in link).
import { ApiError, api, clearToken, getToken, setToken } from './api.js';
import { KIND_INFO, emptyState, h, kbd, kindPill, logo, mount, progressBar, timeAgo, toast } from './dom.js';
import { renderLabel } from './label.js';
import { renderDashboard, renderNewTask, renderPeople, renderTaskDetail } from './admin.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const userBox = document.getElementById('user');

/** The view's keyboard handler (set by each view, cleared on navigation). */
let keyHandler = null;
export function setKeys(fn) {
  keyHandler = fn;
}

let me = null;

function renderNav(route) {
  const links = [['#/', 'Label', route === 'home' || route === 'label'], ['#/mine', 'My labels', route === 'mine']];
  if (me?.role === 'admin') {
    links.push(['#/admin', 'Dashboard', route === 'dashboard' || route === 'task'], ['#/admin/new', 'New task', route === 'new'], ['#/admin/people', 'People', route === 'people']);
  }
  mount(nav, me ? links.map(([href, text, active]) => h('a', { href, class: active ? 'active' : null, 'aria-current': active ? 'page' : null }, text)) : []);
  mount(userBox, me
    ? [h('span', { class: 'avatar', 'aria-hidden': 'true' }, me.name.slice(0, 1).toUpperCase()), h('span', { class: 'user-name' }, me.name),
       h('button', { class: 'btn ghost small', type: 'button', onclick: signOut, title: 'Sign out of this browser' }, 'Sign out')]
    : []);
}

function signOut() {
  clearToken();
  me = null;
  location.hash = '#/';
  render();
}

// ---- sign-in ------------------------------------------------------------------------------------

function renderSignIn(message) {
  setKeys(null);
  renderNav('signin');
  const input = h('input', { id: 'token', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'Paste your sign-in link or token', 'aria-label': 'Sign-in link or token' });
  const submit = (e) => {
    e.preventDefault();
    const v = input.value.trim();
    const m = /#\/signin\/(.+)$/.exec(v);
    const token = m ? decodeURIComponent(m[1]) : v;
    if (!token) return;
    setToken(token);
    location.hash = '#/';
    render();
  };
  mount(main,
    h('section', { class: 'signin' },
      h('div', { class: 'card signin-card' },
        h('div', { class: 'signin-logo' }, logo()),
        h('h1', null, 'Welcome to rlhf studio'),
        h('p', { class: 'muted' }, 'Judge model outputs; your labels teach the next model. Open the personal link your admin sent you, or paste it here.'),
        message ? h('p', { class: 'notice error', role: 'alert' }, message) : null,
        h('form', { class: 'stack', onsubmit: submit }, input, h('button', { class: 'btn primary wide', type: 'submit' }, 'Sign in')),
        h('p', { class: 'fine' }, 'Keyboard-first: once you are in, press ', kbd('?'), ' for shortcuts.'))));
  input.focus();
}

// ---- home: the tasks ----------------------------------------------------------------------------

async function renderHome() {
  renderNav('home');
  const { tasks } = await api.get('/api/tasks');
  const open = tasks.filter((t) => t.remaining > 0);
  const cards = tasks.map((t, i) => {
    const total = t.mine + t.remaining;
    return h('a', { class: ['card task-card', t.remaining === 0 && 'finished'], href: `#/label/${encodeURIComponent(t.name)}` },
      h('div', { class: 'task-card-top' }, kindPill(t.kind), i < 9 ? kbd(String(i + 1)) : null),
      h('h3', null, t.title),
      h('p', { class: 'muted clamp' }, t.instructions || KIND_INFO[t.kind]?.blurb || ''),
      progressBar(t.mine, total),
      h('div', { class: 'task-card-foot' },
        h('span', null, h('strong', null, String(t.mine)), ' labelled'),
        h('span', { class: 'muted' }, t.remaining === 0 ? 'all done ✓' : `${t.remaining} waiting`)));
  });
  mount(main,
    h('section', { class: 'page' },
      h('header', { class: 'page-head' },
        h('div', null, h('h1', null, `Hi ${me.name}`), h('p', { class: 'muted' }, open.length ? `${open.reduce((a, t) => a + t.remaining, 0)} items are waiting for you.` : 'Nothing is waiting for you right now.')),
        open.length ? h('a', { class: 'btn primary', href: `#/label/${encodeURIComponent(open[0].name)}` }, 'Start labelling ', kbd('↵')) : null),
      tasks.length ? h('div', { class: 'grid tasks' }, cards) : emptyState('No tasks yet', me.role === 'admin' ? 'Create one from a JSONL file or with live generation.' : 'Your admin has not created any task yet.', me.role === 'admin' ? h('a', { class: 'btn primary', href: '#/admin/new' }, 'New task') : null)));
  setKeys((e) => {
    if (e.key === 'Enter' && open.length) location.hash = `#/label/${encodeURIComponent(open[0].name)}`;
    else if (/^[1-9]$/.test(e.key) && tasks[Number(e.key) - 1]) location.hash = `#/label/${encodeURIComponent(tasks[Number(e.key) - 1].name)}`;
    else return false;
    return true;
  });
}

// ---- my labels ----------------------------------------------------------------------------------

function valueChips(kind, v) {
  if (kind === 'pairwise') {
    const text = v.choice === 'tie' ? 'Tie' : v.choice === 'both_bad' ? 'Both bad' : `${v.choice} better`;
    return [h('span', { class: `chip choice-${v.choice}` }, text), v.reason ? h('span', { class: 'chip soft' }, `“${v.reason}”`) : null];
  }
  if (kind === 'rating') return [...Object.entries(v.scores).map(([d, n]) => h('span', { class: 'chip' }, `${d} ${n}`)), v.comment ? h('span', { class: 'chip soft' }, `“${v.comment}”`) : null];
  if (kind === 'ranking') return [h('span', { class: 'chip' }, v.ranking.join(' › '))];
  return [h('span', { class: 'chip' }, v.edited ? 'edited' : 'kept draft'), h('span', { class: 'chip soft' }, `${v.text.length} chars`)];
}

async function renderMine() {
  renderNav('mine');
  const { labels } = await api.get('/api/my/labels?limit=200');
  mount(main,
    h('section', { class: 'page' },
      h('header', { class: 'page-head' }, h('div', null, h('h1', null, 'My labels'), h('p', { class: 'muted' }, 'Only you (and your admin) can see these.'))),
      labels.length
        ? h('ol', { class: 'history' }, labels.map((l) =>
            h('li', { class: 'card history-row' },
              h('div', { class: 'history-meta' }, kindPill(l.kind), h('span', { class: 'muted' }, l.taskTitle), h('span', { class: 'muted small' }, timeAgo(l.createdAt))),
              h('p', { class: 'history-prompt' }, l.prompt),
              h('div', { class: 'chips' }, valueChips(l.kind, l.value)))))
        : emptyState('No labels yet', 'Pick a task and your judgments will show up here.', h('a', { class: 'btn primary', href: '#/' }, 'Go to tasks'))));
  setKeys(null);
}

// ---- shortcuts overlay --------------------------------------------------------------------------

const SHORTCUTS = [
  ['Pairwise', [['1', 'A is better'], ['2', 'B is better'], ['3', 'Tie'], ['4', 'Both bad'], ['R', 'Write a reason'], ['↵', 'Submit']]],
  ['Rating', [['↑ ↓', 'Previous / next dimension'], ['1–5', 'Score (moves on)'], ['← →', 'Lower / raise score'], ['C', 'Comment'], ['↵', 'Submit']]],
  ['Ranking', [['↑ ↓', 'Choose a response'], ['Shift ↑ ↓', 'Move it up / down'], ['1–9', 'Choose response by position'], ['↵', 'Submit']]],
  ['Write / edit', [['Ctrl ↵', 'Submit'], ['Esc', 'Leave the text box']]],
  ['Anywhere', [['S', 'Skip this item'], ['?', 'This help'], ['Esc', 'Close']]],
];

function toggleHelp(force) {
  let el = document.getElementById('help');
  if (el && force !== true) {
    el.remove();
    return;
  }
  if (el) return;
  el = h('div', { id: 'help', class: 'overlay', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Keyboard shortcuts', onclick: (e) => e.target === el && el.remove() },
    h('div', { class: 'card help' },
      h('div', { class: 'help-head' }, h('h2', null, 'Keyboard shortcuts'), h('button', { class: 'btn ghost small', type: 'button', onclick: () => el.remove() }, 'Close ', kbd('Esc'))),
      h('div', { class: 'help-grid' }, SHORTCUTS.map(([title, keys]) =>
        h('div', null, h('h3', null, title), h('dl', null, keys.flatMap(([k, d]) => [h('dt', null, k.split(' ').map((x) => kbd(x))), h('dd', null, d)])))))));
  document.body.append(el);
}

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && document.getElementById('help')) {
    toggleHelp();
    e.preventDefault();
    return;
  }
  const t = e.target;
  const typing = t instanceof HTMLElement && (t.tagName === 'TEXTAREA' || (t.tagName === 'INPUT' && !['button', 'checkbox', 'radio'].includes(t.type)) || t.tagName === 'SELECT');
  if (!typing && e.key === '?') {
    toggleHelp();
    e.preventDefault();
    return;
  }
  if (document.getElementById('help') || e.defaultPrevented) return;
  if (keyHandler && keyHandler(e) === true) e.preventDefault();
});

// ---- router -------------------------------------------------------------------------------------

async function render() {
  const hash = location.hash || '#/';
  const signin = /^#\/signin\/(.+)$/.exec(hash);
  if (signin) {
    setToken(decodeURIComponent(signin[1]));
    history.replaceState(null, '', `${location.pathname}#/`);
    me = null;
  }
  if (!getToken()) return renderSignIn();
  try {
    if (!me) me = (await api.get('/api/me')).user;
    const parts = (location.hash || '#/').slice(2).split('/').map(decodeURIComponent);
    setKeys(null);
    window.scrollTo(0, 0);
    if (parts[0] === 'label' && parts[1]) {
      renderNav('label');
      await renderLabel(main, parts[1], { setKeys });
    } else if (parts[0] === 'mine') await renderMine();
    else if (parts[0] === 'admin' && me.role === 'admin') {
      if (parts[1] === 'task' && parts[2]) (renderNav('task'), await renderTaskDetail(main, parts[2], { setKeys }));
      else if (parts[1] === 'new') (renderNav('new'), await renderNewTask(main, { setKeys }));
      else if (parts[1] === 'people') (renderNav('people'), await renderPeople(main, { setKeys }));
      else (renderNav('dashboard'), await renderDashboard(main, { setKeys }));
    } else await renderHome();
    document.title = `${document.querySelector('main h1')?.textContent ?? 'Studio'} · rlhf studio`;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      clearToken();
      me = null;
      return renderSignIn(err.message);
    }
    mount(main, h('section', { class: 'page' }, emptyState('Something went wrong', err.message, h('button', { class: 'btn', type: 'button', onclick: () => render() }, 'Try again'))));
    toast(err.message, 'error');
  }
}

window.addEventListener('hashchange', () => {
  document.getElementById('help')?.remove();
  render();
});
render();
