#!/usr/bin/env node
/**
 * Per-stage CPU time of loadbay's pipeline in one process, without a database:
 * `node bench/stages.mjs big` (the 1M-row bench CSV) or `node bench/stages.mjs small` (one of the
 * 999 small files, 100 times). Run `npm run bench -- --only big,small --runs 1` once first to make
 * the data, and `npm run build`. COPY binary is encoded but not sent. The engine the dataset gets
 * (columnar for both), or the record path with LOADBAY_ENGINE=records.
 */
import path from 'node:path';
import { dataIn } from './data.mjs';
import { DEFAULT_LIMITS, DEFAULT_PARQUET, loadConfig } from '../dist/config/load.js';
import { resolveDataset } from '../dist/config/dataset.js';
import { compileDataset } from '../dist/compile.js';
import { openParquetWriter } from '../dist/write/parquet.js';
import { encodeCopyBinary } from '../dist/write/copy-binary.js';
import { vectorsFromRecords } from '../dist/write/vectors.js';
import { readCsvCells } from '../dist/read/csv-cells.js';
import { openSource } from '../dist/read/source.js';
import { localFile } from '../dist/source/folder/file-input.js';
import { makeCellPreparer } from '../dist/prepare/cells.js';
import { runKernels } from '../dist/validate/kernels.js';
import { makePreparer } from '../dist/prepare/prepare.js';
import { makeValidator } from '../dist/validate/validate.js';
import { readFile } from '../dist/read/index.js';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = process.env.BENCH_WORK ? path.resolve(process.env.BENCH_WORK) : path.join(PROJECT, 'bench', '.work');
const which = process.argv[2] ?? 'big';

const { BIG_SCHEMA: bigSchema } = dataIn(WORK);
const dataset = compileDataset(
  which === 'big'
    ? resolveDataset('/bench/big.yaml', { name: 'big', match: '*', format: 'csv', table: 'b.big', schema: bigSchema })
    : (await loadConfig(path.join(PROJECT, 'config', 'loadbay.yaml'))).datasets.find((d) => d.name === 'students'),
  process.env.LOADBAY_ENGINE === 'records' ? { engine: 'records' } : {},
);
const file = which === 'big' ? path.join(WORK, 'data', 'big-1000000.csv') : path.join(WORK, 'data', 'small-v2-999', 'student-0001.csv');
const repeat = which === 'big' ? 1 : 100;

const engine = dataset.plan.engine;
const t = { read: 0, prepare: 0, validate: 0, vectors: 0, 'copy binary': 0, parquet: 0 };
const lineage = { fileId: '1', sourceFile: path.basename(file) };
const started = performance.now();
for (let k = 0; k < repeat; k++) {
  const parquet = await openParquetWriter(path.join(WORK, 'stages.parquet.tmp'), dataset.columns, lineage, DEFAULT_PARQUET);
  let t0 = performance.now();
  const stage = async (typed, t1, t2, t3) => {
    const t4 = performance.now();
    encodeCopyBinary(typed, lineage);
    const t5 = performance.now();
    await parquet.write(typed);
    const t6 = performance.now();
    t.read += t1 - t0;
    t.prepare += t2 - t1;
    t.validate += t3 - t2;
    t.vectors += t4 - t3;
    t['copy binary'] += t5 - t4;
    t.parquet += t6 - t5;
    t0 = t6;
  };
  if (engine === 'columnar') {
    const prepare = makeCellPreparer(dataset, dataset.steps, path.basename(file), DEFAULT_LIMITS.maxDistinctRows);
    const kernels = dataset.plan.kernels;
    for await (const batch of readCsvCells(openSource(localFile(file), 'utf-8', DEFAULT_LIMITS, true), dataset.csv, { batchRows: 5000, limits: DEFAULT_LIMITS })) {
      const t1 = performance.now();
      const view = prepare(batch);
      const t2 = performance.now();
      const { typed } = runKernels(view, kernels); // kernels convert and check at once: "validate"
      const t3 = performance.now();
      await stage(typed, t1, t2, t3);
    }
  } else {
    const opened = readFile(localFile(file), dataset, { batchRows: 5000, limits: DEFAULT_LIMITS });
    const prepare = makePreparer(dataset, path.basename(file), DEFAULT_LIMITS.maxDistinctRows);
    const validate = makeValidator(dataset);
    for await (const batch of opened.batches) {
      const t1 = performance.now();
      prepare(batch, opened.locator);
      const t2 = performance.now();
      validate(batch, opened.locator);
      const t3 = performance.now();
      await stage(vectorsFromRecords(dataset.columns, batch.records, batch.numbers), t1, t2, t3);
    }
  }
  const t6 = performance.now();
  await parquet.finish();
  t.parquet += performance.now() - t6;
}
const unit = repeat === 1 ? 's' : 'ms per file';
console.log(`engine: ${engine}`);
for (const [stage, ms] of Object.entries(t)) console.log(`${stage.padEnd(11)} ${(repeat === 1 ? ms / 1000 : ms / repeat).toFixed(2)} ${unit}`);
console.log(`total       ${(repeat === 1 ? (performance.now() - started) / 1000 : (performance.now() - started) / repeat).toFixed(2)} ${unit}`);
