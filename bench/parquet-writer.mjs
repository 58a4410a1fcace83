#!/usr/bin/env node
/**
 * What the Parquet thread spends per file and per batch, step by step and per writer setting, in one
 * process without a database (issue 28's Parquet lever). `npm run build` and one
 * `npm run bench -- --only big,text --runs 1` first (the data).
 *
 *   node bench/parquet-writer.mjs big [rows=200000]   # the big CSV's batches of 5,000 rows
 *   node bench/parquet-writer.mjs text [files=300]    # the all-text student files (2b), one batch each
 *   node bench/parquet-writer.mjs small [files=300]   # the typed student files (2)
 *
 * The batches come from the real pipeline (read → prepare → kernels); then, per step: unpacking the
 * transferred batch and writing its Arrow IPC (arrow.ts), `Table.fromIPCStream` (the copy into
 * wasm), and the Parquet encoding with each writer setting — one-shot `writeParquet` per file for
 * the small files (what the thread does for a one-batch file), and for the big file both the
 * streaming writer the thread uses (`transformParquetStream`) and one `writeParquet` over the same
 * batches. CPU seconds of this process (user + system), median of the rounds, variants alternating.
 */
import path from 'node:path';
import { dataIn } from './data.mjs';
import { writeFileSync } from 'node:fs';
import * as pq from 'parquet-wasm';
import { DEFAULT_LIMITS, loadConfig } from '../dist/config/load.js';
import { resolveDataset } from '../dist/config/dataset.js';
import { compileDataset } from '../dist/compile.js';
import { readCsvCells } from '../dist/read/csv-cells.js';
import { openSource } from '../dist/read/source.js';
import { localFile } from '../dist/source/folder/file-input.js';
import { makeCellPreparer } from '../dist/prepare/cells.js';
import { runKernels } from '../dist/validate/kernels.js';
import { batchStream } from '../dist/write/arrow.js';
import { directParquet } from '../dist/write/parquet-direct.js';
import { packBatch, unpackBatch } from '../dist/write/thread-batch.js';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = process.env.BENCH_WORK ? path.resolve(process.env.BENCH_WORK) : path.join(PROJECT, 'bench', '.work');
const which = process.argv[2] ?? 'big';
const count = Number(process.argv[3] ?? (which === 'big' ? 200_000 : 300));
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const { BIG_SCHEMA: bigSchema, STUDENT_HEADER } = dataIn(WORK);
const STUDENT = STUDENT_HEADER.split(';');
const dataset = compileDataset(
  which === 'big'
    ? resolveDataset('/bench/big.yaml', { name: 'big', match: '*', format: 'csv', table: 'b.big', schema: bigSchema })
    : which === 'text'
      ? resolveDataset('/bench/students.yaml', {
          name: 'students', match: '*', format: 'csv', csv: { delimiter: ';' }, table: 'b.s',
          schema: { type: 'object', required: STUDENT, properties: Object.fromEntries(STUDENT.map((c) => [c, { type: 'string' }])) },
        })
      : (await loadConfig(path.join(PROJECT, 'config', 'loadbay.yaml'))).datasets.find((d) => d.name === 'students'),
);
const kernels = dataset.plan.kernels;
const files =
  which === 'big'
    ? [path.join(WORK, 'data', 'big-1000000.csv')]
    : Array.from({ length: count }, (_, k) => path.join(WORK, 'data', 'small-v2-999', `student-${String(k).padStart(4, '0')}.csv`));

// The typed batches, packed as they cross to the thread: per file, its batches.
const packed = [];
let rows = 0;
for (const file of files) {
  const prepare = makeCellPreparer(dataset, dataset.steps, path.basename(file), DEFAULT_LIMITS.maxDistinctRows);
  const mine = [];
  for await (const batch of readCsvCells(openSource(localFile(file), 'utf-8', DEFAULT_LIMITS, true), dataset.csv, { batchRows: 5000, limits: DEFAULT_LIMITS })) {
    const { typed } = runKernels(prepare(batch), kernels);
    const p = packBatch(typed);
    mine.push({ ...p, buffer: p.buffer.slice(0) });
    rows += typed.length;
    if (which === 'big' && rows >= count) break;
  }
  packed.push(mine);
}
const columns = dataset.columns;
const kinds = columns.map((c) => c.kind);
const lineage = (i) => ({ fileId: String(1000 + i), sourceFile: path.basename(files[i]) });
const scratch = { buffer: new Uint8Array(0) };
const ipcOf = (i, p) => batchStream(columns, unpackBatch(p, kinds), lineage(i), scratch);
console.log(`${which}: ${files.length} file(s), ${rows.toLocaleString('en')} rows, ${packed.flat().length} batches, ${columns.length} columns; ${ROUNDS} rounds`);

const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const stringColumns = columns.filter((c) => c.kind === 'string').map((c) => c.name);
const enumColumns = columns.filter((c) => Array.isArray(dataset.schema.properties[c.name]?.enum)).map((c) => c.name);
const settings = {
  'current (dictionary: text + lineage)': { dictionary: [...stringColumns, '_file_id', '_source_file'] },
  'dictionary: lineage only': { dictionary: ['_file_id', '_source_file'] },
  'dictionary: none': { dictionary: [] },
  'dictionary: enum columns + lineage': { dictionary: [...enumColumns, '_file_id', '_source_file'] },
  'statistics: none': { dictionary: [...stringColumns, '_file_id', '_source_file'], statistics: pq.EnabledStatistics.None },
  'dictionary: lineage only, statistics chunk': { dictionary: ['_file_id', '_source_file'], statistics: pq.EnabledStatistics.Chunk },
};
const codecs = { zstd: pq.Compression.ZSTD, snappy: pq.Compression.SNAPPY, lz4_raw: pq.Compression.LZ4_RAW, uncompressed: pq.Compression.UNCOMPRESSED };

function properties(setting, codec, pageStatistics) {
  let b = new pq.WriterPropertiesBuilder()
    .setCompression(codecs[codec])
    .setMaxRowGroupSize(64 * 1024)
    .setDictionaryEnabled(false)
    .setColumnEncoding('_source_record', pq.Encoding.DELTA_BINARY_PACKED)
    .setCreatedBy('loadbay');
  if (setting.statistics !== undefined) b = b.setStatisticsEnabled(setting.statistics);
  else if (!pageStatistics) b = b.setStatisticsEnabled(pq.EnabledStatistics.Chunk);
  for (const name of setting.dictionary) b = b.setColumnDictionaryEnabled(name, true);
  return b.build();
}

const results = new Map();
const note = (key, seconds, bytes) => {
  const r = results.get(key) ?? { times: [], bytes };
  r.times.push(seconds);
  r.bytes = bytes;
  results.set(key, r);
};

async function streamed(props, i) {
  const queue = [];
  for (const p of packed[i]) {
    const t = pq.Table.fromIPCStream(ipcOf(i, p));
    queue.push(...t.recordBatches());
    t.free();
  }
  const stream = new ReadableStream({ pull(c) { const b = queue.shift(); if (b) c.enqueue(b); else c.close(); } }, { highWaterMark: 0 });
  const out = await pq.transformParquetStream(stream, props);
  let bytes = 0;
  for await (const chunk of out) bytes += chunk.length;
  return bytes;
}

for (let round = 0; round < ROUNDS; round++) {
  // The steps before encoding.
  let t = cpu();
  for (let i = 0; i < packed.length; i++) for (const p of packed[i]) ipcOf(i, p);
  note('unpack + Arrow IPC (arrow.ts)', cpu() - t);
  t = cpu();
  for (let i = 0; i < packed.length; i++) for (const p of packed[i]) pq.Table.fromIPCStream(ipcOf(i, p)).free();
  note('  + Table.fromIPCStream', cpu() - t);
  if (which === 'big') {
    // The one-batch writer over the big file's batches, each as its own file (what a writer of
    // loadbay's own would cost per batch on a large file; the thread streams those through parquet-wasm).
    const dictionary = [...columns.filter((c) => c.categorical).map((c) => c.name), '_file_id', '_source_file'];
    for (const codec of ['zstd', 'snappy']) {
      t = cpu();
      let bytes = 0;
      for (const p of packed[0]) bytes += directParquet(columns, unpackBatch(p, kinds), lineage(0), codec, dictionary).length;
      note(`direct, a file per batch (parquet-direct.ts), ${codec}`, cpu() - t, bytes);
    }
  }
  if (which !== 'big') {
    // The one-batch writer the thread now uses (parquet-direct.ts), from the unpacked batch.
    const dictionary = [...columns.filter((c) => c.categorical).map((c) => c.name), '_file_id', '_source_file'];
    for (const codec of ['snappy', 'zstd', 'uncompressed']) {
      t = cpu();
      let bytes = 0;
      for (let i = 0; i < packed.length; i++) bytes += directParquet(columns, unpackBatch(packed[i][0], kinds), lineage(i), codec, dictionary).length;
      note(`direct (parquet-direct.ts, unpack included), ${codec}`, cpu() - t, bytes / packed.length);
    }
  }
  const codecList = which === 'big' ? ['zstd', 'snappy', 'lz4_raw'] : ['snappy', 'lz4_raw', 'uncompressed', 'zstd'];
  for (const [name, setting] of Object.entries(settings)) {
    for (const codec of codecList) {
      if (codec !== codecList[0] && !name.startsWith('current') && !name.startsWith('dictionary: lineage only, ') && !name.startsWith('dictionary: enum')) continue;
      if (which === 'big') {
        const props = () => properties(setting, codec, true);
        t = cpu();
        const bytes = await streamed(props(), 0);
        note(`stream: ${name}, ${codec}`, cpu() - t, bytes);
        if (name.startsWith('current') && codec === 'zstd') {
          t = cpu();
          const all = [];
          for (const p of packed[0]) {
            const tb = pq.Table.fromIPCStream(ipcOf(0, p));
            all.push(tb);
          }
          // one writeParquet per row group's worth of batches, as a writer without streams would
          let out = 0;
          for (let k = 0; k < all.length; k += 13) {
            const ipc = concat(all.slice(k, k + 13).map((tb) => tb.intoIPCStream()));
            out += pq.writeParquet(pq.Table.fromIPCStream(ipc), props()).length;
          }
          note(`one-shot per 13 batches: ${name}, ${codec}`, cpu() - t, out);
        }
      } else {
        t = cpu();
        let bytes = 0;
        for (let i = 0; i < packed.length; i++) {
          const out = pq.writeParquet(pq.Table.fromIPCStream(ipcOf(i, packed[i][0])), properties(setting, codec, false));
          bytes += out.length;
          if (round === 0 && i === 0) writeFileSync(path.join(WORK, `pw-${which}-${codec}.parquet`), out);
        }
        note(`writeParquet: ${name}, ${codec}`, cpu() - t, bytes / packed.length);
      }
    }
  }
}

/** IPC streams of one schema as one stream: the first's schema, every stream's batch messages. */
function concat(streams) {
  const parts = [];
  streams.forEach((s, k) => {
    const body = s.subarray(0, s.length - 8); // drop the end-of-stream marker
    if (k === 0) parts.push(body);
    else parts.push(body.subarray(schemaLength(s)));
  });
  parts.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}
function schemaLength(s) {
  const view = new DataView(s.buffer, s.byteOffset);
  const meta = view.getInt32(4, true);
  return 8 + meta; // continuation marker, length, flatbuffer (padded); a schema message has no body
}

const per = which === 'big' ? 1 : packed.length;
const unit = which === 'big' ? `s per ${rows.toLocaleString('en')} rows` : 'ms per file';
for (const [key, { times, bytes }] of results) {
  const sorted = [...times].sort((a, b) => a - b);
  const m = sorted[(sorted.length - 1) >> 1];
  const figure = which === 'big' ? m.toFixed(3) : ((m / per) * 1000).toFixed(3);
  console.log(`${key.padEnd(62)} ${figure} ${unit}${bytes ? `   ${(bytes / (which === 'big' ? 1e6 : 1e3)).toFixed(1)} ${which === 'big' ? 'MB' : 'KB per file'}` : ''}`);
}
