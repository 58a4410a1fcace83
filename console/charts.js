// Charts: uPlot for numbers and times along x (bars or lines, axes sized to their labels, no empty
// legend), plain elements for categories (horizontal bars: every label readable) and for the small
// histograms of the column profiles. Labels are text nodes or canvas text, never markup.
import { compact, fill, h, nodes, num } from './dom.js';

const COLOURS = ['#1d4ed8', '#c2410c', '#047857', '#7c3aed', '#b91c1c', '#0e7490', '#a16207', '#be185d'];

/** A y axis as wide as its longest label (uPlot's fixed 50 px clipped "50,000" to "0,000"). */
function fitLabels(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values || []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), '');
  if (longest !== '') {
    self.ctx.font = axis.font[0];
    size += self.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size) + 4;
}

const pad = (n) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** One line per tick, by the span shown: 14:05 · 23 Nov 14:00 · 23 Nov · Nov 2026. */
export function timeLabel(seconds, span) {
  const d = new Date(seconds * 1000);
  if (span <= 86400) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (span <= 7 * 86400) return `${d.getDate()} ${MONTHS[d.getMonth()]} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (span <= 400 * 86400) return `${d.getDate()} ${MONTHS[d.getMonth()]}`;
  return `${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
}

function legend(series) {
  if (series.length < 2) return null;
  return h('div', { class: 'legend' }, series.map((s, i) => h('span', { class: 'key' }, h('span', { class: 'swatch', style: `background:${COLOURS[i % COLOURS.length]}` }), s.label)));
}

/**
 * An x/y chart with uPlot. `xs`: numbers (epoch seconds when `time`); `series`: [{ label, values }].
 * `kind`: bar or line. Bars of several series sit side by side (two) or overlap, translucent.
 */
/** Charts drawn, to fit to their box once their page is shown and when the window resizes. */
const drawn = new Set();

export function fitCharts() {
  for (const entry of drawn) {
    if (!entry.target.isConnected) {
      drawn.delete(entry);
      continue;
    }
    const width = Math.max(320, entry.target.clientWidth - 16);
    if (Math.abs(width - entry.plot.width) > 2) entry.plot.setSize({ width, height: entry.plot.height });
  }
}

const MULTIPLES = [1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 10080, 20160, 43200, 525600];

export function xyChart(target, { xs, series, kind = 'bar', time = false, height = 220, xLabel = null, step = null }) {
  fill(target);
  if (!window.uPlot || xs.length === 0) {
    target.append(h('p', { class: 'muted' }, 'nothing yet'));
    return;
  }
  // Drawn before its page is swapped in, it is fitted to its box afterwards (fitCharts).
  const width = Math.max(320, (target.clientWidth || document.getElementById('main').clientWidth - 48) - 16);
  const span = xs.length > 1 ? xs[xs.length - 1] - xs[0] : 3600;
  const gap = xs.length > 1 ? Math.min(...xs.slice(1).map((x, i) => x - xs[i])) : 1;
  const range = [xs[0] - gap * 0.6, xs[xs.length - 1] + gap * 0.6];
  const bars = (i) => window.uPlot.paths.bars({ size: [series.length === 2 ? 0.45 : 0.7, 80], align: series.length === 2 ? (i === 0 ? -1 : 1) : 0 });
  const plot = new window.uPlot({
    width,
    height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time, range: () => range },
      y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] },
    },
    axes: [
      {
        space: 90,
        size: 36,
        // Ticks on whole steps (a bucket, a year): never two ticks with the same label.
        ...(step ? { incrs: MULTIPLES.map((m) => m * step) } : {}),
        grid: { stroke: '#eef0f3' },
        values: (_u, splits) => splits.map((v) => (time ? timeLabel(v, span) : Number.isInteger(v) ? String(v) : compact(v))),
        ...(xLabel ? { label: xLabel, size: 52 } : {}),
      },
      { size: fitLabels, grid: { stroke: '#eef0f3' }, values: (_u, splits) => splits.map(compact) },
    ],
    series: [
      {},
      ...series.map((s, i) => {
        const colour = COLOURS[i % COLOURS.length];
        return kind === 'bar'
          ? { label: s.label, stroke: colour, fill: `${colour}${series.length > 2 ? '66' : 'cc'}`, width: 0, paths: bars(i), points: { show: false } }
          : { label: s.label, stroke: colour, width: 2, points: { show: xs.length < 60, size: 5 } };
      }),
    ],
  }, [xs, ...series.map((s) => s.values)], target);
  const key = legend(series);
  if (key) target.append(key);
  drawn.add({ target, plot });
  return plot;
}

/** Horizontal bars, a row per category: for text along x (teams, competitions, players). */
export function categoryBars(target, { labels, details = [], series, limit = 40 }) {
  fill(target);
  if (labels.length === 0) {
    target.append(h('p', { class: 'muted' }, 'no rows'));
    return;
  }
  const shown = labels.slice(0, limit);
  const max = Math.max(1, ...series.flatMap((s) => s.values.slice(0, limit).map((v) => Math.abs(Number(v) || 0))));
  target.append(...nodes(
    h('div', { class: 'hbars' },
      shown.map((label, row) =>
        h('div', { class: 'hbar' },
          h('div', { class: 'label', title: [label, details[row]].filter(Boolean).join(' · ') }, label === null ? '∅' : String(label), details[row] ? h('span', { class: 'muted' }, ` · ${details[row]}`) : null),
          h('div', { class: 'bars' },
            series.map((s, i) => {
              const value = s.values[row];
              return h('div', { class: 'bar-row' },
                h('div', { class: 'bar', style: `width:${(Math.abs(Number(value) || 0) / max) * 100}%;background:${COLOURS[i % COLOURS.length]}` }),
                h('span', { class: 'bar-value' }, value === null || value === undefined ? '∅' : num(Number(value))));
            }))))),
    labels.length > limit ? h('p', { class: 'muted' }, `the first ${limit} of ${labels.length}; the table below has every row`) : null,
    legend(series),
  ));
}

/** A column profile's histogram as small columns, each with its range and count as a tooltip. */
export function miniHistogram(bins, format) {
  const max = Math.max(1, ...bins.map((b) => b.count));
  return h('div', { class: 'histogram' },
    bins.map((b) => h('div', { class: 'col', title: `${format(b.from)}${b.to !== b.from ? ` – ${format(b.to)}` : ''}: ${num(b.count)}` },
      h('div', { class: 'fill', style: `height:${Math.max(b.count ? 4 : 0, (b.count / max) * 100)}%` }))),
  );
}

/** Top values with a bar for their share. */
export function topValues(top, rows) {
  const max = Math.max(1, ...top.map((t) => t.count));
  return h('div', { class: 'top' },
    top.map((t) => h('div', { class: 'top-row' },
      h('span', { class: 'top-value', title: t.value }, t.value === '' ? '(empty)' : t.value),
      h('span', { class: 'top-bar' }, h('span', { style: `width:${(t.count / max) * 100}%` })),
      h('span', { class: 'top-count' }, rows ? `${num(t.count)} · ${+((t.count / rows) * 100).toFixed(1)} %` : num(t.count)))));
}
