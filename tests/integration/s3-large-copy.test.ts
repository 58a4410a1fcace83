/**
 * Archiving and quarantining an object too large for one CopyObject: a multipart copy (copy.ts),
 * against the run's S3 server, with the threshold and part size lowered so that a 10 MiB object
 * takes that path (parts of 5 MiB, S3's minimum).
 */
import { randomBytes } from 'node:crypto';
import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, UploadPartCopyCommand } from '@aws-sdk/client-s3';
import { instanceLockKey } from '../../src/instance.js';
import { connectS3 } from '../../src/source/s3/client.js';
import type { CopyLimits } from '../../src/source/s3/copy.js';
import { headObject, type ObjectIdentity } from '../../src/source/s3/identity.js';
import { moveObject, SOURCE_ETAG_METADATA, SOURCE_METADATA, SourceReplacedError } from '../../src/source/s3/settle.js';
import { sweepUploads } from '../../src/source/s3/sweep.js';
import { KeyTakenError, WRITER_METADATA } from '../../src/source/s3/write.js';
import { useLedger } from '../helpers/env.js';
import { testS3Settings, useBucket, useS3Proxy } from '../helpers/s3.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

const bucket = useBucket();
const MiB = 1024 * 1024;
const LIMITS: Partial<CopyLimits> = { singleCopyMaxBytes: 6 * MiB, partBytes: 5 * MiB, partsInFlight: 2 };
// Three parts (5 MiB, 5 MiB, 123 bytes); one PUT to the test server holds at most 11 MiB.
const content = randomBytes(10 * MiB + 123);

async function identify(key: string): Promise<ObjectIdentity> {
  const identity = await headObject(bucket().s3, bucket().name, key);
  if (!identity) throw new Error(`${key} is missing`);
  return identity;
}

async function openUploads(): Promise<string[]> {
  const answer = await bucket().s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket().name }));
  return (answer.Uploads ?? []).map((u) => u.Key!).sort();
}

async function putSource(key = 'in/big.csv'): Promise<ObjectIdentity> {
  await bucket().put(key, content, { ContentType: 'text/csv', Metadata: { origin: 'producer' } });
  return identify(key);
}

const proxied = useS3Proxy();

describe('the test server copies parts as AWS documents it', () => {
  it('copies a byte range, refuses a stale source and a range outside it, and a taken key at completion', async () => {
    const etag = await bucket().put('in/a.bin', content);
    const client = bucket().s3.client;
    const status = (sent: Promise<unknown>) => sent.then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket().name, Key: 'out/a.bin' }));
    const part = (n: number, range: string, ifMatch = etag) =>
      client.send(new UploadPartCopyCommand({ Bucket: bucket().name, Key: 'out/a.bin', UploadId, PartNumber: n, CopySource: `${bucket().name}/in/a.bin`, CopySourceRange: range, CopySourceIfMatch: ifMatch }));
    expect(await status(part(1, 'bytes=0-9', '"stale"'))).toBe(412);
    expect(await status(part(1, `bytes=0-${content.length}`))).toBe(416);
    expect(await status(part(1, 'bytes=9-0'))).toBe(400);
    const first = await part(1, `bytes=0-${5 * MiB - 1}`);
    const second = await part(2, `bytes=${5 * MiB}-${content.length - 1}`);
    await bucket().put('out/a.bin', 'taken');
    const complete = () =>
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket().name,
          Key: 'out/a.bin',
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: first.CopyPartResult!.ETag! }, { PartNumber: 2, ETag: second.CopyPartResult!.ETag! }] },
        }),
      );
    expect(await status(complete())).toBe(412);
    expect(await openUploads()).toEqual(['out/a.bin']); // a 412 leaves the upload open, as on AWS
    expect((await bucket().get('out/a.bin')).toString()).toBe('taken');
  });
});

describe('moving an object over the single-copy limit', () => {
  it('arrives byte-identical by a multipart copy, with the metadata of a copy, and the source goes', async () => {
    const source = await putSource();
    const moved = await moveObject(proxied.s3(), source, bucket().location('archive/'), 'big.csv', 'host-1', undefined, false, LIMITS);
    expect(moved).toEqual({ url: `s3://${bucket().name}/archive/big.csv`, bucket: bucket().name, key: 'archive/big.csv', copied: true });
    expect(await bucket().keys()).toEqual(['archive/big.csv']); // no source, no marker left
    expect((await bucket().get('archive/big.csv')).equals(content)).toBe(true);
    const head = await bucket().s3.client.send(new HeadObjectCommand({ Bucket: bucket().name, Key: 'archive/big.csv' }));
    expect(head.ETag).toMatch(/-3"$/); // three parts: not one CopyObject
    expect(head.ContentType).toBe('text/csv');
    expect(head.Metadata).toEqual({
      origin: 'producer',
      [SOURCE_METADATA]: `s3://${bucket().name}/in/big.csv`,
      [SOURCE_ETAG_METADATA]: source.etag,
      [WRITER_METADATA]: 'host-1',
    });
    expect(await openUploads()).toEqual([]);
  });

  it('a key taken while the parts are copied: the next numbered key, or KeyTakenError for an exact one', async () => {
    const source = await putSource();
    // The first POST starts the upload, the second completes it: the key is taken in between.
    const takeBeforeCompletion = (key: string) => {
      const posts = `POST /${bucket().name}/${key}?`;
      proxied.proxy().beforeRequest(posts, async () => proxied.proxy().beforeRequest(posts, async () => void (await bucket().put(key, 'someone else'))));
    };
    takeBeforeCompletion('archive/big.csv');
    await expect(moveObject(proxied.s3(), source, bucket().location('archive/'), 'big.csv', 'host-1', undefined, true, LIMITS)).rejects.toThrow(KeyTakenError);
    expect(await openUploads()).toEqual([]);
    expect(await bucket().keys()).toEqual(['archive/big.csv', 'in/big.csv']);

    takeBeforeCompletion('archive/big-2.csv');
    const moved = await moveObject(proxied.s3(), source, bucket().location('archive/'), 'big.csv', 'host-1', undefined, false, LIMITS);
    expect(moved.key).toBe('archive/big-3.csv');
    expect((await bucket().get('archive/big-3.csv')).equals(content)).toBe(true);
    expect((await bucket().get('archive/big.csv')).toString()).toBe('someone else');
    expect(await bucket().keys()).toEqual(['archive/big-2.csv', 'archive/big-3.csv', 'archive/big.csv']);
    expect(await openUploads()).toEqual([]);
  });

  it('a source replaced between two parts: SourceReplacedError, no object, the upload aborted, the new version kept', async () => {
    const source = await putSource();
    const parts = `PUT /${bucket().name}/failed/big.csv?`;
    // One part at a time: the first is copied, then the source changes before the second.
    proxied.proxy().beforeRequest(parts, async () => proxied.proxy().beforeRequest(parts, async () => void (await bucket().put('in/big.csv', 'id\n2\n'))));
    await expect(moveObject(proxied.s3(), source, bucket().location('failed/'), 'big.csv', 'host-1', undefined, false, { ...LIMITS, partsInFlight: 1 })).rejects.toThrow(SourceReplacedError);
    expect(await bucket().keys()).toEqual(['in/big.csv']);
    expect((await bucket().get('in/big.csv')).toString()).toBe('id\n2\n');
    expect(await openUploads()).toEqual([]);
  });

  it('a crash between the copy and the delete: the rerun finds the multipart copy and only deletes', async () => {
    const source = await putSource();
    proxied.proxy().dropRequest(`DELETE /${bucket().name}/in/big.csv`); // the process dies as it sends the delete
    await expect(moveObject(proxied.s3(), source, bucket().location('archive/'), 'big.csv', 'host-1', undefined, false, LIMITS)).rejects.toThrow();
    expect(await bucket().keys()).toEqual(['archive/big.csv', 'in/big.csv']);
    expect((await identify('archive/big.csv')).etag).toMatch(/-3"$/); // a multipart copy: its ETag is not the source's
    const rerun = await moveObject(proxied.s3(), source, bucket().location('archive/'), 'big.csv', 'host-2', undefined, false, LIMITS);
    expect(rerun).toMatchObject({ key: 'archive/big.csv', copied: false });
    expect(await bucket().keys()).toEqual(['archive/big.csv']);
    expect((await bucket().get('archive/big.csv')).equals(content)).toBe(true);
  });
});

describe('the start-up sweep and copies a crash interrupted', () => {
  const ledger = useLedger(4);

  /** A loadbay `writer` dies while it copies the second part of `in/<name>` into the archive: its upload and marker stay. */
  async function dieMidCopy(name: string, writer: string): Promise<void> {
    const source = await putSource(`in/${name}`);
    const dying = await startTcpProxy(Number(new URL(process.env['TEST_S3_ENDPOINT']!).port));
    const s3 = connectS3(testS3Settings({ endpoint: dying.endpoint, maxAttempts: 1, connectTimeoutMs: 500 }));
    const parts = `PUT /${bucket().name}/archive/${name}?`;
    dying.beforeRequest(parts, async () => dying.beforeRequest(parts, () => dying.close()));
    try {
      await expect(moveObject(s3, source, bucket().location('archive/'), name, writer, undefined, false, { ...LIMITS, partsInFlight: 1 })).rejects.toThrow();
    } finally {
      s3.close();
      await dying.close();
    }
  }

  it('aborts the copy of a loadbay that is gone, with its marker; a running one is left alone', async () => {
    const live = await ledger().connect();
    await live.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [instanceLockKey('alive-1-aaaaaa')]);
    try {
      await dieMidCopy('gone.csv', 'dead-1-bbbbbb');
      await dieMidCopy('running.csv', 'alive-1-aaaaaa');
      expect(await openUploads()).toEqual(['archive/gone.csv', 'archive/running.csv']);
      const markers = (await bucket().keys('archive/')).filter((k) => k.startsWith('archive/.loadbay-copy.'));
      expect(markers).toHaveLength(2);
      await bucket().s3.client.send(new CreateMultipartUploadCommand({ Bucket: bucket().name, Key: 'in/producer.csv' })); // a producer's upload into an input

      const messages: string[] = [];
      const aborted = await sweepUploads(bucket().s3, ledger(), bucket().location('archive/'), { log: (m) => messages.push(m) });
      expect(aborted).toEqual([`s3://${bucket().name}/archive/gone.csv`]);
      expect(messages.join('\n')).toContain('a copy by loadbay dead-1-bbbbbb');
      expect(await openUploads()).toEqual(['archive/running.csv', 'in/producer.csv']);
      expect((await bucket().keys('archive/')).filter((k) => k.startsWith('archive/.loadbay-copy.'))).toHaveLength(1);

      // In an input only loadbay's own copies go, whatever the age of the others.
      const later = await sweepUploads(bucket().s3, ledger(), bucket().location('in/'), { leaveUnknown: true, now: () => Date.now() + 48 * 3600_000 });
      expect(later).toEqual([]);
      expect(await openUploads()).toEqual(['archive/running.csv', 'in/producer.csv']);
    } finally {
      live.release(true);
    }
  });
});
