import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { DEFAULT_LIMITS, recordAjv, resolveDataset } from '../dist/config/load.js';
import { readCsvCells } from '../dist/read/csv-cells.js';
import { openSource } from '../dist/read/source.js';
import { makeCellPreparer } from '../dist/prepare/cells.js';
import { runKernels } from '../dist/validate/kernels.js';
import { planOf } from '../dist/validate/plan.js';
import { arrowSchema, toRecordBatch } from '../dist/write/arrow.js';
const KINDS = ['click', 'view', 'buy', 'refund'];
const schema = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 0 }, ts: { type: 'string', format: 'date-time' }, kind: { type: 'string', enum: KINDS }, amount: { type: 'number', minimum: 0, maximum: 100000 }, label: { type: 'string', maxLength: 16 }, flag: { type: 'boolean' }, note: { type: 'string' } } };
const dataset = resolveDataset('/b.yaml', { name: 'big', match: '*', format: 'csv', table: 'b.big', schema }, recordAjv());
const prepare = makeCellPreparer(dataset, 'big.csv', 1e6);
const kernels = planOf(dataset).kernels;
const full = arrowSchema(dataset.columns);
const ipcs = [];
let n = 0;
for await (const batch of readCsvCells(openSource('bench/.work/data/big-1000000.csv', 'utf-8', DEFAULT_LIMITS, true), dataset.csv, { batchRows: 5000, limits: DEFAULT_LIMITS })) {
  const { typed } = runKernels(prepare(batch), kernels);
  ipcs.push(arrow.tableToIPC(new arrow.Table([toRecordBatch(full, typed, { fileId: '12345', sourceFile: 'big-1000000.csv' })]), 'stream'));
  if ((n += typed.length) >= 400000) break;
}
async function run(label, build) {
  const t0 = performance.now();
  let b = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setMaxRowGroupSize(65536).setDictionaryEnabled(false)
    .setColumnEncoding('_source_record', pq.Encoding.DELTA_BINARY_PACKED);
  for (const c of ['kind', 'label', 'note', '_file_id', '_source_file']) b = b.setColumnDictionaryEnabled(c, true);
  const props = build(b).build();
  const queue = ipcs.map((x) => { const t = pq.Table.fromIPCStream(x); const r = t.recordBatches(); t.free(); return r[0]; });
  const stream = new ReadableStream({ pull(c) { const x = queue.shift(); if (x) c.enqueue(x); else c.close(); } }, { highWaterMark: 0 });
  const out = await pq.transformParquetStream(stream, props);
  let bytes = 0;
  for await (const chunk of out) bytes += chunk.length;
  console.log(label.padEnd(30), ((performance.now() - t0) / 1000).toFixed(2), 's', (bytes / 1e6).toFixed(1), 'MB');
}
for (let r = 0; r < 1; r++) {
  await run('current', (b) => b);
  await run('chunk statistics only', (b) => b.setStatisticsEnabled(pq.EnabledStatistics.Chunk));
  await run('no statistics', (b) => b.setStatisticsEnabled(pq.EnabledStatistics.None));
  await run('lz4_raw', (b) => b.setCompression(pq.Compression.LZ4_RAW));
  await run('uncompressed', (b) => b.setCompression(pq.Compression.UNCOMPRESSED));
  await run('write batch 8192', (b) => b.setWriteBatchSize(8192));
}
const { openParquetFile } = await import('../dist/write/parquet-file.js');
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  const w = openParquetFile('/tmp/_pq_test.parquet', ['kind', 'label', 'note', '_file_id', '_source_file']);
  for (const ipc of ipcs) await w.write(ipc.slice());
  await w.finish();
  console.log('openParquetFile (as the thread)', ((performance.now() - t0) / 1000).toFixed(2), 's');
}
