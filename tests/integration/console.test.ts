/**
 * The web console in a real browser (Debian's Chromium, driven by playwright-core) against a running
 * daemon: sign in with the token, the overview, a quarantined file's report with its offending lines
 * (whose hostile contents must show as text), retry, the datasets with their chart and latest rows.
 * The screenshots are the ones docs/console.md shows. Without a browser the tests skip and say why.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { chromiumPath } from '../helpers/browser.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import type { Daemon } from '../../src/daemon.js';

const executable = chromiumPath();
if (!executable) console.log('console tests skipped: no Chromium (install Debian\'s chromium, or set CHROMIUM_PATH)');
const maybe = executable ? it : it.skip;
const TOKEN = 'console-test-token-0123456789';
/** The docs' screenshots are refreshed with LOADBAY_SCREENSHOTS=1 npm test; otherwise they go to the test's folder. */
const docsShots = process.env['LOADBAY_SCREENSHOTS'] === '1';

let env: TestEnv;
let daemon: Daemon;
let SHOTS: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!executable) return;
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const { appendFile } = await import('node:fs/promises');
  await appendFile(env.configFile, `  token: ${TOKEN}\n`);
  daemon = await env.start();
  browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 820 } });
  SHOTS = docsShots ? path.join(PROJECT_ROOT, 'docs', 'screenshots') : path.join(env.root, 'screenshots');
  await mkdir(SHOTS, { recursive: true });
  // A good file, and a hostile one that is quarantined: markup in its values must stay text.
  await env.drop('items-console.jsonl', Array.from({ length: 5 }, (_, i) => `{"id": ${i + 1}, "name": "item ${i + 1}", "price": ${i * 2.5}, "size": "M"}`).join('\n') + '\n');
  await env.outcome('items-console.jsonl', 'loaded');
  await env.drop('items-hostile.csv', 'id,name,size\n1,"<script>window.__xss=1</script>",XL\n2,"""><img src=x onerror=""window.__xss=2"">",XL\n3,c,<b onclick=x>bold</b>\n');
  await env.outcome('items-hostile.csv', 'failed');
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await env?.cleanup();
});

async function open(route: string): Promise<void> {
  await page.goto(`${daemon.httpUrl}${route}`);
  await page.waitForFunction(() => document.body.dataset['rendered'] !== undefined);
}

maybe('asks for the token, then shows the overview: ready, backlog, latest outcomes', async () => {
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
  expect(await page.locator('main img, main script, main b').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  await page.screenshot({ path: path.join(SHOTS, 'quarantine.png'), fullPage: true });
  // Downloads are attachments with a text type.
  const id = new URL(page.url()).pathname.split('/').pop();
  const response = await page.request.get(`${daemon.httpUrl}/api/quarantine/${id}/file`);
  expect(response.headers()['content-type']).toBe('text/plain; charset=utf-8');
  expect(response.headers()['content-disposition']).toMatch(/^attachment; filename="items-hostile\.csv"/);
});

maybe('retry asks for the token and sends the file back to input/', async () => {
  await open('/quarantine');
  await page.click('text=items-hostile.csv');
  await page.waitForSelector('#retry');
  page.once('dialog', (dialog) => void dialog.accept(TOKEN));
  const failedBefore = (await env.logLines()).filter((l) => l.file === 'items-hostile.csv' && l.event === 'failed').length;
  await page.click('#retry');
  await page.waitForSelector('text=Moved back to input/items-hostile.csv');
  // Still the same bad content: it fails again, with a new report.
  await waitFor(async () => (await env.logLines()).filter((l) => l.file === 'items-hostile.csv' && l.event === 'failed').length === failedBefore + 1, {
    message: 'the second failure',
  });
  expect((await env.logLines()).some((l) => l.event === 'retried' && l.file === 'items-hostile.csv')).toBe(true);
});

maybe('datasets: table, loads, a chart of rows per load, the latest rows', async () => {
  await open('/datasets');
  expect(await page.textContent('main')).toContain('shop.items_jsonl');
  await page.click('text=items-jsonl');
  await page.waitForSelector('#rows-per-load canvas');
  const text = (await page.textContent('main'))!;
  expect(text).toContain('5 rows');
  expect(text).toContain('item 5');
  await page.screenshot({ path: path.join(SHOTS, 'datasets.png'), fullPage: true });
});

maybe('files by ledger id only: no path from the request, no symlink followed, actions only with the token', async () => {
  const get = (route: string) => fetch(`${daemon.httpUrl}${route}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect((await get('/api/quarantine/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
  expect((await get('/api/quarantine/1/../../../etc/passwd')).status).toBe(404);
  expect((await get('/api/datasets/..%2Fsecrets')).status).toBe(404);
  // A report planted beside a symlink to a file outside: not served.
  const dir = path.join(env.folders.failed, 'items-csv');
  await symlink('/etc/hostname', path.join(dir, 'planted.csv'));
  await writeFile(path.join(dir, 'planted.csv.error.json'), JSON.stringify({ file: 'planted.csv', file_id: '999999', dataset: 'items-csv', stage: 'read', reason: 'x', problem_count: 1, groups: [], problems: [], failed_at: new Date().toISOString(), summary: 'x' }));
  expect((await get('/api/quarantine/999999/file')).status).toBe(404);
  // An action without the bearer token (a cookie is not enough for a POST): refused.
  const cookie = (await page.context().cookies())[0];
  const post = await fetch(`${daemon.httpUrl}/api/quarantine/999999/retry`, { method: 'POST', headers: { Cookie: `${cookie!.name}=${cookie!.value}` } });
  expect(post.status).toBe(401);
});
