/**
 * Writing and settling objects on the test S3 server: uploads (multipart for large bodies) that
 * never overwrite, archive/quarantine by copy-then-delete that a rerun after a crash at any point
 * finishes without a duplicate or a loss, and the start-up sweep of orphaned uploads and objects.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { instanceLockKey } from '../../src/instance.js';
import { connectS3 } from '../../src/source/s3/client.js';
import { headObject, type ObjectIdentity } from '../../src/source/s3/identity.js';
import { ObjectVanishedError } from '../../src/source/s3/read.js';
import { moveObject, SOURCE_METADATA, SourceReplacedError } from '../../src/source/s3/settle.js';
import { sweepOrphans } from '../../src/source/s3/sweep.js';
import { freeKey, KeyTakenError, numberedKey, putNewObject, uploadObject, WRITER_METADATA } from '../../src/source/s3/write.js';
import { useLedger } from '../helpers/env.js';
import { testS3Settings, useBucket, useS3Proxy } from '../helpers/s3.js';

const bucket = useBucket();

async function identify(key: string): Promise<ObjectIdentity> {
  const identity = await headObject(bucket().s3, bucket().name, key);
  if (!identity) throw new Error(`${key} is missing`);
  return identity;
}

async function openUploads(prefix = ''): Promise<string[]> {
  const answer = await bucket().s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket().name, Prefix: prefix }));
  return (answer.Uploads ?? []).map((u) => u.Key!).sort();
}

describe('the test server answers conditional requests as AWS documents them', () => {
  it('412 for a stale copy source, an existing key under If-None-Match, a stale If-Match delete; nothing changed', async () => {
    const etag = await bucket().put('in/a.csv', 'a');
    const status = (sent: Promise<unknown>) => sent.then(() => 200, (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode);
    const client = bucket().s3.client;
    expect(await status(client.send(new CopyObjectCommand({ Bucket: bucket().name, Key: 'out/a.csv', CopySource: `${bucket().name}/in/a.csv`, CopySourceIfMatch: '"stale"' })))).toBe(412);
    expect(await status(client.send(new CopyObjectCommand({ Bucket: bucket().name, Key: 'out/a.csv', CopySource: `${bucket().name}/in/a.csv`, CopySourceIfMatch: etag })))).toBe(200);
    expect(await status(client.send(new CopyObjectCommand({ Bucket: bucket().name, Key: 'out/a.csv', CopySource: `${bucket().name}/in/a.csv`, IfNoneMatch: '*' })))).toBe(412);
    expect(await status(client.send(new DeleteObjectCommand({ Bucket: bucket().name, Key: 'in/a.csv', IfMatch: '"stale"' })))).toBe(412);
    expect(await bucket().keys()).toEqual(['in/a.csv', 'out/a.csv']);
    for (let i = 0; i < 3; i++) await bucket().s3.client.send(new CreateMultipartUploadCommand({ Bucket: bucket().name, Key: `mp/${i}` }));
    const first = await bucket().s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket().name, Prefix: 'mp/', MaxUploads: 2 }));
    expect(first.Uploads?.map((u) => u.Key)).toEqual(['mp/0', 'mp/1']);
    expect(first.IsTruncated).toBe(true);
    const rest = await bucket().s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket().name, Prefix: 'mp/', KeyMarker: first.NextKeyMarker, UploadIdMarker: first.NextUploadIdMarker }));
    expect(rest.Uploads?.map((u) => u.Key)).toEqual(['mp/2']);
  });
});

describe('uploading', () => {
  it('streams a large body as a multipart upload and a small one in one request, with the writer recorded', async () => {
    const big = randomBytes(12 * 1024 * 1024);
    const uploaded = await uploadObject(bucket().s3, bucket().name, 'parquet/big.parquet', Readable.from([big.subarray(0, 7_000_000), big.subarray(7_000_000)]), {
      writer: 'host-1-abc',
      partSize: 5 * 1024 * 1024,
    });
    expect(uploaded.etag).toMatch(/^"[0-9a-f]{32}-3"$/); // three parts, AWS-style ETag
    expect((await bucket().get('parquet/big.parquet')).equals(big)).toBe(true);
    const head = await bucket().s3.client.send(new HeadObjectCommand({ Bucket: bucket().name, Key: 'parquet/big.parquet' }));
    expect(head.Metadata?.[WRITER_METADATA]).toBe('host-1-abc');
    const small = await uploadObject(bucket().s3, bucket().name, 'parquet/small.parquet', Buffer.from('PAR1'), { writer: 'w' });
    expect(small.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await openUploads()).toEqual([]);
  });

  it('never overwrites: an existing key fails the upload and stays as it was; freeKey numbers like local folders', async () => {
    await bucket().put('out/a.csv.gz', 'first');
    await expect(uploadObject(bucket().s3, bucket().name, 'out/a.csv.gz', Buffer.from('second'), { writer: 'w' })).rejects.toThrow(KeyTakenError);
    await expect(putNewObject(bucket().s3, bucket().name, 'out/a.csv.gz', 'second', { writer: 'w' })).rejects.toThrow(`s3://${bucket().name}/out/a.csv.gz already exists`);
    expect((await bucket().get('out/a.csv.gz')).toString()).toBe('first');
    expect(numberedKey('out/a.csv.gz', 3)).toBe('out/a-3.csv.gz');
    expect(numberedKey('out/README', 2)).toBe('out/README-2');
    await bucket().put('out/a-2.csv.gz', 'x');
    expect(await freeKey(bucket().s3, bucket().name, 'out/a.csv.gz')).toBe('out/a-3.csv.gz');
  });

  it('an upload stopped half way leaves no object and no open multipart upload', async () => {
    const controller = new AbortController();
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 1024 * 1024;
        if (sent === 8 * 1024 * 1024) controller.abort(); // after the first part is on its way
        this.push(sent > 40 * 1024 * 1024 ? null : Buffer.alloc(1024 * 1024, 1));
      },
    });
    await expect(uploadObject(bucket().s3, bucket().name, 'parquet/stopped.parquet', body, { writer: 'w', partSize: 5 * 1024 * 1024, signal: controller.signal })).rejects.toThrow(/abort/i);
    expect(await headObject(bucket().s3, bucket().name, 'parquet/stopped.parquet')).toBeNull();
    expect(await openUploads()).toEqual([]);
  });
});

describe('settling by copy-then-delete', () => {
  const proxied = useS3Proxy();

  it('archives to the same name, then name-2 for a second file of that name; the source is gone', async () => {
    await bucket().put('in/nhl/game.csv', 'id\n1\n', { ContentType: 'text/csv' });
    const first = await identify('in/nhl/game.csv');
    const moved = await moveObject(proxied.s3(), first, bucket().location('archive/'), 'nhl/game.csv', 'host-1');
    expect(moved).toEqual({ url: `s3://${bucket().name}/archive/nhl/game.csv`, bucket: bucket().name, key: 'archive/nhl/game.csv', copied: true });
    await bucket().put('in/nhl/game.csv', 'id\n2\n');
    const second = await identify('in/nhl/game.csv');
    expect((await moveObject(proxied.s3(), second, bucket().location('archive/'), 'nhl/game.csv', 'host-1')).key).toBe('archive/nhl/game-2.csv');
    expect(await bucket().keys()).toEqual(['archive/nhl/game-2.csv', 'archive/nhl/game.csv']);
    expect((await bucket().get('archive/nhl/game.csv')).toString()).toBe('id\n1\n');
    const head = await bucket().s3.client.send(new HeadObjectCommand({ Bucket: bucket().name, Key: 'archive/nhl/game-2.csv' }));
    expect(head.Metadata?.[SOURCE_METADATA]).toBe(`s3://${bucket().name}/in/nhl/game.csv`);
  });

  it('a copy whose answer was lost and that the SDK sent again is not made a second time under the next name', async () => {
    await bucket().put('in/c.csv', 'id\n1\n');
    const source = await identify('in/c.csv');
    const retrying = connectS3(testS3Settings({ endpoint: proxied.proxy().endpoint, maxAttempts: 2, requestTimeoutMs: 1000 }));
    try {
      // The server makes the copy; its answer never comes; the SDK sends the copy again (If-None-Match: 412).
      proxied.proxy().stallResponseTo(`PUT /${bucket().name}/archive/c.csv`, 0);
      const moved = await moveObject(retrying, source, bucket().location('archive/'), 'c.csv', 'host-1');
      expect(moved).toMatchObject({ key: 'archive/c.csv', copied: true });
      expect(await bucket().keys()).toEqual(['archive/c.csv']);
    } finally {
      retrying.close();
    }
  });

  it('a crash between copy and delete: the rerun deletes and does not copy again', async () => {
    await bucket().put('in/a.csv', 'id\n1\n');
    const source = await identify('in/a.csv');
    proxied.proxy().dropRequest('DELETE '); // the process dies as it sends the delete
    await expect(moveObject(proxied.s3(), source, bucket().location('failed/'), 'a.csv', 'host-1')).rejects.toThrow();
    expect(await bucket().keys()).toEqual(['failed/a.csv', 'in/a.csv']);
    const rerun = await moveObject(proxied.s3(), source, bucket().location('failed/'), 'a.csv', 'host-2');
    expect(rerun).toMatchObject({ key: 'failed/a.csv', copied: false });
    expect(await bucket().keys()).toEqual(['failed/a.csv']);
  });

  it('a crash before the copy reached the server, or after the delete: the rerun finishes, once', async () => {
    await bucket().put('in/b.csv', 'id\n1\n');
    const source = await identify('in/b.csv');
    proxied.proxy().dropRequest('PUT '); // the copy never arrives
    await expect(moveObject(proxied.s3(), source, bucket().location('archive/'), 'b.csv', 'host-1')).rejects.toThrow();
    expect(await bucket().keys()).toEqual(['in/b.csv']);
    expect((await moveObject(proxied.s3(), source, bucket().location('archive/'), 'b.csv', 'host-1')).copied).toBe(true);
    // Done, but the outcome was never recorded (a crash after the delete): the rerun finds the copy.
    expect(await moveObject(proxied.s3(), source, bucket().location('archive/'), 'b.csv', 'host-1')).toMatchObject({ key: 'archive/b.csv', copied: false });
    expect(await bucket().keys()).toEqual(['archive/b.csv']);
  });

  it('a source overwritten after its load is left for its own load; a source gone with no copy is vanished', async () => {
    await bucket().put('in/c.csv', 'id\n1\n');
    const loaded = await identify('in/c.csv');
    await bucket().put('in/c.csv', 'id\n2\n');
    await expect(moveObject(proxied.s3(), loaded, bucket().location('archive/'), 'c.csv', 'host-1')).rejects.toThrow(SourceReplacedError);
    expect(await bucket().keys()).toEqual(['in/c.csv']);
    expect((await bucket().get('in/c.csv')).toString()).toBe('id\n2\n');
    const gone = { ...loaded, key: 'in/never.csv' };
    await expect(moveObject(proxied.s3(), gone, bucket().location('archive/'), 'never.csv', 'host-1')).rejects.toThrow(ObjectVanishedError);
  });
});

describe('the start-up sweep', () => {
  const ledger = useLedger(4);

  async function record(url: string, status: string, instanceId: string): Promise<void> {
    await ledger().query(`INSERT INTO loadbay.files (path, size, mtime_ms, status, instance_id, parquet_path) VALUES ($1, 1, 0, $2, $3, $4)`, [`in/${url}`, status, instanceId, url]);
  }

  it('removes uploads and objects whose load never committed and whose writer is gone, and nothing else', async () => {
    const url = (key: string) => `s3://${bucket().name}/${key}`;
    const live = await ledger().connect(); // an instance that runs right now
    await live.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [instanceLockKey('alive-1')]);
    try {
      await bucket().put('parquet/s/orphan.parquet', 'x');
      await record(url('parquet/s/orphan.parquet'), 'processing', 'dead-1');
      await bucket().put('parquet/s/loaded.parquet', 'x');
      await record(url('parquet/s/loaded.parquet'), 'failed', 'dead-1'); // an earlier attempt …
      await record(url('parquet/s/loaded.parquet'), 'loaded', 'dead-1'); // … then the load that committed
      await bucket().put('parquet/s/in-hand.parquet', 'x');
      await record(url('parquet/s/in-hand.parquet'), 'processing', 'alive-1');
      // Recorded by a gone instance's attempt and by a running one's, which may be about to commit it.
      await bucket().put('parquet/s/in-hand-twice.parquet', 'x');
      await record(url('parquet/s/in-hand-twice.parquet'), 'processing', 'dead-1');
      await record(url('parquet/s/in-hand-twice.parquet'), 'processing', 'alive-1');
      await bucket().put('parquet/s/not-ours.parquet', 'x');
      await bucket().put('elsewhere/orphan.parquet', 'x');
      await record(url('elsewhere/orphan.parquet'), 'processing', 'dead-1');
      const open = (key: string) => bucket().s3.client.send(new CreateMultipartUploadCommand({ Bucket: bucket().name, Key: key }));
      await open('parquet/s/half.parquet');
      await record(url('parquet/s/half.parquet'), 'processing', 'dead-1');
      await open('parquet/s/half-alive.parquet');
      await record(url('parquet/s/half-alive.parquet'), 'processing', 'alive-1');
      await open('parquet/s/half-twice.parquet');
      await record(url('parquet/s/half-twice.parquet'), 'processing', 'dead-1');
      await record(url('parquet/s/half-twice.parquet'), 'processing', 'alive-1');
      await open('parquet/s/unknown.parquet');

      const now = Date.now();
      const swept = await sweepOrphans(bucket().s3, ledger(), bucket().location('parquet/'), { now: () => now });
      expect(swept).toEqual({ abortedUploads: [url('parquet/s/half.parquet')], deletedObjects: [url('parquet/s/orphan.parquet')] });
      expect(await bucket().keys()).toEqual(['elsewhere/orphan.parquet', 'parquet/s/in-hand-twice.parquet', 'parquet/s/in-hand.parquet', 'parquet/s/loaded.parquet', 'parquet/s/not-ours.parquet']);
      expect(await openUploads()).toEqual(['parquet/s/half-alive.parquet', 'parquet/s/half-twice.parquet', 'parquet/s/unknown.parquet']);

      // A day later the upload nobody recorded goes too; the one of the running instance stays.
      const later = await sweepOrphans(bucket().s3, ledger(), bucket().location('parquet/'), { now: () => now + 25 * 3600_000 });
      expect(later.abortedUploads).toEqual([url('parquet/s/unknown.parquet')]);
      expect(await openUploads()).toEqual(['parquet/s/half-alive.parquet', 'parquet/s/half-twice.parquet']);
    } finally {
      live.release(true);
    }
  });
});
