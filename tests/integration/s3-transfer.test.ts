/**
 * Moves between a local folder and a bucket (source/transfer.ts), against the test S3 server and a
 * real folder: copy-then-delete in both directions, the copy durable before the source goes, and
 * safe to run again after a crash between the two (the earlier copy is found and kept: never two
 * copies, never none). Also the queue's room per source, which paces a bucket's listing.
 */
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { newPlaces, statWhere, type Places } from '../../src/source/places.js';
import { moveItem } from '../../src/source/transfer.js';
import { WorkQueue } from '../../src/work/queue.js';
import type { Arrival, InputSource } from '../../src/source/source.js';
import { useBucket } from '../helpers/s3.js';

const bucket = useBucket();
let dir: string;
let places: Places;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-transfer-'));
  places = newPlaces(dir, bucket().s3, 'transfer-test');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it('a local file into a bucket: uploaded, then removed; run again after a crash before the removal, one copy', async () => {
  const b = bucket();
  const file = path.join(dir, 'items.csv');
  await writeFile(file, 'id\n1\n');
  const seen = (await statWhere(places, file))!;
  const item = { where: file, ...seen };
  // A crash after the upload: the copy is there, the source too. The next run only removes the source.
  const { uploadObject } = await import('../../src/source/s3/write.js');
  const { copyMetadata } = await import('../../src/source/s3/settle.js');
  const { localMark } = await import('../../src/source/transfer.js');
  await uploadObject(b.s3, b.name, 'archive/items.csv', 'id\n1\n', { writer: 'crashed', metadata: copyMetadata(localMark(item), 'crashed') });
  const moved = await moveItem(places, item, `s3://${b.name}/archive/items.csv`);
  expect(moved).toEqual({ where: `s3://${b.name}/archive/items.csv`, folder: null, sourceChanged: false });
  expect(await b.keys()).toEqual(['archive/items.csv']);
  await expect(stat(file)).rejects.toThrow(/ENOENT/);

  // Another file of the same name is not taken for a copy of it: the next free name.
  await writeFile(file, 'id\n2\n');
  const other = { where: file, ...(await statWhere(places, file))! };
  expect((await moveItem(places, other, `s3://${b.name}/archive/items.csv`)).where).toBe(`s3://${b.name}/archive/items-2.csv`);
  expect((await b.get('archive/items-2.csv')).toString()).toBe('id\n2\n');
});

it('an object into a local folder: written, fsync’d and linked into place, then deleted; a repeat finds its copy', async () => {
  const b = bucket();
  await b.put('in/x.csv', 'id\n1\n');
  const where = `s3://${b.name}/in/x.csv`;
  const item = { where, ...(await statWhere(places, where))! };
  // A crash after the copy (with the object's time): the next run keeps that copy and deletes the object.
  const copy = path.join(dir, 'archive', 'x.csv');
  await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(copy), { recursive: true }));
  await writeFile(copy, 'id\n1\n');
  await utimes(copy, item.mtimeMs / 1000, item.mtimeMs / 1000);
  const moved = await moveItem(places, item, copy);
  expect(moved.where).toBe(copy);
  expect(await b.keys()).toEqual([]);
  expect(await readFile(copy, 'utf8')).toBe('id\n1\n');

  // A local file of the same name that is not its copy stays; the object goes to the next name.
  await b.put('in/x.csv', 'id\n9\n');
  const again = { where, ...(await statWhere(places, where))! };
  await utimes(copy, 0, 0);
  expect((await moveItem(places, again, copy)).where).toBe(path.join(dir, 'archive', 'x-2.csv'));
  expect(await readFile(path.join(dir, 'archive', 'x-2.csv'), 'utf8')).toBe('id\n9\n');
  expect(Math.round((await stat(path.join(dir, 'archive', 'x-2.csv'))).mtimeMs / 1000)).toBe(Math.round(again.mtimeMs / 1000));
});

it('an object changed since it was seen is not moved: the new version stays for its own load', async () => {
  const b = bucket();
  await b.put('in/y.csv', 'id\n1\n');
  const where = `s3://${b.name}/in/y.csv`;
  const item = { where, ...(await statWhere(places, where))! };
  await b.put('in/y.csv', 'id\n1\n2\n');
  await expect(moveItem(places, item, `s3://${b.name}/archive/y.csv`)).rejects.toThrow(/replaced by a new version/);
  await expect(moveItem(places, item, path.join(dir, 'archive', 'y.csv'))).rejects.toThrow(/changed while it was read/);
  expect(await b.keys()).toEqual(['in/y.csv']);
});

describe('the queue counts arrivals per source', () => {
  const source = (name: string) => ({ name }) as unknown as InputSource;
  const arrival = (s: InputSource, id: string): Arrival => ({ source: s, id, relative: id, size: 1, mtimeMs: 0 });

  it('a source waits for room while it has its limit in hand; others do not', async () => {
    const queue = new WorkQueue();
    const bucketSource = source('s3://b/in/');
    const folder = source('input/');
    for (const id of ['a', 'b', 'c']) queue.push(arrival(bucketSource, id));
    let roomy = false;
    const room = queue.room(bucketSource, 3).then(() => (roomy = true));
    await expect(queue.room(folder, 3)).resolves.toBeUndefined();
    const taken = (await queue.take())!;
    await Promise.resolve();
    expect(roomy).toBe(false); // in flight still counts
    queue.retryLater(taken, 60_000, () => undefined);
    expect(queue.inHand(bucketSource)).toBe(3); // parked counts too
    const next = (await queue.take())!;
    queue.done(next.id);
    await room;
    expect(queue.inHand(bucketSource)).toBe(2);
    expect(queue.backlog(bucketSource)).toMatchObject({ files: 2 });
    expect(queue.backlog(folder)).toMatchObject({ files: 0 });
    queue.close();
  });
});
