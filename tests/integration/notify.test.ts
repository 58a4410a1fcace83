/**
 * Notifications against a real HTTP receiver started by the test: what a failure says (and does not
 * say), a receiver that is down and comes back (delivered at least once, same idempotency key,
 * loading never waits for it), Slack-format messages for a long-held file and for a stall.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A webhook receiver on 127.0.0.1 that records what it is sent; it can be stopped and started again on its port. */
class Receiver {
  readonly received: Received[] = [];
  private server: http.Server | null = null;
  port = 0;

  async start(port = this.port): Promise<void> {
    this.server = http.createServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => (text += chunk));
      request.on('end', () => {
        this.received.push({ headers: request.headers, body: JSON.parse(text) as Record<string, unknown> });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook/s3cret-path-token`;
  }
}

const DATASET = {
  'rows.yaml': 'name: rows\nmatch: "*.csv"\nformat: csv\ntable: notify.rows\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n    name: { type: string }\n',
};

let env: TestEnv | null = null;
let receiver: Receiver | null = null;
afterEach(async () => {
  await env?.cleanup();
  await receiver?.stop();
  env = null;
  receiver = null;
});

async function withNotify(yaml: string, processing: Record<string, number> = {}): Promise<TestEnv> {
  const created = await createTestEnv({ datasets: DATASET, processing });
  await appendFile(created.configFile, yaml);
  return created;
}

it('a quarantined file: the event, where, why and the report summary, with an idempotency key; no other content, no secret', async () => {
  receiver = new Receiver();
  await receiver.start();
  env = await withNotify(`notify:\n  webhooks:\n    - url: ${receiver.url}\n`);
  await env.start();
  await env.drop('bad.csv', 'id,name\nnot-a-number,top-secret-name\n');
  await env.outcome('bad.csv', 'failed');
  const [got] = await waitFor(() => (receiver!.received.length > 0 ? receiver!.received : null), { message: 'the notification' });
  expect(got!.body).toMatchObject({
    event: 'failed',
    file: 'bad.csv',
    dataset: 'rows',
    stage: 'validate',
    reason: 'line 2, field "id" = "not-a-number": type: must be integer',
    problem_count: 1,
    quarantined_as: 'output_failed/rows/bad.csv',
    summary: expect.stringContaining('field "id": 1 row: type: must be integer'),
  });
  expect(got!.headers['idempotency-key']).toBe(got!.body['id']);
  expect(JSON.stringify(got!.body)).not.toMatch(/top-secret-name|postgres:\/\//);
});

it('a receiver that is down: loading goes on, the notification is retried and delivered once it is back, with the same key', async () => {
  receiver = new Receiver();
  await receiver.start();
  const port = receiver.port;
  await receiver.stop();
  env = await withNotify(`notify:\n  webhooks:\n    - url: ${receiver.url}\n`);
  await env.start();
  await env.drop('bad.csv', 'id\nx\n');
  await env.outcome('bad.csv', 'failed');
  await env.drop('good.csv', 'id\n1\n');
  await env.outcome('good.csv', 'loaded'); // not held up by the dead receiver
  await waitFor(
    async () => (await env!.pool.query(`SELECT attempts FROM loadbay.notifications WHERE delivered_at IS NULL AND attempts >= 2`)).rowCount,
    { message: 'two failed attempts' },
  );
  const { rows } = await env.pool.query(`SELECT payload->>'id' AS id, last_error FROM loadbay.notifications`);
  expect(rows).toEqual([{ id: expect.any(String), last_error: 'ECONNREFUSED' }]);
  await receiver.start(port);
  await waitFor(() => receiver!.received.length === 1, { message: 'the late delivery', timeoutMs: 30_000 });
  expect(receiver.received[0]!.body).toMatchObject({ id: rows[0].id, event: 'failed', file: 'bad.csv' });
  expect(receiver.received[0]!.headers['idempotency-key']).toBe(rows[0].id);
  await waitFor(async () => (await env!.pool.query(`SELECT 1 FROM loadbay.notifications WHERE delivered_at IS NOT NULL`)).rowCount, {
    message: 'the outbox row marked delivered',
  });
});

it('Slack format: a file held longer than held_after_minutes is told once', async () => {
  receiver = new Receiver();
  await receiver.start();
  env = await withNotify(`notify:\n  held_after_minutes: 0.01\n  webhooks:\n    - url: ${receiver.url}\n      format: slack\n      events: [held]\n`);
  await writeFile(path.join(env.root, 'config', 'datasets', 'rows.yaml'), `${DATASET['rows.yaml']}after_load: [sql/broken.sql]\n`);
  await writeFile(path.join(env.root, 'config', 'sql', 'broken.sql'), 'INSERT INTO notify.nowhere SELECT 1;');
  await env.start();
  await env.drop('stuck.csv', 'id\n1\n');
  await waitFor(() => receiver!.received.length > 0, { message: 'the held notification' });
  const text = String(receiver.received[0]!.body['text']);
  expect(text).toMatch(/^:pause_button: loadbay \*held\* `stuck\.csv`: after_load sql\/broken\.sql of dataset "rows" failed: relation "notify\.nowhere" does not exist$/);
  // Held again and again: told once.
  await waitFor(async () => (await env!.logLines()).filter((l) => l.event === 'held').length >= 4, { message: 'more held lines' });
  expect(receiver.received).toHaveLength(1);
});

it('stalled: finished files not claimed (here: not ready, no space) are logged and told', async () => {
  receiver = new Receiver();
  await receiver.start();
  env = await withNotify(`notify:\n  stalled_after_minutes: 0.01\n  webhooks:\n    - url: ${receiver.url}\n      events: [stalled]\n`, { min_free_bytes: 1e15 });
  await env.start();
  await env.drop('waits.csv', 'id\n1\n');
  const line = await env.outcome('waits.csv', 'stalled');
  // Either way of seeing it, whichever check runs first: not claimed, or waiting with nothing loaded.
  expect(line.reason).toMatch(/^1 finished file\(s\) not claimed; the oldest for [\d.]+ min$|^1 file\(s\) waiting and nothing loaded for [\d.]+ min$/);
  await waitFor(() => receiver!.received.length > 0, { message: 'the stalled notification' });
  expect(receiver.received[0]!.body).toMatchObject({ event: 'stalled', file: 'waits.csv' });
});
