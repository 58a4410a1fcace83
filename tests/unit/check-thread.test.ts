/**
 * The check thread keeps the compiled datasets it was sent, the most recently used ones, up to a
 * cap: a dataset it has let go of is sent again, whole, and its file is checked as any other.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compileDataset } from '../../src/compile.js';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import { resolveDataset } from '../../src/config/dataset.js';
import { checkInThread, checkThreadFiles, useCheckThread } from '../../src/validate/check-remote.js';

let dir: string;
let release: () => Promise<void>;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-check-thread-'));
  release = useCheckThread();
});
afterAll(async () => {
  await release();
  await rm(dir, { recursive: true, force: true });
});

it('checks a file of a dataset the thread let go of (more datasets than it keeps)', async () => {
  const file = path.join(dir, 'n.csv');
  await writeFile(file, 'id,n\n1,2\n3,x\n');
  const datasets = Array.from({ length: 300 }, (_, i) =>
    compileDataset(
      resolveDataset(path.join(dir, `d${i}.yaml`), {
        name: `d${i}`,
        match: `d${i}-*.csv`,
        format: 'csv',
        table: `t.d${i}`,
        on_invalid_row: 'skip_row',
        schema: { type: 'object', properties: { id: { type: 'integer' }, n: { type: 'integer', minimum: i } } },
      }),
    ),
  );
  const options = { batchRows: 100, limits: DEFAULT_LIMITS };
  const check = async (i: number) => {
    const checked = checkInThread(file, 21, 'n.csv', datasets[i]!, options, true);
    let rows = 0;
    for await (const batch of checked.batches) rows += batch.typed.length;
    return { rows, rejected: checked.problems.rejected };
  };
  for (let i = 0; i < datasets.length; i++) await check(i);
  // The first datasets were evicted long ago; each is sent again and judged by its own schema.
  expect(await check(0)).toEqual({ rows: 1, rejected: 1 });
  expect(await check(5)).toEqual({ rows: 0, rejected: 2 });
  expect(checkThreadFiles()).toBe(0);
}, 60_000);
