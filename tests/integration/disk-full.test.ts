/**
 * A full disk, for real: the archive, the failed folder and the logs each on a small tmpfs of their
 * own (a mount needs root; without it the tests are skipped and say why). A full target is an
 * infrastructure error: the file stays where it is, is retried with a growing attempt count and then
 * held, no partial or temporary file is left behind, and everything completes once space is back.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';

const DATASET = {
  'rows.yaml': 'name: rows\nmatch: "*.csv"\nformat: csv\ntable: diskfull.rows\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n    text: { type: string }\n',
};

function tryMount(dir: string, size: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error).trim();
  }
}

const probe = `/tmp/loadbay-mount-probe-${process.pid}`;
await mkdir(probe, { recursive: true });
const cannotMount = tryMount(probe, '64k');
if (!cannotMount) execFileSync('umount', [probe]);
await rm(probe, { recursive: true, force: true });
if (cannotMount) console.log(`disk-full tests skipped: cannot mount a tmpfs here (${cannotMount})`);
const maybe = cannotMount ? it.skip : it;

let env: TestEnv | null = null;
const mounted: string[] = [];

/** Mounts a small tmpfs on a folder of the environment and fills it up but for `free` bytes. */
async function smallDisk(folder: string, free: number): Promise<string> {
  await mkdir(folder, { recursive: true });
  const error = tryMount(folder, '512k');
  if (error) throw new Error(`mount: ${error}`);
  mounted.push(folder);
  const filler = path.join(folder, '.filler');
  let size = 512 * 1024;
  // tmpfs counts in pages: shrink the filler until the write fits, leaving about `free` bytes.
  for (;;) {
    try {
      await writeFile(filler, Buffer.alloc(size - free));
      return filler;
    } catch {
      size -= 4096;
    }
  }
}

afterEach(async () => {
  // Lazily unmounted first, so that removing the environment's folders does not meet a mount point.
  for (const dir of mounted.splice(0)) execFileSync('umount', ['-l', dir]);
  await env?.cleanup();
  env = null;
});

const rows = (n: number) => 'id,text\n' + Array.from({ length: n }, (_, i) => `${i + 1},${'x'.repeat(90)}`).join('\n') + '\n';

maybe('a full archive disk: the loaded file is held, not moved or copied in part, and archived once there is space', async () => {
  env = await createTestEnv({ datasets: DATASET, processing: { min_free_bytes: 0 } });
  const filler = await smallDisk(env.folders.archive, 16 * 1024);
  await env.start();
  await env.drop('big.csv', rows(2000)); // ~190 KB: does not fit
  const held = await waitFor(async () => (await env!.logLines()).find((l) => l.file === 'big.csv' && l.event === 'held'), {
    message: 'the file to be held',
    timeoutMs: 30_000,
  });
  expect(held.reason).toMatch(/ENOSPC/);
  expect(await env.files('input')).toEqual(['big.csv']);
  expect((await readdir(env.folders.archive, { recursive: true })).filter((f) => !f.includes('.filler') && f.endsWith('.csv'))).toEqual([]);
  await rm(filler);
  expect(await env.outcome('big.csv', 'loaded')).toMatchObject({ recovered: true, rows: 2000 });
  const { rows: loaded } = await env.pool.query('SELECT count(*)::int AS n FROM diskfull.rows');
  expect(loaded[0].n).toBe(2000);
  expect(await env.files('archive', 'rows')).toEqual(['big.csv']);
});

maybe('a full failed folder: no temporary report left behind, the bad file quarantined once there is space', async () => {
  env = await createTestEnv({ datasets: DATASET, processing: { min_free_bytes: 0 } });
  const filler = await smallDisk(env.folders.failed, 4 * 1024);
  await env.start();
  await env.drop('bad.csv', rows(2000).replace('\n1,', '\none,'));
  await waitFor(async () => (await env!.logLines()).filter((l) => l.file === 'bad.csv' && l.event === 'retrying').length >= 2, {
    message: 'two retries',
    timeoutMs: 30_000,
  });
  const leftovers = (await readdir(env.folders.failed, { recursive: true })).filter((f) => f.endsWith('.tmp') || f.endsWith('.csv'));
  expect(leftovers).toEqual([]);
  await rm(filler);
  expect(await env.outcome('bad.csv', 'failed')).toMatchObject({ stage: 'validate' });
  expect(await env.files('failed', 'rows')).toEqual(['bad.csv', 'bad.csv.error.json']);
});

maybe('a full log disk: loading goes on, and the lines are written once there is space', async () => {
  env = await createTestEnv({ datasets: DATASET, processing: { min_free_bytes: 0 } });
  const filler = await smallDisk(env.folders.logs, 0);
  await env.start();
  await env.drop('while-full.csv', rows(3));
  await waitFor(async () => (await env!.files('archive', 'rows')).includes('while-full.csv'), { message: 'the load' });
  expect(await env.logLines()).toEqual([]);
  await rm(filler);
  await env.drop('after.csv', rows(4).replace(/x{90}/g, 'y'.repeat(90)));
  // The lines themselves, in the file: the one that waited and the one after.
  const inFile = (name: string) => waitFor(async () => (await env!.logLines()).find((l) => l.file === name && l.event === 'loaded'), { message: `${name} in the log` });
  expect(await inFile('while-full.csv')).toMatchObject({ rows: 3 });
  expect(await inFile('after.csv')).toMatchObject({ rows: 4 });
});

maybe('an output folder short of space: not ready (the folder named), no file taken, loading resumes when there is room', async () => {
  env = await createTestEnv({ datasets: DATASET, processing: { min_free_bytes: 128 * 1024 } });
  const filler = await smallDisk(env.folders.archive, 16 * 1024);
  const daemon = await env.start();
  const ready = await fetch(`${daemon.httpUrl}/readyz`);
  expect(ready.status).toBe(503);
  const body = (await ready.json()) as { checks: Array<{ name: string; ok: boolean; detail?: string }> };
  expect(body.checks.find((c) => !c.ok)).toMatchObject({ name: `free_space ${env.folders.archive}`, detail: expect.stringContaining('less than processing.min_free_bytes') });
  await env.drop('later.csv', rows(10));
  await waitFor(async () => (await env!.logLines()).length === 0 && (await env!.files('input')).includes('later.csv'), { message: 'the file to wait' });
  // The console's overview names it as the oldest waiting file.
  const overview = await waitFor(async () => {
    const body = (await (await fetch(`${daemon.httpUrl}/api/overview`)).json()) as { ready: boolean; backlog: { files: number; oldest_waiting_file: string | null } };
    return body.backlog.files === 1 ? body : null;
  }, { message: 'the backlog to show the file' });
  expect(overview).toMatchObject({ ready: false, backlog: { files: 1, oldest_waiting_file: 'later.csv' } });
  await rm(filler);
  expect(await env.outcome('later.csv', 'loaded')).toMatchObject({ rows: 10 });
  expect((await fetch(`${daemon.httpUrl}/readyz`)).status).toBe(200);
});
