// The quarantine: the list (filter, search, a link to each file's dataset) and one file — what was
// wrong, the offending lines, retry, and a fix made in the page, then followed until it loads.
import { act, api, cell, datasetLink, fill, h, table, when } from './dom.js';

function stateOf(f) {
  if (!f.resubmission) return f.present ? 'open' : 'gone';
  const next = f.resubmission.next;
  const kind = f.resubmission.kind === 'fix' ? 'fixed' : 'retried';
  return next ? `${kind} → ${next.status}` : kind;
}

export async function quarantineList(main, overview) {
  const params = new URLSearchParams(location.search);
  const results = h('div', { id: 'quarantine-results' });
  const dataset = h('select', { id: 'filter-dataset', 'aria-label': 'dataset' }, h('option', { value: '' }, 'every dataset'));
  const state = h('select', { id: 'filter-state', 'aria-label': 'state' },
    h('option', { value: 'open' }, 'waiting for a fix'), h('option', { value: 'resubmitted' }, 'retried or fixed'), h('option', { value: 'all' }, 'all'));
  const search = h('input', { id: 'filter-q', type: 'search', placeholder: 'file name or reason', value: params.get('q') || '' });
  state.value = params.get('state') || 'open';

  async function refresh() {
    const query = new URLSearchParams();
    if (dataset.value) query.set('dataset', dataset.value);
    if (state.value !== 'open') query.set('state', state.value);
    if (search.value.trim()) query.set('q', search.value.trim());
    const qs = query.toString();
    history.replaceState(null, '', `/quarantine${qs ? `?${qs}` : ''}`);
    const data = await api(`/api/quarantine?${qs}`);
    if (dataset.options.length === 1) {
      for (const name of data.datasets) dataset.append(h('option', { value: name }, name));
      dataset.value = params.get('dataset') || '';
      if (dataset.value !== (data.dataset || '')) return refresh();
    }
    fill(results, 
      data.files.length === 0
        ? h('p', { class: 'muted', id: 'quarantine-empty' }, qs ? 'No quarantined file matches.' : 'No quarantined files.')
        : table(['failed', 'file', 'dataset', 'stage', 'problems', 'reason', 'state'], data.files.map((f) =>
            h('tr', { 'data-id': f.id },
              h('td', {}, when(f.failed_at)),
              h('td', {}, h('a', { href: `/quarantine/${encodeURIComponent(f.id)}` }, f.file)),
              h('td', {}, datasetLink(f.dataset)),
              h('td', {}, f.stage), h('td', { class: 'num' }, f.problem_count), h('td', { class: 'reason' }, f.reason),
              h('td', {}, stateOf(f)))), { id: 'quarantine-table' }),
    );
  }
  let typing = null;
  dataset.addEventListener('change', () => void refresh());
  state.addEventListener('change', () => void refresh());
  search.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(() => void refresh(), 250); });
  fill(main, 
    h('h1', {}, 'Quarantine'),
    h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); void refresh(); } }, dataset, state, search),
    results,
  );
  await refresh();
  return { onEvent: (e) => ['failed', 'retried', 'resubmitted', 'loaded'].includes(e.event) && refresh };
}

function marked(text, mark) {
  if (text === null) return h('span', { class: 'muted' }, '(line not found)');
  if (!mark) return text;
  return h('span', {}, text.slice(0, mark.start), h('mark', {}, text.slice(mark.start, mark.end)), text.slice(mark.end));
}

function resubmissionNote(data) {
  const r = data.resubmission;
  const notes = [];
  if (r) {
    const what = r.kind === 'fix' ? 'Fixed in the console' : 'Retried';
    notes.push(h('p', { class: 'note', id: 'resubmitted' }, `${what} ${when(r.at)}: sent as ${inputName(r.input)}`,
      r.next ? [' → ', r.next.status === 'failed' ? h('a', { href: `/quarantine/${r.next.id}` }, `file ${r.next.id} failed again`) : h('span', {}, `file ${r.next.id} ${r.next.status}`),
        r.next.status === 'loaded' ? [' (', datasetLink(data.dataset), ')'] : null] : ' (waiting to be taken)'));
  }
  if (data.resubmission_of) {
    notes.push(h('p', { class: 'note', id: 'resubmission-of' }, `This file is a ${data.resubmission_of.kind === 'fix' ? 'fix' : 'retry'} of `,
      h('a', { href: `/quarantine/${data.resubmission_of.id}` }, `file ${data.resubmission_of.id}`), '.'));
  }
  return notes;
}

function lineRow(line, problems, edit) {
  return h('div', { class: 'row', 'data-line': line.line },
    h('div', { class: 'number' }, line.line),
    h('div', { class: 'text line' }, marked(line.text, line.marked)),
    problems.map((p) => h('div', { class: 'why' }, `${p.field ? `${p.field}: ` : ''}${p.rule}`)),
    edit ? h('div', { class: 'editor' }, edit) : null);
}

/**
 * The offending lines, and with the token the form that fixes them: an input per line the report
 * names (line 1 alone for a header that does not fit its rows), or the JSON document whole.
 */
function linesSection(id, data, actions, follow) {
  const { fix } = data;
  const editing = actions.enabled && fix.editable;
  const inputs = [];
  const editor = (line) => {
    if (!editing) return null;
    const input = h('input', { class: 'edit line', type: 'text', spellcheck: 'false', 'data-line': line.line, value: line.text, 'aria-label': `line ${line.line}` });
    inputs.push({ input, line });
    return input;
  };
  let title = 'Offending lines';
  let rows;
  if (fix.mode === 'document') {
    title = 'The document';
    rows = [h('textarea', { id: 'fix-document', class: 'line', rows: 18, spellcheck: 'false', readonly: !editing, value: fix.document })];
  } else if (fix.header) {
    title = 'The header does not fit its rows';
    rows = [
      h('p', { class: 'note', id: 'header-explanation' }, fix.header.explanation),
      h('div', { class: 'lines', id: 'offending' },
        fix.lines.map((line) => lineRow(line, [], editor(line))),
        fix.header.sample ? lineRow({ ...fix.header.sample, marked: null }, [{ field: null, rule: 'the first row, to compare' }], null) : null),
    ];
  } else if (fix.editable) {
    rows = [h('div', { class: 'lines', id: 'offending' }, fix.lines.map((line) => lineRow(line, line.problems, editor(line))))];
  } else {
    rows = [data.offending.length === 0
      ? h('p', { class: 'muted' }, 'No line numbers for these problems.')
      : h('div', { class: 'lines', id: 'offending' }, data.offending.map((line) => lineRow(line, line.problems, null)))];
  }
  const notes = [
    fix.editable && fix.problems.total > fix.problems.shown
      ? h('p', { class: 'muted' }, `${fix.problems.total} problems in all; these lines carry ${fix.problems.shown}. The rest, if any, show up in the report of the fixed file.`) : null,
    !fix.editable && data.present && !data.resubmission ? h('p', { class: 'muted', id: 'fix-unavailable' }, `Not fixable in the page: ${fix.why}.`) : null,
  ];
  if (!editing) return [h('h2', {}, title), rows, notes];
  const status = h('p', { id: 'fix-status', class: 'muted' });
  const submit = async (event) => {
    event.preventDefault();
    const body = fix.mode === 'document'
      ? { document: document.getElementById('fix-document').value }
      : { edits: inputs.filter(({ input, line }) => input.value !== line.text).map(({ input, line }) => ({ line: line.line, before: line.text, after: input.value })) };
    if (body.edits && body.edits.length === 0) {
      status.textContent = 'Nothing changed yet: edit the lines first.';
      status.className = 'error';
      return;
    }
    try {
      const result = await act(`/api/quarantine/${encodeURIComponent(id)}/fix`, body);
      status.textContent = `Sent to ${inputName(result.input)}: waiting for it to load…`;
      status.className = '';
      for (const { input } of inputs) input.readOnly = true;
      follow(result.input, status);
    } catch (error) {
      status.textContent = `Not sent: ${error.message}`;
      status.className = 'error';
    }
  };
  return [
    h('h2', {}, title),
    h('form', { id: 'fix', onsubmit: submit }, rows,
      h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit', id: 'fix-submit' }, 'Load the fixed file'), status)),
    notes,
  ];
}

export async function quarantineFile(main, overview, id) {
  const data = await api(`/api/quarantine/${encodeURIComponent(id)}`);
  const { report } = data;
  const { actions } = overview;
  const status = h('span', { id: 'retry-status', class: 'muted' });
  let following = null;
  const follow = (input, target) => { following = { input, target }; };
  const retry = async () => {
    try {
      const result = await act(`/api/quarantine/${encodeURIComponent(id)}/retry`);
      status.textContent = `Moved back to ${inputName(result.input)}: it is being loaded again.`;
      status.className = '';
      follow(result.input, status);
    } catch (error) {
      status.textContent = `Not retried: ${error.message}`;
      status.className = 'error';
    }
  };
  const open = !data.resubmission && data.present;
  fill(main, 
    h('h1', {}, report.file),
    h('p', { class: 'muted' }, datasetLink(report.dataset), ` · ${report.stage} · failed ${when(report.failed_at)} · file id ${data.id}`),
    resubmissionNote(data),
    h('p', { id: 'reason' }, report.reason),
    actions.enabled ? null : h('p', { class: 'note', id: 'read-only' }, `${actions.help}.`),
    h('div', { class: 'actions' },
      actions.enabled && open ? h('button', { id: 'retry', onclick: retry }, 'Retry as it is') : null,
      data.present ? h('a', { class: 'button', href: `/api/quarantine/${encodeURIComponent(id)}/file` }, 'Download the file') : null,
      h('a', { class: 'button', href: `/api/quarantine/${encodeURIComponent(id)}/report` }, 'Download the report'),
      status),
    h('h2', {}, 'Problems by field and rule'),
    report.groups.length === 0
      ? h('pre', {}, report.summary || report.reason)
      : table(['field', 'rule', 'rows', 'first at', 'example'], report.groups.map((g) =>
          h('tr', {}, h('td', {}, g.field || ''), h('td', {}, g.rule), h('td', { class: 'num' }, g.count), h('td', {}, g.first_at.join(', ')), h('td', { class: 'line' }, cell(g.example))))),
    open ? linesSection(id, data, actions, follow) : [h('h2', {}, 'Offending lines'), data.offending.length === 0
      ? h('p', { class: 'muted' }, 'No line numbers for these problems.')
      : h('div', { class: 'lines', id: 'offending' }, data.offending.map((line) => lineRow(line, line.problems, null)))],
  );
  return {
    onEvent: (e) => {
      if (!following || !sameFile(e, following.input)) return null;
      const { target } = following;
      if (e.event === 'loaded') {
        fill(target, `${inputName(following.input)} loaded: ${e.rows} rows into `, datasetLink(e.dataset), '.');
        target.className = 'ok';
        following = null;
      } else if (e.event === 'failed') {
        fill(target, `${inputName(following.input)} failed again: `, h('a', { href: `/quarantine/${e.file_id}` }, `see file ${e.file_id}`), '.');
        target.className = 'error';
        following = null;
      } else if (e.event === 'skipped') {
        fill(target, `${inputName(following.input)} was skipped: the same content was loaded before.`);
        following = null;
      }
      return null;
    },
  };
}

/** Where a file went back: a path inside input/, or (another input) its path or s3:// URL. */
function inputName(id) {
  return id.includes('://') || id.startsWith('/') ? id : `input/${id}`;
}

/** Whether an event is about the file the ledger will know as `id` (events name a file inside its input). */
function sameFile(e, id) {
  if (e.file === id) return true;
  return typeof e.input === 'string' && (e.input + e.file === id || id.endsWith(`/${e.input}${e.file}`));
}
