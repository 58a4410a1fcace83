/**
 * Operating a daemon that reads a bucket: event notifications as hints (an SQS queue, and POSTs to
 * /hooks/s3 behind the bearer token) make an object visible before the next listing; `loadbay
 * status`, /api/status, /readyz and /metrics show the bucket input like a folder; no secret reaches
 * a log, the status, the readiness answer or the metrics.
 */
import { spawn } from 'node:child_process';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import { s3Endpoint, s3Section, testS3Settings, useBucket } from '../helpers/s3.js';
import { sqsClientFor } from '../../src/source/s3/hints.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.js');
const TOKEN = 's3-operations-token-0123456789';
const bucket = useBucket();
let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

/** An S3 event as AWS puts it on a queue or POSTs it. */
function event(bucketName: string, key: string): string {
  return JSON.stringify({ Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucketName }, object: { key, size: 1 } } }] });
}

it('hints from an SQS queue and from POSTs to /hooks/s3 make objects visible before the next listing', async () => {
  const b = bucket();
  const settings = testS3Settings();
  const sqs = sqsClientFor(settings, s3Endpoint());
  try {
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: `lb-hints-${Date.now()}` }));
    env = await createTestEnv({
      datasets: ITEM_DATASETS,
      // One listing at the start, the next in ten minutes: only a hint brings an object sooner.
      processing: { rescan_interval_ms: 600_000 },
      folders: { input: `s3://${b.name}/in/` },
      s3: s3Section({ sqs_queue_url: queue.QueueUrl! }),
    });
    await appendFile(env.configFile, `  token: ${TOKEN}\n`);
    const daemon = await env.start();
    const auth = { authorization: `Bearer ${TOKEN}` };
    // The first listing is over (it found nothing): what comes now comes by a hint.
    await waitFor(async () => /loadbay_s3_listings_total\{kind="full"\} 1/.test(await (await fetch(`${daemon.httpUrl}/metrics`, { headers: auth })).text()), {
      message: 'the first listing to end',
    });
    await b.put('in/items-queued.csv', ITEMS_CSV);
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.QueueUrl!, MessageBody: event(b.name, 'in/items-queued.csv') }));
    expect(await env.outcome('items-queued.csv', 'loaded')).toMatchObject({ rows: 3 });

    await b.put('in/items-posted.csv', ITEMS_CSV.replace('Widget', 'Posted'));
    const refused = await fetch(`${daemon.httpUrl}/hooks/s3`, { method: 'POST', body: event(b.name, 'in/items-posted.csv') });
    expect(refused.status).toBe(401);
    const posted = await fetch(`${daemon.httpUrl}/hooks/s3`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: event(b.name, 'in/items-posted.csv'),
    });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toEqual({ objects: 1 });
    expect(await env.outcome('items-posted.csv', 'loaded')).toMatchObject({ rows: 3 });
    const notAnEvent = await fetch(`${daemon.httpUrl}/hooks/s3`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"hello": 1}' });
    expect(notAnEvent.status).toBe(400);
    const metrics = await (await fetch(`${daemon.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(/loadbay_s3_event_hints_total\{via="sqs"\} 1/);
    expect(metrics).toMatch(/loadbay_s3_event_hints_total\{via="http"\} 1/);
    expect(metrics).toMatch(/loadbay_s3_event_hints_rejected_total\{via="http"\} 1/);
  } finally {
    sqs.destroy();
  }
});

it('status, /api/status, /readyz and /metrics show the bucket input like a folder, and no secret anywhere', async () => {
  const b = bucket();
  const secret = process.env['AWS_SECRET_ACCESS_KEY']!;
  expect(secret.length).toBeGreaterThan(8);
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: ['input', `s3://${b.name}/in/`], parquet: `s3://${b.name}/lake/` }, s3: s3Section() });
  const daemon = await env.start();
  await b.put('in/items-1.csv', ITEMS_CSV);
  await b.put('in/bad/items-2.csv', 'id,name\nx,\n');
  await env.outcome('items-1.csv', 'loaded');
  await env.outcome('bad/items-2.csv', 'failed');

  const status = (await (await fetch(`${daemon.httpUrl}/api/status`)).json()) as Record<string, unknown>;
  expect(status['sources']).toEqual([
    expect.objectContaining({ source: 'input/', waiting: 0 }),
    expect.objectContaining({ source: `s3://${b.name}/in/`, waiting: 0, in_hand: 0 }),
  ]);
  expect(status['inputs']).toEqual([
    { input: 'input/', waiting: 0, more: false },
    { input: `s3://${b.name}/in/`, waiting: 0, more: false },
  ]);
  const readyz = await fetch(`${daemon.httpUrl}/readyz`);
  const checks = ((await readyz.json()) as { checks: Array<{ name: string; ok: boolean }> }).checks;
  expect(checks.filter((c) => c.name.startsWith('object_storage')).map((c) => [c.name, c.ok])).toEqual([
    [`object_storage s3://${b.name}/in/`, true],
    [`object_storage s3://${b.name}/lake/`, true],
  ]);
  const metrics = await (await fetch(`${daemon.httpUrl}/metrics`)).text();
  expect(metrics).toMatch(/loadbay_s3_requests_total\{operation="ListObjectsV2",outcome="ok"\} [1-9]/);
  expect(metrics).toMatch(/loadbay_s3_requests_total\{operation="GetObject",outcome="ok"\} [1-9]/);
  expect(metrics).toContain(`loadbay_source_backlog_files{source="s3://${b.name}/in/"} 0`);
  expect(metrics).toContain('loadbay_source_backlog_files{source="input/"} 0');

  // With the daemon stopped, `loadbay status` lists what waits in the bucket.
  await daemon.stop();
  await b.put('in/items-3.csv', ITEMS_CSV);
  const out = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'status', '--config', env!.configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: env!.url } });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('exit', () => resolve(text));
  });
  expect(out).toContain('waiting in input/: 0');
  expect(out).toContain(`waiting in s3://${b.name}/in/: 1 (items-3.csv)`);

  const logs = await readdir(env.folders.logs, { recursive: true });
  const everything = [out, JSON.stringify(status), metrics, ...(await Promise.all(logs.map((f) => readFile(path.join(env!.folders.logs, String(f)), 'utf8').catch(() => ''))))].join('\n');
  expect(everything).not.toContain(secret);
  expect(everything).toContain(`s3://${b.name}/lake/`); // the logs do name the bucket
});
