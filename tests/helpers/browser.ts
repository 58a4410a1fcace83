/**
 * Debian's Chromium for the browser tests, driven by playwright-core. jest's global setup installs it
 * when it is missing and the machine allows (root and apt-get: see global-setup.ts); a test file
 * without a browser skips its tests and prints why.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string | null {
  return CANDIDATES.find((p): p is string => typeof p === 'string' && p !== '' && existsSync(p)) ?? null;
}

/** A page of the console's usual size that prints the page's own errors to the test's output. */
export async function consolePage(browser: Browser): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 820 } });
  page.on('pageerror', (error) => console.log(`page error: ${error.message}`));
  return page;
}

/** Opens a console route and waits until the page says it has rendered its data. */
export async function openConsole(page: Page, baseUrl: string, route: string): Promise<void> {
  await page.goto(`${baseUrl}${route}`);
  await page.waitForFunction(() => document.body.dataset['rendered'] !== undefined);
}
