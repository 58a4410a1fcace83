/**
 * Each test's own bucket on the run's S3-compatible server (started by global-setup.ts; its address
 * in TEST_S3_ENDPOINT). Credentials reach the SDK the standard way, through the environment.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { S3Settings } from '../../src/config/types.js';
import { connectS3, type S3Connection } from '../../src/source/s3/client.js';
import { parseS3Folder, type S3Location } from '../../src/source/s3/location.js';
import { DEFAULT_S3 } from '../../src/source/s3/settings.js';
import { stopRunningDaemons } from './env.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export function s3Endpoint(): string {
  const endpoint = process.env['TEST_S3_ENDPOINT'];
  if (!endpoint) throw new Error('TEST_S3_ENDPOINT is not set: run the tests with jest (its global setup starts an S3 server)');
  return endpoint;
}

/** A TCP proxy in front of the test server, a new one for each test, and a client that goes through it. */
export function useS3Proxy(settings: Partial<S3Settings> = {}): { proxy(): TcpProxy; s3(): S3Connection } {
  let proxy: TcpProxy;
  let s3: S3Connection;
  beforeEach(async () => {
    proxy = await startTcpProxy(Number(new URL(s3Endpoint()).port));
    s3 = connectS3(testS3Settings({ endpoint: proxy.endpoint, maxAttempts: 1, ...settings }));
  });
  afterEach(async () => {
    s3.close();
    await proxy.close();
  });
  return { proxy: () => proxy, s3: () => s3 };
}

/** The SDK finds the test server's credentials where it finds anyone's: the environment. */
function useTestCredentials(): void {
  // The SDK's notice that its 2027 releases need Node 22 says nothing about a test.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
  process.env['AWS_ACCESS_KEY_ID'] = process.env['TEST_S3_ACCESS_KEY_ID'] ?? 'loadbay-test';
  process.env['AWS_SECRET_ACCESS_KEY'] = process.env['TEST_S3_SECRET_ACCESS_KEY'] ?? 'loadbay-test-secret';
  process.env['AWS_REGION'] = process.env['TEST_S3_REGION'] ?? 'us-east-1';
  // The test server's SQS answers on the same port; its queue URLs name a host (sqs.<region>.localhost) no resolver knows.
  process.env['AWS_ENDPOINT_URL_SQS'] = s3Endpoint();
}

/** Settings that reach the test server (or `endpoint`, e.g. a proxy in front of it). */
export function testS3Settings(overrides: Partial<S3Settings> = {}): S3Settings {
  useTestCredentials();
  return {
    ...DEFAULT_S3,
    endpoint: s3Endpoint(),
    forcePathStyle: true,
    region: process.env['TEST_S3_REGION'] ?? 'us-east-1',
    requestTimeoutMs: 10_000,
    connectTimeoutMs: 2_000,
    sqsQueueUrl: null,
    ...overrides,
  };
}

/** The `s3:` section of a loadbay.yaml that reaches the test server (or `endpoint`), short timeouts for tests. */
export function s3Section(overrides: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  const settings = testS3Settings();
  return { endpoint: settings.endpoint!, force_path_style: true, region: settings.region!, request_timeout_ms: 5000, connect_timeout_ms: 1000, ...overrides };
}

export interface TestBucket {
  name: string;
  s3: S3Connection;
  /** `s3://bucket/prefix/` as a location. */
  location(prefix?: string): S3Location;
  put(key: string, body: string | Buffer, extra?: Partial<PutObjectCommandInput>): Promise<string>;
  get(key: string): Promise<Buffer>;
  /** Every key under the prefix, sorted. */
  keys(prefix?: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function createTestBucket(settings: Partial<S3Settings> = {}): Promise<TestBucket> {
  const name = `lb-test-${randomBytes(6).toString('hex')}`;
  const s3 = connectS3(testS3Settings(settings));
  await s3.client.send(new CreateBucketCommand({ Bucket: name }));
  const keys = async (prefix = '') => {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.client.send(new ListObjectsV2Command({ Bucket: name, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) found.push(object.Key!);
      token = page.NextContinuationToken;
    } while (token);
    return found.sort();
  };
  return {
    name,
    s3,
    location: (prefix = '') => parseS3Folder(`s3://${name}/${prefix}`),
    async put(key, body, extra = {}) {
      const result = await s3.client.send(new PutObjectCommand({ Bucket: name, Key: key, Body: Buffer.from(body), ...extra }));
      return result.ETag!;
    },
    async get(key) {
      const result = await s3.client.send(new GetObjectCommand({ Bucket: name, Key: key }));
      return Buffer.from(await result.Body!.transformToByteArray());
    },
    keys,
    async cleanup() {
      try {
        const uploads = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: name }));
        for (const upload of uploads.Uploads ?? []) {
          await s3.client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: upload.Key!, UploadId: upload.UploadId! }));
        }
        const all = await keys();
        for (let i = 0; i < all.length; i += 1000) {
          await s3.client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: all.slice(i, i + 1000).map((Key) => ({ Key })) } }));
        }
        await s3.client.send(new DeleteBucketCommand({ Bucket: name }));
      } finally {
        s3.close();
      }
    },
  };
}

/** A fresh bucket for each test of the file: `const bucket = useBucket();` then `bucket()` in a test. */
export function useBucket(settings: Partial<S3Settings> = {}): () => TestBucket {
  let current: TestBucket | null = null;
  beforeEach(async () => {
    current = await createTestBucket(settings);
  });
  afterEach(async () => {
    // Daemons first: one still running could write into the bucket while it is emptied.
    await stopRunningDaemons();
    await current?.cleanup();
    current = null;
  });
  return () => {
    if (!current) throw new Error('useBucket: used outside a test');
    return current;
  };
}
