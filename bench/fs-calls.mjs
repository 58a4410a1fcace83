#!/usr/bin/env node
/**
 * What a file-system metadata call costs in CPU, through the thread pool (node:fs/promises) and
 * synchronously: `node bench/fs-calls.mjs`. The reason src/lib/fs-now.ts makes them synchronous.
 */
import { lstat, open, rename } from 'node:fs/promises';
import { closeSync, lstatSync, openSync, renameSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(os.tmpdir(), 'loadbay-fs-calls-'));
const file = path.join(dir, 'a');
writeFileSync(file, 'x');
const N = 5000;
async function measure(name, fn) {
  for (let i = 0; i < 500; i++) await fn(i); // warm-up
  const wall = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) await fn(i);
  const used = process.cpuUsage(cpu);
  console.log(`${name.padEnd(28)} ${(((used.user + used.system) / N)).toFixed(1).padStart(6)} µs CPU  ${((1000 * (performance.now() - wall)) / N).toFixed(1).padStart(6)} µs wall`);
}
console.log(`per call, ${N} calls, Node ${process.version}, ${os.cpus().length} cores`);
await measure('lstat (fs/promises)', () => lstat(file));
await measure('lstatSync', () => lstatSync(file));
await measure('rename (fs/promises)', (i) => rename(path.join(dir, i % 2 ? 'b' : 'a'), path.join(dir, i % 2 ? 'a' : 'b')));
await measure('renameSync', (i) => renameSync(path.join(dir, i % 2 ? 'b' : 'a'), path.join(dir, i % 2 ? 'a' : 'b')));
await measure('open + close (fs/promises)', async () => (await open(dir, 'r')).close());
await measure('openSync + closeSync', () => closeSync(openSync(dir, 'r')));
rmSync(dir, { recursive: true, force: true });
