/**
 * Webhook receivers that misbehave, each a real HTTP server on 127.0.0.1: one that answers with an
 * endless body (loadbay reads a small prefix and hangs up; the delivery still counts), ones that
 * redirect elsewhere (never followed: nothing reaches the other host), and many deliveries in a row
 * (the delivery loop leaves no `error` listener behind on the pooled connections it uses).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFile } from 'node:fs/promises';
import type pg from 'pg';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';

const DATASET = {
  'rows.yaml': 'name: rows\nmatch: "*.csv"\nformat: csv\ntable: replies.rows\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n',
};

let env: TestEnv | null = null;
const servers: http.Server[] = [];
afterEach(async () => {
  await env?.cleanup();
  env = null;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function withWebhook(url: string): Promise<TestEnv> {
  const created = await createTestEnv({ datasets: DATASET });
  await appendFile(created.configFile, `notify:\n  webhooks:\n    - url: ${url}/hook\n      events: [failed]\n`);
  return created;
}

const outbox = async (pool: pg.Pool) =>
  (await pool.query<{ attempts: number; last_error: string | null; delivered: boolean }>(
    'SELECT attempts, last_error, delivered_at IS NOT NULL AS delivered FROM loadbay.notifications ORDER BY id',
  )).rows;

it('a reply of hundreds of MB: a small prefix is read, then the connection is closed; the delivery counts', async () => {
  const TOTAL = 256 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let requests = 0;
  let ended: { written: number; finished: boolean } | null = null;
  const url = await serve((request, response) => {
    request.resume();
    request.on('end', () => {
      requests++;
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      let written = 0;
      response.on('close', () => (ended = { written, finished: response.writableFinished }));
      const pump = () => {
        while (written < TOTAL) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      pump();
    });
  });
  env = await withWebhook(url);
  await env.start();
  await env.drop('bad.csv', 'id\nnot-a-number\n');
  await env.outcome('bad.csv', 'failed');
  const rows = await waitFor(async () => ((await outbox(env!.pool))[0]?.delivered ? outbox(env!.pool) : null), { message: 'the delivery', timeoutMs: 30_000 });
  expect(rows).toEqual([{ attempts: 1, last_error: null, delivered: true }]);
  // The receiver saw loadbay hang up long before the body's end: what it sent is bounded by the
  // socket buffers, not by the reply.
  const observed = await waitFor(() => ended, { message: 'the receiver to see the connection close' });
  expect(observed.finished).toBe(false);
  expect(observed.written).toBeLessThan(64 * 1024 * 1024);
  expect(requests).toBe(1);
});

it.each([302, 307])('a %i redirect to another host is not followed: a delivery failure that says so, nothing sent elsewhere', async (status) => {
  const elsewhere: http.IncomingHttpHeaders[] = [];
  const other = await serve((request, response) => {
    elsewhere.push(request.headers);
    request.resume();
    response.writeHead(204).end();
  });
  const url = await serve((request, response) => {
    request.resume();
    response.writeHead(status, { Location: `${other}/stolen/secret-path` }).end();
  });
  env = await withWebhook(url);
  await env.start();
  await env.drop('bad.csv', 'id\nx\n');
  await env.outcome('bad.csv', 'failed');
  const rows = await waitFor(async () => ((await outbox(env!.pool))[0]?.delivered ? outbox(env!.pool) : null), { message: 'the delivery to end' });
  expect(rows).toEqual([
    {
      attempts: 1,
      delivered: true,
      last_error: `HTTP ${status} redirect to ${other}, not followed: set the webhook's url to the address that takes the POST`,
    },
  ]);
  expect(elsewhere).toEqual([]);
});

it('many deliveries in a row: no error listener piles up on the pooled connections', async () => {
  const got: string[] = [];
  const url = await serve((request, response) => {
    got.push(String(request.headers['idempotency-key']));
    request.resume();
    response.writeHead(204).end();
  });
  env = await withWebhook(url);
  const daemon = await env.start();
  const listeners: number[] = [];
  daemon.database.pool.on('acquire', (client: pg.PoolClient) => listeners.push(client.listenerCount('error')));
  const N = 60;
  await env.pool.query(
    `INSERT INTO loadbay.notifications (webhook, event, payload)
     SELECT 0, 'failed', jsonb_build_object('id', 'n' || i, 'event', 'failed', 'reason', 'test ' || i) FROM generate_series(1, $1) AS i`,
    [N],
  );
  await waitFor(() => got.length >= N, { message: `${N} deliveries`, timeoutMs: 30_000 });
  expect(got).toEqual(Array.from({ length: N }, (_, i) => `n${i + 1}`)); // in order, once each
  // Each connection, when handed out, carries the pool's own idle listener and nothing left over.
  expect(listeners.length).toBeGreaterThanOrEqual(N);
  expect(Math.max(...listeners)).toBe(1);
});
