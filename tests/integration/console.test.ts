/**
 * The web console in a real browser (Debian's Chromium, driven by playwright-core) against a running
 * daemon with a token: sign in, the overview, a quarantined file's report with its offending lines,
 * retry, a fix made in the page (values, and a header that does not fit its rows) followed until it
 * loads, the quarantine's filters, a dataset's loads over time, column profile and model views, live
 * updates (server-sent events), the defects of issue 26, and that nothing a file contains — values,
 * names, headers — runs as script on any page. The screenshots are the ones docs/console.md shows.
 * Without a browser the tests skip and say why.
 */
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { chromiumPath, consolePage, openConsole } from '../helpers/browser.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import type { Daemon } from '../../src/daemon.js';

const executable = chromiumPath();
if (!executable) console.log('console tests skipped: no Chromium (install Debian\'s chromium, or set CHROMIUM_PATH)');
const maybe = executable ? it : it.skip;
const TOKEN = 'console-test-token-0123456789';
/** The docs' screenshots are refreshed with LOADBAY_SCREENSHOTS=1 npm test; otherwise they go to the test's folder. */
const docsShots = process.env['LOADBAY_SCREENSHOTS'] === '1';

const VIEWS = `views:
  - title: Items per size
    query: SELECT size, count(*) AS items FROM shop.items_jsonl GROUP BY size ORDER BY size
    x: size
  - title: Price by id
    query: SELECT id, price FROM shop.items_jsonl WHERE price IS NOT NULL ORDER BY id
    chart: line
  - title: Names
    query: SELECT name, price FROM shop.items_jsonl WHERE price IS NOT NULL
`;
const DATASETS = { ...ITEM_DATASETS, 'items-jsonl.yaml': ITEM_DATASETS['items-jsonl.yaml'] + VIEWS };

let env: TestEnv;
let daemon: Daemon;
let SHOTS: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!executable) return;
  env = await createTestEnv({ datasets: DATASETS });
  const { appendFile } = await import('node:fs/promises');
  await appendFile(env.configFile, `  token: ${TOKEN}\n`);
  daemon = await env.start();
  browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
  page = await consolePage(browser);
  SHOTS = docsShots ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : path.join(env.root, 'screenshots');
  await mkdir(SHOTS, { recursive: true });
  // Good files, and a hostile one that is quarantined: markup in its values must stay text.
  await env.drop('items-console.jsonl', Array.from({ length: 5 }, (_, i) => `{"id": ${i + 1}, "name": "item ${i + 1}", "price": ${i * 2.5}, "size": "M", "active": ${i % 2 === 0}}`).join('\n') + '\n');
  await env.outcome('items-console.jsonl', 'loaded');
  await env.drop('items-hostile.csv', 'id,name,size\n1,"<script>window.__xss=1</script>",XL\n2,"""><img src=x onerror=""window.__xss=2"">",XL\n3,c,<b onclick=x>bold</b>\n');
  await env.outcome('items-hostile.csv', 'failed');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await env?.cleanup();
});

const open = (route: string) => openConsole(page, daemon.httpUrl!, route);

/** Nothing a file contained became markup or ran. */
async function noInjection(): Promise<void> {
  expect(await page.locator('main img, main script, main b, main [onerror], main [onclick]').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
}

const api = async <T>(route: string): Promise<T> => (await (await fetch(`${daemon.httpUrl}${route}`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json()) as T;

maybe('asks for the token, then shows the overview: ready, backlog, latest outcomes, actions on', async () => {
  await page.goto(`${daemon.httpUrl}/`);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('input[name=token]', 'not the token, not at all');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=That token is not right.');
  await page.fill('input[name=token]', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.body.dataset['rendered'] !== undefined);
  expect(await page.textContent('#readiness')).toBe('ready');
  const text = (await page.textContent('main'))!;
  expect(text).toContain('items-console.jsonl');
  expect(text).toContain('items-hostile.csv');
  expect(await page.textContent('[data-card=backlog] .value')).toBe('0');
  expect(await page.locator('#read-only').count()).toBe(0);
  // The chart of the last hour: bars, no empty legend under it.
  await page.waitForSelector('#throughput canvas');
  expect(await page.locator('#throughput .u-legend').count()).toBe(0);
  await page.waitForFunction(() => document.body.dataset['live'] === 'open');
  await page.screenshot({ path: path.join(SHOTS, 'overview.png'), fullPage: true });
});

maybe('a quarantined file: grouped problems, offending lines marked, hostile values shown as text', async () => {
  await open('/quarantine');
  await page.click('text=items-hostile.csv');
  await page.waitForSelector('#offending');
  expect(await page.textContent('#reason')).toBe('3 problems; first: line 2, field "size" = "XL": enum: must be one of "S", "M", "L"');
  const lines = (await page.textContent('#offending'))!;
  expect(lines).toContain('<script>window.__xss=1</script>');
  expect(lines).toContain('""><img src=x onerror=""window.__xss=2"">');
  expect(lines).toContain('<b onclick=x>bold</b>');
  expect(await page.locator('#offending mark').count()).toBeGreaterThan(0);
  // The lines are the fix form's too: their text in inputs, as values.
  expect(await page.inputValue('#offending input[data-line="2"]')).toBe('1,"<script>window.__xss=1</script>",XL');
  await noInjection();
  const id = new URL(page.url()).pathname.split('/').pop();
  const response = await page.request.get(`${daemon.httpUrl}/api/quarantine/${id}/file`);
  expect(response.headers()['content-type']).toBe('text/plain; charset=utf-8');
  expect(response.headers()['content-disposition']).toMatch(/^attachment; filename="items-hostile\.csv"/);
  const report = await page.request.get(`${daemon.httpUrl}/api/quarantine/${id}/report`);
  expect(report.headers()['content-disposition']).toMatch(/^attachment; filename="items-hostile\.csv\.error\.json"/);
  expect(JSON.parse(await report.text())).toMatchObject({ file: 'items-hostile.csv', file_id: id, problem_count: 3 });
});

maybe('retry asks for the token and sends the file back to input/', async () => {
  await open('/quarantine');
  await page.click('text=items-hostile.csv');
  await page.waitForSelector('#retry');
  page.once('dialog', (dialog) => void dialog.accept(TOKEN));
  const failedBefore = (await env.logLines()).filter((l) => l.file === 'items-hostile.csv' && l.event === 'failed').length;
  await page.click('#retry');
  await page.waitForSelector('text=Moved back to input/items-hostile.csv');
  // Still the same bad content: it fails again (the page, following it, says so), with a new report.
  await page.waitForSelector('#retry-status >> text=failed again');
  await waitFor(async () => (await env.logLines()).filter((l) => l.file === 'items-hostile.csv' && l.event === 'failed').length === failedBefore + 1, {
    message: 'the second failure',
  });
  expect((await env.logLines()).some((l) => l.event === 'retried' && l.file === 'items-hostile.csv')).toBe(true);
});

maybe('a dataset: loads over time as bars, the column profile, model views as charts with their tables, the latest rows with false as false', async () => {
  await open('/datasets');
  expect(await page.textContent('main')).toContain('shop.items_jsonl');
  await page.click('text=items-jsonl');
  await page.waitForSelector('#loads-over-time canvas');
  expect(await page.locator('#loads-over-time .u-legend').count()).toBe(0);
  await page.waitForSelector('#profile [data-column=price] .histogram');
  const text = (await page.textContent('main'))!;
  expect(text).toContain('5 rows');
  expect(text).toContain('item 5');
  // Booleans: a false is "false" (it was an empty cell), in the rows and in the profile's top values.
  const cells = await page.locator('#latest-rows tbody tr:first-child td').allTextContents();
  const header = await page.locator('#latest-rows thead th').allTextContents();
  expect(cells[header.indexOf('active')]).toBe('true');
  expect(await page.locator('#latest-rows td', { hasText: /^false$/ }).count()).toBe(2);
  expect(await page.textContent('#profile [data-column=active] .top')).toMatch(/true.*3.*false.*2/s);
  // The profile as JSON: exact for a small table.
  const profile = await api<{ profile: { rows: number; sampled: boolean; columns: Array<Record<string, unknown>> } }>('/api/datasets/items-jsonl/profile');
  expect(profile.profile).toMatchObject({ rows: 5, sampled: false, rows_estimated: false });
  const column = (name: string) => profile.profile.columns.find((c) => c['name'] === name)!;
  expect(column('price')).toMatchObject({ type: 'double precision', kind: 'number', null_share: 0, distinct: 5, distinct_basis: 'exact', min: '0', max: '10' });
  expect((column('price')['histogram'] as Array<{ count: number }>).reduce((sum, b) => sum + b.count, 0)).toBe(5);
  expect(column('size')).toMatchObject({ kind: 'text', distinct: 1, top: [{ value: 'M', count: 5 }] });
  expect(column('active')).toMatchObject({ kind: 'boolean', top: [{ value: 'true', count: 3 }, { value: 'false', count: 2 }] });
  expect(column('born')).toMatchObject({ kind: 'date', null_share: 1, distinct: 0, min: null });
  expect(column('id')['histogram']).toEqual([1, 2, 3, 4, 5].map((v) => ({ from: v, to: v, count: 1 })));
  // The model views: categories as bars with their labels, numbers along x with uPlot, a table each.
  await page.waitForSelector('[data-view="0"] .hbars');
  expect(await page.textContent('[data-view="0"] .hbar .label')).toBe('M');
  expect(await page.textContent('[data-view="0"] .view-table')).toContain('items');
  await page.waitForSelector('[data-view="1"] canvas');
  expect(await page.locator('[data-view="1"] .view-table tbody tr').count()).toBe(5);
  await noInjection();
  await page.screenshot({ path: path.join(SHOTS, 'datasets.png'), fullPage: true });
});

maybe('live: the overview, the quarantine list and a dataset page change as files arrive, without reloading', async () => {
  for (const [route, ready] of [['/', '#recent'], ['/quarantine', '#quarantine-table'], ['/datasets/items-jsonl', '#recent-loads']] as const) {
    await open(route);
    await page.waitForSelector(ready);
    await page.waitForFunction(() => document.body.dataset['live'] === 'open');
    await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    const name = `items-live-${route.replace(/\W/g, '')}`;
    const bad = route === '/quarantine';
    await env.drop(bad ? `${name}.csv` : `${name}.jsonl`, bad ? 'id,name\nx,y\n' : `{"id": 90, "name": "${name}"}\n`);
    await page.waitForSelector(`${ready} >> text=${name}`, { timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
  }
});

maybe('recent loads are the latest, by time and id as numbers (ids 6, 5, 18 came in text order)', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `items-order-${String(i).padStart(2, '0')}.jsonl`);
  for (const name of names) {
    await env.drop(name, `{"id": 1, "name": "${name}"}\n`);
    await env.outcome(name, 'loaded');
  }
  const data = await api<{ loads: Array<{ id: string; file: string; at: string }> }>('/api/datasets/items-jsonl');
  const ids = data.loads.map((l) => Number(l.id));
  expect(ids).toEqual([...ids].sort((a, b) => b - a));
  expect(data.loads[0]!.file).toBe(names[names.length - 1]);
  expect(ids.length).toBeGreaterThanOrEqual(14);
  await open('/datasets/items-jsonl');
  expect(await page.textContent('#recent-loads tbody tr:first-child')).toContain(names[names.length - 1]);
});

maybe('the quarantine: filter by dataset and state, search, and each file links to its dataset', async () => {
  await env.drop('items-other.jsonl', '{"id": -1, "name": "negative"}\n');
  await env.outcome('items-other.jsonl', 'failed');
  await open('/quarantine');
  await page.waitForSelector('#quarantine-table');
  const files = async () => (await page.locator('#quarantine-table tbody tr td:nth-child(2)').allTextContents()).sort();
  expect(await files()).toEqual(expect.arrayContaining(['items-hostile.csv', 'items-other.jsonl']));
  await page.selectOption('#filter-dataset', 'items-jsonl');
  await page.waitForFunction(() => location.search === '?dataset=items-jsonl');
  await page.waitForFunction(() => !document.querySelector('#quarantine-table')?.textContent?.includes('items-hostile.csv'));
  expect(await files()).toEqual(['items-other.jsonl']);
  await page.selectOption('#filter-dataset', '');
  await page.fill('#filter-q', 'HOSTILE');
  await page.waitForFunction(() => location.search === '?q=HOSTILE');
  await page.waitForFunction(() => !document.querySelector('#quarantine-table')?.textContent?.includes('items-other.jsonl'));
  expect(await files()).toEqual(['items-hostile.csv']);
  // By reason too; nothing found says so.
  await page.fill('#filter-q', 'must be >= 1');
  await page.waitForFunction(() => document.querySelector('#quarantine-table')?.textContent?.includes('items-other.jsonl'));
  await page.fill('#filter-q', 'no such thing anywhere');
  await page.waitForSelector('#quarantine-empty');
  // The retried hostile file's first failure is under "retried or fixed".
  await page.fill('#filter-q', '');
  await page.selectOption('#filter-state', 'resubmitted');
  await page.waitForFunction(() => document.querySelector('#quarantine-table')?.textContent?.includes('retried'));
  expect(await files()).toEqual(['items-hostile.csv']);
  await page.selectOption('#filter-state', 'open');
  await page.waitForSelector('#quarantine-table >> text=items-other.jsonl');
  await page.click('#quarantine-table tr:has-text("items-other.jsonl") >> a:text("items-jsonl")');
  await page.waitForFunction(() => location.pathname === '/datasets/items-jsonl');
});

maybe('fix in the page: the offending values edited, the file loads under a derived name, the ledger and both pages link the two', async () => {
  await env.drop('items-fixme.csv', 'id,name,price,size\n1,ok,1.5,S\n2,negative,-4,M\n3,large,2,XL\n');
  const failed = await env.outcome('items-fixme.csv', 'failed');
  const id = String(failed.file_id);
  await open(`/quarantine/${id}`);
  await page.waitForSelector('#fix-submit');
  await page.fill('#offending input[data-line="3"]', '2,negative,4,M');
  await page.fill('#offending input[data-line="4"]', '3,large,2,L');
  await page.screenshot({ path: path.join(SHOTS, 'quarantine.png'), fullPage: true });
  page.once('dialog', (dialog) => void dialog.accept(TOKEN)); // asked only when the tab has no token yet
  await page.click('#fix-submit');
  await page.waitForSelector(`#fix-status >> text=input/fixed-${id}/items-fixme.csv loaded: 3 rows`);
  // The corrected file is loaded; the original stays in output_failed/ beside its report.
  const rows = await env.pool.query<{ id: string; price: number; size: string; _source_file: string }>(
    `SELECT id::text, price, size, _source_file FROM shop.items_csv WHERE _source_file LIKE 'fixed-%' ORDER BY id`,
  );
  expect(rows.rows).toEqual([
    { id: '1', price: 1.5, size: 'S', _source_file: `fixed-${id}/items-fixme.csv` },
    { id: '2', price: 4, size: 'M', _source_file: `fixed-${id}/items-fixme.csv` },
    { id: '3', price: 2, size: 'L', _source_file: `fixed-${id}/items-fixme.csv` },
  ]);
  expect(await env.files('failed', 'items-csv')).toEqual(expect.arrayContaining(['items-fixme.csv', 'items-fixme.csv.error.json']));
  await waitFor(async () => !(await env.files('input')).some((f) => f.startsWith('fixed-')), { message: 'input/ left clean' });
  const ledger = await env.pool.query<{ file_id: string; kind: string; input_path: string; edits: unknown; created_at: Date }>('SELECT file_id::text, kind, input_path, edits, created_at FROM loadbay.resubmissions');
  expect(ledger.rows).toContainEqual(
    expect.objectContaining({
      file_id: id,
      kind: 'fix',
      input_path: `fixed-${id}/items-fixme.csv`,
      edits: [
        { line: 3, before: '2,negative,-4,M', after: '2,negative,4,M' },
        { line: 4, before: '3,large,2,XL', after: '3,large,2,L' },
      ],
    }),
  );
  // Both pages say so: the original links the loaded fix, and is no longer waiting.
  await open(`/quarantine/${id}`);
  expect(await page.textContent('#resubmitted')).toMatch(new RegExp(`Fixed in the console .*: sent as input/fixed-${id}/items-fixme.csv → file \\d+ loaded \\(items-csv\\)`));
  expect(await page.locator('#fix-submit, #retry').count()).toBe(0);
  const open_ = await api<{ files: Array<{ id: string }> }>('/api/quarantine');
  expect(open_.files.map((f) => f.id)).not.toContain(id);
  const all = await api<{ files: Array<{ id: string; resubmission: { kind: string; next: { status: string } } | null }> }>('/api/quarantine?state=all');
  expect(all.files.find((f) => f.id === id)?.resubmission).toMatchObject({ kind: 'fix', next: { status: 'loaded' } });
  // Fixed once: a second fix is refused.
  const again = await fetch(`${daemon.httpUrl}/api/quarantine/${id}/fix`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ edits: [{ line: 3, before: '2,negative,-4,M', after: '2,negative,5,M' }] }),
  });
  expect(again.status).toBe(409);
});

maybe('fix a header that does not fit its rows: line 1 shown with the missing column named, edited, loaded', async () => {
  await env.drop('items-header.csv', 'id,name,<script>window.__xss=5</script>\n1,a,9.5,M\n2,b,3,L\n3,c,0,S\n');
  const failed = await env.outcome('items-header.csv', 'failed');
  await open(`/quarantine/${failed.file_id}`);
  await page.waitForSelector('#header-explanation');
  const explanation = (await page.textContent('#header-explanation'))!;
  expect(explanation).toContain('Line 1 names 3 columns; the rows have 4 fields.');
  expect(explanation).toContain('"<script>window.__xss=5</script>"');
  // Line 1 is the one to edit; the data lines are not each marked as wrong.
  expect(await page.locator('#offending input').count()).toBe(1);
  expect(await page.inputValue('#offending input[data-line="1"]')).toBe('id,name,<script>window.__xss=5</script>');
  await noInjection();
  await page.fill('#offending input[data-line="1"]', 'id,name,price,size');
  await page.click('#fix-submit');
  await page.waitForSelector(`#fix-status >> text=loaded: 3 rows`);
  const loaded = await env.pool.query(`SELECT count(*)::int AS n FROM shop.items_csv WHERE _source_file = $1`, [`fixed-${failed.file_id}/items-header.csv`]);
  expect(loaded.rows[0]).toEqual({ n: 3 });
});

maybe('a fix that fails again links to its new quarantine entry, which says what it is a fix of', async () => {
  await env.drop('items-twice.csv', 'id,name,size\n1,a,XL\n');
  const failed = await env.outcome('items-twice.csv', 'failed');
  await open(`/quarantine/${failed.file_id}`);
  await page.fill('#offending input[data-line="2"]', '1,a,XXL');
  await page.click('#fix-submit');
  await page.waitForSelector('#fix-status >> text=failed again');
  await page.click('#fix-status a');
  await page.waitForSelector('#resubmission-of');
  expect(await page.textContent('#resubmission-of')).toBe(`This file is a fix of file ${failed.file_id}.`);
});

maybe('fix a JSON document whole in the page', async () => {
  await env.drop('items-doc.json', '[\n  {"id": 1, "name": "a"},\n  {"id": -1, "name": "b"}\n]\n');
  const failed = await env.outcome('items-doc.json', 'failed');
  await open(`/quarantine/${failed.file_id}`);
  const text = await page.inputValue('#fix-document');
  expect(text).toContain('"id": -1');
  await page.fill('#fix-document', text.replace('"id": -1', '"id": 2'));
  await page.click('#fix-submit');
  await page.waitForSelector(`#fix-status >> text=input/fixed-${failed.file_id}/items-doc.json loaded: 2 rows`);
  const edits = await env.pool.query('SELECT edits FROM loadbay.resubmissions WHERE file_id = $1', [failed.file_id]);
  expect(edits.rows[0].edits).toEqual([{ line: 3, before: '  {"id": -1, "name": "b"}', after: '  {"id": 2, "name": "b"}' }]);
});

maybe('what the page does not edit, it says so and offers the download: a large JSON document, a very long line', async () => {
  await env.drop('items-big.json', JSON.stringify([{ id: 1, name: 'n'.repeat(1_200_000) }, { id: -1, name: 'x' }]));
  const big = await env.outcome('items-big.json', 'failed');
  await open(`/quarantine/${big.file_id}`);
  expect(await page.textContent('#fix-unavailable')).toBe('Not fixable in the page: the document is larger than the 1 MiB the console edits whole: download it, fix it and drop it into input/.');
  expect(await page.locator('#fix-submit, textarea').count()).toBe(0);
  expect(await page.getAttribute('a.button:has-text("Download the file")', 'href')).toBe(`/api/quarantine/${big.file_id}/file`);
  await env.drop('items-long.csv', `id,name,size\n1,${'w'.repeat(70_000)},XL\n`);
  const long = await env.outcome('items-long.csv', 'failed');
  const detail = await api<{ fix: { editable: boolean; why: string } }>(`/api/quarantine/${long.file_id}`);
  expect(detail.fix).toMatchObject({ editable: false, why: 'the lines named by the report are longer than 64 KiB: download it, fix it and drop it into input/' });
  const refused = await fetch(`${daemon.httpUrl}/api/quarantine/${long.file_id}/fix`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ edits: [{ line: 2, before: 'x', after: 'y' }] }),
  });
  expect(refused.status).toBe(409);
  expect(((await refused.json()) as { error: string }).error).toMatch(/^this file cannot be fixed here: the lines named by the report are longer than 64 KiB/);
});

maybe('hostile names and values on the new pages: the quarantine list, live outcomes, profile, views', async () => {
  await open('/');
  await page.waitForFunction(() => document.body.dataset['live'] === 'open');
  const hostile = 'items-<img src=x onerror=window.__xss=4>.csv';
  await env.drop(hostile, 'id,name\n-1,x\n');
  await env.outcome(hostile, 'failed');
  await page.waitForFunction((name) => document.querySelector('#recent')?.textContent?.includes(name), hostile);
  await noInjection();
  await open('/quarantine');
  expect(await page.textContent('#quarantine-table')).toContain(hostile);
  await noInjection();
  await env.drop('items-markup.jsonl', '{"id": 77, "name": "<img src=x onerror=window.__xss=6>", "price": 1}\n{"id": 78, "name": "<script>window.__xss=7</script>", "price": 2}\n');
  await env.outcome('items-markup.jsonl', 'loaded');
  await open('/datasets/items-jsonl');
  await page.waitForSelector('#profile [data-column=name] .top');
  await page.waitForSelector('[data-view="2"] .hbars');
  expect(await page.textContent('[data-view="2"] .hbars')).toContain('<img src=x onerror=window.__xss=6>');
  expect(await page.textContent('#latest-rows')).toContain('<script>window.__xss=7</script>');
  await noInjection();
});

maybe('files by ledger id only: no path from the request, no symlink followed, actions only with the token', async () => {
  const get = (route: string) => fetch(`${daemon.httpUrl}${route}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect((await get('/api/quarantine/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
  expect((await get('/api/quarantine/1/../../../etc/passwd')).status).toBe(404);
  expect((await get('/api/datasets/..%2Fsecrets')).status).toBe(404);
  expect((await get('/api/datasets/items-jsonl/exports/0')).status).toBe(404);
  // A quarantined file replaced by a symlink to a file outside: not served.
  const list = await api<{ files: Array<{ id: string; path: string }> }>('/api/quarantine');
  const target = list.files.find((f) => f.path === 'items-jsonl/items-other.jsonl')!;
  const { rm } = await import('node:fs/promises');
  await rm(path.join(env.folders.failed, target.path));
  await symlink('/etc/hostname', path.join(env.folders.failed, target.path));
  expect((await get(`/api/quarantine/${target.id}/file`)).status).toBe(404);
  expect((await api<{ files: Array<{ id: string }> }>('/api/quarantine')).files.map((f) => f.id)).not.toContain(target.id);
  // An action without the bearer token (a cookie is not enough for a POST): refused.
  const cookie = (await page.context().cookies())[0];
  const post = await fetch(`${daemon.httpUrl}/api/quarantine/${target.id}/retry`, { method: 'POST', headers: { Cookie: `${cookie!.name}=${cookie!.value}` } });
  expect(post.status).toBe(401);
  const fix = await fetch(`${daemon.httpUrl}/api/quarantine/${target.id}/fix`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'text/plain' }, body: 'x' });
  expect(fix.status).toBe(415);
});
