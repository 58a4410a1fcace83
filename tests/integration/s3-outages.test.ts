/**
 * What happens to objects in hand when the object store misbehaves, through the running daemon:
 * an object overwritten while it is read (read again, never half old, half new), one deleted before
 * it is read (`vanished`), the S3 server stopped and started again during loads (retried, nothing
 * quarantined, nothing lost), a missing bucket and a 403 (held, naming bucket and prefix; other
 * inputs go on). Real servers only: the test S3 server, a TCP proxy in front of it, an HTTP server
 * that answers as S3 does when it refuses.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type LogLine, type TestEnv } from '../helpers/env.js';
import { s3Endpoint, s3Section, testS3Settings, useBucket } from '../helpers/s3.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.mjs';
import { connectS3 } from '../../src/source/s3/client.js';

const bucket = useBucket();
let env: TestEnv | null = null;
let proxy: TcpProxy | null = null;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await env?.cleanup();
  env = null;
  await proxy?.close();
  proxy = null;
  for (const close of closers.splice(0)) await close();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await env!.pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

/** A CSV of `rows` items with ids from `first` (about 30 bytes a row). */
function items(first: number, rows: number): string {
  const lines = ['id,name,price'];
  for (let i = 0; i < rows; i++) lines.push(`${first + i},item number ${first + i},${i % 100}`);
  return lines.join('\n') + '\n';
}

/** Every event of the daemon for `file`, in order. */
async function eventsOf(file: string): Promise<LogLine[]> {
  return (await env!.logLines()).filter((l) => l.file === file);
}

async function behindProxy(): Promise<TcpProxy> {
  proxy = await startTcpProxy(Number(new URL(s3Endpoint()).port));
  return proxy;
}

it('an object overwritten while it is read is read again from the start: never loaded half old, half new', async () => {
  const b = bucket();
  const p = await behindProxy();
  env = await createTestEnv({
    datasets: ITEM_DATASETS,
    folders: { input: `s3://${b.name}/in/`, archive: `s3://${b.name}/archive/` },
    s3: s3Section({ endpoint: p.endpoint, request_timeout_ms: 1000 }),
  });
  await b.put('in/items-big.csv', items(1, 20_000)); // ~600 KB: read in many chunks
  // The first read of it stops after 64 KiB, as a connection that hangs mid-body.
  p.stallResponseTo(`GET /${b.name}/in/items-big.csv`, 64 * 1024);
  await env.start();
  await waitFor(() => p.stalledResponses === 1, { message: 'the read to stall' });
  await b.put('in/items-big.csv', items(100_001, 5_000)); // a new version while the old is half read
  const loaded = await env.outcome('items-big.csv', 'loaded');
  expect(loaded['rows']).toBe(5_000);
  const retried = (await eventsOf('items-big.csv')).find((l) => l.event === 'retrying');
  expect(retried?.reason).toMatch(/changed while it was read .*: it is read again from the start/);
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(5_000);
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv WHERE id <= 20000')).toBe(0);
  expect((await b.get('archive/items-csv/items-big.csv')).toString()).toBe(items(100_001, 5_000));
});

it('an object deleted before it is read is `vanished`: nothing loaded, its ledger row closed', async () => {
  const b = bucket();
  const p = await behindProxy();
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: `s3://${b.name}/in/` }, s3: s3Section({ endpoint: p.endpoint, request_timeout_ms: 1000 }) });
  await b.put('in/items-gone.csv', ITEMS_CSV);
  // The answer to its GetObject never comes: the object is deleted meanwhile; the SDK asks again.
  p.stallResponseTo(`GET /${b.name}/in/items-gone.csv`, 0);
  await env.start();
  await waitFor(() => p.stalledResponses === 1, { message: 'the read to stall' });
  await b.s3.client.send(new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({ Bucket: b.name, Key: 'in/items-gone.csv' }));
  const vanished = await env.outcome('items-gone.csv', 'vanished');
  expect(vanished.reason).toBe(`deleted from s3://${b.name}/in/ before it was loaded; nothing was loaded`);
  expect(await count("SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'vanished' AND path = $1", [`s3://${b.name}/in/items-gone.csv`])).toBe(1);
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(0);
});

it('the S3 server stopped and started again during loads: retried, nothing quarantined, nothing lost or loaded twice', async () => {
  const server: TestS3Server = await startS3Server();
  closers.push(() => server.stop());
  const s3 = connectS3(testS3Settings({ endpoint: server.endpoint }));
  closers.push(async () => s3.close());
  await s3.client.send(new CreateBucketCommand({ Bucket: 'outage' }));
  const files = 24;
  for (let i = 0; i < files; i++) {
    await s3.client.send(new PutObjectCommand({ Bucket: 'outage', Key: `in/items-${String(i).padStart(2, '0')}.csv`, Body: items(i * 1000 + 1, 200) }));
  }
  env = await createTestEnv({
    datasets: ITEM_DATASETS,
    processing: { group_max_files: 4 },
    folders: { input: 's3://outage/in/', archive: 's3://outage/archive/', parquet: 's3://outage/lake/' },
    s3: s3Section({ endpoint: server.endpoint, request_timeout_ms: 1000, max_attempts: 1 }),
  });
  const daemon = await env.start();
  let loaded = 0;
  daemon.events.on('loaded', () => loaded++);
  await waitFor(() => loaded >= 1, { message: 'a first load' });
  await server.stop();
  await waitFor(async () => (await env!.logLines()).some((l) => l.event === 'retrying'), { message: 'a retry while the server is down' });
  await server.start();
  await waitFor(async () => (await count(`SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' AND settled_at IS NOT NULL`)) === files, {
    message: `all ${files} objects loaded and settled`,
    timeoutMs: 60_000,
  });
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(files * 200);
  expect(await count('SELECT count(DISTINCT id)::int AS n FROM shop.items_csv')).toBe(files * 200);
  expect(await count(`SELECT count(*)::int AS n FROM loadbay.files WHERE status IN ('failed', 'vanished')`)).toBe(0);
  expect((await env.logLines()).filter((l) => l.event === 'failed')).toEqual([]);
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const keys = async (prefix: string) => ((await s3.client.send(new ListObjectsV2Command({ Bucket: 'outage', Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
  expect(await keys('in/')).toEqual([]);
  expect((await keys('archive/')).length).toBe(files);
  // The lake holds exactly the loaded files' Parquet: no orphan of an attempt the outage broke.
  const { rows } = await env.pool.query<{ parquet_path: string }>(`SELECT parquet_path FROM loadbay.files WHERE status = 'loaded'`);
  expect((await keys('lake/')).sort()).toEqual(rows.map((r) => r.parquet_path.slice('s3://outage/'.length)).sort());
});

it('an input in a bucket that does not exist: /readyz names it, the other input goes on loading', async () => {
  const missing = `lb-missing-${Date.now().toString(36)}`;
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: ['input', `s3://${missing}/in/`] }, s3: s3Section() });
  const daemon = await env.start();
  await env.drop('items-local.csv', ITEMS_CSV);
  expect(await env.outcome('items-local.csv')).toMatchObject({ event: 'loaded', rows: 3 });
  const readyz = await waitFor(async () => {
    const answer = await fetch(`${daemon.httpUrl}/readyz`);
    const body = (await answer.json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> };
    return answer.status === 503 ? body : null;
  });
  expect(readyz.checks.find((c) => c.name === `object_storage s3://${missing}/in/`)).toMatchObject({
    ok: false,
    detail: `s3://${missing}/in/: the bucket does not exist (check the bucket name and the endpoint) (NoSuchBucket)`,
  });
});

it('an archive the store refuses (403) though it may be listed: the loaded file is held, naming bucket and prefix; loaded once', async () => {
  const refusing = await new Promise<http.Server>((resolve) => {
    const server = http.createServer((request, response) => {
      request.resume();
      // Listing is allowed (the readiness check passes), writing is not: a policy without s3:PutObject.
      if (request.method === 'GET' && request.url?.includes('list-type=2')) {
        response.writeHead(200, { 'content-type': 'application/xml' });
        return void response.end('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>lake</Name><Prefix>archive/</Prefix><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>');
      }
      response.writeHead(403, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>r1</RequestId></Error>');
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
  closers.push(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
  const endpoint = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { archive: 's3://lake/archive/' }, s3: s3Section({ endpoint }) });
  const daemon = await env.start();
  await env.drop('items-denied.csv', ITEMS_CSV);
  const held = await env.outcome('items-denied.csv', 'held');
  expect(held.reason).toMatch(/^s3:\/\/lake\/archive\/items-csv\/: access denied: check the credentials .* \((AccessDenied|HTTP 403)\)$/);
  expect(await env.files('input')).toEqual(['items-denied.csv']);
  expect(await count('SELECT count(*)::int AS n FROM shop.items_csv')).toBe(3);
  expect(await count("SELECT count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' AND settled_at IS NULL")).toBe(1);
  const status = (await (await fetch(`${daemon.httpUrl}/readyz`)).json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> };
  expect(status.checks.find((c) => c.name === 'object_storage s3://lake/archive/')).toMatchObject({ ok: true });
});

it('an output bucket that cannot be listed: not ready, no file taken, /readyz and the log name bucket and prefix', async () => {
  const missing = `lb-missing-${Date.now().toString(36)}`;
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { parquet: `s3://${missing}/lake/` }, s3: s3Section() });
  const daemon = await env.start();
  await env.drop('items-wait.csv', ITEMS_CSV);
  const readyz = await waitFor(async () => {
    const answer = await fetch(`${daemon.httpUrl}/readyz`);
    return answer.status === 503 ? ((await answer.json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> }) : null;
  });
  expect(readyz.checks.find((c) => c.name === `object_storage s3://${missing}/lake/`)).toMatchObject({ ok: false, detail: expect.stringContaining('the bucket does not exist') });
  expect(await env.files('input')).toEqual(['items-wait.csv']);
  expect(await count('SELECT count(*)::int AS n FROM loadbay.files')).toBe(0);
});
