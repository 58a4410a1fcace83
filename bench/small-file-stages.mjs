#!/usr/bin/env node
/**
 * Per small file, in one process without a database (`node bench/small-file-stages.mjs`, after
 * `npm run build` and one `npm run bench -- --only small` to make the files): the 999-file
 * workload's student files read, prepared and checked as the daemon does, then
 * - prepare: µs per file over five rounds (the first one cold);
 * - Arrow IPC: µs per file for the stream the Parquet thread hands parquet-wasm, written by
 *   src/write/arrow.ts, against an apache-arrow Table per file built the way loadbay did before
 *   (makeData per column, RecordBatch, Table, tableToIPC);
 * - heap: KB per file the stages (read, prepare, kernels, COPY encoding, packing for the thread)
 *   allocate on the JavaScript heap, from V8's sampling heap profiler with collected objects
 *   included, and where.
 */
import path from 'node:path';
import { Session } from 'node:inspector/promises';
import * as arrow from 'apache-arrow';
import { DEFAULT_LIMITS, loadConfig } from '../dist/config/load.js';
import { compileDataset } from '../dist/compile.js';
import { readCsvCells } from '../dist/read/csv-cells.js';
import { openSource } from '../dist/read/source.js';
import { localFile } from '../dist/source/folder/file-input.js';
import { makeCellPreparer } from '../dist/prepare/cells.js';
import { runKernels } from '../dist/validate/kernels.js';
import { encodeCopyBinary } from '../dist/write/copy-binary.js';
import { arrowSchema, batchStream } from '../dist/write/arrow.js';
import { packBatch, returnSpare } from '../dist/write/thread-batch.js';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = process.env.BENCH_WORK ? path.resolve(process.env.BENCH_WORK) : path.join(PROJECT, 'bench', '.work');
const dataset = compileDataset((await loadConfig(path.join(PROJECT, 'config', 'loadbay.yaml'))).datasets.find((d) => d.name === 'students'));
const plan = dataset.plan;
const dir = path.join(WORK, 'data', 'small-v2-999');
const fileName = (k) => path.join(dir, `student-${String(k).padStart(4, '0')}.csv`);
const cellsOf = async function* (k) {
  yield* readCsvCells(openSource(localFile(fileName(k)), 'utf-8', DEFAULT_LIMITS, true), dataset.csv, { batchRows: 5000, limits: DEFAULT_LIMITS, size: 1 << 20 });
};

// Prepare: the same 300 files' cells, copied so that every round starts from the bytes as read.
const read = [];
for (let k = 1; k <= 300; k++) for await (const b of cellsOf(k)) read.push(b);
const fresh = (b) => ({ ...b, buf: Buffer.from(b.buf), starts: b.starts.slice(), ends: b.ends.slice(), escaped: b.escaped.slice(), lines: b.lines.slice() });
const rounds = [];
for (let round = 0; round < 5; round++) {
  const batches = read.map(fresh);
  const t = performance.now();
  for (const b of batches) makeCellPreparer(dataset, dataset.steps, 'student-1.csv', 1e6)(b);
  rounds.push(((performance.now() - t) / batches.length) * 1000);
}
console.log(`prepare: ${rounds.map((r) => r.toFixed(0)).join(' / ')} µs per file (five rounds, the first cold)`);

// Arrow IPC: the typed batches of 300 files.
const typed = [];
for (let k = 1; k <= 300; k++) for await (const b of cellsOf(k)) typed.push(runKernels(makeCellPreparer(dataset, dataset.steps, 'x.csv', 1e6)(b), plan.kernels).typed);
function apacheArrowStream(columns, batch, lineage) {
  const schema = arrowSchema(columns);
  const length = batch.length;
  const bits = (bytes) => {
    const out = new Uint8Array((length + 7) >> 3);
    for (let i = 0; i < length; i++) if (bytes[i]) out[i >> 3] |= 1 << (i & 7);
    return out;
  };
  const children = batch.vectors.map((v, i) => {
    const type = schema.fields[i].type;
    const nullBitmap = bits(v.valid);
    return 'bytes' in v
      ? arrow.makeData({ type, length, nullBitmap, valueOffsets: v.offsets, data: v.bytes })
      : arrow.makeData({ type, length, nullBitmap, data: v.kind === 'boolean' ? bits(v.data) : v.data });
  });
  const name = Buffer.from(lineage.sourceFile);
  const names = new Uint8Array(name.length * length);
  const offsets = new Int32Array(length + 1);
  for (let i = 0; i < length; i++) (names.set(name, i * name.length), (offsets[i + 1] = (i + 1) * name.length));
  const n = batch.vectors.length;
  children.push(
    arrow.makeData({ type: schema.fields[n].type, length, data: new BigInt64Array(length).fill(BigInt(lineage.fileId)) }),
    arrow.makeData({ type: schema.fields[n + 1].type, length, valueOffsets: offsets, data: names }),
    arrow.makeData({ type: schema.fields[n + 2].type, length, data: BigInt64Array.from(batch.numbers, (x) => BigInt(x)) }),
  );
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children });
  return arrow.tableToIPC(new arrow.Table([new arrow.RecordBatch(schema, data)]), 'stream');
}
const scratch = { buffer: new Uint8Array(0) };
for (const [label, stream] of [
  ['apache-arrow Table per file', apacheArrowStream],
  ['src/write/arrow.ts batchStream', (c, b, l) => batchStream(c, b, l, scratch)],
]) {
  let total = 0;
  for (let round = 0; round < 4; round++) {
    const t = performance.now();
    typed.forEach((b, i) => stream(dataset.columns, b, { fileId: String(i + 1), sourceFile: `student-${i}.csv` }));
    if (round > 0) total += performance.now() - t;
  }
  console.log(`Arrow IPC, ${label}: ${((total / 3 / typed.length) * 1000).toFixed(0)} µs per file (warm)`);
}

// Heap: what the stages allocate per file.
async function stages(k) {
  const prepare = makeCellPreparer(dataset, dataset.steps, path.basename(fileName(k)), DEFAULT_LIMITS.maxDistinctRows);
  for await (const b of cellsOf(k)) {
    const t = runKernels(prepare(b), plan.kernels).typed;
    encodeCopyBinary(t, { fileId: String(k), sourceFile: path.basename(fileName(k)) });
    returnSpare(packBatch(t).buffer);
  }
}
for (let k = 1; k <= 300; k++) await stages(k);
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
const FILES = 500;
for (let k = 1; k <= FILES; k++) await stages(k);
const { profile } = await session.post('HeapProfiler.stopSampling');
const where = new Map();
let total = 0;
const walk = (node) => {
  if (node.selfSize) {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/.*\/dist\//, '').replace(/.*node_modules\//, '')}:${f.lineNumber + 1}`;
    where.set(key, (where.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  node.children.forEach(walk);
};
walk(profile.head);
console.log(`heap: ${(total / FILES / 1024).toFixed(0)} KB per file allocated by the stages; most by:`);
for (const [key, bytes] of [...where].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${(bytes / FILES / 1024).toFixed(1).padStart(6)} KB  ${key}`);
