// Verdict's only script. Every page works without it; it adds confirmation
// before closing a run or revoking a token, and on the run page saving
// without a reload and keyboard shortcuts for working down a long run:
// j/k (or the arrows) move, p/f/b/r/n mark the current result and move to
// the next untested one, u undoes this tester's last mark, Enter edits the
// note, / searches, ? shows the help. Keys act only when no text field has
// the focus, so typing a note never marks anything.
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
  // True once every result on the page is tested: marks wait for j/k.
  let done = false;
  // Rows whose save is on its way: they count as tested already.
  const pending = new Set();
  // This tester's marks on this page, newest last, each with what the
  // result held before it: `u` records that again (a new execution).
  const marks = [];

  const say = (text) => { if (live) live.textContent = text; };

  // The current row is highlighted and is the one Tab reaches (a roving
  // tabindex), so keyboard users and screen readers land in one place.
  function setCurrent(i, focus) {
    if (i < 0 || i >= rows.length) return false;
    done = false;
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

  const untested = (r) => r.dataset.status === 'not_tested' && !pending.has(r);

  // The next result not tested yet after row `i`, from the top again past
  // the end; -1 when there is none on this page.
  function nextUntested(i) {
    for (let k = 1; k <= rows.length; k++) {
      const j = (i + k) % rows.length;
      if (j !== i && untested(rows[j])) return j;
    }
    return -1;
  }

  // Start where a tester picks up: the first result not tested yet.
  const start = rows.findIndex(untested);
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

  function apply(row, data, sent) {
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
    // What the result holds now is shown read-only; the fields empty again
    // (unless the tester typed more since), so the next click records only
    // what is typed then.
    const shown = row.querySelector('div.current');
    if (shown && data.current_html !== undefined) shown.outerHTML = data.current_html;
    Object.entries(sent || {}).forEach(([name, value]) => {
      const field = row.querySelector('[name=' + name + ']');
      if (field && field.value === value) field.value = '';
    });
    const error = row.querySelector('.field-error');
    if (error) error.remove();
    const summary = document.getElementById('summary');
    if (summary) summary.innerHTML = data.summary_html;
    const progress = document.getElementById('progress-text');
    say(result.test_case_title + ': ' + data.status_label + '. ' + (progress ? progress.textContent : ''));
  }

  // Saves run one after another, in the order they were asked for, so the
  // last key pressed is the status that stays. `restore` (an undo) gives
  // the note and elapsed to send instead of what the fields hold.
  let queue = Promise.resolve();
  function save(row, status, restore) {
    const form = row.querySelector('form.record');
    if (!form) return;
    const body = new URLSearchParams(new FormData(form));
    body.set('status', status);
    const sent = {};
    if (restore) {
      body.set('note', restore.note || '');
      body.set('elapsed', '');
      body.set('elapsed_ms', restore.elapsed_ms === null || restore.elapsed_ms === undefined
        ? '' : String(restore.elapsed_ms));
    } else {
      ['note', 'elapsed'].forEach((name) => { sent[name] = body.get(name) || ''; });
    }
    row.setAttribute('aria-busy', 'true');
    pending.add(row);
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
          apply(row, json.data, sent);
          if (!restore && json.data.previous) marks.push({ row, previous: json.data.previous });
          if (restore) say(json.data.result.test_case_title + ': undone, ' + json.data.status_label + ' again.');
        }
      })
      .catch(() => showError(row, 'Could not reach the server; nothing was saved.'))
      .finally(() => {
        pending.delete(row);
        row.removeAttribute('aria-busy');
      });
  }

  // `u`: the tester's own last mark on this page is undone by recording
  // what the result held before it (status, note, elapsed) as a new
  // execution, so the history keeps both. Waits for saves on their way.
  function undo() {
    queue = queue.then(() => {
      const last = marks.pop();
      if (!last) {
        say('Nothing to undo.');
        return;
      }
      setCurrent(rows.indexOf(last.row), true);
      save(last.row, last.previous.status, last.previous);
    });
  }

  // A click on a status button (or "Save note") saves in place.
  table.addEventListener('submit', (e) => {
    const form = e.target;
    if (!form.matches('form.record')) return;
    e.preventDefault();
    const row = form.closest('tr.result');
    setCurrent(rows.indexOf(row), false);
    save(row, e.submitter ? e.submitter.value : row.dataset.status);
  });

  // Ctrl+Enter in a note saves it (Enter alone is a new line).
  table.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey) || e.target.tagName !== 'TEXTAREA') return;
    const form = e.target.form;
    const keep = form && form.querySelector('button.save');
    if (keep) {
      e.preventDefault();
      form.requestSubmit(keep);
    }
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
      case 'Enter': {
        // From the row or from nowhere in particular (not from a link or
        // a button, which Enter activates).
        const idle = !el || el === document.body || el === document.documentElement;
        if ((el === row || idle) && editable) {
          const note = row.querySelector('textarea[name=note]');
          if (note) {
            e.preventDefault();
            note.focus();
          }
        }
        return;
      }
      case 'u':
        if (editable) {
          e.preventDefault();
          undo();
        }
        return;
      default:
        break;
    }
    const status = KEYS[e.key];
    if (!status || !editable || done) return;
    e.preventDefault();
    save(row, status);
    // On to the next result nobody has tested: never onto a colleague's.
    const next = nextUntested(current);
    if (next >= 0) {
      setCurrent(next, true);
    } else {
      done = true;
      rows[current].classList.remove('current');
      const more = document.querySelector('.pager a[rel=next]');
      if (more) more.focus();
      say('No untested results left on this page.');
    }
  });
})();
