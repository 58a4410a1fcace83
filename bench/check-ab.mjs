#!/usr/bin/env node
/**
 * The check thread's work for one file, from two or more builds in one process, alternating: CPU
 * seconds of `checkFile` (read → prepare → kernels → typed batches, what the daemon's check thread
 * runs) on the bench's big schema. Builds made in turn on a noisy machine are not comparable; runs
 * alternating in one process are.
 *
 *   node --max-old-space-size=1024 --initial-old-space-size=128 --max-semi-space-size=4 \
 *     --single-threaded-gc bench/check-ab.mjs bench/.work/data/big-1000000.jsonl.gz <checkout> <checkout> …
 *
 * Each checkout needs `dist/` (`npx tsc -p tsconfig.build.json`) and `node_modules` (a symlink
 * will do); make the data with `npm run bench -- --only big,jsonl --runs 1` first. RUNS=n (9).
 */
import path from 'node:path';
import { dataIn } from './data.mjs';

const [file, ...roots] = process.argv.slice(2);
if (!file || roots.length === 0) {
  console.error('usage: node bench/check-ab.mjs <file> <checkout> [<checkout> …]');
  process.exit(2);
}
const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { BIG_SCHEMA } = dataIn(process.env.BENCH_WORK ?? path.join(PROJECT, 'bench', '.work'));
const format = /\.csv(\.gz)?$/.test(file) ? 'csv' : 'jsonl';

const builds = [];
for (const root of roots) {
  const dist = path.resolve(root, 'dist');
  const { DEFAULT_LIMITS } = await import(`${dist}/config/load.js`);
  const { resolveDataset } = await import(`${dist}/config/dataset.js`);
  const { compileDataset } = await import(`${dist}/compile.js`);
  const { checkFile } = await import(`${dist}/validate/check.js`);
  const { localFile } = await import(`${dist}/source/folder/file-input.js`);
  const dataset = compileDataset(resolveDataset('/bench/big.yaml', { name: 'big', match: '*', format, table: 'b.big', schema: BIG_SCHEMA }));
  const run = async () => {
    const checked = checkFile(localFile(file), path.basename(file), dataset, { batchRows: 5000, limits: DEFAULT_LIMITS });
    let rows = 0;
    for await (const batch of checked.batches) rows += batch.typed.length;
    return rows;
  };
  builds.push({ root, run, cpu: [], rows: 0 });
}
for (let r = 0; r < Number(process.env.RUNS ?? 9); r++) {
  for (const build of builds) {
    const before = process.cpuUsage();
    build.rows = await build.run();
    const used = process.cpuUsage(before);
    build.cpu.push((used.user + used.system) / 1e6);
  }
}
for (const build of builds) {
  const sorted = [...build.cpu].sort((a, b) => a - b);
  console.log(`${build.root}: ${build.rows} rows, CPU min ${sorted[0].toFixed(2)} s, median ${sorted[sorted.length >> 1].toFixed(2)} s (${build.cpu.map((c) => c.toFixed(2)).join(' ')})`);
}
