/**
 * Event notifications as hints: S3 events polled from an SQS queue on the test server (fauxqs's SQS),
 * and POSTed to an HTTP endpoint as MinIO's webhook target sends them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { S3Metrics } from '../../src/source/s3/metrics.js';
import { handleEventRequest, hintsFor, MAX_NOTIFICATION_BYTES, parseS3Event, pollSqs, sqsClientFor, type ObjectHint } from '../../src/source/s3/hints.js';
import { parseS3Folder } from '../../src/source/s3/location.js';
import { testS3Settings } from '../helpers/s3.js';
import { waitFor } from '../helpers/env.js';

/** An event as AWS sends it (the key URL-encoded, spaces as "+"). */
function awsEvent(bucket: string, key: string, eventName = 'ObjectCreated:Put'): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName,
        s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/'), size: 42, eTag: '0123456789abcdef0123456789abcdef', sequencer: '0A1B' } },
      },
    ],
  });
}

describe('reading notifications', () => {
  it('takes AWS and MinIO events, SNS envelopes, and ignores test events and removals', () => {
    expect(parseS3Event(awsEvent('lake', 'in/nhl/game 1.csv'))).toEqual([
      { bucket: 'lake', key: 'in/nhl/game 1.csv', size: 42, etag: '"0123456789abcdef0123456789abcdef"', versionId: null, event: 'ObjectCreated:Put' },
    ]);
    // MinIO: eventName with the "s3:" prefix, EventName/Key at the top, keys URL-encoded too.
    const minio = JSON.stringify({ EventName: 's3:ObjectCreated:CompleteMultipartUpload', Key: 'lake/in/a%2Bb.csv', Records: [{ eventName: 's3:ObjectCreated:CompleteMultipartUpload', s3: { bucket: { name: 'lake' }, object: { key: 'in%2Fa%2Bb.csv', size: 7, eTag: 'abc-2', versionId: 'v1' } } }] });
    expect(parseS3Event(minio)).toEqual([{ bucket: 'lake', key: 'in/a+b.csv', size: 7, etag: '"abc-2"', versionId: 'v1', event: 'ObjectCreated:CompleteMultipartUpload' }]);
    expect(parseS3Event(JSON.stringify({ Type: 'Notification', Message: awsEvent('lake', 'in/x.csv') }))).toHaveLength(1);
    expect(parseS3Event(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'lake' }))).toEqual([]);
    expect(parseS3Event(awsEvent('lake', 'in/x.csv', 'ObjectRemoved:Delete'))).toEqual([]);
    expect(() => parseS3Event('not json')).toThrow('a notification that is not JSON');
    expect(() => parseS3Event('{"hello":1}')).toThrow('a notification without Records (not an S3 event)');
    expect(() => parseS3Event(JSON.stringify({ Records: Array.from({ length: 1001 }, () => ({})) }))).toThrow('more than 1000 records');
    expect(() => parseS3Event(' '.repeat(MAX_NOTIFICATION_BYTES + 1))).toThrow(/more than 1048576 bytes/);
    const location = parseS3Folder('s3://lake/in/');
    const hints: ObjectHint[] = [...parseS3Event(awsEvent('lake', 'in/a.csv')), ...parseS3Event(awsEvent('lake', 'inbox/b.csv')), ...parseS3Event(awsEvent('other', 'in/c.csv'))];
    expect(hintsFor(location, hints).map((h) => h.key)).toEqual(['in/a.csv']);
  });
});

describe('an SQS queue of notifications', () => {
  let sqs: SQSClient;
  let queueUrl: string;
  const settings = () => testS3Settings({ requestTimeoutMs: 5000 });
  beforeEach(async () => {
    sqs = sqsClientFor(settings(), process.env['TEST_S3_ENDPOINT']!);
    const created = await sqs.send(new CreateQueueCommand({ QueueName: `lb-${Date.now()}-${Math.random().toString(16).slice(2, 8)}` }));
    queueUrl = created.QueueUrl!;
  });
  afterEach(() => sqs.destroy());

  it('hands over each message’s objects, deletes what it handed over and drops what is no S3 event', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: awsEvent('lake', 'in/one.csv') }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ Type: 'Notification', Message: awsEvent('lake', 'in/two.csv') }) }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'garbage' }));
    const metrics = new S3Metrics();
    const stop = new AbortController();
    const seen: string[] = [];
    const warnings: string[] = [];
    const polling = pollSqs({ settings: settings(), queueUrl, metrics, signal: stop.signal, waitSeconds: 1, warn: (m) => warnings.push(m), onHints: (hints) => void seen.push(...hints.map((h) => h.key)) });
    await waitFor(() => seen.length === 2 && warnings.length === 1, { message: `two hints and one dropped message (${seen.join()} | ${warnings.join()})` });
    expect(seen.sort()).toEqual(['in/one.csv', 'in/two.csv']);
    expect(warnings[0]).toMatch(/was dropped: a notification that is not JSON/);
    await waitFor(async () => {
      const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
      return attributes.Attributes?.['ApproximateNumberOfMessages'] === '0' && attributes.Attributes?.['ApproximateNumberOfMessagesNotVisible'] === '0';
    }, { message: 'an empty queue' });
    stop.abort();
    await polling;
    expect((await metrics.hints.get()).values).toEqual([expect.objectContaining({ labels: { via: 'sqs' }, value: 2 })]);
  });

  it('a queue that cannot be read is retried with backoff and stops when told, without throwing', async () => {
    const stop = new AbortController();
    const warnings: string[] = [];
    const polling = pollSqs({
      settings: testS3Settings({ maxAttempts: 1, requestTimeoutMs: 2000 }),
      queueUrl: 'http://127.0.0.1:1/000000000000/missing',
      metrics: new S3Metrics(),
      signal: stop.signal,
      waitSeconds: 0,
      warn: (m) => warnings.push(m),
      onHints: () => undefined,
    });
    await waitFor(() => warnings.length >= 1, { message: 'a warning' });
    expect(warnings[0]).toMatch(/^event notifications: receiving from http:\/\/127\.0\.0\.1:1\/000000000000\/missing: \S/);
    stop.abort();
    await polling;
  });
});

describe('an HTTP endpoint for notifications', () => {
  let server: http.Server;
  let url: string;
  const received: ObjectHint[] = [];
  const metrics = new S3Metrics();
  beforeAll(async () => {
    server = http.createServer((request, response) => void handleEventRequest(request, response, (hints) => void received.push(...hints), metrics));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/s3`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('takes a POSTed event, refuses what is not one, and stops reading past the size limit', async () => {
    const post = (body: string | Blob, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    const ok = await post(awsEvent('lake', 'in/web.csv'));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ objects: 1 });
    expect(received.map((h) => h.key)).toEqual(['in/web.csv']);
    const bad = await post('{"Records": 3}');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'a notification without Records (not an S3 event)' });
    const huge = await post(new Blob([' '.repeat(MAX_NOTIFICATION_BYTES + 10)]));
    expect(huge.status).toBe(413);
    // Streamed without a length: refused once the limit passes, not read to the end.
    const endless = new ReadableStream({
      pull(controller) {
        controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      },
    });
    const chunked = await fetch(url, { method: 'POST', body: endless, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(url, { method: 'PUT', body: 'x' })).status).toBe(405);
    expect((await metrics.rejectedHints.get()).values[0]?.value).toBe(3);
  });
});
