// Verdict's only script. Every page works without it (destructive actions
// ask on a page of their own); it adds, on the run page, selecting a
// result and saving without a reload, a Print button, and keyboard
// shortcuts for working down a long run: j/k (or the arrows) select the
// next or previous result (its detail follows), p/f/b/r/n mark the current
// result and move to the next untested one, u undoes this tester's last
// mark, Enter edits the note, / searches, ? shows the help. Keys act only
// when no text field has the focus, so typing a note never marks anything.
// Files reach the selected result through its attach form, or dropped on
// its detail, or pasted (an image) anywhere on the run page.
(() => {
  'use strict';

  // What only works with this script is shown only with it.
  document.documentElement.classList.add('js');

  // The run page's "Print report" button (the page says how to print
  // without it).
  document.querySelectorAll('button.print').forEach((b) => {
    b.hidden = false;
    b.addEventListener('click', () => window.print());
  });
  document.querySelectorAll('.print-fallback').forEach((f) => { f.hidden = true; });

  const table = document.getElementById('results');
  if (!table) return;
  const rows = Array.from(table.querySelectorAll('tbody tr.result'));
  const editable = table.dataset.editable === 'true';
  const run = table.dataset.run;
  const detail = document.getElementById('detail');
  const live = document.getElementById('live');
  const help = document.getElementById('shortcuts');
  const search = document.getElementById('search');
  const csrfField = document.querySelector('input[name=csrf]');
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
  const idOf = (row) => row.id.slice(2);
  // Which result the detail pane shows.
  const shown = () => (detail ? detail.dataset.result : undefined);
  const here = () => location.pathname + location.search;

  function relogin() {
    window.location.assign('/login?next=' + encodeURIComponent(here()));
  }

  // The detail of `row`'s result, asked for when the selection moves
  // (shortly after, so holding j does not ask for every line passed).
  let loading = 0;
  let timer = null;
  function loadDetail(row) {
    if (!detail || shown() === idOf(row)) return;
    clearTimeout(timer);
    const seq = ++loading;
    timer = setTimeout(() => {
      const id = idOf(row);
      detail.setAttribute('aria-busy', 'true');
      fetch('/runs/' + run + '/results/' + id + '?back=' + encodeURIComponent(here()), {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      })
        .then((res) => res.json().catch(() => ({})).then((json) => ({ res, json })))
        .then(({ res, json }) => {
          if (seq !== loading) return;
          if (res.status === 401) relogin();
          else if (!res.ok) say((json.error && json.error.message) || 'Could not load the result.');
          else {
            detail.innerHTML = json.data.detail_html;
            detail.dataset.result = id;
          }
        })
        .catch(() => say('Could not reach the server.'))
        .finally(() => { if (seq === loading) detail.removeAttribute('aria-busy'); });
    }, 80);
  }

  // The current line is highlighted, is the one Tab reaches (a roving
  // tabindex), is in the address (`?result=`, so a reload keeps it) and
  // is the one the detail shows.
  function setCurrent(i, focus) {
    if (i < 0 || i >= rows.length) return false;
    done = false;
    if (current >= 0) {
      const old = rows[current];
      old.classList.remove('current', 'selected');
      old.removeAttribute('aria-current');
      old.tabIndex = -1;
    }
    current = i;
    const row = rows[i];
    row.classList.add('current', 'selected');
    row.setAttribute('aria-current', 'true');
    row.tabIndex = 0;
    if (focus) row.focus();
    const link = row.querySelector('a.select');
    if (link) {
      const url = new URL(link.getAttribute('href'), location.href);
      if (url.pathname + url.search !== here()) history.replaceState(null, '', url.pathname + url.search);
    }
    loadDetail(row);
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

  // Start at the line the server selected (where a tester picks up).
  const start = rows.findIndex((r) => r.classList.contains('selected'));
  if (start >= 0) setCurrent(start, false);
  else if (rows.length) setCurrent(Math.max(rows.findIndex(untested), 0), false);

  function showError(row, message) {
    row.classList.add('failed-save');
    if (detail && shown() === idOf(row)) {
      let box = detail.querySelector('.field-error');
      const form = detail.querySelector('form.record');
      if (!box && form) {
        box = document.createElement('p');
        box.className = 'field-error';
        box.setAttribute('role', 'alert');
        form.appendChild(box);
      }
      if (box) box.textContent = message;
    }
    say(message);
  }

  function apply(row, data, sent) {
    const result = data.result;
    row.dataset.status = result.status;
    row.classList.remove('failed-save');
    row.querySelector('td.status').innerHTML = data.status_html;
    const note = row.querySelector('td.note-line');
    if (note) note.innerHTML = data.note_html;
    if (detail && shown() === idOf(row)) {
      // What the result holds now is shown read-only; the fields are empty
      // again, except what the tester typed after this save was sent.
      const kept = {};
      const form = detail.querySelector('form.record');
      if (form) {
        form.querySelectorAll('input[name], textarea[name], select[name]').forEach((f) => {
          if (f.type !== 'hidden' && f.value !== (sent[f.name] || '')) kept[f.name] = f.value;
        });
      }
      const focused = document.activeElement && detail.contains(document.activeElement)
        ? document.activeElement.id : '';
      detail.innerHTML = data.detail_html;
      Object.entries(kept).forEach(([name, value]) => {
        const f = detail.querySelector('form.record [name="' + name + '"]');
        if (f) f.value = value;
      });
      const again = focused && document.getElementById(focused);
      if (again) again.focus();
    }
    const summary = document.getElementById('summary');
    if (summary) summary.innerHTML = data.summary_html;
    const progress = document.getElementById('progress-text');
    say(result.test_case_title + ': ' + data.status_label + '. ' + (progress ? progress.textContent : ''));
  }

  // Saves run one after another, in the order they were asked for, so the
  // last key pressed is the status that stays. With the detail of this
  // result open, its fields go along (what the tester typed); `restore`
  // (an undo) gives everything to send instead.
  let queue = Promise.resolve();
  function save(row, status, restore) {
    const form = detail && shown() === idOf(row) ? detail.querySelector('form.record') : null;
    const sent = {};
    let body;
    if (form && !restore) {
      body = new URLSearchParams(new FormData(form));
      body.forEach((value, name) => { sent[name] = value; });
    } else {
      body = new URLSearchParams();
      body.set('csrf', csrfField ? csrfField.value : '');
    }
    body.set('status', status);
    body.set('back', here());
    if (restore) {
      body.set('note', restore.note || '');
      body.set('elapsed_ms', restore.elapsed_ms === null || restore.elapsed_ms === undefined
        ? '' : String(restore.elapsed_ms));
      (restore.step_results || []).forEach((s, i) => {
        body.set('step_' + (i + 1) + '_status', s.status);
        if (s.actual) body.set('step_' + (i + 1) + '_actual', s.actual);
      });
      (restore.defects || []).forEach((d) => body.append('defect', d));
    }
    row.setAttribute('aria-busy', 'true');
    pending.add(row);
    queue = queue
      .then(() => fetch('/runs/' + run + '/results/' + idOf(row), {
        method: 'POST',
        body,
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
      }))
      .then((res) => res.json().catch(() => ({})).then((json) => ({ res, json })))
      .then(({ res, json }) => {
        if (res.status === 401) {
          relogin();
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
  // what the result held before it (status, note, elapsed, step results,
  // defects) as a new execution, so the history keeps both. Waits for
  // saves on their way.
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

  // A click on a title selects its result without a reload (a new tab or
  // window still opens the page).
  table.addEventListener('click', (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || e.button !== 0) return;
    const row = e.target.closest('tr.result');
    if (!row) return;
    const link = e.target.closest('a.select');
    if (!link && e.target.closest('a, input, button, select, label')) return;
    if (link) e.preventDefault();
    setCurrent(rows.indexOf(row), false);
  });

  // A status button of the detail's form (or its "Save" button) saves in
  // place, when the result is on this page.
  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (!detail || !form.matches('form.record') || !detail.contains(form)) return;
    const row = rows.find((r) => idOf(r) === shown());
    if (!row) return;
    e.preventDefault();
    if (rows.indexOf(row) !== current) setCurrent(rows.indexOf(row), false);
    save(row, e.submitter ? e.submitter.value : row.dataset.status);
  });

  // Ctrl+Enter in a note saves it (Enter alone is a new line).
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey) || e.target.tagName !== 'TEXTAREA') return;
    const form = e.target.form;
    const keep = form && form.matches('form.record') && form.querySelector('button.save');
    if (keep) {
      e.preventDefault();
      form.requestSubmit(keep);
    }
  });

  // Attaching files to the selected result: the attach form's own input
  // (a plain post without this script), files dropped on the detail, or
  // an image pasted anywhere on the page. Each goes up through the form's
  // endpoint with its CSRF field, with the progress shown and said, and
  // the detail is drawn again with the new files.
  const attachForm = () => (detail ? detail.querySelector('form.attach') : null);
  function attachStatus(text) {
    const form = attachForm();
    const box = form && form.querySelector('.attach-status');
    if (box) box.textContent = text;
    say(text);
  }
  function upload(files) {
    const form = attachForm();
    if (!form || !files.length) return;
    const id = shown();
    const body = new FormData();
    const token = form.querySelector('input[name=csrf]');
    body.append('csrf', token ? token.value : '');
    body.append('back', here());
    files.forEach((f) => body.append('file', f, f.name));
    const names = files.map((f) => f.name).join(', ');
    attachStatus('Uploading ' + names + '…');
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.getAttribute('action'));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && shown() === id) {
        const box = attachForm() && attachForm().querySelector('.attach-status');
        // The visible text follows every step; the live region is told
        // the start and the end only.
        if (box) box.textContent = 'Uploading ' + names + '… ' + Math.round((100 * e.loaded) / e.total) + '%';
      }
    });
    xhr.addEventListener('load', () => {
      let json = {};
      try { json = JSON.parse(xhr.responseText); } catch (_) { json = {}; }
      if (xhr.status === 401) {
        relogin();
      } else if (xhr.status < 200 || xhr.status >= 300) {
        attachStatus((json.error && json.error.message) || 'Could not attach (' + xhr.status + ').');
      } else if (shown() === id) {
        detail.innerHTML = json.data.detail_html;
        attachStatus('Attached ' + names + '.');
      } else {
        say('Attached ' + names + '.');
      }
    });
    xhr.addEventListener('error', () => attachStatus('Could not reach the server; nothing was attached.'));
    xhr.send(body);
  }

  if (detail) {
    // The form's button uploads in place.
    document.addEventListener('submit', (e) => {
      const form = e.target;
      if (!form.matches('form.attach') || !detail.contains(form)) return;
      e.preventDefault();
      const input = form.querySelector('input[type=file]');
      const files = input ? Array.from(input.files) : [];
      if (!files.length) {
        attachStatus('Choose one or more files first.');
        return;
      }
      upload(files);
      input.value = '';
    });
    // A drop on the detail (while it has an attach form).
    const carriesFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
    detail.addEventListener('dragover', (e) => {
      if (!attachForm() || !carriesFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      detail.classList.add('dropping');
    });
    detail.addEventListener('dragleave', (e) => {
      if (!detail.contains(e.relatedTarget)) detail.classList.remove('dropping');
    });
    detail.addEventListener('drop', (e) => {
      detail.classList.remove('dropping');
      if (!attachForm() || !e.dataTransfer || !e.dataTransfer.files.length) return;
      e.preventDefault();
      upload(Array.from(e.dataTransfer.files));
    });
    // A paste of files (a screenshot from the clipboard) anywhere on the
    // page; text pasted into a field stays text. A pasted image has no
    // name worth keeping: it is named by the time, `pasted-…`.
    document.addEventListener('paste', (e) => {
      if (!attachForm() || !e.clipboardData) return;
      const files = Array.from(e.clipboardData.files || []);
      if (!files.length) return;
      e.preventDefault();
      const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '-');
      const EXT = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' };
      const named = files.map((f, i) => {
        const ext = EXT[f.type];
        if (!ext) return f;
        const name = 'pasted-' + stamp + (i > 0 ? '-' + (i + 1) : '') + '.' + ext;
        return new File([f], name, { type: f.type });
      });
      upload(named);
    });
  }

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
        e.preventDefault();
        const row = el.closest('tr.result');
        if (row) setCurrent(rows.indexOf(row), true);
        else if (detail && detail.contains(el) && current >= 0) setCurrent(current, true);
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
        if ((el === row || idle) && editable && detail && shown() === idOf(row)) {
          const note = detail.querySelector('textarea[name=note]');
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
