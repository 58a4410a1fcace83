/**
 * What an object store's failures mean, against real peers: the test S3 server, and HTTP servers on
 * 127.0.0.1 that answer as S3 does when it throttles (503 SlowDown), refuses (403), redirects to
 * another region (301) or hangs. Infrastructure errors are retried (transient); configuration
 * errors are held with a message naming bucket and prefix; secrets never reach a message.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { classify, errorMessage, HeldError, isKnownTransient, redact, s3ErrorKind } from '../../src/errors.js';
import { connectS3, type S3Connection } from '../../src/source/s3/client.js';
import { checkLocation } from '../../src/source/s3/health.js';
import { listPages } from '../../src/source/s3/listing.js';
import { parseS3Folder } from '../../src/source/s3/location.js';
import { testS3Settings, useBucket } from '../helpers/s3.js';

const bucket = useBucket();

interface Peer {
  endpoint: string;
  requests: number;
  close(): Promise<void>;
}

/** An HTTP server that answers every request with `status`, an S3 error body and `headers`; or never, with `status` 0. */
async function startPeer(status: number, code: string, headers: Record<string, string> = {}): Promise<Peer> {
  const sockets = new Set<net.Socket>();
  const peer = {
    requests: 0,
    endpoint: '',
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((request, response) => {
    peer.requests++;
    request.resume();
    if (status === 0) return; // hangs: no answer, ever
    response.writeHead(status, { 'content-type': 'application/xml', ...headers });
    response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code} from the test peer</Message><RequestId>r1</RequestId></Error>`);
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  peer.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return peer;
}

async function failureOf(s3: S3Connection, url = 's3://lake/in/'): Promise<unknown> {
  const location = parseS3Folder(url);
  try {
    for await (const page of listPages(s3, location)) void page;
  } catch (error) {
    return error;
  }
  throw new Error('the listing did not fail');
}

describe('infrastructure errors are retried, never held or quarantined', () => {
  it('503 SlowDown: the SDK retries (s3.max_attempts), then the error is transient', async () => {
    const peer = await startPeer(503, 'SlowDown');
    const s3 = connectS3(testS3Settings({ endpoint: peer.endpoint, maxAttempts: 3 }));
    try {
      const error = await failureOf(s3);
      expect((error as Error).name).toBe('SlowDown');
      expect(peer.requests).toBe(3);
      expect(s3ErrorKind(error)).toBe('transient');
      expect(isKnownTransient(error)).toBe(true);
      expect(classify(error)).toBe('transient');
    } finally {
      s3.close();
      await peer.close();
    }
  });

  it('a hung endpoint fails the request after the timeout instead of hanging the worker', async () => {
    const peer = await startPeer(0, '');
    const s3 = connectS3(testS3Settings({ endpoint: peer.endpoint, requestTimeoutMs: 500, maxAttempts: 1 }));
    try {
      const started = Date.now();
      const error = await failureOf(s3);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((error as Error).name).toBe('TimeoutError');
      expect(isKnownTransient(error)).toBe(true);
      expect(classify(error)).toBe('transient');
      const check = await checkLocation(s3, parseS3Folder('s3://lake/in/'));
      expect(check).toMatchObject({ name: 'object_storage s3://lake/in/', ok: false });
    } finally {
      s3.close();
      await peer.close();
    }
  });

  it('an unreachable endpoint (nothing listens) is transient', async () => {
    const closed = await startPeer(200, '');
    const endpoint = closed.endpoint;
    await closed.close();
    const s3 = connectS3(testS3Settings({ endpoint, maxAttempts: 1 }));
    try {
      const error = await failureOf(s3);
      expect(String((error as { code?: string }).code ?? (error as Error).message)).toContain('ECONNREFUSED');
      expect(isKnownTransient(error)).toBe(true);
      expect(classify(error)).toBe('transient');
    } finally {
      s3.close();
    }
  });
});

describe('configuration errors are held, naming bucket and prefix', () => {
  it.each([
    [403, 'AccessDenied', {}, 's3://lake/in/: access denied: check the credentials (environment, shared config or instance role) and the bucket policy (AccessDenied)'],
    [403, 'InvalidAccessKeyId', {}, 's3://lake/in/: access denied: check the credentials (environment, shared config or instance role) and the bucket policy (InvalidAccessKeyId)'],
    [301, 'PermanentRedirect', { 'x-amz-bucket-region': 'eu-west-1' }, 's3://lake/in/: the bucket is in another region (eu-west-1): set s3.region or AWS_REGION (PermanentRedirect)'],
    [400, 'AuthorizationHeaderMalformed', {}, 's3://lake/in/: the bucket is in another region: set s3.region or AWS_REGION (AuthorizationHeaderMalformed)'],
    [404, 'NoSuchBucket', {}, 's3://lake/in/: the bucket does not exist (check the bucket name and the endpoint) (NoSuchBucket)'],
    [403, 'RequestTimeTooSkewed', {}, "s3://lake/in/: this machine's clock differs from the server's by more than S3 allows (15 minutes): synchronise it (NTP) (RequestTimeTooSkewed)"],
  ])('%i %s', async (status, code, headers, message) => {
    const peer = await startPeer(status, code, headers);
    const s3 = connectS3(testS3Settings({ endpoint: peer.endpoint, maxAttempts: 3 }));
    try {
      const error = await failureOf(s3);
      expect(error).toBeInstanceOf(HeldError);
      expect((error as Error).message).toBe(message);
      expect(classify(error)).toBe('held');
      expect(peer.requests).toBe(1); // not retried: retrying cannot fix it
      expect(await checkLocation(s3, parseS3Folder('s3://lake/in/'))).toEqual({ name: 'object_storage s3://lake/in/', ok: false, detail: message });
    } finally {
      s3.close();
      await peer.close();
    }
  });

  it('readiness: a bucket that answers is ready; a missing one says so', async () => {
    const ready = await checkLocation(bucket().s3, bucket().location('in/'));
    expect(ready).toMatchObject({ name: `object_storage s3://${bucket().name}/in/`, ok: true, detail: expect.stringContaining(`at ${process.env['TEST_S3_ENDPOINT']}`) });
    expect(await checkLocation(bucket().s3, parseS3Folder('s3://no-such-bucket-x/in/'))).toMatchObject({ ok: false, detail: expect.stringContaining('the bucket does not exist') });
  });
});

describe('secrets never reach a message', () => {
  it.each([
    [
      'GET https://lake.s3.amazonaws.com/in/a.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLEKEY%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abcdef0123secret&X-Amz-Security-Token=FwoGZXIvYXdzSECRETTOKEN failed',
      'GET https://lake.s3.amazonaws.com/in/a.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=*** failed',
    ],
    ['https://lake.s3.amazonaws.com/a.csv?AWSAccessKeyId=AKIAEXAMPLEKEY&Expires=1&Signature=c2VjcmV0SECRET', 'https://lake.s3.amazonaws.com/a.csv?AWSAccessKeyId=***&Expires=1&Signature=***'],
    ['Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=SECRETSIG', 'Authorization: ***'],
    ['endpoint http://minio:SECRETPASS@127.0.0.1:9000 refused', 'endpoint http://minio:***@127.0.0.1:9000 refused'],
    ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY', 'aws_secret_access_key = ***'],
    ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/SECRET AWS_SESSION_TOKEN=IQoSECRETtoken', 'AWS_SECRET_ACCESS_KEY=*** AWS_SESSION_TOKEN=***'],
    ['{"secretAccessKey":"wJalrSECRET","accessKeyId":"AKIAEXAMPLEKEY"}', '{"secretAccessKey":"***","accessKeyId":"AKIAEXAMPLEKEY"}'],
  ])('redacts %s', (text, expected) => {
    expect(redact(text)).toBe(expected);
    expect(redact(text)).not.toMatch(/wJalr|IQoS|abcdef0123|SECRET(?:PASS|SIG|KEY|TOKEN)|c2VjcmV0/);
  });

  it('the endpoint shown in status and readiness never carries a password from the environment', () => {
    const before = process.env['AWS_ENDPOINT_URL_S3'];
    process.env['AWS_ENDPOINT_URL_S3'] = 'http://minio:SECRETPASS@127.0.0.1:9000';
    try {
      const s3 = connectS3({ ...testS3Settings(), endpoint: null });
      expect(s3.endpoint).toBe('http://minio:***@127.0.0.1:9000');
      s3.close();
    } finally {
      if (before === undefined) delete process.env['AWS_ENDPOINT_URL_S3'];
      else process.env['AWS_ENDPOINT_URL_S3'] = before;
    }
  });

  it('a presigned URL the SDK makes loses its signature in any message', async () => {
    const url = await getSignedUrl(bucket().s3.client, new GetObjectCommand({ Bucket: bucket().name, Key: 'in/a.csv' }), { expiresIn: 60 });
    expect(url).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    const message = errorMessage(new Error(`fetching ${url}: 403`));
    expect(message).toMatch(/X-Amz-Signature=\*\*\*/);
    expect(message).toMatch(/X-Amz-Credential=\*\*\*/);
    expect(message).not.toContain(process.env['TEST_S3_SECRET_ACCESS_KEY'] ?? 'loadbay-test-secret');
    expect(message).not.toMatch(/[0-9a-f]{64}/);
  });
});
