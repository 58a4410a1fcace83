/**
 * /metrics of a running daemon as Prometheus and its alert rules read it: promtool accepts it,
 * Node's and the process's metrics carry their standard names, every label set the configuration
 * can produce is there at 0 from the start (so `increase()` sees a first failure), and the per-file
 * counters say which dataset.
 */
import path from 'node:path';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, PROJECT_ROOT, type TestEnv } from '../helpers/env.js';
import { promtool, runPromtool } from '../helpers/promtool.js';

const tool = promtool();
if (tool.skip) console.log(`promtool checks skipped: ${tool.skip}`);
const withPromtool = tool.path ? it : it.skip;

const REPORT_DATASET = `name: items-report
match: ["report-*.jsonl"]
format: jsonl
table: shop.reported
export: { query: "select * from shop.no_such_table", to: exports/report.csv }
schema:
  type: object
  required: [id]
  properties:
    id: { type: integer }
`;
const DATASETS = { ...ITEM_DATASETS, 'items-report.yaml': REPORT_DATASET };

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

/** Every sample of the exposition: `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    result.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return result;
}

function labelValues(text: string, metric: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const key of samples(text).keys()) {
    if (!key.startsWith(`${metric}{`)) continue;
    const match = new RegExp(`[{,]${label}="([^"]*)"`).exec(key);
    if (match) values.add(match[1]!);
  }
  return values;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

it('every known label set is exported at 0 from the start, so the first export failure after a start shows in increase()', async () => {
  env = await createTestEnv({ datasets: DATASETS });
  const daemon = await env.start();
  const before = samples(await scrape(daemon.httpUrl!));
  const datasets = ['items-csv', 'items-json', 'items-jsonl', 'items-report'];
  for (const dataset of datasets) {
    for (const outcome of ['loaded', 'failed', 'skipped', 'vanished']) {
      expect([dataset, outcome, before.get(`loadbay_files_processed_total{outcome="${outcome}",dataset="${dataset}"}`)]).toEqual([dataset, outcome, 0]);
    }
    for (const stage of ['read', 'prepare', 'validate', 'load', 'check', 'settle', 'export']) {
      expect([dataset, stage, before.get(`loadbay_errors_total{stage="${stage}",dataset="${dataset}"}`)]).toEqual([dataset, stage, 0]);
    }
    expect(before.get(`loadbay_retries_total{kind="held",dataset="${dataset}"}`)).toBe(0);
    expect(before.get(`loadbay_bytes_processed_total{dataset="${dataset}"}`)).toBe(0);
  }
  expect(before.get('loadbay_rows_loaded_total{dataset="items-report",table="shop.reported"}')).toBe(0);
  expect(before.get('loadbay_errors_total{stage="route",dataset="_unmatched"}')).toBe(0);
  expect(before.get('loadbay_stage_duration_seconds_count{stage="commit"}')).toBe(0);

  const failedExport = daemon.events.next('export_failed');
  await env.drop('report-1.jsonl', '{"id": 1}\n');
  expect((await failedExport).reason).toMatch(/no_such_table/);
  const after = samples(await scrape(daemon.httpUrl!));
  // What `increase(loadbay_errors_total{stage="export"}[30m]) > 0` compares: a series that was 0, now 1.
  expect(after.get('loadbay_errors_total{stage="export",dataset="items-report"}')).toBe(1);
  expect(after.get('loadbay_files_processed_total{outcome="loaded",dataset="items-report"}')).toBe(1);
  expect(after.get('loadbay_rows_loaded_total{dataset="items-report",table="shop.reported"}')).toBe(1);
});

it('the per-file counters carry the dataset, bounded by the configuration (_unmatched for files no dataset claims)', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const daemon = await env.start();
  const outcomes = Promise.all([env.outcome('items-a.jsonl'), env.outcome('items-b.csv'), env.outcome('stray.csv')]);
  await env.drop('items-a.jsonl', '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n');
  await env.drop('items-b.csv', 'id,name\nx,a\n');
  await env.drop('stray.csv', 'a,b\n1,2\n');
  await outcomes;
  const text = await scrape(daemon.httpUrl!);
  const all = samples(text);
  expect(all.get('loadbay_files_processed_total{outcome="loaded",dataset="items-jsonl"}')).toBe(1);
  expect(all.get('loadbay_files_processed_total{outcome="failed",dataset="items-csv"}')).toBe(1);
  expect(all.get('loadbay_files_processed_total{outcome="failed",dataset="_unmatched"}')).toBe(1);
  expect(all.get('loadbay_errors_total{stage="validate",dataset="items-csv"}')).toBe(1);
  expect(all.get('loadbay_errors_total{stage="route",dataset="_unmatched"}')).toBe(1);
  expect(all.get('loadbay_rows_loaded_total{dataset="items-jsonl",table="shop.items_jsonl"}')).toBe(2);
  expect(all.get('loadbay_bytes_processed_total{dataset="items-jsonl"}')).toBeGreaterThan(0);
  const known = new Set(['items-csv', 'items-json', 'items-jsonl', '_unmatched']);
  for (const metric of ['loadbay_files_processed_total', 'loadbay_errors_total', 'loadbay_retries_total', 'loadbay_bytes_processed_total', 'loadbay_rows_loaded_total']) {
    for (const value of labelValues(text, metric, 'dataset')) expect([metric, value, known.has(value)]).toEqual([metric, value, true]);
  }
});

it("Node's and the process's metrics keep their standard names; no gauge is named like a counter", async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const daemon = await env.start();
  const text = await scrape(daemon.httpUrl!);
  expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  expect(text).toMatch(/^process_cpu_seconds_total [\d.e+-]+$/m);
  expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
  expect(text).toMatch(/^nodejs_version_info\{/m);
  expect(text).not.toMatch(/^loadbay_(process|nodejs)_/m);
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
  expect(types.length).toBeGreaterThan(20);
  for (const [name, type] of types) {
    if (name.endsWith('_total')) expect([name, type]).toEqual([name, 'counter']);
    if (type === 'counter') expect([name, name.endsWith('_total')]).toEqual([name, true]);
  }
});

withPromtool('promtool check metrics accepts /metrics after loads, failures and an unmatched file', async () => {
  env = await createTestEnv({ datasets: DATASETS });
  const daemon = await env.start();
  const outcomes = Promise.all([env.outcome('items-a.jsonl'), env.outcome('items-b.csv'), env.outcome('stray.csv')]);
  await env.drop('items-a.jsonl', '{"id": 1, "name": "a"}\n');
  await env.drop('items-b.csv', 'id,name\nx,a\n');
  await env.drop('stray.csv', 'a,b\n1,2\n');
  await outcomes;
  const checked = runPromtool(tool.path!, ['check', 'metrics'], await scrape(daemon.httpUrl!));
  expect([checked.status, checked.output]).toEqual([0, '']);
});

withPromtool('promtool accepts the shipped alert rules', () => {
  const checked = runPromtool(tool.path!, ['check', 'rules', path.join(PROJECT_ROOT, 'docs', 'monitoring', 'prometheus-alerts.yml')]);
  expect([checked.status, checked.output]).toEqual([0, expect.stringMatching(/SUCCESS: \d+ rules found/)]);
});
