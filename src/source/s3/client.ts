/**
 * The S3 client loadbay uses: endpoint, region and credentials the AWS SDK's standard way
 * (environment, shared config, instance role; `AWS_ENDPOINT_URL_S3`), with `s3:` from the
 * configuration on top. Every request has a connection timeout and an idle timeout, so a hung
 * endpoint fails a request instead of hanging a worker; every request is counted in S3Metrics.
 */
import { pipeline, Transform, type Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { isKnownTransient, redact, s3ErrorKind } from '../../errors.js';
import type { S3Settings } from '../../config/types.js';
import { S3Metrics, type RequestOutcome } from './metrics.js';
import { s3Sdk } from './sdk.js';

export interface S3Connection {
  client: S3Client;
  settings: S3Settings;
  metrics: S3Metrics;
  /** Where requests go, for logs and status (never a secret: credentials are not part of it). */
  endpoint: string;
  close(): void;
}

/** The endpoint a custom server is reached at, when one is set (configuration first, then the environment). */
export function customEndpoint(settings: S3Settings, env: NodeJS.ProcessEnv = process.env): string | null {
  return settings.endpoint ?? env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'] ?? null;
}

export function connectS3(settings: S3Settings, metrics = new S3Metrics()): S3Connection {
  const endpoint = customEndpoint(settings);
  const agent = { keepAlive: true, maxSockets: settings.maxSockets };
  const config: S3ClientConfig = {
    forcePathStyle: settings.forcePathStyle,
    maxAttempts: settings.maxAttempts,
    requestHandler: {
      connectionTimeout: settings.connectTimeoutMs,
      // An idle socket (no answer, or a response body that stops) for this long fails the request;
      // not a limit on a whole request, which a large object's body may rightly exceed.
      socketTimeout: settings.requestTimeoutMs,
      httpAgent: agent,
      httpsAgent: agent,
    },
    // Servers other than AWS (MinIO, Ceph, the test server) differ in the newer checksum headers.
    ...(endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.region ? { region: settings.region } : process.env['AWS_REGION'] || process.env['AWS_DEFAULT_REGION'] ? {} : { region: 'us-east-1' }),
  };
  const client = new (s3Sdk().S3Client)(config);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context as { commandName?: string }).commandName?.replace(/Command$/, '') ?? 'unknown';
      const end = metrics.requestSeconds.startTimer({ operation });
      try {
        const result = await next(args);
        metrics.requests.inc({ operation, outcome: 'ok' });
        return result;
      } catch (error) {
        metrics.requests.inc({ operation, outcome: outcomeOf(error) });
        throw error;
      } finally {
        end();
      }
    },
    { step: 'initialize', name: 'loadbayRequestMetrics' },
  );
  limitResponseBodies(client);
  // AWS_ENDPOINT_URL_S3 may carry a user and password; what is shown never does.
  return { client, settings, metrics, endpoint: endpoint ? redact(endpoint) : 'AWS S3', close: () => client.destroy() };
}

/**
 * A reply other than an object's bytes is read whole by the SDK before it is parsed: past this it is
 * refused. A page of 1,000 listed keys of 1 KiB is about 1.5 MB of XML; an SQS receive of 10
 * messages at most 10 MiB.
 */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;
/** A reply body that trickles in (each pause shorter than the idle timeout) must still end. */
export const MAX_REPLY_MS = 120_000;

/** An endpoint's reply past loadbay's limits: an infrastructure error (retried), never parsed. */
export class ReplyLimitError extends Error {
  constructor(
    readonly operation: string,
    detail: string,
  ) {
    super(`${operation}: ${detail}`);
    this.name = 'ReplyLimitError';
  }
}

interface RawResponse {
  statusCode?: number;
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

/**
 * Bounds the body of every reply the SDK reads whole (all but GetObject's bytes, which read.ts
 * streams within the object's listed size): at most `maxBytes`, in at most `maxMs`. It wraps the raw
 * body below the SDK's deserializer, so the limit holds while the bytes arrive, not after.
 */
export function limitResponseBodies(client: S3Client | SQSClient, maxBytes = MAX_REPLY_BYTES, maxMs = MAX_REPLY_MS): void {
  // The same middleware fits both: it sees only the raw HTTP response, not a service's types.
  (client.middlewareStack as S3Client['middlewareStack']).add(
    (next, context) => async (args) => {
      const result = await next(args);
      const response = result.response as RawResponse | undefined;
      const body = response?.body as Readable | undefined;
      if (!response || !body || typeof body.pipe !== 'function') return result;
      const operation = (context as { commandName?: string }).commandName?.replace(/Command$/, '') ?? 'unknown';
      const status = response.statusCode ?? 0;
      if (operation === 'GetObject' && status < 300) return result;
      // A HEAD reply has no body: its Content-Length is the object's size.
      if ((args as { request?: { method?: string } }).request?.method === 'HEAD') return result;
      // With $metadata the SDK passes the error on as it is, without its "deserialization error" note.
      const fail = (detail: string) => Object.assign(new ReplyLimitError(operation, detail), { $metadata: { httpStatusCode: status } });
      const declared = Number(response.headers?.['content-length'] ?? NaN);
      if (declared > maxBytes) {
        body.destroy();
        throw fail(`the server announced a reply of ${declared} bytes, more than loadbay's limit of ${maxBytes}`);
      }
      let bytes = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > maxBytes) return done(fail(`the server's reply went past loadbay's limit of ${maxBytes} bytes`));
          done(null, chunk);
        },
      });
      const timer = setTimeout(() => counted.destroy(fail(`the server's reply took longer than ${maxMs} ms (${bytes} bytes received)`)), maxMs);
      timer.unref();
      // pipeline destroys the socket's stream on any failure, so a refused reply frees its connection.
      pipeline(body, counted, () => clearTimeout(timer));
      response.body = counted;
      return result;
    },
    // Below the deserializer (low priority), so it wraps the raw body; a second call replaces the limits.
    { step: 'deserialize', priority: 'low', name: 'loadbayReplyLimits', override: true },
  );
}

export function outcomeOf(error: unknown): RequestOutcome {
  if (isNotFound(error)) return 'not_found';
  if (isPreconditionFailed(error)) return 'changed';
  return s3ErrorKind(error) ?? (isKnownTransient(error) ? 'transient' : 'other');
}

export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || (e?.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket');
}

export function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}
