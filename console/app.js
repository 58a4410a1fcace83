// loadbay's web console: plain JavaScript, no build step. Every value that comes from a file (names,
// headers, values, reasons) goes into the page through textContent, never as markup.
'use strict';

const main = document.getElementById('main');
let timer = null;

/** An element with text content and attributes; children appended. */
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, { headers: { Accept: 'application/json' }, ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function when(iso) {
  if (!iso) return '—';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return iso.slice(0, 16).replace('T', ' ');
}

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Math.round(n * 10) / 10} ${units[i]}`;
}

function table(headers, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows));
}

function card(label, value, id) {
  return h('div', { class: 'card', ...(id ? { 'data-card': id } : {}) }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
}

/** A time series with uPlot; `range` fixes the x axis (seconds), else it spans the points (padded). */
function chart(target, xs, series, label, range) {
  target.replaceChildren();
  if (!window.uPlot || xs.length === 0) { target.append(h('p', { class: 'muted' }, 'nothing yet')); return; }
  const width = Math.max(300, target.clientWidth - 16);
  const span = range || [Math.min(...xs) - 300, Math.max(...xs) + 300];
  new window.uPlot({
    width, height: 200,
    series: [{}, { label, stroke: '#1d2330', fill: 'rgba(29,35,48,.08)', points: { show: xs.length < 40 } }],
    axes: [{}, {}],
    scales: { x: { time: true, range: () => span }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1)] } },
  }, [xs, series], target);
}

/** Replaces the page's content; nulls (a section not shown) are left out. */
function show(...nodes) {
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
}

async function readiness() {
  const badge = document.getElementById('readiness');
  try {
    const overview = await api('/api/overview');
    badge.textContent = overview.ready ? 'ready' : 'not ready';
    badge.className = `badge ${overview.ready ? 'ready' : 'not-ready'}`;
    return overview;
  } catch (error) {
    badge.textContent = 'unreachable';
    badge.className = 'badge not-ready';
    throw error;
  }
}

// ---- Overview: is it healthy, what is stuck, what just happened -------------------------------
async function overview() {
  const data = await readiness();
  const failing = data.checks.filter((c) => !c.ok);
  const throughput = h('div', { class: 'chart', id: 'throughput' });
  show(
    h('h1', {}, 'Overview'),
    data.ready ? null : h('p', { class: 'error', id: 'not-ready' }, `Not ready: ${failing.map((c) => `${c.name}: ${c.detail || 'failing'}`).join('; ')}`),
    h('div', { class: 'cards' },
      card('waiting', data.backlog.files, 'backlog'),
      card('waiting, bytes', bytes(data.backlog.bytes)),
      card(data.backlog.oldest_waiting_file ? `oldest waiting: ${data.backlog.oldest_waiting_file}` : 'oldest waiting', when(data.backlog.oldest_waiting_since), 'oldest'),
      card('in progress', data.in_progress, 'in-progress'),
    ),
    h('h2', {}, 'Rows loaded per minute, last hour'),
    throughput,
    h('h2', {}, 'Latest outcomes'),
    data.recent.length === 0
      ? h('p', { class: 'muted' }, 'nothing since loadbay started')
      : table(['when', 'outcome', 'file', 'dataset', 'rows / reason'], data.recent.map((r) =>
          h('tr', {}, h('td', {}, when(r.at)), h('td', { class: `event-${r.event}` }, r.event), h('td', {}, r.file || ''), h('td', {}, r.dataset || ''),
            h('td', {}, r.event === 'loaded' ? `${r.rows} rows` : `${r.stage ? `${r.stage}: ` : ''}${r.reason || ''}`)))),
  );
  const now = Date.now() / 1000;
  chart(throughput, data.throughput.map((t) => Date.parse(t.minute) / 1000), data.throughput.map((t) => t.rows), 'rows', [now - 3600, now]);
}

// ---- Quarantine: what was wrong, fix it, send it back ------------------------------------------
async function quarantineList() {
  await readiness();
  const files = await api('/api/quarantine');
  show(
    h('h1', {}, 'Quarantine'),
    files.length === 0
      ? h('p', { class: 'muted' }, 'No quarantined files.')
      : table(['failed', 'file', 'dataset', 'stage', 'problems', 'reason'], files.map((f) =>
          h('tr', {}, h('td', {}, when(f.failed_at)), h('td', {}, h('a', { href: `/quarantine/${encodeURIComponent(f.id)}` }, f.file)),
            h('td', {}, f.dataset || '(no dataset)'), h('td', {}, f.stage), h('td', { class: 'num' }, f.problem_count), h('td', {}, f.reason)))),
  );
}

function markedLine(line) {
  if (line.text === null) return h('span', { class: 'muted' }, '(line not found)');
  if (!line.marked) return line.text;
  return h('span', {}, line.text.slice(0, line.marked.start), h('mark', {}, line.text.slice(line.marked.start, line.marked.end)), line.text.slice(line.marked.end));
}

async function quarantineFile(id) {
  await readiness();
  const data = await api(`/api/quarantine/${encodeURIComponent(id)}`);
  const { report } = data;
  const status = h('span', { id: 'retry-status', class: 'muted' });
  const retry = async () => {
    let token = sessionStorage.getItem('loadbay-token');
    if (!token) token = window.prompt('Token (http.token) to retry this file:');
    if (!token) return;
    try {
      const result = await api(`/api/quarantine/${encodeURIComponent(id)}/retry`, { method: 'POST', headers: { Accept: 'application/json', Authorization: `Bearer ${token}` } });
      sessionStorage.setItem('loadbay-token', token);
      status.textContent = `Moved back to input/${result.input}: it is being loaded again.`;
      status.className = '';
    } catch (error) {
      if (/token/.test(error.message)) sessionStorage.removeItem('loadbay-token');
      status.textContent = `Not retried: ${error.message}`;
      status.className = 'error';
    }
  };
  show(
    h('h1', {}, report.file),
    h('p', { class: 'muted' }, `${report.dataset || '(no dataset matched)'} · ${report.stage} · failed ${when(report.failed_at)} · file id ${report.file_id}`),
    h('p', { id: 'reason' }, report.reason),
    h('div', { class: 'actions' },
      h('button', { class: 'primary', id: 'retry', onclick: retry }, 'Retry after a fix'),
      h('a', { class: 'button', href: `/api/quarantine/${encodeURIComponent(id)}/file` }, 'Download the file'),
      h('a', { class: 'button', href: `/api/quarantine/${encodeURIComponent(id)}/report` }, 'Download the report'),
      status),
    h('h2', {}, 'Problems by field and rule'),
    report.groups.length === 0
      ? h('pre', {}, report.summary)
      : table(['field', 'rule', 'rows', 'first at', 'example'], report.groups.map((g) =>
          h('tr', {}, h('td', {}, g.field || ''), h('td', {}, g.rule), h('td', { class: 'num' }, g.count), h('td', {}, g.first_at.join(', ')), h('td', { class: 'line' }, g.example || '')))),
    h('h2', {}, 'Offending lines'),
    data.offending.length === 0
      ? h('p', { class: 'muted' }, 'No line numbers for these problems.')
      : h('div', { class: 'lines', id: 'offending' }, data.offending.map((line) =>
          h('div', { class: 'row' }, h('div', { class: 'number' }, line.line), h('div', { class: 'text line' }, markedLine(line)),
            line.problems.map((p) => h('div', { class: 'why' }, `${p.field ? `${p.field}: ` : ''}${p.rule}`))))),
  );
}

// ---- Datasets: what is there, how loads went, what the latest rows look like ---------------------
async function datasetList() {
  await readiness();
  const sets = await api('/api/datasets');
  show(
    h('h1', {}, 'Datasets'),
    table(['dataset', 'table', 'mode', 'loads', 'rows loaded', 'last load'], sets.map((d) =>
      h('tr', {}, h('td', {}, h('a', { href: `/datasets/${encodeURIComponent(d.name)}` }, d.name)), h('td', {}, d.table), h('td', {}, d.mode),
        h('td', { class: 'num' }, d.loads), h('td', { class: 'num' }, d.rows_loaded), h('td', {}, when(d.last_load))))),
  );
}

async function datasetPage(name) {
  await readiness();
  const d = await api(`/api/datasets/${encodeURIComponent(name)}`);
  const rowsChart = h('div', { class: 'chart', id: 'rows-per-load' });
  const loads = [...d.loads].reverse();
  show(
    h('h1', {}, d.name),
    h('p', { class: 'muted' }, `${d.table} · ${d.row_count === null ? 'row count unknown' : `${d.row_count} rows`}`),
    h('h2', {}, 'Rows per load'),
    rowsChart,
    h('h2', {}, 'Recent loads'),
    d.loads.length === 0 ? h('p', { class: 'muted' }, 'No loads yet.')
      : table(['when', 'file', 'rows', 'seconds'], d.loads.slice(0, 20).map((l) => h('tr', {}, h('td', {}, when(l.at)), h('td', {}, l.file), h('td', { class: 'num' }, l.rows), h('td', { class: 'num' }, l.seconds)))),
    h('h2', {}, 'Latest rows'),
    d.preview.rows.length === 0 ? h('p', { class: 'muted' }, 'The table is empty.')
      : h('div', { class: 'scroll' }, table(d.preview.columns, d.preview.rows.map((row) => h('tr', {}, row.map((v) => h('td', {}, v === null ? '∅' : v)))))),
  );
  chart(rowsChart, loads.map((l) => Date.parse(l.at) / 1000), loads.map((l) => l.rows), 'rows');
}

async function render() {
  clearTimeout(timer);
  const path = location.pathname;
  const section = path.startsWith('/quarantine') ? 'quarantine' : path.startsWith('/datasets') ? 'datasets' : 'overview';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === section);
  try {
    const quarantined = /^\/quarantine\/(\d+)$/.exec(path);
    const dataset = /^\/datasets\/([a-z0-9_-]+)$/.exec(path);
    if (quarantined) await quarantineFile(quarantined[1]);
    else if (path === '/quarantine') await quarantineList();
    else if (dataset) await datasetPage(dataset[1]);
    else if (path === '/datasets') await datasetList();
    else {
      await overview();
      timer = setTimeout(render, 3000); // the overview keeps itself current
    }
    document.body.dataset.rendered = String(Date.now());
  } catch (error) {
    show(h('p', { class: 'error' }, `Could not load: ${error.message}`));
  }
}

render();
