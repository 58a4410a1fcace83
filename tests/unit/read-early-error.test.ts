/**
 * A source that fails before its reader starts (a truncated gzip fails at once, while the load is
 * still starting its COPY) must fail the read, not leave it waiting for an 'error' already emitted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import type { Dataset } from '../../src/config/types.js';
import { readCsvCells } from '../../src/read/csv-cells.js';
import { readFile } from '../../src/read/index.js';
import { openSource } from '../../src/read/source.js';
import { localFile } from '../../src/source/folder/file-input.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-early-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CSV = { delimiter: ',', header: true, columns: null, quote: '"', encoding: 'utf-8' } as Dataset['csv'];

async function truncatedGzip(name: string, text: string): Promise<string> {
  const gz = gzipSync(text);
  const file = path.join(dir, name);
  await writeFile(file, gz.subarray(0, gz.length >> 1));
  return file;
}

/** Resolves once the source's gunzip has failed (nothing has read it yet). */
const failed = (stream: NodeJS.ReadableStream & { errored?: unknown }) =>
  new Promise<void>((resolve) => {
    if (stream.errored) return resolve();
    stream.once('error', () => resolve());
  });

it.each(['csv', 'jsonl', 'json'] as const)('%s: a truncated gzip that failed before the first read is a data error, not a wait', async (format) => {
  const text =
    format === 'json'
      ? JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ id: i })))
      : format === 'jsonl'
        ? Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: i })).join('\n')
        : 'id,name\n' + Array.from({ length: 5000 }, (_, i) => `${i},x`).join('\n');
  const file = await truncatedGzip(`cut.${format}.gz`, text);
  const opened = readFile(localFile(file), { format, csv: CSV, json: { records: null, pathColumns: [] } }, { batchRows: 5000, limits: DEFAULT_LIMITS });
  await failed(opened.source.text);
  const read = (async () => {
    for await (const batch of opened.batches) void batch;
  })();
  await expect(read).rejects.toThrow(/^not a valid gzip file: unexpected end of file/);
});

it('the columnar CSV reader too', async () => {
  const file = await truncatedGzip('cells.csv.gz', 'id,name\n' + Array.from({ length: 5000 }, (_, i) => `${i},x`).join('\n'));
  const source = openSource(localFile(file), 'utf-8', DEFAULT_LIMITS, true);
  await failed(source.text);
  const read = (async () => {
    for await (const batch of readCsvCells(source, CSV, { batchRows: 5000, limits: DEFAULT_LIMITS })) void batch;
  })();
  await expect(read).rejects.toThrow(/^not a valid gzip file: unexpected end of file/);
});
