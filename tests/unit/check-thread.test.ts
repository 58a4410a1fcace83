/**
 * The check thread keeps the compiled datasets it was sent, the most recently used ones, up to a
 * cap: a dataset it has let go of is sent again, whole, and its file is checked as any other. It
 * reads small files into buffers it reuses: files checked at once, or given up part-way, each
 * still give their own rows.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileInput, ReadBuffers } from '../../src/source/folder/file-input.js';
import { MAX_SPARE_BYTES, MAX_SPARES } from '../../src/lib/spare-pool.js';
import type { TypedBatch } from '../../src/write/vectors.js';
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

/** The rows of a batch as `id,text` lines, read from its vectors. */
function linesOf(batch: TypedBatch): string[] {
  const [ids, texts] = batch.vectors;
  if (ids?.kind !== 'integer' || texts?.kind !== 'string') throw new Error('unexpected columns');
  const decoder = new TextDecoder();
  return Array.from({ length: batch.length }, (_, i) => `${ids.data[i]},${decoder.decode(texts.bytes.subarray(texts.offsets[i], texts.offsets[i + 1]))}`);
}

it('gives each file its own rows while files share and reuse read buffers, some given up part-way', async () => {
  const dataset = compileDataset(
    resolveDataset(path.join(dir, 'pooled.yaml'), {
      name: 'pooled',
      match: 'p-*',
      format: 'csv',
      table: 't.pooled',
      schema: { type: 'object', properties: { id: { type: 'integer' }, s: { type: 'string' } } },
    }),
  );
  const options = { batchRows: 50, limits: DEFAULT_LIMITS };
  // Files of growing and shrinking sizes (a reused buffer is larger than the next file), some gzipped.
  const files = await Promise.all(
    Array.from({ length: 36 }, async (_, f) => {
      const rows = [1, 7, 400, 3, 2000, 60, 1, 900][f % 8]!;
      const lines = Array.from({ length: rows }, (_, r) => `${f * 10_000 + r},file ${f} row ${r} ${'x'.repeat((f * 7 + r) % 40)}`);
      const name = `p-${f}.csv${f % 5 === 4 ? '.gz' : ''}`;
      const text = `id,s\n${lines.join('\n')}\n`;
      const bytes = name.endsWith('.gz') ? gzipSync(text) : Buffer.from(text);
      await writeFile(path.join(dir, name), bytes);
      return { name, size: bytes.length, lines };
    }),
  );
  const check = async (file: (typeof files)[number], giveUp: boolean) => {
    const checked = checkInThread(path.join(dir, file.name), file.size, file.name, dataset, options, false);
    const seen: string[] = [];
    for await (const batch of checked.batches) {
      seen.push(...linesOf(batch.typed));
      if (giveUp) break;
    }
    return seen;
  };
  for (let round = 0; round < 3; round++) {
    // Every third file given up after its first batch; the rest read to their ends, all at once.
    const results = await Promise.all(files.map((file, f) => check(file, (f + round) % 3 === 0)));
    results.forEach((seen, f) => {
      const giveUp = (f + round) % 3 === 0;
      expect(seen).toEqual(giveUp ? files[f]!.lines.slice(0, seen.length) : files[f]!.lines);
      if (giveUp) expect(seen.length).toBe(Math.min(50, files[f]!.lines.length));
    });
  }
  expect(checkThreadFiles()).toBe(0);
}, 60_000);

it('keeps at most a few read buffers, each taken by one reader at a time', () => {
  const pool = new ReadBuffers();
  const a = pool.take(100);
  const b = pool.take(100);
  expect(a.buffer === b.buffer && a.byteOffset === b.byteOffset).toBe(false);
  pool.give(a);
  expect(pool.take(80)).toBe(a); // reused when large enough
  expect(pool.take(1024 * 1024).length).toBeGreaterThanOrEqual(1024 * 1024); // a larger file: a new one
  const large = pool.take(300 * 1024);
  const small = pool.take(10);
  pool.give(large);
  pool.give(small);
  expect(pool.take(20)).toBe(small); // the smallest that fits: the large one stays for a large file
  expect(pool.take(200 * 1024)).toBe(large);
  for (let i = 0; i < MAX_SPARES + 4; i++) pool.give(Buffer.allocUnsafeSlow(1024));
  expect(pool.kept).toBe(MAX_SPARES);
  const big = new ReadBuffers();
  big.give(Buffer.allocUnsafeSlow(MAX_SPARE_BYTES + 1));
  expect(big.kept).toBe(0);
});

it('gives a read buffer back once, never to a gzipped file or a read after release', async () => {
  const plain = path.join(dir, 'pool-plain.csv');
  const gz = path.join(dir, 'pool-plain.csv.gz');
  await writeFile(plain, 'id\n1\n');
  await writeFile(gz, gzipSync('id\n1\n'));
  const pool = new ReadBuffers();
  const input = fileInput(plain, 5, pool);
  expect(input.readNow!().toString()).toBe('id\n1\n');
  input.release();
  expect(pool.kept).toBe(1);
  input.release();
  expect(pool.kept).toBe(1);
  // A read after release (a stream that started late) does not take from the pool.
  expect(input.readNow!().toString()).toBe('id\n1\n');
  expect(pool.kept).toBe(1);
  const zipped = fileInput(gz, 25, pool);
  zipped.readNow!();
  expect(pool.kept).toBe(1);
  zipped.release();
  expect(pool.kept).toBe(1);
});
