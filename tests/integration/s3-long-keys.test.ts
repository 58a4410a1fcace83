/**
 * Keys near S3's 1,024-byte limit, through the running daemon against the test S3 server (which
 * refuses longer keys with 400 KeyTooLongError, as AWS does): an object whose archive or quarantine
 * key would pass the limit is loaded (or quarantined) once and settled under a shortened key that
 * keeps its extension, never retried for ever after its load committed.
 */
import { ITEM_DATASETS, ITEMS_CSV } from '../helpers/datasets.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { s3Section, useBucket } from '../helpers/s3.js';
import { fitKey } from '../../src/source/s3/write.js';

const bucket = useBucket();
let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

it('an object whose archive or quarantine key would pass 1,024 bytes is settled once, under a shortened key', async () => {
  const b = bucket();
  env = await createTestEnv({
    datasets: ITEM_DATASETS,
    folders: { input: `s3://${b.name}/in/`, archive: `s3://${b.name}/archive/`, failed: `s3://${b.name}/failed/` },
    s3: s3Section(),
  });
  // 1,015 bytes each (é is two bytes): fine as input keys, too long once under archive/items-csv/.
  const good = `items-${'é'.repeat(200)}${'g'.repeat(602)}.csv`;
  const bad = `items-${'b'.repeat(1002)}.csv`;
  expect(Buffer.byteLength(`in/${good}`)).toBe(1015);
  expect(Buffer.byteLength(`in/${bad}`)).toBe(1015);
  await b.put(`in/${good}`, ITEMS_CSV);
  await b.put(`in/${bad}`, 'id,name,price\n1,,1\n');
  await env.start();

  expect(await env.outcome(good, 'loaded')).toMatchObject({ rows: 3, dataset: 'items-csv' });
  const failed = await env.outcome(bad, 'failed');
  const archived = fitKey(`archive/items-csv/${good}`);
  const quarantined = fitKey(`failed/items-csv/${bad}`);
  expect(failed).toMatchObject({ dataset: 'items-csv', quarantined_as: `s3://${b.name}/${quarantined}` });
  expect(await b.keys()).toEqual([archived, quarantined, `${quarantined}.error.json`].sort());
  for (const key of await b.keys()) expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
  expect(archived).toMatch(/^archive\/items-csv\/items-é+g*~[0-9a-f]{8}\.csv$/);
  expect((await b.get(archived)).toString()).toBe(ITEMS_CSV);
  const report = JSON.parse((await b.get(`${quarantined}.error.json`)).toString()) as { file: string };
  expect(report.file).toBe(bad);

  // Loaded once, settled: no attempt failed on the way.
  const { rows } = await env.pool.query<{ status: string; settled: boolean }>(`SELECT status, settled_at IS NOT NULL AS settled FROM loadbay.files ORDER BY status`);
  expect(rows).toEqual([
    { status: 'failed', settled: expect.any(Boolean) },
    { status: 'loaded', settled: true },
  ]);
  expect(await env.pool.query(`SELECT count(*)::int AS n FROM shop.items_csv`).then((r) => r.rows[0].n)).toBe(3);
  expect((await env.logLines()).filter((line) => line.event === 'retrying' || line.event === 'held')).toEqual([]);
});
