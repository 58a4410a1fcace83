/**
 * The hostile-input corpus (tests/hostile) through one running daemon: every case gets its outcome
 * (quarantined with the reason and a report, or loaded exactly), and after each one the daemon
 * still loads a good file. Then the unlucky producers and folders: a file that grows after it was
 * read, an archive folder that cannot be written, a conversion log that cannot be written.
 */
import { mkdir, readFile, rm, writeFile, appendFile, open } from 'node:fs/promises';
import path from 'node:path';
import { CORPUS_DATASETS, CORPUS_LIMITS, loadCases } from '../hostile/corpus.js';
import { sharedEnv, waitFor } from '../helpers/env.js';

const cases = await loadCases();
const shared = sharedEnv({ datasets: CORPUS_DATASETS, limits: CORPUS_LIMITS });

async function parquetFile(dataset: string, file: string): Promise<string> {
  const stem = file.slice(0, file.indexOf('.'));
  const names = (await shared().files('parquet', dataset)).filter((f) => f.startsWith(`${stem}.`) || f.startsWith(`${stem}-`));
  if (names.length !== 1) throw new Error(`expected one Parquet file for ${file}, found ${names.join(', ') || 'none'}`);
  return path.join(shared().folders.parquet, dataset, names[0]!);
}

it.each(cases.map((c) => [c.file, c] as const))('%s', async (_name, hostile) => {
  const env = shared();
  await env.drop(hostile.file, hostile.content());
  const line = await env.outcome(hostile.file);
  const { expect: wanted } = hostile;
  expect({ event: line.event, stage: line.stage }).toEqual({ event: wanted.event, stage: wanted.stage });
  if (wanted.reason !== undefined) {
    expect(line.reason).toEqual(typeof wanted.reason === 'string' ? wanted.reason : expect.stringMatching(wanted.reason));
  }
  if (wanted.rows !== undefined) expect(line.rows).toBe(wanted.rows);
  if (wanted.event === 'failed') {
    const report = JSON.parse(await readFile(path.join(env.folders.failed, String(line.dataset), `${hostile.file}.error.json`), 'utf8'));
    expect(report).toMatchObject({ file: hostile.file, stage: wanted.stage, reason: line.reason });
    expect(report.problem_count).toBeGreaterThan(0);
  }
  await hostile.verify?.({ pool: env.pool, parquetFile, failedDir: env.folders.failed });
  // Still running: a good file right after loads.
  const good = `ok-after-${hostile.file.replace(/\W/g, '-')}.jsonl`;
  await env.drop(good, `{"id": 1, "name": "${good}"}\n`);
  expect(await env.outcome(good)).toMatchObject({ event: 'loaded', rows: 1 });
});

describe('unlucky producers and folders', () => {
  it('a producer that pauses longer than the stability window: no archived file holds a row that was not loaded', async () => {
    const env = shared();
    const target = path.join(env.folders.input, 'slow-producer.jsonl');
    const handle = await open(target, 'a');
    const written: number[] = [];
    for (let id = 101; id <= 105; id++) {
      await handle.appendFile(`{"id": ${id}}\n`);
      written.push(id);
      // Longer than the 100 ms stability window: the daemon takes the file between pieces.
      await waitFor(async () => (await env.logLines()).some((l) => l.file === 'slow-producer.jsonl' && l.rows === id - 100) || id === 105 || null, {
        timeoutMs: 1500,
        message: 'the daemon to take the piece',
      }).catch(() => undefined);
    }
    await handle.close();
    // Every outcome for the file settles: nothing left in input/.
    await waitFor(async () => !(await env.files('input')).includes('slow-producer.jsonl'), { message: 'the file to leave input/' });
    const loaded = new Set(
      (await env.pool.query<{ id: string }>(`SELECT id::text FROM hostile.jsonl_rows WHERE _source_file = 'slow-producer.jsonl'`)).rows.map((r) => Number(r.id)),
    );
    const ids = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l).id as number);
    for (const file of await env.files('archive', 'h-jsonl')) {
      if (!file.startsWith('slow-producer')) continue;
      for (const id of ids(await readFile(path.join(env.folders.archive, 'h-jsonl', file), 'utf8'))) expect(loaded.has(id)).toBe(true);
    }
    // Every row written is loaded, or in a file in output_failed/ whose report says what was loaded.
    const quarantined = (await env.files('failed', 'h-jsonl')).filter((f) => f.startsWith('slow-producer') && !f.endsWith('.json'));
    const parked = new Set<number>();
    for (const file of quarantined) {
      for (const id of ids(await readFile(path.join(env.folders.failed, 'h-jsonl', file), 'utf8'))) parked.add(id);
      const report = JSON.parse(await readFile(path.join(env.folders.failed, 'h-jsonl', `${file}.error.json`), 'utf8'));
      expect(report).toMatchObject({ stage: 'settle', reason: expect.stringMatching(/^the file changed after it was read: its first \d+ bytes/) });
    }
    for (const id of written) expect(loaded.has(id) || parked.has(id)).toBe(true);
  });

  it('a loaded file that cannot be moved is retried with a growing attempt count, held, and archived once it can be', async () => {
    const env = shared();
    // A file where the dataset's archive folder should be: every move fails with ENOTDIR.
    const blocker = path.join(env.folders.archive, 'h-csv', 'blocked');
    await mkdir(path.dirname(blocker), { recursive: true });
    await writeFile(blocker, 'not a folder');
    await env.drop('blocked/stuck.csv', 'id\n7\n');
    const held = await waitFor(
      async () => (await env.logLines()).find((l) => l.file === 'blocked/stuck.csv' && l.event === 'held'),
      { message: 'the file to be held', timeoutMs: 30_000 },
    );
    const attempts = (await env.logLines()).filter((l) => l.file === 'blocked/stuck.csv' && l.event === 'retrying').map((l) => Number(l.attempt));
    expect(attempts).toEqual([...attempts].sort((a, b) => a - b));
    expect(new Set(attempts).size).toBe(attempts.length);
    expect(Number(held.attempt)).toBeGreaterThanOrEqual(5);
    expect(held.reason).toMatch(/EEXIST|ENOTDIR/);
    await rm(blocker);
    expect(await env.outcome('blocked/stuck.csv', 'loaded')).toMatchObject({ recovered: true });
    const { rows } = await env.pool.query(`SELECT count(*)::int AS n FROM hostile.csv_rows WHERE _source_file = 'blocked/stuck.csv'`);
    expect(rows[0].n).toBe(1); // loaded once, whatever the number of attempts
  });

  it('a file deleted while it is being loaded: nothing loaded, its ledger row closed as vanished', async () => {
    const env = shared();
    const lines = Array.from({ length: 300_000 }, (_, i) => `{"id": ${i + 1}, "name": "row ${i + 1} of a file that goes away"}`);
    const file = await env.drop('deleted-mid-load.jsonl', lines.join('\n') + '\n');
    await waitFor(
      async () => (await env.pool.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY%jsonl_rows%' AND state = 'active'")).rowCount,
      { message: 'the COPY to start', intervalMs: 10 },
    );
    await rm(file);
    const line = await env.outcome('deleted-mid-load.jsonl', 'vanished');
    expect(line.reason).toBe('deleted from input/ before it was loaded; nothing was loaded');
    const { rows } = await env.pool.query(`SELECT status FROM loadbay.files WHERE path = 'deleted-mid-load.jsonl'`);
    expect(rows).toEqual([{ status: 'vanished' }]);
    const loaded = await env.pool.query(`SELECT count(*)::int AS n FROM hostile.jsonl_rows WHERE _source_file = 'deleted-mid-load.jsonl'`);
    expect(loaded.rows[0].n).toBe(0);
  });

  it('the conversion log survives a failed write: lines wait and are written when it works again', async () => {
    const env = shared();
    const log = path.join(env.folders.logs, 'conversion.log');
    const before = await readFile(log, 'utf8');
    // A folder where the log file is: every append fails (EISDIR), as on a full disk.
    await rm(log);
    await mkdir(log);
    await env.drop('while-log-broken.jsonl', '{"id": 1}\n');
    await waitFor(async () => (await env.files('archive', 'h-jsonl')).includes('while-log-broken.jsonl'), { message: 'the load to finish' });
    await rm(log, { recursive: true });
    // Appended, not written: the log's retry (every second) may already have made the file and put
    // the waiting line in it; writing the old content over it would lose that line.
    await appendFile(log, before);
    await env.drop('after-log-fixed.jsonl', '{"id": 2}\n');
    // The lines themselves, in the file: the one that waited and the one after.
    const inFile = (name: string) => waitFor(async () => (await env.logLines()).find((l) => l.file === name && l.event === 'loaded'), { message: `${name} in the log` });
    expect(await inFile('while-log-broken.jsonl')).toMatchObject({ rows: 1 });
    expect(await inFile('after-log-fixed.jsonl')).toMatchObject({ rows: 1 });
  });
});
