/**
 * Event notifications as hints: an object a bucket announces (AWS: to an SQS queue, directly or
 * through SNS; MinIO: to an SQS-compatible queue or a webhook) becomes visible at once instead of at
 * the next listing. Only a hint: the listing still finds everything, so a lost, late or duplicated
 * notification changes nothing but latency, and a message is deleted once handed over.
 * Everything a peer sends is bounded: message bytes, records per message, key bytes.
 */
import { readAtMost } from '../../lib/bytes.js';
import type http from 'node:http';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../../errors.js';
import { abortableSleep, backoffDelay } from '../../lib/sleep.js';
import type { S3Settings } from '../../config/types.js';
import { limitResponseBodies } from './client.js';
import type { S3Metrics } from './metrics.js';
import { MAX_KEY_BYTES, type S3Location } from './location.js';
import { sqsSdk } from './sdk.js';

export interface ObjectHint {
  bucket: string;
  key: string;
  size: number | null;
  etag: string | null;
  versionId: string | null;
  /** e.g. `ObjectCreated:Put`. */
  event: string;
}

/** A notification body larger than this is refused (SQS allows 256 KiB; a webhook gets the same room). */
export const MAX_NOTIFICATION_BYTES = 1024 * 1024;
const MAX_RECORDS = 1000;

export class NotificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotificationError';
  }
}

/**
 * The objects created that a notification names: AWS's and MinIO's `{ Records: [...] }`, also inside
 * an SNS envelope (`{ Type: 'Notification', Message: '…' }`). `s3:TestEvent` and removals name none.
 */
export function parseS3Event(text: string): ObjectHint[] {
  if (Buffer.byteLength(text) > MAX_NOTIFICATION_BYTES) throw new NotificationError(`a notification of more than ${MAX_NOTIFICATION_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new NotificationError('a notification that is not JSON');
  }
  const envelope = body as { Type?: unknown; Message?: unknown; Event?: unknown; Records?: unknown };
  if (envelope?.Type === 'Notification' && typeof envelope.Message === 'string') return parseS3Event(envelope.Message);
  if (envelope?.Event === 's3:TestEvent') return [];
  if (!Array.isArray(envelope?.Records)) throw new NotificationError('a notification without Records (not an S3 event)');
  if (envelope.Records.length > MAX_RECORDS) throw new NotificationError(`a notification of more than ${MAX_RECORDS} records`);
  const hints: ObjectHint[] = [];
  for (const record of envelope.Records as Array<Record<string, unknown>>) {
    const event = typeof record?.['eventName'] === 'string' ? (record['eventName'] as string).replace(/^s3:/, '') : '';
    if (!event.startsWith('ObjectCreated:')) continue;
    const s3 = record['s3'] as { bucket?: { name?: unknown }; object?: { key?: unknown; size?: unknown; eTag?: unknown; versionId?: unknown } } | undefined;
    const bucket = s3?.bucket?.name;
    const rawKey = s3?.object?.key;
    if (typeof bucket !== 'string' || typeof rawKey !== 'string') continue;
    let key: string;
    try {
      // Keys arrive URL-encoded, spaces as "+" (AWS and MinIO alike).
      key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    } catch {
      continue;
    }
    if (key === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) continue;
    const size = s3?.object?.size;
    const etag = s3?.object?.eTag;
    const versionId = s3?.object?.versionId;
    hints.push({
      bucket,
      key,
      size: typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? size : null,
      etag: typeof etag === 'string' && etag.length > 0 && etag.length <= 256 ? (etag.startsWith('"') ? etag : `"${etag}"`) : null,
      versionId: typeof versionId === 'string' && versionId.length > 0 && versionId.length <= 1024 ? versionId : null,
      event,
    });
  }
  return hints;
}

/** The hints about objects under `location` (a queue may carry several buckets' events). */
export function hintsFor(location: S3Location, hints: ObjectHint[]): ObjectHint[] {
  return hints.filter((h) => h.bucket === location.bucket && h.key.startsWith(location.prefix) && !h.key.endsWith('/'));
}

export interface SqsPollOptions {
  settings: S3Settings;
  queueUrl: string;
  /** Told of the hints of each message before the message is deleted. */
  onHints: (hints: ObjectHint[]) => void | Promise<void>;
  signal: AbortSignal;
  metrics: S3Metrics;
  warn: (message: string) => void;
  /** Long-poll wait (default 20 s, SQS's longest); must stay below `settings.requestTimeoutMs`. */
  waitSeconds?: number;
}

/**
 * The SQS client for a queue: the SDK's own endpoint resolution (AWS_ENDPOINT_URL_SQS,
 * AWS_ENDPOINT_URL, then AWS from the queue URL); a queue outside AWS with neither set is reached at
 * its URL's origin.
 */
export function sqsClientFor(settings: S3Settings, queueUrl: string, env: NodeJS.ProcessEnv = process.env): SQSClient {
  const fromEnv = Boolean(env['AWS_ENDPOINT_URL_SQS'] || env['AWS_ENDPOINT_URL']);
  const custom = !fromEnv && !/\.amazonaws\.com(\.cn)?$/.test(new URL(queueUrl).hostname);
  const client = new (sqsSdk().SQSClient)({
    // The SDK would otherwise send each request to the queue URL's host, over the environment's endpoint.
    ...(fromEnv ? { useQueueUrlAsEndpoint: false } : {}),
    maxAttempts: settings.maxAttempts,
    requestHandler: { connectionTimeout: settings.connectTimeoutMs, socketTimeout: settings.requestTimeoutMs },
    ...(custom ? { endpoint: new URL(queueUrl).origin } : {}),
    ...(settings.region ? { region: settings.region } : process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'] ? {} : { region: 'us-east-1' }),
  });
  limitResponseBodies(client); // a receive is read whole before its messages are checked
  return client;
}

/** Receives until `signal` aborts; never throws (a failing queue is retried with backoff and told to `warn`). */
export async function pollSqs(options: SqsPollOptions): Promise<void> {
  const sqs = sqsClientFor(options.settings, options.queueUrl);
  const wait = Math.min(options.waitSeconds ?? 20, Math.max(0, Math.floor(options.settings.requestTimeoutMs / 1000) - 1));
  let failures = 0;
  try {
    while (!options.signal.aborted) {
      let messages;
      try {
        const answer = await sqs.send(new (sqsSdk().ReceiveMessageCommand)({ QueueUrl: options.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }), { abortSignal: options.signal });
        messages = answer.Messages ?? [];
        failures = 0;
      } catch (error) {
        if (options.signal.aborted) break;
        failures++;
        options.warn(`event notifications: receiving from ${options.queueUrl}: ${errorMessage(error)}`);
        await abortableSleep(backoffDelay(failures, 1000, 60_000), options.signal);
        continue;
      }
      for (const message of messages) {
        try {
          const hints = parseS3Event(message.Body ?? '');
          if (hints.length > 0) {
            options.metrics.hints.inc({ via: 'sqs' }, hints.length);
            await options.onHints(hints);
          }
        } catch (error) {
          if (!(error instanceof NotificationError)) throw error;
          options.metrics.rejectedHints.inc({ via: 'sqs' });
          options.warn(`event notifications: a message of ${options.queueUrl} was dropped: ${error.message}`);
        }
        if (message.ReceiptHandle) {
          await sqs.send(new (sqsSdk().DeleteMessageCommand)({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle })).catch((error: unknown) => {
            options.warn(`event notifications: deleting a message of ${options.queueUrl}: ${errorMessage(error)} (it comes again; a hint twice is harmless)`);
          });
        }
      }
    }
  } finally {
    sqs.destroy();
  }
}

/**
 * Handles an HTTP request carrying an S3 event notification (a MinIO webhook target, or anything
 * that POSTs AWS's format): 200 once handed over, 400 for a body that is no S3 event, 413 past
 * MAX_NOTIFICATION_BYTES (stopped while streaming), 405 for another method. Authentication is the
 * HTTP listener's (its bearer token).
 */
export async function handleEventRequest(request: http.IncomingMessage, response: http.ServerResponse, onHints: (hints: ObjectHint[]) => void | Promise<void>, metrics: S3Metrics): Promise<void> {
  const reply = (status: number, body: object) => {
    response.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  if (request.method === 'HEAD' || request.method === 'GET') return reply(200, { ok: true }); // a webhook target's liveness check
  if (request.method !== 'POST') {
    response.setHeader('Allow', 'POST, GET, HEAD');
    return reply(405, { error: 'method not allowed' });
  }
  const tooLarge = () => {
    metrics.rejectedHints.inc({ via: 'http' });
    response.setHeader('Connection', 'close');
    // The rest of the body is never read: the connection closes once the answer is out.
    response.on('finish', () => request.destroy());
    reply(413, { error: `a notification is at most ${MAX_NOTIFICATION_BYTES} bytes` });
  };
  if (Number(request.headers['content-length'] ?? 0) > MAX_NOTIFICATION_BYTES) return tooLarge();
  let body: Buffer | null;
  try {
    body = await readAtMost(request as AsyncIterable<Buffer>, MAX_NOTIFICATION_BYTES);
  } catch {
    return; // the peer went away
  }
  if (body === null) return tooLarge();
  let hints: ObjectHint[];
  try {
    hints = parseS3Event(body.toString('utf8'));
  } catch (error) {
    if (!(error instanceof NotificationError)) throw error;
    metrics.rejectedHints.inc({ via: 'http' });
    return reply(400, { error: error.message });
  }
  metrics.hints.inc({ via: 'http' }, hints.length);
  await onHints(hints);
  reply(200, { objects: hints.length });
}
