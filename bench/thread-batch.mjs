#!/usr/bin/env node
/**
 * What a batch costs the main thread to send to the Parquet thread (`node bench/thread-batch.mjs`,
 * after `npm run build`): a student-shaped batch (400 rows, 33 columns: ~70 typed arrays) posted
 * with every array transferred, as loadbay did, against packed into one transferred buffer
 * (src/write/thread-batch.ts, the copy included). Microseconds per message, main thread only.
 */
import { Worker } from 'node:worker_threads';
import { packBatch } from '../dist/write/thread-batch.js';

const ROWS = 400;
const worker = new Worker(`require('node:worker_threads').parentPort.on('message', () => undefined);`, { eval: true });
const columns = Array.from({ length: 33 }, (_, i) => ({ name: `column_${i}`, kind: i % 2 ? 'integer' : 'string' }));
function batch() {
  const vectors = columns.map((c) => {
    const valid = new Uint8Array(ROWS).fill(1);
    if (c.kind === 'integer') {
      const data = new BigInt64Array(ROWS);
      return { kind: 'integer', valid, data, words: new Int32Array(data.buffer) };
    }
    const offsets = Int32Array.from({ length: ROWS + 1 }, (_, i) => i * 9);
    return { kind: 'string', valid, bytes: new Uint8Array(ROWS * 9), offsets };
  });
  return { length: ROWS, numbers: new Float64Array(ROWS), vectors };
}
function everyArray(b) {
  const buffers = new Set([b.numbers.buffer]);
  for (const v of b.vectors) for (const a of [v.valid, v.data, v.bytes, v.offsets]) if (a) buffers.add(a.buffer);
  return [...buffers];
}
async function time(label, send) {
  let total = 0;
  for (let k = 0; k < 4000; k++) {
    const b = batch();
    const t = performance.now();
    send(b);
    if (k >= 1000) total += performance.now() - t;
    if (k % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  console.log(`${label}: ${((total / 3000) * 1000).toFixed(1)} µs per batch`);
}
await time('every array transferred', (b) => worker.postMessage({ op: 'write', batch: b }, everyArray(b)));
await time('packed, one buffer     ', (b) => {
  const packed = packBatch(b);
  worker.postMessage({ op: 'write', batch: packed }, [packed.buffer]);
});
await worker.terminate();
