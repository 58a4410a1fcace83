// A dataset: loads over time, its model views (a chart and a table each), the column profiles,
// the recent loads and the latest rows; kept current by the live events of its loads.
import { categoryBars, miniHistogram, topValues, xyChart } from './charts.js';
import { api, bytes, cell, fill, h, num, percent, table, when } from './dom.js';

/** Buckets between the first and last load, empty ones as 0, so bars stand evenly over time. */
export function filledBuckets(points, bucket, minBuckets = 3) {
  if (points.length === 0) return { xs: [], loads: [], rows: [] };
  const byAt = new Map(points.map((p) => [Date.parse(p.at) / 1000, p]));
  let first = Date.parse(points[0].at) / 1000;
  let last = Date.parse(points[points.length - 1].at) / 1000;
  while ((last - first) / bucket + 1 < minBuckets) { first -= bucket; last += bucket; }
  const xs = [];
  for (let x = first; x <= last; x += bucket) xs.push(x);
  return { xs, loads: xs.map((x) => byAt.get(x)?.loads ?? 0), rows: xs.map((x) => byAt.get(x)?.rows ?? 0) };
}

function bucketName(seconds) {
  return { 60: 'minute', 300: '5 minutes', 900: '15 minutes', 3600: 'hour', 10800: '3 hours', 21600: '6 hours', 86400: 'day', 604800: 'week', 2592000: '30 days', 31536000: 'year' }[seconds] || `${seconds} s`;
}

function renderView(target, view) {
  const chart = h('div', { class: 'chart' });
  const body = h('div', { class: `view-body${view.chart === 'table' ? ' only-table' : ''}` }, chart);
  fill(target, h('h3', {}, view.title, h('span', { class: 'muted source' }, ` · ${view.source}`)), body);
  if (view.error) {
    fill(chart, h('p', { class: 'error' }, view.error));
    return;
  }
  const at = (name) => view.columns.findIndex((c) => c.name === name);
  const xi = at(view.x);
  const gi = view.group ? at(view.group) : -1;
  const kinds = Object.fromEntries(view.columns.map((c) => [c.name, c.kind]));
  if (view.chart === 'table') chart.remove();
  else {
    const xKind = kinds[view.x];
    const xValue = (v) => (xKind === 'time' ? Date.parse(v) / 1000 : Number(v));
    const groups = gi === -1 ? [null] : [...new Set(view.rows.map((r) => r[gi]))];
    const series = [];
    for (const y of view.y) {
      const yi = at(y);
      for (const g of groups) series.push({ label: g === null ? y : view.y.length > 1 ? `${g} · ${y}` : String(g), pick: (r) => (g === null || r[gi] === g ? r[yi] : undefined), yi });
    }
    if (xKind === 'text') {
      const value = (label, s) => { const row = view.rows.find((r) => r[xi] === label && s.pick(r) !== undefined); return row ? Number(s.pick(row)) : null; };
      const labels = [...new Set(view.rows.map((r) => r[xi]))];
      if (!view.ordered) labels.sort((a, b) => (value(b, series[0]) ?? -Infinity) - (value(a, series[0]) ?? -Infinity));
      // The row's other text columns say what a label is (a leader's team): shown beside it.
      const others = view.columns.map((c, i) => (c.kind === 'text' && i !== xi && i !== gi ? i : -1)).filter((i) => i !== -1);
      const detail = (label) => { const row = view.rows.find((r) => r[xi] === label); return row ? others.map((i) => row[i]).filter((v) => v !== null).join(' · ') : ''; };
      categoryBars(chart, { labels, details: labels.map(detail), series: series.map((s) => ({ label: s.label, values: labels.map((l) => value(l, s)) })) });
    } else {
      const xs = [...new Set(view.rows.map((r) => xValue(r[xi])))].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
      const values = (s) => xs.map((x) => { const row = view.rows.find((r) => xValue(r[xi]) === x && s.pick(r) !== undefined); return row ? Number(s.pick(row)) : null; });
      const whole = xs.every((x) => Number.isInteger(x));
      xyChart(chart, { xs, series: series.map((s) => ({ label: s.label, values: values(s) })), kind: view.chart, time: xKind === 'time', xLabel: view.x, step: xKind !== 'time' && whole ? 1 : null });
    }
  }
  body.append(
    h('div', { class: 'view-table' },
      h('div', { class: 'scroll' }, table(view.columns.map((c) => c.name), view.rows.map((row) => h('tr', {}, row.map((v, i) => h('td', { class: view.columns[i].kind === 'number' ? 'num' : null }, cell(v))))))),
      h('p', { class: 'muted' }, view.truncated ? 'The first 1000 rows.' : `${view.rows.length} row${view.rows.length === 1 ? '' : 's'}`)),
  );
}

function formatFor(column) {
  if (column.kind === 'date' || column.kind === 'timestamp') return (s) => new Date(s * 1000).toISOString().slice(0, column.kind === 'date' ? 10 : 16).replace('T', ' ');
  return (v) => num(v);
}

function renderProfile(target, data) {
  const p = data.profile;
  if (!p) {
    fill(target, h('p', { class: data.error ? 'error' : 'muted' }, data.error || 'No profile yet.'));
    return;
  }
  const basis = { exact: '', statistics: '≈ ', sample: '≥ ' };
  fill(target, 
    h('p', { class: 'muted', id: 'profile-summary' },
      `${p.rows_estimated ? '≈ ' : ''}${num(p.rows)} rows`,
      p.sampled ? ` · figures from a sample of ${num(p.rows_read)} rows` : ' · every row read',
      ` · computed ${when(data.computed_at)} in ${num(data.took_ms)} ms`,
      data.stale ? ' · new loads since: updating' : '',
      data.error ? h('span', { class: 'error' }, ` · ${data.error}`) : null),
    h('div', { class: 'profiles' }, p.columns.map((c) =>
      h('div', { class: 'profile', 'data-column': c.name },
        h('div', { class: 'profile-head' }, h('strong', {}, c.name), h('span', { class: 'muted' }, ` ${c.type}`)),
        h('dl', {},
          h('dt', {}, 'null'), h('dd', {}, percent(c.null_share)),
          h('dt', {}, 'distinct'), h('dd', {}, c.distinct === null ? '—' : `${basis[c.distinct_basis]}${num(c.distinct)}`),
          c.min !== null ? [h('dt', {}, 'min'), h('dd', { class: 'line' }, c.min), h('dt', {}, 'max'), h('dd', { class: 'line' }, c.max)] : null),
        c.histogram ? miniHistogram(c.histogram, formatFor(c)) : null,
        c.top ? topValues(c.top, p.rows_read) : null))),
  );
}

export async function datasetPage(main, overview, name) {
  const d = await api(`/api/datasets/${encodeURIComponent(name)}`);
  const loadsChart = h('div', { class: 'chart', id: 'loads-over-time' });
  const viewsBox = h('div', { id: 'views' });
  const profileBox = h('div', { id: 'profile' }, h('p', { class: 'muted' }, 'Computing the column profiles…'));
  const filled = filledBuckets(d.load_history.points, d.load_history.bucket_seconds);
  fill(main, 
    h('h1', {}, d.name),
    h('p', { class: 'muted', id: 'dataset-summary' }, `${d.table} · ${d.row_count === null ? 'row count unknown' : `${d.row_count_estimated ? '≈ ' : ''}${num(d.row_count)} rows`}`),
    h('h2', {}, `Loads over time (rows per ${bucketName(d.load_history.bucket_seconds)})`),
    loadsChart,
    d.views.length ? [h('h2', {}, 'Model'), viewsBox] : null,
    d.exports.length
      ? h('p', { class: 'exports' }, 'Exports: ', d.exports.map((e) =>
          e.bytes === null ? h('span', { class: 'muted' }, `${e.path} (not written yet) `)
            : h('a', { class: 'button', href: `/api/datasets/${encodeURIComponent(name)}/exports/${e.index}` }, `${e.file} (${bytes(e.bytes)}, ${when(e.updated_at)})`)))
      : null,
    h('h2', {}, 'Columns'),
    profileBox,
    h('h2', {}, 'Recent loads'),
    d.loads.length === 0 ? h('p', { class: 'muted' }, 'No loads yet.')
      : table(['when', 'file id', 'file', 'rows', 'seconds'], d.loads.slice(0, 20).map((l) =>
          h('tr', {}, h('td', {}, when(l.at)), h('td', { class: 'num' }, l.id), h('td', {}, l.file), h('td', { class: 'num' }, num(l.rows)), h('td', { class: 'num' }, l.seconds))), { id: 'recent-loads' }),
    h('h2', {}, d.preview.latest ? 'Latest rows' : 'Some rows'),
    d.preview.rows.length === 0 ? h('p', { class: 'muted' }, 'The table is empty.')
      : h('div', { class: 'scroll' }, table(d.preview.columns, d.preview.rows.map((row) => h('tr', {}, row.map((v) => h('td', {}, cell(v))))), { id: 'latest-rows' })),
  );
  xyChart(loadsChart, { xs: filled.xs, series: [{ label: 'rows', values: filled.rows }], kind: 'bar', time: true, step: d.load_history.bucket_seconds });
  const viewBoxes = d.views.map((v) => h('section', { class: 'view', 'data-view': v.index }, h('h3', {}, v.title)));
  fill(viewsBox, ...viewBoxes);
  const views = Promise.all(d.views.map(async (v, i) => renderView(viewBoxes[i], await api(`/api/datasets/${encodeURIComponent(name)}/views/${v.index}`))));
  const profile = async () => renderProfile(profileBox, await api(`/api/datasets/${encodeURIComponent(name)}/profile`));
  await Promise.all([views, profile()]);
  return {
    onEvent: (e) => {
      if (e.dataset !== name) return null;
      if (e.event === 'profile') return profile;
      return ['loaded', 'failed', 'skipped'].includes(e.event) ? 'reload' : null;
    },
  };
}

