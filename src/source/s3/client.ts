/**
 * The S3 client loadbay uses: endpoint, region and credentials the AWS SDK's standard way
 * (environment, shared config, instance role; `AWS_ENDPOINT_URL_S3`), with `s3:` from the
 * configuration on top. Every request has a connection timeout and an idle timeout, so a hung
 * endpoint fails a request instead of hanging a worker; every request is counted in S3Metrics.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { isKnownTransient, redact, s3ErrorKind } from '../../errors.js';
import type { S3Settings } from '../../config/types.js';
import { S3Metrics, type RequestOutcome } from './metrics.js';

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
  const client = new S3Client(config);
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
  // AWS_ENDPOINT_URL_S3 may carry a user and password; what is shown never does.
  return { client, settings, metrics, endpoint: endpoint ? redact(endpoint) : 'AWS S3', close: () => client.destroy() };
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
