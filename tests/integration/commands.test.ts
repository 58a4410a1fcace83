/**
 * The command line for people who work with the quarantine: validate, infer, failed list / show /
 * retry, status — the built CLI against real folders and, where it loads, a real database.
 */
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Daemon } from '../../src/daemon.js';
import { createTestEnv, PROJECT_ROOT, type TestEnv } from '../helpers/env.js';
import { runCli } from '../helpers/cli.js';


const run = (args: string[], cwd = PROJECT_ROOT, env: Record<string, string> = {}) => runCli(args, { cwd, env });

const AGES = (max: number) => `name: people\nmatch: "people-*.csv"\nformat: csv\ntable: p.people\nschema:\n  type: object\n  required: [id, age]\n  properties:\n    id: { type: integer }\n    age: { type: integer, maximum: ${max} }\n`;

let env: TestEnv;
let daemon: Daemon | null = null;
beforeEach(async () => {
  env = await createTestEnv({ datasets: { 'people.yaml': AGES(100) } });
});
afterEach(async () => {
  await env.cleanup();
  daemon = null;
});

async function tree(): Promise<string[]> {
  return ((await readdir(env.root, { recursive: true })) as string[]).sort();
}

it('validate: exit 0 for a file that would load, 1 for one that would not, and writes nothing', async () => {
  const good = path.join(env.root, 'people-good.csv');
  const bad = path.join(env.root, 'people-bad.csv');
  await writeFile(good, 'id,age\n1,30\n2,40\n');
  await writeFile(bad, 'id,age\n1,30\n2,140\n3,x\n');
  const before = await tree();
  const ok = await run(['validate', good, '--config', env.configFile]);
  expect(ok).toMatchObject({ code: 0 });
  expect(ok.out).toContain('would load 2 rows into dataset people');
  const no = await run(['validate', bad, '--config', env.configFile]);
  expect(no.code).toBe(1);
  expect(no.out).toContain('would be rejected at validate');
  expect(no.out).toContain('field "age": 1 row: maximum: must be <= 100 (first at line 3; e.g. 140)');
  expect(no.out).toContain('field "age": 1 row: type: must be integer (first at line 4; e.g. "x")');
  const json = JSON.parse((await run(['validate', bad, '--config', env.configFile, '--json'])).out);
  expect(json).toMatchObject({ would_load: false, rejected: 2, dataset: 'people' });
  expect(await tree()).toEqual(before);
});

it('infer: a definition that check-config accepts and that loads the same file (CSV and JSONL)', async () => {
  const samples = [
    ['weather-2024.csv', 'station;day;temp;wind;rain;kind\n' + Array.from({ length: 40 }, (_, i) => `S${i % 3};2024-01-${String((i % 28) + 1).padStart(2, '0')};${(i % 7) - 2.5};${i % 9};${i % 2 ? 'yes' : 'no'};${['sun', 'rain', 'snow'][i % 3]}`).join('\n') + '\n'],
    ['events-7.jsonl', Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: i + 1, at: `2024-05-01T10:00:${String(i).padStart(2, '0')}Z`, score: i / 2, tags: ['a'], note: i % 2 ? 'x' : undefined })).join('\n') + '\n'],
  ] as const;
  for (const [name, content] of samples) {
    const sample = path.join(env.root, name);
    await writeFile(sample, content);
    const inferred = await run(['infer', sample]);
    expect(inferred.code).toBe(0);
    expect(inferred.out).toMatch(/^# Inferred by `loadbay infer`/);
    await writeFile(path.join(env.root, 'config', 'datasets', `${name}.yaml`), inferred.out);
  }
  const text = await readFile(path.join(env.root, 'config', 'datasets', 'weather-2024.csv.yaml'), 'utf8');
  expect(text).toContain('delimiter: ;');
  expect(text).toMatch(/day:\n\s+type: string\n\s+format: date/);
  expect(text).toMatch(/kind:\n\s+type: string\n\s+enum:\n\s+- rain\n\s+- snow\n\s+- sun/);
  expect(text).toMatch(/rain:\n\s+type: boolean/);
  const check = await run(['check-config', '--config', env.configFile]);
  expect(check).toMatchObject({ code: 0 });
  expect(check.out).toContain('3 dataset(s)');
  daemon = await env.start();
  for (const [name] of samples) {
    await copyFile(path.join(env.root, name), path.join(env.folders.input, name));
  }
  expect(await env.outcome('weather-2024.csv')).toMatchObject({ event: 'loaded', rows: 40 });
  expect(await env.outcome('events-7.jsonl')).toMatchObject({ event: 'loaded', rows: 30 });
});

it('failed list and show point at the problem; failed retry brings the file back and it loads once the dataset is fixed', async () => {
  daemon = await env.start();
  await env.drop('people-old.csv', 'id,age\n1,30\n2,104\n3,120\n');
  await env.outcome('people-old.csv', 'failed');

  // The quarantine is found through the ledger: the commands reach this test's database.
  const ledger = { DATABASE_URL: env.url };
  const list = await run(['failed', 'list', '--config', env.configFile], PROJECT_ROOT, ledger);
  expect(list.code).toBe(0);
  expect(list.out).toMatch(/people\s+people\/people-old\.csv\s+validate\s+2 problems; first: line 3, field "age" = 104/);
  const listed = JSON.parse((await run(['failed', 'list', '--config', env.configFile, '--json', '--since', '1h'], PROJECT_ROOT, ledger)).out);
  expect(listed).toHaveLength(1);

  const show = await run(['failed', 'show', 'people-old.csv', '--config', env.configFile], PROJECT_ROOT, ledger);
  expect(show.code).toBe(0);
  expect(show.out).toContain('field "age": 2 rows: maximum: must be <= 100 (first at lines 3, 4; e.g. 104)');
  expect(show.out).toContain('     3 | 2,»104«');
  expect(show.out).toContain('         ^ age: maximum: must be <= 100');

  // The data was right, the dataset too strict: fix it, restart, retry.
  await daemon.stop();
  await writeFile(path.join(env.root, 'config', 'datasets', 'people.yaml'), AGES(130));
  daemon = await env.start();
  const retry = await run(['failed', 'retry', 'people-old.csv', '--config', env.configFile], PROJECT_ROOT, ledger);
  expect(retry).toMatchObject({ code: 0 });
  expect(retry.out).toContain('people/people-old.csv → input/people-old.csv');
  expect(await env.outcome('people-old.csv', 'loaded')).toMatchObject({ rows: 3 });
  expect((await env.logLines()).some((l) => l.event === 'retried' && l.file === 'people-old.csv')).toBe(true);
  const history = await readdir(path.join(env.folders.failed, 'people', '.history'));
  expect(history).toEqual([expect.stringMatching(/^people-old\.csv\..+\.error\.json$/)]);

  const status = JSON.parse((await run(['status', '--config', env.configFile, '--json'])).out);
  expect(status.overall).toEqual({ loaded: 1, failed: 1, skipped: 0 });
  expect(status.rows_loaded.overall).toBe(3);
  expect((await run(['failed', 'retry', '--config', env.configFile], PROJECT_ROOT, ledger)).code).toBe(2);
  // The ledger knows it was sent back: it is no longer waiting for a fix.
  expect(JSON.parse((await run(['failed', 'list', '--config', env.configFile, '--json'], PROJECT_ROOT, ledger)).out)).toEqual([]);
});

it('status counts every waiting file but names at most a thousand, and every stuck one', async () => {
  const names = Array.from({ length: 1500 }, (_, i) => `people-${String(i).padStart(4, '0')}.csv`);
  await Promise.all(names.map((name) => writeFile(path.join(env.folders.input, name), 'id,age\n1,2\n')));
  const at = new Date().toISOString();
  const lines = [
    { timestamp: at, event: 'retrying', file: 'people-1499.csv', reason: 'the database is down' },
    { timestamp: at, event: 'retrying', file: 'people-0001.csv', reason: 'the database is down' },
    { timestamp: at, event: 'loaded', file: 'people-0001.csv', rows: 1 },
  ];
  await mkdir(env.folders.logs, { recursive: true });
  await writeFile(path.join(env.folders.logs, 'conversion.log'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const status = JSON.parse((await run(['status', '--config', env.configFile, '--json'])).out);
  expect(status.inputs).toEqual([expect.objectContaining({ waiting: 1500, more: false })]);
  expect(status.waiting).toHaveLength(1000);
  expect(status.waiting).toEqual(names.slice(0, 1000));
  expect(status.stuck).toEqual([{ file: 'people-1499.csv', event: 'retrying', reason: 'the database is down', at }]);
  const text = (await run(['status', '--config', env.configFile])).out;
  expect(text).toContain('waiting in input/: 1500 (people-0000.csv,');
});

it('status names the files waiting in each input under that input', async () => {
  const two = await createTestEnv({ datasets: { 'people.yaml': AGES(100) }, folders: { input: ['input', 'input-b'] } });
  try {
    await writeFile(path.join(two.folders.input, 'people-a.csv'), 'id,age\n1,2\n');
    await mkdir(path.join(two.root, 'input-b'), { recursive: true });
    await writeFile(path.join(two.root, 'input-b', 'people-b.csv'), 'id,age\n1,2\n');
    const text = (await run(['status', '--config', two.configFile])).out;
    expect(text).toContain('waiting in input/: 1 (people-a.csv)\n');
    expect(text).toContain('waiting in input-b/: 1 (people-b.csv)\n');
  } finally {
    await two.cleanup();
  }
});

it('status says when an input cannot be listed, instead of counting nothing', async () => {
  await rm(env.folders.input, { recursive: true, force: true });
  await writeFile(env.folders.input, 'not a folder');
  const status = JSON.parse((await run(['status', '--config', env.configFile, '--json'])).out);
  expect(status.inputs).toEqual([expect.objectContaining({ waiting: 0, more: true, error: expect.stringMatching(/ENOTDIR/) })]);
  expect((await run(['status', '--config', env.configFile])).out).toMatch(/waiting in input\/: 0\+ — cannot list: .*ENOTDIR/);
});

it('status shows the files an instance holds right now, from the ledger and the claim locks', async () => {
  daemon = await env.start();
  await daemon.stop(); // the ledger exists now
  await writeFile(path.join(env.folders.input, 'people-busy.csv'), 'id,age\n1,2\n');
  await writeFile(path.join(env.folders.input, 'people-next.csv'), 'id,age\n1,2\n');
  await env.pool.query(
    "INSERT INTO loadbay.files (path, size, mtime_ms, status, instance_id) VALUES ('people-busy.csv', 11, 0, 'processing', 'other-host-1-abc')",
  );
  const holder = await env.pool.connect();
  try {
    await holder.query("SELECT pg_advisory_lock(hashtextextended('loadbay:file:people-busy.csv', 0))");
    const status = JSON.parse((await run(['status', '--config', env.configFile, '--json'], PROJECT_ROOT, { DATABASE_URL: env.url })).out);
    expect(status.in_progress).toEqual([expect.objectContaining({ file: 'people-busy.csv', instance: 'other-host-1-abc', attempts: 1 })]);
    expect(status.waiting).toEqual(['people-next.csv']);
  } finally {
    holder.release(true);
  }
  const after = JSON.parse((await run(['status', '--config', env.configFile, '--json'], PROJECT_ROOT, { DATABASE_URL: env.url })).out);
  expect(after.in_progress).toEqual([]);
  expect(after.waiting.sort()).toEqual(['people-busy.csv', 'people-next.csv']);
});
