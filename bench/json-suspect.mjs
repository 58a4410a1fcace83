#!/usr/bin/env node
/**
 * The JSONL reader's cheap test for lines whose number literals need the exact parser
 * (src/read/json-values.ts `needsExact`): one regular expression with an alternation against two
 * tested in turn and a loop over the characters, µs per line over 200,000 lines of the bench's
 * JSONL.gz (`npm run bench -- --only jsonl --runs 1` makes it). `node bench/json-suspect.mjs`.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = process.env.BENCH_WORK ? path.resolve(process.env.BENCH_WORK) : path.join(PROJECT, 'bench', '.work');
const lines = gunzipSync(readFileSync(path.join(WORK, 'data', 'big-1000000.jsonl.gz'))).toString('utf8').split('\n').slice(0, 200_000);
const ONE = /\d[eE]|\d{8}/;
const EXPONENT = /\d[eE]/;
const LONG_RUN = /\d{8}/;
function loop(text) {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++run >= 8) return true;
      continue;
    }
    if (run > 0 && (c === 101 || c === 69)) return true;
    run = 0;
  }
  return false;
}
const variants = { 'one alternation': (t) => ONE.test(t), 'two in turn': (t) => EXPONENT.test(t) || LONG_RUN.test(t), 'a loop': loop };
for (let round = 0; round < 3; round++) {
  for (const [name, test] of Object.entries(variants)) {
    const t = performance.now();
    let hits = 0;
    for (const line of lines) if (test(line)) hits++;
    console.log(`round ${round}: ${name.padEnd(16)} ${(((performance.now() - t) / lines.length) * 1000).toFixed(3)} µs per line (${hits} suspect)`);
  }
}
