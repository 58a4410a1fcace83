/**
 * Discovery against the test S3 server and PostgreSQL: listings in pages pulled one at a time, the
 * position kept in the ledger so a restart resumes after it, the full listing as the safety net.
 */
import http from 'node:http';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import type { AddressInfo } from 'node:net';
import { HeldError } from '../../src/errors.js';
import { connectS3 } from '../../src/source/s3/client.js';
import { ListingWatermark, readListingPosition, S3Discovery } from '../../src/source/s3/discovery.js';
import { compareKeys, ListingError, listPages, type ListedObject } from '../../src/source/s3/listing.js';
import { parseS3Folder } from '../../src/source/s3/location.js';
import { useLedger } from '../helpers/env.js';
import { testS3Settings, useBucket } from '../helpers/s3.js';

const bucket = useBucket({ listPageSize: 10 });
const ledger = useLedger(3);

const name = (i: number) => `in/day-${String(i).padStart(3, '0')}.csv`;

async function putMany(n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) await bucket().put(name(i), `id\n${i}\n`);
}

function requests(operation: string): Promise<number> {
  return bucket()
    .s3.metrics.requests.get()
    .then((m) => m.values.filter((v) => v.labels['operation'] === operation).reduce((sum, v) => sum + v.value, 0));
}

async function drain(pages: AsyncIterable<ListedObject[]>): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of pages) keys.push(...page.map((o) => o.key));
  return keys;
}

describe('listing', () => {
  it('lists a prefix in pages of the page size, in order, pulling one page at a time', async () => {
    await putMany(25);
    await bucket().put('in/', ''); // a folder marker
    await bucket().put('inbox/other.csv', 'x'); // a sibling prefix
    const pages = listPages(bucket().s3, bucket().location('in'));
    const first = await pages.next();
    expect(first.done).toBe(false);
    expect((first.value as ListedObject[]).map((o) => o.key)).toEqual(Array.from({ length: 9 }, (_, i) => name(i)));
    expect(await requests('ListObjectsV2')).toBe(1); // nothing read ahead
    const rest = await drain({ [Symbol.asyncIterator]: () => pages });
    expect(rest).toEqual(Array.from({ length: 16 }, (_, i) => name(i + 9)));
    expect(await requests('ListObjectsV2')).toBe(3);
    const object = (first.value as ListedObject[])[0]!;
    expect(object).toEqual({ key: name(0), size: 5, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/), lastModifiedMs: expect.any(Number) });
  });

  it('starts after a key (StartAfter), and lists nothing after the last', async () => {
    await putMany(25);
    expect(await drain(listPages(bucket().s3, bucket().location('in/'), { startAfter: name(19) }))).toEqual([20, 21, 22, 23, 24].map(name));
    expect(await drain(listPages(bucket().s3, bucket().location('in/'), { startAfter: name(24) }))).toEqual([]);
  });

  it('orders keys as S3 does, by UTF-8 bytes', () => {
    // UTF-16 puts the emoji (a surrogate pair, 0xD83D…) before U+FF01; UTF-8 after (F0… > EF…).
    expect(compareKeys('a😀', 'a！')).toBeGreaterThan(0);
    expect(compareKeys('a', 'ab')).toBeLessThan(0);
  });

  it('refuses a server that pages without end or sends keys out of order, and names a missing bucket as configuration', async () => {
    const answers: string[] = [];
    const peer = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(answers.shift());
    });
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    const s3 = connectS3(testS3Settings({ endpoint: `http://127.0.0.1:${(peer.address() as AddressInfo).port}`, maxAttempts: 1 }));
    const page = (keys: string[], token: string | null) =>
      `<?xml version="1.0"?><ListBucketResult><Name>b</Name><IsTruncated>${token !== null}</IsTruncated>${token ? `<NextContinuationToken>${token}</NextContinuationToken>` : ''}` +
      keys.map((k) => `<Contents><Key>${k}</Key><Size>1</Size><ETag>"e"</ETag></Contents>`).join('') +
      '</ListBucketResult>';
    try {
      answers.push(page(['in/a'], 't1'), page(['in/b'], 't1'));
      await expect(drain(listPages(s3, parseS3Folder('s3://bucket/in/')))).rejects.toThrow(/gave the same continuation token/);
      answers.push(page(['in/b', 'in/a'], null));
      await expect(drain(listPages(s3, parseS3Folder('s3://bucket/in/')))).rejects.toThrow(ListingError);
      answers.push(page(['elsewhere/a'], null));
      await expect(drain(listPages(s3, parseS3Folder('s3://bucket/in/')))).rejects.toThrow(/outside the prefix/);
    } finally {
      s3.close();
      peer.close();
    }
    const missing = drain(listPages(bucket().s3, parseS3Folder('s3://no-such-bucket-here/in/')));
    await expect(missing).rejects.toThrow(HeldError);
    await expect(missing).rejects.toThrow('s3://no-such-bucket-here/in/: the bucket does not exist (check the bucket name and the endpoint) (NoSuchBucket)');
  });
});

/** Three keys a first pass handed out (none done yet), then moved away from the prefix. */
async function handedOutThenMoved() {
  await putMany(3);
  const location = bucket().location('in/');
  const discovery = new S3Discovery(bucket().s3, location, { db: ledger() });
  expect(await drain(discovery.pass())).toEqual([name(0), name(1), name(2)]);
  await bucket().s3.client.send(new DeleteObjectsCommand({ Bucket: bucket().name, Delete: { Objects: [0, 1, 2].map((i) => ({ Key: name(i) })) } }));
  return { location, discovery };
}

describe('the listing position', () => {
  it('moves only past keys that are done, survives a restart, and the next pass resumes after it', async () => {
    await putMany(30);
    const location = bucket().location('in/');
    const discovery = new S3Discovery(bucket().s3, location, { db: ledger() });
    expect((await discovery.nextKind()).kind).toBe('full'); // no position yet
    const seen: string[] = [];
    for await (const page of discovery.pass()) {
      seen.push(...page.map((o) => o.key));
      // The first 12 objects are settled; object 5 is still in hand.
      for (const o of page) if (compareKeys(o.key, name(11)) <= 0 && o.key !== name(5)) discovery.done(o.key);
    }
    expect(seen).toHaveLength(30);
    expect(discovery.outstanding).toBe(19);
    expect((await readListingPosition(ledger(), location.url)).startAfter).toBe(name(4));
    discovery.done(name(5));
    await discovery.flush();
    expect((await readListingPosition(ledger(), location.url)).startAfter).toBe(name(11));

    // A restart: a new discovery on the same ledger resumes after the position, one page fewer.
    const before = await requests('ListObjectsV2');
    const restarted = new S3Discovery(bucket().s3, location, { db: ledger() });
    expect(await restarted.nextKind()).toEqual({ kind: 'incremental', startAfter: name(11) });
    expect(await drain(restarted.pass())).toEqual(Array.from({ length: 18 }, (_, i) => name(i + 12)));
    expect((await requests('ListObjectsV2')) - before).toBe(2);
  });

  it('never moves back when another instance is ahead, and finds a key that arrived out of order in the full listing', async () => {
    await putMany(10);
    const location = bucket().location('in/');
    let clock = Date.now();
    // As for a prefix of many pages: incremental passes between full listings.
    const a = new S3Discovery(bucket().s3, location, { db: ledger(), now: () => clock, smallPrefixPages: 0 });
    const b = new S3Discovery(bucket().s3, location, { db: ledger(), now: () => clock, smallPrefixPages: 0 });
    for await (const page of a.pass()) for (const o of page) a.done(o.key);
    expect((await readListingPosition(ledger(), location.url)).startAfter).toBe(name(9));
    // b listed the first page before a finished, and settles its first three keys: no step back.
    for await (const page of b.pass({ full: true })) for (const o of page.slice(0, 3)) b.done(o.key);
    expect((await readListingPosition(ledger(), location.url)).startAfter).toBe(name(9));

    await bucket().put(name(3).replace('.csv', 'b.csv'), 'late'); // sorts before the position
    await putMany(1, 10);
    expect(await drain(a.pass())).toEqual([name(10)]); // incremental: not the late one
    clock += bucket().s3.settings.fullListingMs; // the full listing falls due
    expect((await a.nextKind()).kind).toBe('full');
    expect(await drain(a.pass())).toContain('in/day-003b.csv');
    expect((await a.nextKind()).kind).toBe('incremental');
  });

  it('lists a small prefix whole at every pass: a key that sorts before the position is found at once', async () => {
    await putMany(5);
    const location = bucket().location('in/');
    const discovery = new S3Discovery(bucket().s3, location, { db: ledger() });
    for await (const page of discovery.pass()) for (const o of page) discovery.done(o.key);
    await bucket().put(name(1).replace('.csv', 'b.csv'), 'late');
    expect((await discovery.nextKind()).kind).toBe('full'); // the last full listing was one page
    expect(await drain(discovery.pass())).toContain('in/day-001b.csv');
  });

  // They are archived (gone from the prefix) and the next passes list nothing while the first
  // pass's keys are still being settled; only then are they done.
  it.each([1, 2])('moves past keys a pass handed out that settle after %i more passes began', async (passes) => {
    const { location, discovery } = await handedOutThenMoved();
    for (let i = 0; i < passes; i++) expect(await drain(discovery.pass({ full: true }))).toEqual([]);
    for (const i of [0, 1, 2]) discovery.done(name(i));
    await discovery.flush();
    expect((await readListingPosition(ledger(), location.url)).startAfter).toBe(name(2));
  });

  it('moves past a key done while the next pass begins, whose watermark that pass lets go of', async () => {
    const { location, discovery } = await handedOutThenMoved();
    discovery.done(name(0));
    discovery.done(name(1));
    // The last key is done after the next pass has started (its first await) and before it lets
    // the first pass's watermark go, now with nothing outstanding.
    const next = discovery.pass({ full: true });
    const first = next.next();
    discovery.done(name(2));
    await first;
    await drain(next);
    await discovery.flush();
    expect((await readListingPosition(ledger(), location.url)).startAfter).toBe(name(2));
  });

  it('keeps only the keys from the first one not done onwards', () => {
    const watermark = new ListingWatermark();
    watermark.listed(['a', 'b', 'c', 'd']);
    expect(watermark.done('b')).toBe(true);
    expect(watermark.position).toBeNull();
    expect(watermark.done('zz')).toBe(false); // not handed out by this pass
    watermark.done('a');
    expect(watermark.position).toBe('b');
    expect(watermark.outstanding).toBe(2);
    watermark.done('d');
    watermark.done('c');
    expect(watermark.position).toBe('d');
    expect(watermark.outstanding).toBe(0);
  });

  it('tracks at most its cap of keys: a key held at the start cannot make it keep a whole pass', () => {
    const watermark = new ListingWatermark(3);
    watermark.listed(['a', 'b', 'c', 'd', 'e']); // d and e are past the cap
    watermark.listed(['f']);
    for (const key of ['b', 'c', 'd', 'e', 'f']) watermark.done(key);
    expect(watermark.outstanding).toBe(1); // only a, of the tracked three
    expect(watermark.position).toBeNull();
    watermark.done('a');
    expect(watermark.position).toBe('c'); // never past an untracked key
  });
});
