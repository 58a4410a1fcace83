// loadbay's web console: plain JavaScript modules, no build step. The pages follow the daemon's
// events (server-sent events at /api/events) instead of polling, and reconnect when it restarts.
import { fitCharts, xyChart } from './charts.js';
import { datasetPage } from './dataset.js';
import { api, bytes, card, datasetLink, fill, h, num, table, when } from './dom.js';
import { quarantineFile, quarantineList } from './quarantine.js';

const main = document.getElementById('main');

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
async function overviewPage(target, data) {
  const failing = data.checks.filter((c) => !c.ok);
  const throughput = h('div', { class: 'chart', id: 'throughput' });
  fill(target, 
    h('h1', {}, 'Overview'),
    data.ready ? null : h('p', { class: 'error', id: 'not-ready' }, `Not ready: ${failing.map((c) => `${c.name}: ${c.detail || 'failing'}`).join('; ')}`),
    h('div', { class: 'cards' },
      card('waiting', num(data.backlog.files), 'backlog'),
      card('waiting, bytes', bytes(data.backlog.bytes)),
      card(data.backlog.oldest_waiting_file ? `oldest waiting: ${data.backlog.oldest_waiting_file}` : 'oldest waiting', when(data.backlog.oldest_waiting_since), 'oldest'),
      card('in progress', num(data.in_progress), 'in-progress'),
    ),
    inputsTable(data.sources ?? []),
    data.actions.enabled ? null : h('p', { class: 'note', id: 'read-only' }, `${data.actions.help}.`),
    h('h2', {}, 'Rows loaded per minute, last hour'),
    throughput,
    h('h2', {}, 'Latest outcomes'),
    data.recent.length === 0
      ? h('p', { class: 'muted' }, 'nothing since loadbay started')
      : table(['when', 'outcome', 'file', 'dataset', 'rows / reason'], data.recent.map((r) =>
          h('tr', {}, h('td', {}, when(r.at)), h('td', { class: `event-${r.event}` }, r.event), h('td', {}, r.file || ''), h('td', {}, datasetLink(r.dataset)),
            h('td', {}, r.event === 'loaded' ? `${num(r.rows)} rows` : `${r.stage ? `${r.stage}: ` : ''}${r.reason || ''}`))), { id: 'recent' }),
  );
  const now = Math.floor(Date.now() / 60000) * 60;
  const byMinute = new Map(data.throughput.map((t) => [Date.parse(t.minute) / 1000, t.rows]));
  const xs = Array.from({ length: 60 }, (_, i) => now - (59 - i) * 60);
  xyChart(throughput, { xs, series: [{ label: 'rows', values: xs.map((x) => byMinute.get(x) ?? 0) }], kind: 'bar', time: true, step: 60 });
  return { onEvent: () => 'reload' };
}

/** Each input (a folder or a bucket prefix) with its own backlog, when there is more than a local folder. */
function inputsTable(sources) {
  if (sources.length === 0 || (sources.length === 1 && !sources[0].source.startsWith('s3://'))) return null;
  return [
    h('h2', {}, 'Inputs'),
    table(['input', 'waiting', 'oldest waiting', 'in hand'], sources.map((s) =>
      h('tr', {}, h('td', {}, s.source), h('td', { class: 'num' }, num(s.waiting)),
        h('td', {}, s.oldest_waiting_file ? [s.oldest_waiting_file, ', ', when(s.oldest_waiting_since)] : ''), h('td', { class: 'num' }, num(s.in_hand)))), { id: 'inputs' }),
  ];
}

// ---- Datasets ------------------------------------------------------------------------------------
async function datasetList(target) {
  const sets = await api('/api/datasets');
  fill(target, 
    h('h1', {}, 'Datasets'),
    table(['dataset', 'table', 'mode', 'model views', 'loads', 'rows loaded', 'last load'], sets.map((d) =>
      h('tr', {}, h('td', {}, datasetLink(d.name)), h('td', {}, d.table), h('td', {}, d.mode), h('td', { class: 'num' }, d.views),
        h('td', { class: 'num' }, num(d.loads)), h('td', { class: 'num' }, num(d.rows_loaded)), h('td', {}, when(d.last_load))))),
  );
  return { onEvent: (e) => (e.event === 'loaded' ? 'reload' : null) };
}

// ---- Routing, rendering and the live stream -----------------------------------------------------
let page = null;
/** A refresh asked for by live events, not run yet. */
let pending = null;

async function render() {
  const path = location.pathname;
  const section = path.startsWith('/quarantine') ? 'quarantine' : path.startsWith('/datasets') ? 'datasets' : 'overview';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === section);
  // Built aside and swapped in whole: a refresh does not flash an empty page.
  const target = document.createElement('div');
  try {
    const overview = await readiness();
    const quarantined = /^\/quarantine\/(\d+)$/.exec(path);
    const dataset = /^\/datasets\/([a-z0-9_-]+)$/.exec(path);
    if (quarantined) page = await quarantineFile(target, overview, quarantined[1]);
    else if (path === '/quarantine') page = await quarantineList(target, overview);
    else if (dataset) page = await datasetPage(target, overview, dataset[1]);
    else if (path === '/datasets') page = await datasetList(target);
    else page = await overviewPage(target, overview);
    const scroll = window.scrollY;
    main.replaceChildren(...target.childNodes);
    fitCharts();
    window.scrollTo(0, scroll);
    document.body.dataset.rendered = String(Date.now());
  } catch (error) {
    main.replaceChildren(h('p', { class: 'error' }, `Could not load: ${error.message}`));
    document.body.dataset.rendered = String(Date.now());
  }
}

/** What an event asks of the page — the page again, or a part of it — at most once a second. */
function onLiveEvent(event) {
  const wanted = page?.onEvent?.(event);
  if (!wanted) return;
  if (pending) {
    if (wanted === 'reload') pending.wanted = 'reload';
    else if (pending.wanted !== 'reload') pending.wanted = wanted;
    return;
  }
  pending = { wanted };
  setTimeout(() => {
    const { wanted: now } = pending;
    pending = null;
    const run = now === 'reload' ? render() : Promise.resolve(now()).then(() => { document.body.dataset.rendered = String(Date.now()); });
    void run.catch(() => undefined);
  }, 1000);
}

const EVENTS = ['discovered', 'claimed', 'loaded', 'failed', 'skipped', 'retrying', 'held', 'waiting', 'retried', 'exported', 'export_failed', 'vanished', 'stalled', 'profile', 'resubmitted'];
let source = null;
let retryMs = 1000;

function connect() {
  const live = document.getElementById('live');
  document.body.dataset.live = 'connecting';
  source = new EventSource('/api/events');
  let wasDown = false;
  source.onopen = () => {
    document.body.dataset.live = 'open';
    live.textContent = 'live';
    live.className = 'live on';
    retryMs = 1000;
    if (wasDown) void render(); // what happened while the stream was down
    wasDown = false;
  };
  source.onerror = () => {
    wasDown = true;
    document.body.dataset.live = 'closed';
    live.textContent = 'reconnecting';
    live.className = 'live off';
    if (source.readyState === EventSource.CLOSED) {
      // Refused (a restart in progress, too many streams, signed out): try again, a little later each time.
      setTimeout(connect, retryMs);
      retryMs = Math.min(30_000, retryMs * 2);
    }
  };
  for (const name of EVENTS) source.addEventListener(name, (message) => onLiveEvent(JSON.parse(message.data)));
}

window.addEventListener('popstate', () => void render());
window.addEventListener('resize', () => fitCharts());
void render();
connect();
