#!/usr/bin/env node
/**
 * The CSV tokenizer candidates on the 1M-row benchmark file (issue: columnar engine): papaparse's
 * Parser (the record path's), uDSV's incremental parser (string arrays per row), and loadbay's own
 * byte tokenizer (read/csv-cells.ts, cells as byte ranges). Each reads the file as a stream and
 * tokenises every field; wall time of the whole read, alternating, `--runs N` (default 3).
 * papaparse and uDSV are installed on demand under bench/.work/tokenizers (uDSV is not a dependency).
 * Usage: npm run build && node bench/csv-tokenizers.mjs [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_LIMITS } from '../dist/config/load.js';
import { readCsvCells } from '../dist/read/csv-cells.js';
import { openSource } from '../dist/read/source.js';
import { localFile } from '../dist/source/folder/file-input.js';

const WORK = process.env.BENCH_WORK ?? path.resolve('bench/.work');
const file = path.join(WORK, 'data', 'big-1000000.csv');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;
const dir = path.join(WORK, 'tokenizers');
if (!existsSync(path.join(dir, 'node_modules', 'udsv'))) {
  await mkdir(dir, { recursive: true });
  spawnSync('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', 'udsv@0.7', 'papaparse@5'], { stdio: 'inherit' });
}
const { inferSchema, initParser } = await import(pathToFileURL(path.join(dir, 'node_modules', 'udsv', 'dist', 'uDSV.mjs')).href);
const Papa = (await import(pathToFileURL(path.join(dir, 'node_modules', 'papaparse', 'papaparse.js')).href)).default;

async function udsv() {
  let parser = null;
  let rows = 0;
  const count = () => rows++;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 })) {
    parser ??= initParser(inferSchema(chunk));
    parser.chunk(chunk, parser.stringArrs, count);
  }
  parser.end();
  return rows;
}

async function papaparse() {
  const parser = new Papa.Parser({ delimiter: ',', newline: '\n', quoteChar: '"' });
  let rows = 0;
  let partial = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1024 * 1024 })) {
    const text = partial + chunk;
    const result = parser.parse(text, 0, true);
    rows += result.data.length;
    partial = text.substring(result.meta.cursor);
  }
  if (partial) rows += parser.parse(partial, 0, false).data.length;
  return rows - 1; // the header
}

async function own() {
  let rows = 0;
  const options = { delimiter: ',', header: true, columns: null, quote: '"', encoding: 'utf-8' };
  for await (const batch of readCsvCells(openSource(localFile(file), 'utf-8', DEFAULT_LIMITS, true), options, { batchRows: 5000, limits: DEFAULT_LIMITS })) rows += batch.rows;
  return rows;
}

const results = { papaparse: [], uDSV: [], 'loadbay cells': [] };
for (let r = 0; r < runs; r++) {
  for (const [name, fn] of [['papaparse', papaparse], ['uDSV', udsv], ['loadbay cells', own]]) {
    const t0 = performance.now();
    const rows = await fn();
    results[name].push((performance.now() - t0) / 1000);
    if (rows !== 1_000_000) throw new Error(`${name}: ${rows} rows`);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of Object.entries(results)) console.log(`${name.padEnd(14)} ${median(xs).toFixed(2)} s  (${xs.map((x) => x.toFixed(2)).join(' ')})`);
