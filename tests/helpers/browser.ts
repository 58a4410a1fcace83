/**
 * Debian's Chromium for the browser tests, driven by playwright-core. jest's global setup installs it
 * when it is missing and the machine allows (root and apt-get: see global-setup.ts); a test file
 * without a browser skips its tests and prints why.
 */
import { existsSync } from 'node:fs';

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string | null {
  return CANDIDATES.find((p): p is string => typeof p === 'string' && p !== '' && existsSync(p)) ?? null;
}
