/**
 * What a newcomer sees on a first run, through the built CLI and a running daemon: the start-up line
 * names the console, the README's command over conversion.log shows the loads, a file no dataset
 * claims gets a report with its real sha256 and size, and a table loadbay creates declares the
 * schema's required columns NOT NULL (an existing one without the constraint is still loaded into).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.js');

let env: TestEnv | null = null;
let daemon: { child: ChildProcess; output: () => string; exit: Promise<number | null> } | null = null;
afterEach(async () => {
  if (daemon && daemon.child.exitCode === null) {
    daemon.child.kill('SIGTERM');
    await daemon.exit;
  }
  daemon = null;
  await env?.cleanup();
  env = null;
});

function start(): NonNullable<typeof daemon> {
  const child = spawn(process.execPath, [CLI, 'start', '--config', env!.configFile], { env: { ...process.env, DATABASE_URL: env!.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, output: () => output, exit: new Promise((resolve) => child.on('exit', resolve)) };
}

it("the start-up line names the console; the README's command shows the loads; an unmatched file's report has its sha256 and size", async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  daemon = start();
  await waitFor(() => /watching/.test(daemon!.output()), { message: 'the daemon to start' });
  const url = /http: (http:\/\/127\.0\.0\.1:\d+)\/ \(console\), \/metrics, \/livez, \/readyz, \/api\/status/.exec(daemon.output())?.[1];
  expect(url).toBeDefined();
  const console = await fetch(`${url}/`, { headers: { Accept: 'text/html' } });
  expect(console.status).toBe(200);
  expect(console.headers.get('content-type')).toMatch(/text\/html/);

  const stray = 'a,b\n1,2\n3,4\n';
  await env.drop('items-1.jsonl', '{"id": 1, "name": "a"}\n');
  await env.drop('stray.csv', stray);
  await env.drop('items-2.jsonl', '{"id": 2, "name": "b"}\n{"id": 3, "name": "c"}\n');
  for (const file of ['items-1.jsonl', 'stray.csv', 'items-2.jsonl']) await env.outcome(file);

  const report = JSON.parse(await readFile(path.join(env.folders.failed, '_unmatched', 'stray.csv.error.json'), 'utf8')) as { sha256: string; bytes: number; stage: string };
  expect(report).toMatchObject({ stage: 'route', sha256: createHash('sha256').update(stray).digest('hex'), bytes: Buffer.byteLength(stray) });
  const { rows } = await env.pool.query("SELECT sha256 FROM loadbay.files WHERE path LIKE '%stray.csv'");
  expect(rows).toEqual([{ sha256: report.sha256 }]);

  // The quick start's command, as the README has it, run in the project's folder.
  const readme = await readFile(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const command = /^(grep .*logs\/conversion\.log.*?)\s+#/m.exec(readme)?.[1];
  expect(command).toBeDefined();
  const shown = spawnSync('sh', ['-c', command!], { cwd: env.root, encoding: 'utf8' });
  const lines = shown.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; file: string });
  expect(lines.map((l) => [l.event, l.file]).sort()).toEqual([
    ['loaded', 'items-1.jsonl'],
    ['loaded', 'items-2.jsonl'],
  ]);
});

it('required columns are NOT NULL in a table loadbay creates; an existing table without the constraint is not held', async () => {
  const people = (table: string) =>
    `name: people-${table}\nmatch: "${table}-*.jsonl"\nformat: jsonl\ntable: p.${table}\nschema:\n  type: object\n  required: [id, name, note, size]\n  properties:\n` +
    '    id: { type: integer }\n    name: { type: string }\n    note: { type: [string, "null"] }\n    size: { enum: [S, M, null] }\n    price: { type: number }\n';
  env = await createTestEnv({ datasets: { 'made.yaml': people('made'), 'kept.yaml': people('kept') } });
  await env.pool.query('CREATE SCHEMA p; CREATE TABLE p.kept (id bigint, name text, note text, size text, price double precision, "_file_id" bigint, "_source_file" text, "_source_record" bigint, "_loaded_at" timestamptz NOT NULL DEFAULT now())');
  const check = spawnSync(process.execPath, [CLI, 'check-config', '--config', env.configFile], { env: { ...process.env, DATABASE_URL: env.url }, encoding: 'utf8' });
  expect(check.status).toBe(0);
  expect(check.stdout).toContain('people-kept: "p"."kept" fits');
  daemon = start();
  await waitFor(() => /watching/.test(daemon!.output()), { message: 'the daemon to start' });
  const nullable = async (table: string) =>
    (await env!.pool.query("SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'p' AND table_name = $1 AND column_name NOT LIKE '\\_%' ORDER BY column_name", [table])).rows;
  expect(await nullable('made')).toEqual([
    { column_name: 'id', is_nullable: 'NO' },
    { column_name: 'name', is_nullable: 'NO' },
    { column_name: 'note', is_nullable: 'YES' },
    { column_name: 'price', is_nullable: 'YES' },
    { column_name: 'size', is_nullable: 'YES' },
  ]);
  for (const table of ['made', 'kept']) {
    await env.drop(`${table}-1.jsonl`, '{"id": 1, "name": "a", "note": null, "size": null}\n{"id": 2, "name": "b", "note": "x", "size": "S", "price": 2.5}\n');
    expect(await env.outcome(`${table}-1.jsonl`)).toMatchObject({ event: 'loaded', rows: 2 });
  }
  expect((await nullable('kept')).every((c: { is_nullable: string }) => c.is_nullable === 'YES')).toBe(true);
});
