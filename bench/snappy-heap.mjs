#!/usr/bin/env node
// The resident size of @napi-rs/snappy's own heap (a mimalloc segment of 32 MB) after N
// compressions of a 60 KB page, with the binding's output buffers as they come (`keep`: freed when
// V8 collects them) and copied out (`copy`: copyOutputData, as src/write/parquet-format.ts does).
// `node bench/snappy-heap.mjs [--runs 2000]`; BENCHMARKS.md, "Memory: what held the peaks, found".
import { createRequire } from 'node:module';
import fs from 'node:fs';

const { compressSync } = createRequire(import.meta.url)('snappy');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 2000;

/** Resident MB of the process's anonymous mappings of 30–34 MB (mimalloc's segments). */
function segmentMb() {
  let kb = 0;
  let inSegment = false;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) rw-p 0+ 00:00 0\s*$/.exec(line);
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      const size = range ? parseInt(range[2], 16) - parseInt(range[1], 16) : 0;
      inSegment = size >= 30 * 2 ** 20 && size <= 34 * 2 ** 20;
    } else if (inSegment && line.startsWith('Rss:')) kb += Number(line.split(/\s+/)[1]);
  }
  return Math.round(kb / 1024);
}

const mode = process.argv.includes('--child') ? process.argv[process.argv.indexOf('--child') + 1] : null;
if (mode) {
  const page = Buffer.from(Array.from({ length: 60_000 }, (_, i) => String.fromCharCode(65 + ((i * 7919) % 26))).join(''));
  const options = mode === 'copy' ? { copyOutputData: true } : undefined;
  for (let i = 0; i < runs; i++) compressSync(page, options);
  console.log(`${mode.padEnd(5)} ${runs} compressions: snappy's heap ${segmentMb()} MB resident`);
} else {
  // Each mode in a process of its own: the binding's heap never shrinks.
  const { execFileSync } = await import('node:child_process');
  for (const m of ['keep', 'copy']) process.stdout.write(execFileSync(process.execPath, [import.meta.filename, '--child', m, '--runs', String(runs)]));
}
