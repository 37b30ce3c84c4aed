// Verdict's only script. Every page works without it; it adds confirmation
// before closing a run or revoking a token, and on the run page saving
// without a reload and keyboard shortcuts for working down a long run:
// j/k (or the arrows) move, p/f/b/r/n mark the current result and move to
// the next, Enter edits the note, / searches, ? shows the help.
(() => {
  'use strict';

  document.addEventListener('submit', (e) => {
    const message = e.target.dataset && e.target.dataset.confirm;
    if (message && !window.confirm(message)) e.preventDefault();
  });

  const table = document.getElementById('results');
  if (!table) return;
  const rows = Array.from(table.querySelectorAll('tbody tr.result'));
  const editable = table.dataset.editable === 'true';
  const live = document.getElementById('live');
  const help = document.getElementById('shortcuts');
  const search = document.getElementById('search');
  const KEYS = { p: 'passed', f: 'failed', b: 'blocked', r: 'retest', n: 'not_tested' };
  let current = -1;

  const say = (text) => { if (live) live.textContent = text; };

  // The current row is highlighted and is the one Tab reaches (a roving
  // tabindex), so keyboard users and screen readers land in one place.
  function setCurrent(i, focus) {
    if (i < 0 || i >= rows.length) return false;
    if (current >= 0) {
      rows[current].classList.remove('current');
      rows[current].tabIndex = -1;
    }
    current = i;
    const row = rows[i];
    row.classList.add('current');
    row.tabIndex = 0;
    if (focus) row.focus();
    return true;
  }

  // Start where a tester picks up: the first result not tested yet.
  const start = rows.findIndex((r) => r.dataset.status === 'not_tested');
  setCurrent(start >= 0 ? start : 0, false);

  function showError(row, message) {
    row.classList.add('failed-save');
    let box = row.querySelector('.field-error');
    const form = row.querySelector('form.record');
    if (!box && form) {
      box = document.createElement('p');
      box.className = 'field-error';
      box.setAttribute('role', 'alert');
      form.appendChild(box);
    }
    if (box) box.textContent = message;
    say(message);
  }

  function apply(row, data) {
    const result = data.result;
    row.dataset.status = result.status;
    row.classList.remove('failed-save');
    row.querySelector('td.status').innerHTML = data.status_html;
    const tested = row.querySelector('td.tested');
    if (tested) tested.innerHTML = data.tested_html;
    row.querySelectorAll('button.mark').forEach((b) => {
      b.setAttribute('aria-pressed', String(b.value === result.status));
    });
    const keep = row.querySelector('button.save');
    if (keep) keep.value = result.status;
    // Show what was stored, unless the tester is typing there right now.
    const note = row.querySelector('input[name=note]');
    if (note && document.activeElement !== note) note.value = result.note || '';
    const elapsed = row.querySelector('input[name=elapsed]');
    if (elapsed && document.activeElement !== elapsed) {
      elapsed.value = result.elapsed === null || result.elapsed === undefined ? '' : result.elapsed;
    }
    const error = row.querySelector('.field-error');
    if (error) error.remove();
    const summary = document.getElementById('summary');
    if (summary) summary.innerHTML = data.summary_html;
    const progress = document.getElementById('progress-text');
    say(result.test_case_title + ': ' + data.status_label + '. ' + (progress ? progress.textContent : ''));
  }

  // Saves run one after another, in the order they were asked for, so the
  // last key pressed is the status that stays.
  let queue = Promise.resolve();
  function save(row, status) {
    const form = row.querySelector('form.record');
    if (!form) return;
    const body = new URLSearchParams(new FormData(form));
    body.set('status', status);
    row.setAttribute('aria-busy', 'true');
    queue = queue
      .then(() => fetch(form.action, {
        method: 'POST',
        body,
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      }))
      .then((res) => res.json().catch(() => ({})).then((json) => ({ res, json })))
      .then(({ res, json }) => {
        if (res.status === 401) {
          window.location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
        } else if (!res.ok) {
          showError(row, (json.error && json.error.message) || 'Could not save (' + res.status + ').');
        } else {
          apply(row, json.data);
        }
      })
      .catch(() => showError(row, 'Could not reach the server; nothing was saved.'))
      .finally(() => row.removeAttribute('aria-busy'));
  }

  // A click on a status button (or Enter in the note) saves in place.
  table.addEventListener('submit', (e) => {
    const form = e.target;
    if (!form.matches('form.record')) return;
    e.preventDefault();
    const row = form.closest('tr.result');
    setCurrent(rows.indexOf(row), false);
    save(row, e.submitter ? e.submitter.value : row.dataset.status);
  });

  table.addEventListener('focusin', (e) => {
    const row = e.target.closest('tr.result');
    if (row && rows.indexOf(row) !== current) setCurrent(rows.indexOf(row), false);
  });

  function typing(el) {
    if (!el) return false;
    if (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
    return el.tagName === 'INPUT' && !/^(button|submit|checkbox|radio|hidden)$/.test(el.type);
  }

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const el = document.activeElement;
    if (typing(el)) {
      if (e.key === 'Escape') {
        const row = el.closest('tr.result');
        e.preventDefault();
        if (row) setCurrent(rows.indexOf(row), true);
        else el.blur();
      }
      return;
    }
    if (e.key === '?') {
      e.preventDefault();
      if (help) {
        help.open = !help.open;
        if (help.open) help.querySelector('summary').focus();
      }
      return;
    }
    if (e.key === '/') {
      if (search) {
        e.preventDefault();
        search.focus();
        search.select();
      }
      return;
    }
    if (current < 0) return;
    const row = rows[current];
    const onRow = el && row.contains(el);
    switch (e.key) {
      case 'j':
      case 'ArrowDown':
        e.preventDefault();
        // From elsewhere on the page, the first press goes to the current row.
        if (onRow) setCurrent(current + 1, true); else setCurrent(current, true);
        return;
      case 'k':
      case 'ArrowUp':
        e.preventDefault();
        if (onRow) setCurrent(current - 1, true); else setCurrent(current, true);
        return;
      case 'Enter':
        if (el === row && editable) {
          const note = row.querySelector('input[name=note]');
          if (note) {
            e.preventDefault();
            note.focus();
          }
        }
        return;
      default:
        break;
    }
    const status = KEYS[e.key];
    if (!status || !editable) return;
    e.preventDefault();
    save(row, status);
    if (!setCurrent(current + 1, true)) {
      const next = document.querySelector('.pager a[rel=next]');
      if (next) next.focus();
      say('That was the last result on this page.');
    }
  });
})();
