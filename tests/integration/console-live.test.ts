/**
 * The console without a token (the default set-up) in a real browser: read-only, and saying how to
 * enable actions; and its live stream across a daemon restart on the same address: the page
 * reconnects by itself and shows what arrives afterwards. Without a browser the tests skip.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { chromiumPath, consolePage, openConsole } from '../helpers/browser.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import type { Daemon } from '../../src/daemon.js';
import { freePort } from '../../src/db/embedded.js';

const executable = chromiumPath();
if (!executable) console.log('console live tests skipped: no Chromium (install Debian\'s chromium, or set CHROMIUM_PATH)');
const maybe = executable ? it : it.skip;

let env: TestEnv;
let daemon: Daemon;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!executable) return;
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  // A fixed port: the restarted daemon must be where the page left it.
  const config = await readFile(env.configFile, 'utf8');
  await writeFile(env.configFile, config.replace('  port: 0\n', `  port: ${await freePort()}\n`));
  daemon = await env.start();
  browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
  page = await consolePage(browser);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await env?.cleanup();
});

const open = (route: string) => openConsole(page, daemon.httpUrl!, route);

maybe('without a token the console is read-only, says how to enable actions, and offers no button that would fail', async () => {
  await env.drop('items-ro.csv', 'id,name,size\n1,a,XL\n');
  const failed = await env.outcome('items-ro.csv', 'failed');
  await open('/');
  expect(await page.textContent('#read-only')).toMatch(/^Read-only: to retry or fix files here, set http\.token .* in loadbay\.yaml, or LOADBAY_HTTP_TOKEN, and restart loadbay/);
  await open(`/quarantine/${failed.file_id}`);
  await page.waitForSelector('#offending');
  expect(await page.textContent('#read-only')).toContain('loadbay failed retry <file>');
  expect(await page.locator('#retry, #fix-submit, #offending input, button.primary').count()).toBe(0);
  // Still everything to read: the reason, the marked value, the downloads.
  expect(await page.textContent('#offending mark')).toBe('XL');
  expect(await page.locator('a.button', { hasText: 'Download the file' }).count()).toBe(1);
  let dialogs = 0;
  page.on('dialog', (dialog) => {
    dialogs++;
    void dialog.dismiss();
  });
  const retry = await fetch(`${daemon.httpUrl}/api/quarantine/${failed.file_id}/retry`, { method: 'POST' });
  expect(retry.status).toBe(403);
  expect(((await retry.json()) as { error: string }).error).toMatch(/^Read-only: .*http\.token/);
  const fix = await fetch(`${daemon.httpUrl}/api/quarantine/${failed.file_id}/fix`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"edits":[]}' });
  expect(fix.status).toBe(403);
  expect(dialogs).toBe(0);
  expect(await env.files('failed', 'items-csv')).toEqual(['items-ro.csv', 'items-ro.csv.error.json']);
});

maybe('the live stream reconnects after a daemon restart and the page shows what arrived since', async () => {
  await open('/');
  await page.waitForFunction(() => document.body.dataset['live'] === 'open');
  await daemon.stop();
  await page.waitForFunction(() => document.body.dataset['live'] !== 'open');
  expect(await page.textContent('#live')).toBe('reconnecting');
  daemon = await env.start();
  await page.waitForFunction(() => document.body.dataset['live'] === 'open', null, { timeout: 30_000 });
  await env.drop('items-after-restart.jsonl', '{"id": 1, "name": "after"}\n');
  await page.waitForSelector('#recent >> text=items-after-restart.jsonl', { timeout: 15_000 });
  expect(await page.textContent('#live')).toBe('live');
});
