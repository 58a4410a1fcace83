/**
 * New datasets without a restart, through the built CLI as a user runs it: the daemon watches its
 * dataset files, refuses a broken set with the reason and keeps loading with the old one, looks again
 * at the unmatched files after a reload, and `loadbay reload` tells a script what each instance did.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';
import { startCli, type RunningCli } from '../helpers/cli.js';

const NOTES = 'name: notes\nmatch: "notes-*.jsonl"\nformat: jsonl\ntable: shop.notes\nschema:\n  type: object\n  required: [note]\n  properties: {note: {type: string}}\n';

type Run = RunningCli;
const run = (args: string[], env: Record<string, string> = {}): Run => startCli(args, { env });

let env: TestEnv | null = null;
let daemon: Run | null = null;
afterEach(async () => {
  if (daemon && daemon.child.exitCode === null) {
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  }
  daemon = null;
  await env?.cleanup();
  env = null;
});

async function startDaemon(): Promise<Run> {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  daemon = run(['start', '--config', env.configFile], { DATABASE_URL: env.url });
  await waitFor(() => /watching/.test(daemon!.output()), { message: 'the daemon to start' });
  return daemon;
}

const datasetsDir = () => path.join(env!.root, 'config', 'datasets');

it('a dataset file added while it runs is taken without a restart: a file of it loads', async () => {
  const d = await startDaemon();
  await writeFile(path.join(datasetsDir(), 'notes.yaml'), NOTES);
  await waitFor(() => /files changed: reloaded 4 dataset\(s\): .*notes/.test(d.output()), { message: 'the reload' });
  await env!.drop('notes-1.jsonl', '{"note": "hello"}\n');
  expect(await env!.outcome('notes-1.jsonl')).toMatchObject({ event: 'loaded', dataset: 'notes', rows: 1 });
  // A dataset file removed is taken too: its files match nothing from then on.
  await rm(path.join(datasetsDir(), 'notes.yaml'));
  await waitFor(() => /files changed: reloaded 3 dataset\(s\)/.test(d.output()), { message: 'the second reload' });
  await env!.drop('notes-2.jsonl', '{"note": "again"}\n');
  expect(await env!.outcome('notes-2.jsonl')).toMatchObject({ event: 'failed', stage: 'route' });
});

it('a broken dataset file is refused with the reason; the running set stays and still loads', async () => {
  const d = await startDaemon();
  await writeFile(path.join(datasetsDir(), 'broken.yaml'), 'name: notes\nmatch: "notes-*.jsonl"\nformat: jsonl\ntable: shop.notes\nschema: {type: object, propertiez: {}}\n');
  await waitFor(() => /files changed: configuration not reloaded, the running one stays: .*broken\.yaml: \/schema: must have required property 'properties'/.test(d.output()), { message: 'the refusal' });
  await env!.drop('items-1.jsonl', '{"id": 1, "name": "a"}\n');
  expect(await env!.outcome('items-1.jsonl')).toMatchObject({ event: 'loaded', dataset: 'items-jsonl', rows: 1 });
  // `loadbay reload` checks the files itself first: exit 2 with the reason, and nothing is signalled.
  const refused = run(['reload', '--config', env!.configFile], { DATABASE_URL: env!.url });
  expect(await refused.exit).toBe(2);
  expect(refused.output()).toMatch(/broken\.yaml: \/schema: must have required property 'properties'/);
  expect(d.output()).not.toMatch(/SIGHUP/);
});

it('a file that matched nothing goes back through the pipeline once its dataset appears', async () => {
  const d = await startDaemon();
  await env!.drop('notes-7.jsonl', '{"note": "before the dataset existed"}\n');
  expect(await env!.outcome('notes-7.jsonl')).toMatchObject({ event: 'failed', stage: 'route' });
  expect(await env!.files('failed', '_unmatched')).toEqual(['notes-7.jsonl', 'notes-7.jsonl.error.json']);
  await writeFile(path.join(datasetsDir(), 'notes.yaml'), NOTES);
  expect(await env!.outcome('notes-7.jsonl', 'loaded')).toMatchObject({ dataset: 'notes', rows: 1 });
  expect(d.output()).toMatch(/_unmatched\/notes-7\.jsonl matches dataset notes now: moved back to input\/notes-7\.jsonl/);
  const retried = (await env!.logLines()).find((l) => l.event === 'retried');
  expect(retried).toMatchObject({ file: 'notes-7.jsonl', from: '_unmatched/notes-7.jsonl' });
  // Its old report is kept, as `failed retry` keeps it.
  expect(await env!.files('failed', '_unmatched')).toEqual([expect.stringMatching(/^\.history\/notes-7\.jsonl\..*\.error\.json$/)]);
  const { rows } = await env!.pool.query('SELECT note FROM shop.notes');
  expect(rows).toEqual([{ note: 'before the dataset existed' }]);
});

it('loadbay reload signals the running daemon (not npm) and prints what it did; without a daemon it says so', async () => {
  const d = await startDaemon();
  const runFiles = await readdir(path.join(env!.root, 'logs', 'run'));
  expect(runFiles).toEqual([expect.stringMatching(new RegExp(`-${d.child.pid}-[0-9a-f]{6}\\.json$`))]);
  const unchanged = run(['reload', '--config', env!.configFile], { DATABASE_URL: env!.url });
  expect(await unchanged.exit).toBe(0);
  expect(unchanged.output()).toMatch(/\(pid \d+\): reloaded, 3 dataset\(s\): items-csv, items-json, items-jsonl/);
  expect(d.output()).toMatch(/SIGHUP: the dataset files are unchanged \(3 dataset\(s\)\)/);

  await writeFile(path.join(datasetsDir(), 'notes.yaml'), NOTES);
  const json = run(['reload', '--config', env!.configFile, '--json'], { DATABASE_URL: env!.url });
  expect(await json.exit).toBe(0);
  const [result] = JSON.parse(json.output()) as Array<{ pid: number; status: string; outcome: { datasets: string[] } }>;
  expect(result).toMatchObject({ pid: d.child.pid, status: 'reloaded', outcome: { datasets: expect.arrayContaining(['notes']) } });

  d.child.kill('SIGTERM');
  expect(await d.exit).toBe(0);
  expect(await readdir(path.join(env!.root, 'logs', 'run'))).toEqual([]); // removed at a graceful stop
  const none = run(['reload', '--config', env!.configFile], { DATABASE_URL: env!.url });
  expect(await none.exit).toBe(1);
  expect(none.output()).toMatch(/no running loadbay instance of .*loadbay\.yaml was found/);
});
