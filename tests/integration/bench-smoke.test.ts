/**
 * Keeps the benchmark from rotting: the real bench script at tiny sizes, loadbay's figures only
 * (no psql on a fresh machine), in a temporary work folder. No timing is asserted.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../helpers/env.js';

it('npm run bench -- --smoke runs every workload against the real daemon', async () => {
  const work = await mkdtemp(path.join(os.tmpdir(), 'loadbay-bench-'));
  try {
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bench', 'bench.mjs'), '--smoke', '--no-baseline'], {
        env: { ...process.env, BENCH_WORK: work },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (exit) => resolve({ code: exit, out }));
    });
    expect({ code, tail: out.slice(-2000) }).toMatchObject({ code: 0 });
    for (const section of ['1. Big CSV', '2. Many small files', '2b. Many small files', '3. Memory', '4a. Latency', '4b. Latency', '5. JSONL.gz']) expect(out).toContain(section);
    expect(out).toMatch(/loadbay \| [\d.]+ s \| [\d,]+ rows\/s/);
    expect(out).toMatch(/p50 \| \d+ ms/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}, 180_000);
