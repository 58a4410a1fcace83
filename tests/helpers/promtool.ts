/**
 * Prometheus' own checker, `promtool`, for the metrics and monitoring tests. It comes from Debian's
 * `prometheus` package. Installing that package would also start a Prometheus server (its init
 * script), so when promtool is missing the package is fetched with `apt-get download` and only
 * promtool is unpacked, under node_modules/.cache. As with Chromium (global-setup.ts): a fresh
 * machine needs nothing but `npm ci && npm test`; where apt-get cannot fetch it, the tests that need
 * it skip and say why.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './env.js';

const CACHED = path.join(PROJECT_ROOT, 'node_modules', '.cache', 'loadbay-promtool');

export type Promtool = { path: string; skip?: undefined } | { path?: undefined; skip: string };

let found: Promtool | null = null;

/** promtool's path, installing it when missing and possible; otherwise why the tests skip. */
export function promtool(): Promtool {
  found ??= locate();
  return found;
}

function runs(candidate: string): boolean {
  return spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0;
}

function locate(): Promtool {
  const cached = path.join(CACHED, 'usr', 'bin', 'promtool');
  for (const candidate of [process.env['PROMTOOL_PATH'], 'promtool', cached]) {
    if (candidate && runs(candidate)) return { path: candidate };
  }
  if (process.env['LOADBAY_NO_PROMTOOL_INSTALL']) return { skip: 'promtool is missing (LOADBAY_NO_PROMTOOL_INSTALL is set)' };
  if (!existsSync('/usr/bin/apt-get')) return { skip: "promtool is missing and there is no apt-get to fetch Debian's prometheus package" };
  const work = mkdtempSync(path.join(os.tmpdir(), 'loadbay-promtool-'));
  try {
    const download = () => spawnSync('apt-get', ['download', 'prometheus'], { cwd: work, stdio: 'ignore', timeout: 300_000 }).status === 0;
    if (!download()) {
      // The package lists may be missing or stale: refreshing them needs root.
      if (process.getuid?.() !== 0) return { skip: "promtool is missing and apt-get download prometheus failed (apt-get update needs root)" };
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      if (spawnSync('apt-get', ['update'], { env, stdio: 'ignore', timeout: 600_000 }).status !== 0 || !download()) {
        return { skip: "promtool is missing and apt-get could not fetch Debian's prometheus package" };
      }
    }
    const deb = readdirSync(work).find((name) => name.endsWith('.deb'));
    if (!deb) return { skip: 'apt-get download prometheus left no .deb' };
    // Unpacked beside the cache and renamed into it: jest's workers may do this at the same time,
    // and one must never run (or overwrite) the binary while another is still writing it.
    mkdirSync(path.dirname(cached), { recursive: true });
    const unpacked = mkdtempSync(path.join(CACHED, 'unpack-'));
    try {
      const unpack = spawnSync('sh', ['-c', 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ./usr/bin/promtool', 'unpack', path.join(work, deb), unpacked], {
        stdio: 'ignore',
      });
      if (unpack.status === 0) renameSync(path.join(unpacked, 'usr', 'bin', 'promtool'), cached);
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
    if (!runs(cached)) return { skip: `could not unpack promtool from ${deb}` };
    return { path: cached };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Runs `promtool args…` with `input` on stdin; its exit code and everything it printed. */
export function runPromtool(tool: string, args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync(tool, args, { input, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}
