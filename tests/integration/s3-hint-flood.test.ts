/**
 * A flood of event notifications against the test S3 server and PostgreSQL: the hints of a bucket
 * input wait for the queue's room like its listing (never more objects in hand than the room), at
 * most MAX_PENDING_HINTS wait to be looked at (the rest dropped, counted and said once), one
 * HeadObject at a time; the listing still finds what was dropped, and every object is handed over
 * exactly once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { migrate } from '../../src/db/ledger.js';
import { createLogger, type Logger } from '../../src/log.js';
import { newPlaces } from '../../src/source/places.js';
import { MAX_PENDING_HINTS } from '../../src/source/s3/hint-queue.js';
import { S3Source } from '../../src/source/s3/s3-source.js';
import { connectObjectStorage, Sources } from '../../src/source/sources.js';
import type { Arrival } from '../../src/source/source.js';
import { WorkQueue } from '../../src/work/queue.js';
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';
import { s3Section, useBucket } from '../helpers/s3.js';

const ROOM = 5;
const bucket = useBucket();
let env: TestEnv | null = null;
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await env?.cleanup();
  env = null;
});

function event(bucketName: string, keys: string[]): string {
  return JSON.stringify({
    Records: keys.map((key) => ({ eventVersion: '2.1', eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucketName }, object: { key, size: 1 } } })),
  });
}

const counter = async (metric: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }, labels: Record<string, string>) =>
  (await metric.get()).values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);

it('a flood of hints respects the room, drops what does not fit, and every object is handed over exactly once', async () => {
  const b = bucket();
  // One listing at the start, the next only when asked: until then objects come by hints alone.
  env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { rescan_interval_ms: 600_000 }, folders: { input: `s3://${b.name}/in/` }, s3: s3Section() });
  await migrate(env.pool);
  const config = await env.loadConfig();
  const s3 = connectObjectStorage(config)!;
  closers.push(() => s3.close());
  const base = createLogger({ logsDir: config.folders.logs, console: false });
  closers.push(() => base.close());
  const warnings: string[] = [];
  const log: Logger = { ...base, warn: (message) => void warnings.push(message) };
  const stop = new AbortController();
  const sources = new Sources({ config, log, places: newPlaces(env.root, s3, 'hint-flood-test'), pool: env.pool, signal: stop.signal });
  const queue = new WorkQueue();
  closers.push(async () => {
    stop.abort();
    queue.close();
    await sources.close();
  });
  const source = sources.list[0] as S3Source;
  const handedOver = new Map<string, number>();
  let mostInHand = 0;
  await sources.start(
    {
      ready: (arrival: Arrival) => {
        if (queue.has(arrival.id)) return;
        queue.push(arrival);
        handedOver.set(arrival.id, (handedOver.get(arrival.id) ?? 0) + 1);
        mostInHand = Math.max(mostInHand, queue.inHand(source));
      },
      inHand: (id) => queue.has(id),
      waiting: () => queue.stats.waiting,
    },
    (input) => queue.room(input, ROOM),
  );
  const server = http.createServer((request, response) => void sources.hook(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const post = async (keys: string[]) => {
    const answer = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/s3`, { method: 'POST', body: event(b.name, keys) });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ objects: keys.length });
  };
  await waitFor(async () => (await counter(s3.metrics.listings, { kind: 'full' })) === 1, { message: 'the first listing to end' });

  const real = Array.from({ length: 30 }, (_, i) => `in/items-${String(i).padStart(2, '0')}.csv`);
  for (const key of real) await b.put(key, ITEMS_CSV);
  const ghosts = Array.from({ length: MAX_PENDING_HINTS - ROOM }, (_, i) => `in/ghost-${String(i).padStart(4, '0')}.csv`);
  // Five objects fill the room; the hints behind them wait, MAX_PENDING_HINTS in all.
  await post([...real.slice(0, ROOM), ...ghosts]);
  await waitFor(() => queue.inHand(source) === ROOM, { message: 'the room filled by hints' });
  // Only ROOM more fit in the queue of hints: the other 20 are dropped, counted, and said once.
  await post(real.slice(ROOM));
  await post(real.slice(ROOM));
  expect(await counter(s3.metrics.droppedHints, { via: 'http' })).toBe(45);
  expect(warnings.filter((w) => /objects dropped/.test(w))).toEqual([
    `event notifications for s3://${b.name}/in/: 20 objects dropped, ${MAX_PENDING_HINTS} are waiting to be looked at already; the next listing finds them`,
  ]);
  expect(queue.inHand(source)).toBe(ROOM);
  const headsBefore = await counter(s3.metrics.requests, { operation: 'HeadObject' });

  // A worker "loads" each object it takes: the object leaves the input (as archiving does), then the queue is told.
  let working = true;
  const loaded = new Map<string, number>();
  const worker = (async () => {
    while (working) {
      const arrival = await queue.take();
      if (!arrival) return;
      loaded.set(arrival.id, (loaded.get(arrival.id) ?? 0) + 1);
      await s3.client.send(new DeleteObjectCommand({ Bucket: b.name, Key: `in/${arrival.relative}` }));
      source.settled(arrival);
      queue.done(arrival.id);
    }
  })();
  closers.push(async () => {
    working = false;
    queue.close();
    await worker;
  });
  const url = (key: string) => `s3://${b.name}/${key}`;
  const hinted = [...real.slice(0, 2 * ROOM)].map(url);
  // Every hint kept is looked at, one HeadObject each, never more in hand than the room.
  await waitFor(async () => (await counter(s3.metrics.requests, { operation: 'HeadObject' })) - headsBefore >= ghosts.length + ROOM && hinted.every((id) => loaded.has(id)), {
    message: 'the hints kept to be looked at',
    timeoutMs: 30_000,
  });
  await waitFor(() => queue.inHand(source) === 0, { message: 'the hinted objects loaded' });
  expect(mostInHand).toBeLessThanOrEqual(ROOM);
  expect([...loaded.keys()].sort()).toEqual(hinted);

  // What was dropped, the listing finds.
  await sources.rescan();
  await waitFor(() => loaded.size === real.length && queue.inHand(source) === 0, { message: 'the dropped objects found by the listing', timeoutMs: 30_000 });
  expect([...loaded.keys()].sort()).toEqual(real.map(url));
  expect([...loaded.values()].every((n) => n === 1)).toBe(true);
  expect([...handedOver.values()].every((n) => n === 1)).toBe(true);
  expect(await b.keys('in/')).toEqual([]);
});
