// The labelling views, one per task kind, all keyboard-first. Responses are shown by letter only
// (A, B, …) in the random order the server chose; model names are never sent to the browser.
import { ApiError, api, submitLabel } from './api.js';
import { emptyState, h, inTextField, kbd, kindPill, mount, progressBar, textFieldKeys, toast } from './dom.js';

const SCORE_WORDS = ['', 'Poor', 'Weak', 'Okay', 'Good', 'Excellent'];
const PAIR_CHOICES = [
  { key: '1', value: 'A', label: 'A is better', icon: '◀' },
  { key: '2', value: 'B', label: 'B is better', icon: '▶' },
  { key: '3', value: 'tie', label: 'Tie', icon: '=' },
  { key: '4', value: 'both_bad', label: 'Both bad', icon: '✕' },
];

function responseCard(r, { selected, onclick, extra, cls } = {}) {
  return h('article', { class: ['card response', selected && 'selected', cls], onclick, 'data-letter': r.letter },
    cls === 'single' ? h('div', { class: 'eyebrow' }, 'Response') : h('header', { class: 'response-head' }, h('span', { class: 'letter' }, r.letter), extra ?? null),
    h('div', { class: 'text' }, r.text || h('span', { class: 'muted' }, '(empty response)')));
}

function promptCard(prompt) {
  return h('section', { class: 'card prompt' }, h('div', { class: 'eyebrow' }, 'Prompt'), h('div', { class: 'text' }, prompt));
}

export async function renderLabel(main, taskName, { setKeys }) {
  const path = `/api/tasks/${encodeURIComponent(taskName)}/next`;
  let data = await api.get(path);
  let busy = false;
  let shownAt = performance.now();

  const header = () => {
    const { task, progress } = data;
    const total = progress.mine + progress.remaining;
    return h('header', { class: 'label-head' },
      h('div', { class: 'label-title' },
        h('a', { class: 'back', href: '#/', 'aria-label': 'Back to tasks' }, '←'),
        h('div', null, h('h1', null, task.title), h('div', { class: 'label-sub' }, kindPill(task.kind), h('span', { class: 'muted small' }, `${task.perItem} annotator${task.perItem === 1 ? '' : 's'} per item`)))),
      h('div', { class: 'label-progress' },
        h('div', { class: 'label-count' }, h('strong', null, String(progress.mine)), ' done · ', h('span', null, `${progress.remaining} left`)),
        progressBar(progress.mine, total, 'thin')));
  };

  const guidelines = () => data.task.instructions
    ? h('details', { class: 'card guidelines', open: sessionStorage.getItem(`seen-guide-${taskName}`) ? null : true, ontoggle: () => sessionStorage.setItem(`seen-guide-${taskName}`, '1') },
        h('summary', null, 'Guidelines'), h('div', { class: 'text' }, data.task.instructions))
    : null;

  async function send(value) {
    if (busy) return;
    busy = true;
    main.querySelectorAll('.actions button').forEach((b) => (b.disabled = true));
    try {
      const r = await submitLabel(taskName, data.item.id, value, performance.now() - shownAt);
      toast('Saved ✓');
      data = r.next;
      draw();
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        toast(err.message, 'error');
        await next();
      } else {
        toast(err instanceof ApiError ? err.message : `Not saved: ${err.message}. Check your connection and press Enter again.`, 'error');
      }
    } finally {
      busy = false;
      main.querySelectorAll('.actions button').forEach((b) => (b.disabled = false));
    }
  }

  async function skip() {
    if (busy || !data.item) return;
    busy = true;
    try {
      const r = await api.post(`/api/tasks/${encodeURIComponent(taskName)}/skip`, { itemId: data.item.id });
      toast('Skipped');
      data = r.next;
      draw();
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      busy = false;
    }
  }

  async function next() {
    data = await api.get(path);
    draw();
  }

  function actions(submitLabelText, canSubmit, onSubmit, hint) {
    return h('div', { class: 'actions' },
      h('div', { class: 'hint' }, hint),
      h('div', { class: 'actions-buttons' },
        h('button', { class: 'btn ghost', type: 'button', onclick: skip, title: 'Skip this item (S)' }, 'Skip ', kbd('S')),
        h('button', { class: 'btn primary', type: 'button', id: 'submit', disabled: !canSubmit, onclick: onSubmit }, submitLabelText, ' ', kbd('↵'))));
  }

  function draw() {
    shownAt = performance.now();
    if (!data.item) {
      mount(main, h('section', { class: 'page label-page' }, header(),
        emptyState('You’re all caught up', data.progress.mine ? `You labelled ${data.progress.mine} item${data.progress.mine === 1 ? '' : 's'} in this task. Thank you!` : 'Nothing in this task is waiting for you.', h('a', { class: 'btn primary', href: '#/' }, 'Back to tasks'))));
      setKeys((e) => (e.key === 'Enter' ? ((location.hash = '#/'), true) : false));
      return;
    }
    const views = { pairwise: drawPairwise, rating: drawRating, ranking: drawRanking, edit: drawEdit };
    views[data.task.kind]();
    main.querySelector('.label-body')?.classList.add('enter');
  }

  // ---- pairwise -------------------------------------------------------------------------------

  function drawPairwise() {
    const { item } = data;
    let choice = null;
    const reason = h('textarea', { class: 'reason', rows: '2', maxlength: '4000', placeholder: 'Why? (optional) — press R to write, Ctrl+Enter to submit', 'aria-label': 'Reason (optional)' });
    const body = h('div', { class: 'label-body' });
    const paint = () => {
      mount(body,
        promptCard(item.prompt),
        h('div', { class: 'pair' }, item.responses.map((r) => responseCard(r, { selected: choice === r.letter, cls: (choice === 'tie' && 'tie') || (choice === 'both_bad' && 'bad'), onclick: () => pick(r.letter) }))),
        h('div', { class: 'choices', role: 'radiogroup', 'aria-label': 'Which response is better?' }, PAIR_CHOICES.map((c) =>
          h('button', { type: 'button', role: 'radio', 'aria-checked': String(choice === c.value), class: ['choice', `choice-${c.value}`, choice === c.value && 'selected'], onclick: () => pick(c.value) },
            kbd(c.key), h('span', { class: 'choice-icon', 'aria-hidden': 'true' }, c.icon), h('span', null, c.label)))),
        reason,
        actions('Submit', choice !== null, submit, [kbd('1'), kbd('2'), kbd('3'), kbd('4'), ' choose · ', kbd('←'), kbd('→'), ' A/B · ', kbd('R'), ' reason · ', kbd('?'), ' help']));
    };
    const pick = (v) => {
      choice = v;
      const keepFocus = document.activeElement === reason;
      paint();
      if (keepFocus) reason.focus();
    };
    const submit = () => (choice ? send(reason.value.trim() ? { choice, reason: reason.value } : { choice }) : toast('Pick 1, 2, 3 or 4 first', 'error'));
    mount(main, h('section', { class: 'page label-page' }, header(), guidelines(), body));
    paint();
    setKeys((e) => {
      const typed = textFieldKeys(e, submit);
      if (typed !== null) return typed;
      const c = PAIR_CHOICES.find((x) => x.key === e.key);
      if (c) return pick(c.value), true;
      if (e.key === 'ArrowLeft') return pick('A'), true;
      if (e.key === 'ArrowRight') return pick('B'), true;
      if (e.key === 'Enter') return submit(), true;
      if (e.key === 'r' || e.key === 'R') return reason.focus(), true;
      if (e.key === 's' || e.key === 'S') return skip(), true;
      return false;
    });
  }

  // ---- rating ---------------------------------------------------------------------------------

  function drawRating() {
    const { item, task } = data;
    const dims = task.dimensions;
    const scores = {};
    let active = 0;
    const comment = h('textarea', { class: 'reason', rows: '2', maxlength: '4000', placeholder: 'Comment (optional) — press C to write', 'aria-label': 'Comment (optional)' });
    const body = h('div', { class: 'label-body' });
    const paint = () => {
      const done = dims.filter((d) => scores[d]).length;
      mount(body,
        promptCard(item.prompt),
        responseCard(item.responses[0], { cls: 'single' }),
        h('section', { class: 'card scales' },
          h('div', { class: 'scales-head' }, h('div', { class: 'eyebrow' }, 'Rate the response'), h('span', { class: 'muted small' }, `${done}/${dims.length} scored`)),
          dims.map((d, i) =>
            h('div', { class: ['scale-row', i === active && 'active'], onclick: () => { active = i; paint(); } },
              h('div', { class: 'scale-name' }, h('span', null, d.replace(/_/g, ' ')), scores[d] ? h('span', { class: 'muted small' }, SCORE_WORDS[scores[d]]) : null),
              h('div', { class: 'scale', role: 'radiogroup', 'aria-label': d },
                [1, 2, 3, 4, 5].map((n) => h('button', { type: 'button', role: 'radio', 'aria-checked': String(scores[d] === n), 'aria-label': `${d} ${n}`, class: ['score', scores[d] === n && 'selected', scores[d] >= n && 'filled'], onclick: (e) => { e.stopPropagation(); set(i, n); } }, String(n))))))),
        comment,
        actions('Submit', done === dims.length, submit, [kbd('↑'), kbd('↓'), ' dimension · ', kbd('1'), '–', kbd('5'), ' score · ', kbd('←'), kbd('→'), ' adjust · ', kbd('C'), ' comment']));
    };
    const set = (i, n, advance = true) => {
      scores[dims[i]] = n;
      if (advance) {
        const nextMissing = dims.findIndex((d, j) => j > i && !scores[d]);
        active = nextMissing >= 0 ? nextMissing : Math.min(i + 1, dims.length - 1);
      }
      paint();
    };
    const submit = () => {
      const missing = dims.findIndex((d) => !scores[d]);
      if (missing >= 0) {
        active = missing;
        paint();
        return toast(`Score “${dims[missing]}” first`, 'error');
      }
      const value = { scores: { ...scores } };
      if (comment.value.trim()) value.comment = comment.value;
      send(value);
    };
    mount(main, h('section', { class: 'page label-page' }, header(), guidelines(), body));
    paint();
    setKeys((e) => {
      const typed = textFieldKeys(e, submit);
      if (typed !== null) return typed;
      if (/^[1-5]$/.test(e.key)) return set(active, Number(e.key)), true;
      if (e.key === 'ArrowDown') return (active = Math.min(dims.length - 1, active + 1)), paint(), true;
      if (e.key === 'ArrowUp') return (active = Math.max(0, active - 1)), paint(), true;
      if (e.key === 'ArrowRight') return set(active, Math.min(5, (scores[dims[active]] ?? 0) + 1), false), true;
      if (e.key === 'ArrowLeft') return set(active, Math.max(1, (scores[dims[active]] ?? 2) - 1), false), true;
      if (e.key === 'Enter') return submit(), true;
      if (e.key === 'c' || e.key === 'C') return comment.focus(), true;
      if (e.key === 's' || e.key === 'S') return skip(), true;
      return false;
    });
  }

  // ---- ranking --------------------------------------------------------------------------------

  function drawRanking() {
    const { item } = data;
    const byLetter = new Map(item.responses.map((r) => [r.letter, r]));
    const order = item.responses.map((r) => r.letter);
    let cursor = 0;
    const body = h('div', { class: 'label-body' });
    const move = (from, to) => {
      if (to < 0 || to >= order.length) return;
      const [x] = order.splice(from, 1);
      order.splice(to, 0, x);
      cursor = to;
      paint();
    };
    const paint = () => {
      mount(body,
        promptCard(item.prompt),
        h('div', { class: 'eyebrow rank-hint' }, 'Best at the top — move responses with Shift + ↑/↓ or the arrows'),
        h('ol', { class: 'ranking' }, order.map((l, i) =>
          h('li', { class: ['rank-row', i === cursor && 'active'], onclick: () => { cursor = i; paint(); } },
            h('div', { class: 'rank-pos', 'aria-label': `Rank ${i + 1}` }, String(i + 1)),
            responseCard(byLetter.get(l), { extra: h('div', { class: 'rank-buttons' },
              h('button', { type: 'button', class: 'btn icon', 'aria-label': `Move ${l} up`, disabled: i === 0, onclick: (e) => { e.stopPropagation(); move(i, i - 1); } }, '▲'),
              h('button', { type: 'button', class: 'btn icon', 'aria-label': `Move ${l} down`, disabled: i === order.length - 1, onclick: (e) => { e.stopPropagation(); move(i, i + 1); } }, '▼')) })))),
        actions('Submit ranking', true, submit, [kbd('↑'), kbd('↓'), ' choose · ', kbd('Shift'), '+', kbd('↑'), kbd('↓'), ' move · ', kbd('↵'), ' submit']));
      body.querySelector('.rank-row.active')?.scrollIntoView({ block: 'nearest' });
    };
    const submit = () => send({ ranking: [...order] });
    mount(main, h('section', { class: 'page label-page' }, header(), guidelines(), body));
    paint();
    setKeys((e) => {
      if (inTextField(e)) return false;
      if (e.key === 'ArrowUp' && e.shiftKey) return move(cursor, cursor - 1), true;
      if (e.key === 'ArrowDown' && e.shiftKey) return move(cursor, cursor + 1), true;
      if (e.key === 'ArrowUp') return (cursor = Math.max(0, cursor - 1)), paint(), true;
      if (e.key === 'ArrowDown') return (cursor = Math.min(order.length - 1, cursor + 1)), paint(), true;
      if (/^[1-9]$/.test(e.key) && Number(e.key) <= order.length) return (cursor = Number(e.key) - 1), paint(), true;
      if (e.key === 'Enter') return submit(), true;
      if (e.key === 's' || e.key === 'S') return skip(), true;
      return false;
    });
  }

  // ---- write / edit ---------------------------------------------------------------------------

  function drawEdit() {
    const { item } = data;
    const draft = item.responses[0]?.text ?? '';
    const area = h('textarea', { class: 'editor', rows: '12', maxlength: '100000', placeholder: 'Write the response you would want the model to give…', 'aria-label': 'Your response', spellcheck: 'true' });
    area.value = draft;
    const count = h('span', { class: 'muted small' });
    const updateCount = () => {
      count.textContent = `${area.value.length} characters${draft && area.value !== draft ? ' · edited' : ''}`;
    };
    area.addEventListener('input', updateCount);
    updateCount();
    const submit = () => (area.value.trim() ? send({ text: area.value }) : toast('Write a response first', 'error'));
    mount(main, h('section', { class: 'page label-page' }, header(), guidelines(),
      h('div', { class: 'label-body' },
        promptCard(item.prompt),
        h('section', { class: 'card editor-card' },
          h('div', { class: 'scales-head' }, h('div', { class: 'eyebrow' }, draft ? 'Improve the draft' : 'Write the ideal response'), count),
          area,
          draft ? h('button', { type: 'button', class: 'btn ghost small', onclick: () => { area.value = draft; updateCount(); area.focus(); } }, 'Reset to draft') : null),
        actions('Submit', true, submit, [kbd('Ctrl'), '+', kbd('↵'), ' submit · ', kbd('Esc'), ' leave the text box · ', kbd('S'), ' skip']))));
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    setKeys((e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) return submit(), true;
      if (inTextField(e)) {
        if (e.key === 'Escape') return e.target.blur(), true;
        return false;
      }
      if (e.key === 'Enter') return submit(), true;
      if (e.key === 'e' || e.key === 'E') return area.focus(), true;
      if (e.key === 's' || e.key === 'S') return skip(), true;
      return false;
    });
  }

  draw();
}
