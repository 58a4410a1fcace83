/**
 * What the console shows of the data, through a running daemon: the shipped examples' model views
 * (the Olympic medal summary, the NHL points leaders, the football teams per competition) as charts
 * in a real browser; column profiles of a big table from a sample and PostgreSQL's statistics; and
 * that the console's reads give way — a locked table is reported, not waited for — and cannot
 * write. The model views' and profiles' screenshots are the ones docs/console.md shows.
 */
import { copyFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { chromiumPath } from '../helpers/browser.js';
import { createTestEnv, PROJECT_ROOT, type TestEnv } from '../helpers/env.js';
import { resolveDataset } from '../../src/config/dataset.js';
import type { UserDataset } from '../../src/config/types.js';
import type { Daemon } from '../../src/daemon.js';

const executable = chromiumPath();
const docsShots = process.env['LOADBAY_SCREENSHOTS'] === '1';

interface View {
  title: string;
  columns: Array<{ name: string; kind: string }>;
  rows: unknown[][];
  x: string;
  y: string[];
  group: string | null;
  error: string | null;
}

describe('the shipped examples', () => {
  let env: TestEnv;
  let daemon: Daemon;
  let browser: Browser | null = null;
  beforeAll(async () => {
    env = await createTestEnv();
    daemon = await env.start();
    const { readdir } = await import('node:fs/promises');
    const names = (await readdir(path.join(PROJECT_ROOT, 'examples'))).sort();
    for (const name of names) {
      await copyFile(path.join(PROJECT_ROOT, 'examples', name), path.join(env.root, name));
      await rename(path.join(env.root, name), path.join(env.folders.input, name));
    }
    for (const name of names) await env.outcome(name);
    if (executable) browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await env?.cleanup();
  });

  const view = async (dataset: string, index: number) => (await (await fetch(`${daemon.httpUrl}/api/datasets/${dataset}/views/${index}`)).json()) as View;

  it('declare their model views, and each answers with rows to draw', async () => {
    const medals = await view('athlete-events', 0);
    expect(medals).toMatchObject({ title: 'Teams with a medal per Games', error: null, x: 'year', y: ['countries_with_medals'], group: 'season' });
    expect(medals.columns.map((c) => [c.name, c.kind])).toEqual([['year', 'number'], ['season', 'text'], ['countries_with_medals', 'number']]);
    expect(medals.rows.length).toBeGreaterThan(0);
    const leaders = await view('nhl-boxscore', 0);
    expect(leaders).toMatchObject({ error: null, x: 'full_name', y: ['points'] });
    expect(leaders.rows.length).toBeGreaterThan(0);
    const teams = await view('football-competitions', 0);
    expect(teams).toMatchObject({ title: 'Teams per competition', error: null, x: 'Competition', y: ['Number of Teams'] });
    // The export's own query, in its own order: most teams first.
    const counts = teams.rows.map((r) => Number(r[1]));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(counts[0]).toBeGreaterThan(0);
    const dataset = (await (await fetch(`${daemon.httpUrl}/api/datasets/football-competitions`)).json()) as { exports: Array<{ file: string; bytes: number | null }> };
    expect(dataset.exports).toEqual([expect.objectContaining({ file: 'teams_per_competition.csv', bytes: expect.any(Number) })]);
    const csv = await fetch(`${daemon.httpUrl}/api/datasets/football-competitions/exports/0`);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="teams_per_competition\.csv"/);
    expect((await csv.text()).split('\n')[0]).toBe('Competition,Number of Teams');
  });

  (executable ? it : it.skip)('are drawn as charts with their tables', async () => {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 820 } });
    const open = async (route: string) => {
      await page.goto(`${daemon.httpUrl}${route}`);
      await page.waitForFunction(() => document.body.dataset['rendered'] !== undefined);
    };
    await open('/datasets/athlete-events');
    await page.waitForSelector('[data-view="0"] canvas');
    expect(await page.textContent('[data-view="0"] .legend')).toMatch(/Summer.*Winter|Winter.*Summer/);
    const shots = docsShots ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : path.join(env.root, 'screenshots');
    await mkdir(shots, { recursive: true });
    await page.locator('[data-view="0"]').screenshot({ path: path.join(shots, 'model-medals.png') });
    await open('/datasets/nhl-boxscore');
    await page.waitForSelector('[data-view="0"] .hbars');
    expect(await page.locator('[data-view="0"] .hbar').count()).toBeGreaterThan(0);
    await page.locator('[data-view="0"]').screenshot({ path: path.join(shots, 'model-leaders.png') });
    await open('/datasets/football-competitions');
    await page.waitForSelector('[data-view="0"] .hbars');
    expect(await page.textContent('[data-view="0"] .hbar .label')).toBeTruthy();
    await page.locator('[data-view="0"]').screenshot({ path: path.join(shots, 'model-teams.png') });
    await open('/datasets/students');
    await page.waitForSelector('#profile [data-column=internet] .top');
    expect(await page.textContent('#profile [data-column=internet] .top')).toMatch(/true.*false|false.*true/s);
    await page.locator('#profile').screenshot({ path: path.join(shots, 'profile.png') });
    await page.close();
  });
});

describe('profiles and reads that give way', () => {
  let env: TestEnv;
  let daemon: Daemon;
  beforeAll(async () => {
    const views = `views:\n  - title: Writes\n    query: WITH gone AS (DELETE FROM shop.items_csv RETURNING id) SELECT count(*) AS n FROM gone\n  - title: Sequence\n    query: SELECT nextval('shop.console_test_seq') AS n\n`;
    env = await createTestEnv({ datasets: { ...ITEM_DATASETS, 'items-csv.yaml': ITEM_DATASETS['items-csv.yaml'] + views } });
    daemon = await env.start();
    await env.pool.query('CREATE SEQUENCE shop.console_test_seq');
  });
  afterAll(async () => {
    await env?.cleanup();
  });
  const get = async <T>(route: string) => (await (await fetch(`${daemon.httpUrl}${route}`)).json()) as T;

  it('a big table is profiled from a sample, with its row count and distinct counts from PostgreSQL statistics', async () => {
    await env.drop('items-seed.jsonl', '{"id": 1, "name": "seed"}\n');
    await env.outcome('items-seed.jsonl', 'loaded');
    // Rows added behind loadbay's back, enough for the table to be sampled (more than 16 MiB).
    await env.pool.query(`INSERT INTO shop.items_jsonl (id, name, price, active, size, _file_id, _source_file, _source_record, _loaded_at)
      SELECT i, repeat('n', 60) || (i % 1000), (i % 500) / 2.0, i % 3 = 0, (ARRAY['S','M','L'])[1 + i % 3], 0, 'generated', i, now()
        FROM generate_series(1, 300000) AS i`);
    await env.pool.query('ANALYZE shop.items_jsonl');
    type Profile = { profile: { rows: number; rows_estimated: boolean; sampled: boolean; rows_read: number; columns: Array<{ name: string; distinct: number; distinct_basis: string; null_share: number; top?: unknown[]; histogram?: unknown[] }> } };
    const { profile } = await get<Profile>('/api/datasets/items-jsonl/profile');
    expect(profile).toMatchObject({ sampled: true, rows_estimated: true });
    expect(profile.rows).toBeGreaterThan(270_000);
    expect(profile.rows).toBeLessThan(330_000);
    expect(profile.rows_read).toBeLessThan(profile.rows / 2);
    expect(profile.rows_read).toBeGreaterThan(1000);
    const size = profile.columns.find((c) => c.name === 'size')!;
    expect(size).toMatchObject({ distinct: 3, distinct_basis: 'statistics' });
    expect(size.top).toHaveLength(3);
    const born = profile.columns.find((c) => c.name === 'born')!;
    expect(born.null_share).toBe(1);
    expect(profile.columns.find((c) => c.name === 'price')!.histogram).toHaveLength(20);
  });

  it('a locked table is reported, not waited for; a model view cannot write', async () => {
    const holder = await env.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE shop.items_csv IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const locked = await get<{ error: string | null; profile: unknown }>('/api/datasets/items-csv/profile');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(locked).toMatchObject({ profile: null, error: expect.stringContaining('the table is locked') });
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    const writes = await get<View>('/api/datasets/items-csv/views/0');
    expect(writes.error).toMatch(/Writes|query/);
    expect(writes.rows).toEqual([]);
    const sequence = await get<View>('/api/datasets/items-csv/views/1');
    expect(sequence.error).toMatch(/cannot execute nextval\(\) in a read-only transaction/);
  });
});

describe('views in a dataset file', () => {
  const base: UserDataset = { name: 'v', match: 'v-*.csv', format: 'csv', table: 'v.rows', schema: { type: 'object', properties: { id: { type: 'integer' } } } };
  it('resolve to the query the console runs, and name the file and path when wrong', () => {
    const [table, query] = resolveDataset('/config/datasets/v.yaml', {
      ...base,
      views: [{ title: 'A table', table: 'reporting.summary', x: 'year', y: 'n', group: 'season' }, { title: 'A query', query: 'SELECT 1 AS n', chart: 'line' }],
    }).views;
    expect(table).toEqual({ title: 'A table', sql: 'SELECT * FROM "reporting"."summary"', label: 'reporting.summary', chart: 'bar', x: 'year', y: ['n'], group: 'season', ordered: false });
    expect(query).toMatchObject({ sql: 'SELECT 1 AS n', chart: 'line', x: null, y: [], ordered: true });
    expect(() => resolveDataset('/config/datasets/v.yaml', { ...base, views: [{ title: 'Both', table: 'a', query: 'SELECT 1' }] })).toThrow(
      '/config/datasets/v.yaml: /views/0: give one of table, sql (a file) or query',
    );
    expect(() => resolveDataset('/config/datasets/v.yaml', { ...base, views: [{ title: 'Missing', sql: 'sql/none.sql' }] })).toThrow(
      /\/config\/datasets\/v\.yaml: \/views\/0\/sql: cannot read SQL file sql\/none\.sql/,
    );
  });

  it('are checked by the configuration schema', async () => {
    const env = await createTestEnv({ datasets: { 'v.yaml': 'name: v\nmatch: "v-*.csv"\nformat: csv\ntable: v.rows\nschema: { type: object, properties: { id: { type: integer } } }\nviews:\n  - title: T\n    table: a\n    colour: red\n' } });
    try {
      await expect(env.loadConfig()).rejects.toThrow(/v\.yaml: \/views\/0: unknown key "colour"/);
    } finally {
      await env.cleanup();
    }
  });
});
