#!/usr/bin/env node
/**
 * The COPY binary encoder on the small-file workload's data, in a fresh process
 * (`node bench/copy-encoder.mjs`, after `npm run build` and one `npm run bench -- --only small`
 * to make the files): 200 student files read, prepared and validated as the daemon does, then
 * encoded three times over. The first round is what a first burst after a start pays (the encoder
 * not yet optimised by V8), the third what a running daemon pays. Milliseconds per file.
 */
import path from 'node:path';
import { DEFAULT_LIMITS, loadConfig } from '../dist/config/load.js';
import { compileDataset } from '../dist/compile.js';
import { readCsvCells } from '../dist/read/csv-cells.js';
import { openSource } from '../dist/read/source.js';
import { localFile } from '../dist/source/folder/file-input.js';
import { makeCellPreparer } from '../dist/prepare/cells.js';
import { runKernels } from '../dist/validate/kernels.js';
import { encodeCopyBinary } from '../dist/write/copy-binary.js';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = process.env.BENCH_WORK ? path.resolve(process.env.BENCH_WORK) : path.join(PROJECT, 'bench', '.work');
const dataset = compileDataset((await loadConfig(path.join(PROJECT, 'config', 'loadbay.yaml'))).datasets.find((d) => d.name === 'students'));
const dir = path.join(WORK, 'data', 'small-v2-999');
const batches = [];
for (let k = 1; k <= 200; k++) {
  const file = path.join(dir, `student-${String(k).padStart(4, '0')}.csv`);
  const prepare = makeCellPreparer(dataset, dataset.steps, path.basename(file), DEFAULT_LIMITS.maxDistinctRows);
  const source = openSource(localFile(file), 'utf-8', DEFAULT_LIMITS, true);
  for await (const b of readCsvCells(source, dataset.csv, { batchRows: 5000, limits: DEFAULT_LIMITS })) batches.push(runKernels(prepare(b), dataset.plan.kernels).typed);
}
const rounds = [];
for (let round = 0; round < 3; round++) {
  const t = performance.now();
  for (let i = 0; i < batches.length; i++) encodeCopyBinary(batches[i], { fileId: String(1000 + i), sourceFile: `student-${i}.csv` });
  rounds.push(((performance.now() - t) / batches.length).toFixed(3));
}
console.log(`COPY binary, ms per 400-row file: first round ${rounds[0]}, then ${rounds[1]}, ${rounds[2]}`);
