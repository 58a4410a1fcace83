/**
 * Reading objects from the test S3 server through a real TCP proxy that drops or stalls connections
 * mid-body: resumed with range requests, an overwrite detected (If-Match), a deletion named vanished.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createGunzip, gzipSync } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { headObject, identityKey, objectUrl, sameVersion, type ObjectIdentity } from '../../src/source/s3/identity.js';
import { classify } from '../../src/errors.js';
import { MAX_RESUMES_PER_READ, MIN_RESUME_PROGRESS, ObjectChangedError, ObjectVanishedError, openObject, ResumesExhaustedError } from '../../src/source/s3/read.js';
import { useBucket, useS3Proxy } from '../helpers/s3.js';

const bucket = useBucket();
const proxied = useS3Proxy({ requestTimeoutMs: 1000 });

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(stream, new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk), done()) }));
  return Buffer.concat(chunks);
}

async function identify(key: string): Promise<ObjectIdentity> {
  const identity = await headObject(bucket().s3, bucket().name, key);
  if (!identity) throw new Error(`${key} is missing`);
  return identity;
}

describe('reading an object', () => {
  it('streams it whole, through the same gunzip a local .gz goes through', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    await bucket().put('in/big.bin', data);
    await bucket().put('in/rows.csv.gz', gzipSync('id\n1\n2\n'));
    const identity = await identify('in/big.bin');
    expect(identity).toMatchObject({ bucket: bucket().name, key: 'in/big.bin', size: data.length, versionId: null });
    expect(objectUrl(identity)).toBe(`s3://${bucket().name}/in/big.bin`);
    expect(identityKey(identity)).toBe(`s3://${bucket().name}/in/big.bin#${identity.etag}:${data.length}`);
    expect(sha(await collect(openObject(proxied.s3(), identity)))).toBe(sha(data));
    const gz = await identify('in/rows.csv.gz');
    expect((await collect(openObject(proxied.s3(), gz).pipe(createGunzip()))).toString()).toBe('id\n1\n2\n');
  });

  it('resumes a connection dropped mid-body with a range request: the same bytes, once', async () => {
    const data = randomBytes(4 * 1024 * 1024);
    await bucket().put('in/cut.bin', data);
    const identity = await identify('in/cut.bin');
    const resumedAt: number[] = [];
    proxied.proxy().cutAfter(1024 * 1024 + 123);
    const read = await collect(openObject(proxied.s3(), identity, { onResume: (offset) => resumedAt.push(offset) }));
    expect(proxied.proxy().cuts).toBe(1);
    expect(resumedAt).toHaveLength(1);
    expect(resumedAt[0]).toBeGreaterThan(0);
    expect(read.length).toBe(data.length);
    expect(sha(read)).toBe(sha(data));
    expect((await proxied.s3().metrics.resumes.get()).values[0]?.value).toBe(1);
  });

  it('resumes a connection that stalls mid-body once the idle timeout passes (a hung peer never hangs the read)', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    await bucket().put('in/stall.bin', data);
    const identity = await identify('in/stall.bin');
    proxied.proxy().stallAfter(256 * 1024);
    const started = Date.now();
    const resumes: unknown[] = [];
    const read = await collect(openObject(proxied.s3(), identity, { onResume: (_offset, error) => resumes.push(error) }));
    expect(sha(read)).toBe(sha(data));
    expect(resumes).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // the 1 s idle timeout, not for ever
  });

  it('gives up on a connection that drops after every few bytes, naming the object, the resumes and the bytes read', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    await bucket().put('in/trickle.bin', data);
    const identity = await identify('in/trickle.bin');
    // Each response (headers included) is cut after 4 KiB: every resume brings a few bytes, never enough.
    proxied.proxy().cutAfter(4096);
    const resumedAt: number[] = [];
    const error = await collect(openObject(proxied.s3(), identity, { onResume: (offset) => (resumedAt.push(offset), proxied.proxy().cutAfter(4096)) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResumesExhaustedError);
    expect(resumedAt).toHaveLength(5);
    // Every resume brought bytes (the old rule reset on any progress and read on for ever).
    for (let i = 1; i < resumedAt.length; i++) expect(resumedAt[i]).toBeGreaterThan(resumedAt[i - 1]!);
    const { bytesRead } = error as ResumesExhaustedError;
    expect(bytesRead).toBeGreaterThan(resumedAt.at(-1)!);
    expect((error as Error).message).toContain(
      `s3://${bucket().name}/in/trickle.bin: the connection dropped 6 times while it was read (5 resumes in a row brought less than ${MIN_RESUME_PROGRESS} bytes each; ${bytesRead} of ${data.length} bytes read): `,
    );
    expect(classify(error)).toBe('transient'); // infrastructure: the load is retried later, the object untouched
  });

  it(`gives up after ${MAX_RESUMES_PER_READ} resumes in one read, however much each brought`, async () => {
    const data = randomBytes(8 * 1024 * 1024);
    await bucket().put('in/flaky.bin', data);
    const identity = await identify('in/flaky.bin');
    const cut = MIN_RESUME_PROGRESS + 16 * 1024; // each connection brings a little more than counts as progress
    proxied.proxy().cutAfter(cut);
    let resumes = 0;
    const error = await collect(openObject(proxied.s3(), identity, { onResume: () => (resumes++, proxied.proxy().cutAfter(cut)) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResumesExhaustedError);
    expect(resumes).toBe(MAX_RESUMES_PER_READ);
    const { bytesRead } = error as ResumesExhaustedError;
    expect(bytesRead).toBeGreaterThanOrEqual((MAX_RESUMES_PER_READ + 1) * MIN_RESUME_PROGRESS);
    expect(bytesRead).toBeLessThan(data.length);
    expect((error as Error).message).toContain(
      `s3://${bucket().name}/in/flaky.bin: the connection dropped ${MAX_RESUMES_PER_READ + 1} times while it was read (at most ${MAX_RESUMES_PER_READ} resumes per read; ${bytesRead} of ${data.length} bytes read)`,
    );
  });

  it('detects an object overwritten while it is read and never mixes versions; the new version reads whole', async () => {
    const old = Buffer.alloc(3 * 1024 * 1024, 'o');
    const fresh = Buffer.alloc(3 * 1024 * 1024, 'n');
    await bucket().put('in/swap.bin', old);
    const identity = await identify('in/swap.bin');
    const stream = openObject(proxied.s3(), identity);
    const chunks: Buffer[] = [];
    let overwritten = false;
    proxied.proxy().cutAfter(1024 * 1024);
    const failure = await new Promise<unknown>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        // Overwrite as soon as bytes arrive: the resume after the cut meets the new version.
        if (!overwritten) {
          overwritten = true;
          stream.pause();
          void bucket()
            .put('in/swap.bin', fresh)
            .then(() => stream.resume());
        }
      });
      stream.on('error', resolve);
      stream.on('end', () => resolve(null));
    });
    expect(failure).toBeInstanceOf(ObjectChangedError);
    expect((failure as Error).message).toContain(`s3://${bucket().name}/in/swap.bin changed while it was read`);
    expect(Buffer.concat(chunks).includes('n')).toBe(false); // nothing of the new version was passed on
    const again = await identify('in/swap.bin');
    expect(sameVersion(again, identity)).toBe(false);
    expect((await collect(openObject(proxied.s3(), again))).equals(fresh)).toBe(true);
  });

  it('fails at once with a stale ETag (If-Match), before any byte', async () => {
    await bucket().put('in/x.csv', 'id\n1\n');
    const identity = await identify('in/x.csv');
    await bucket().put('in/x.csv', 'id\n2\n');
    await expect(collect(openObject(proxied.s3(), identity))).rejects.toThrow(ObjectChangedError);
  });

  it('names an object deleted before it is read, or while it is read, vanished', async () => {
    await bucket().put('in/gone.csv', 'id\n1\n');
    const identity = await identify('in/gone.csv');
    await bucket().s3.client.send(new DeleteObjectCommand({ Bucket: bucket().name, Key: 'in/gone.csv' }));
    const error = await collect(openObject(proxied.s3(), identity)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectVanishedError);
    expect((error as ObjectVanishedError).code).toBe('vanished');
    expect(await headObject(bucket().s3, bucket().name, 'in/gone.csv')).toBeNull();

    const data = randomBytes(2 * 1024 * 1024);
    await bucket().put('in/going.bin', data);
    const going = await identify('in/going.bin');
    proxied.proxy().cutAfter(512 * 1024);
    const stream = openObject(proxied.s3(), going);
    let deleted = false;
    const failure = await new Promise<unknown>((resolve) => {
      stream.on('data', () => {
        if (deleted) return;
        deleted = true;
        stream.pause();
        void bucket()
          .s3.client.send(new DeleteObjectCommand({ Bucket: bucket().name, Key: 'in/going.bin' }))
          .then(() => stream.resume());
      });
      stream.on('error', resolve);
      stream.on('end', () => resolve(null));
    });
    expect(failure).toBeInstanceOf(ObjectVanishedError);
  });

  it('refuses more bytes than the object had (a bounded read), and an empty object reads as empty', async () => {
    await bucket().put('in/empty.csv', '');
    expect((await collect(openObject(proxied.s3(), await identify('in/empty.csv')))).length).toBe(0);
    await bucket().put('in/small.csv', 'id\n1\n2\n');
    const identity = { ...(await identify('in/small.csv')), size: 3 }; // listed smaller than it is
    await expect(collect(openObject(proxied.s3(), identity))).rejects.toThrow(/changed while it was read \(7 bytes from byte 0, not 3\)/);
  });
});
