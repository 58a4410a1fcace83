/**
 * The quarantine in a bucket, for the people who fix files: `loadbay failed list | show | retry`
 * and the console's quarantine pages (the list, a file's report and offending lines, its download,
 * retry and fix in the page) when the quarantine and the input are prefixes in object storage. A
 * retried or fixed file goes back into the input prefix it came from, and loads from there.
 */
import { spawn } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import { s3Section, useBucket } from '../helpers/s3.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.js');
const TOKEN = 's3-quarantine-test-token-0123456789';
const bucket = useBucket();
let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

function run(args: string[], extra: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...extra } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const BAD = 'id,name,price\n1,ok,1\n2,,2\n';

it('`loadbay failed list | show | retry` with the quarantine and the input in a bucket', async () => {
  const b = bucket();
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: ['input', `s3://${b.name}/in/`], failed: `s3://${b.name}/failed/` }, s3: s3Section() });
  const daemon = await env.start();
  await b.put('in/sub/items-bad.csv', BAD);
  const failed = await env.outcome('sub/items-bad.csv', 'failed');
  const cli = { DATABASE_URL: env.url };

  const list = await run(['failed', 'list', '--config', env.configFile], cli);
  expect(list.code).toBe(0);
  expect(list.out).toContain('items-csv/sub/items-bad.csv');
  const show = await run(['failed', 'show', 'items-bad.csv', '--config', env.configFile], cli);
  expect(show.code).toBe(0);
  expect(show.out).toContain('items-csv/sub/items-bad.csv — validate failed');
  expect(show.out).toMatch(/ {5}3 \| 2,,2/); // the offending line, read from the object

  // Back into the prefix it came from; its report kept in .history/ in the bucket.
  await daemon.stop();
  const retry = await run(['failed', 'retry', 'items-bad.csv', '--config', env.configFile], cli);
  expect(retry.code).toBe(0);
  expect(retry.out).toContain(`items-csv/sub/items-bad.csv → s3://${b.name}/in/sub/items-bad.csv`);
  const keys = await b.keys();
  expect(keys).toContain('in/sub/items-bad.csv');
  expect(keys.filter((k) => k.startsWith('failed/items-csv/.history/') && k.endsWith('.error.json'))).toHaveLength(1);
  expect(keys).not.toContain('failed/items-csv/sub/items-bad.csv');
  const { rows } = await env.pool.query<{ kind: string; input_path: string }>('SELECT kind, input_path FROM loadbay.resubmissions WHERE file_id = $1', [failed.file_id]);
  expect(rows).toEqual([{ kind: 'retry', input_path: `s3://${b.name}/in/sub/items-bad.csv` }]);
  // Loaded from there again (it fails again: nothing was changed).
  await env.start();
  await waitFor(async () => (await env!.pool.query(`SELECT 1 FROM loadbay.files WHERE path = $1 AND status = 'failed' AND id > $2`, [`s3://${b.name}/in/sub/items-bad.csv`, failed.file_id])).rowCount === 1, {
    message: 'the retried object quarantined again',
  });
});

it("the console's quarantine pages: report, offending lines, download and fix in the page, the fixed file loaded from the bucket", async () => {
  const b = bucket();
  env = await createTestEnv({ datasets: ITEM_DATASETS, folders: { input: `s3://${b.name}/in/`, failed: `s3://${b.name}/failed/` }, s3: s3Section() });
  await appendFile(env.configFile, `  token: ${TOKEN}\n`);
  const daemon = await env.start();
  const headers = { authorization: `Bearer ${TOKEN}` };
  await b.put('in/items-page.csv', BAD);
  const failed = await env.outcome('items-page.csv', 'failed');
  const id = String(failed.file_id);

  const list = (await (await fetch(`${daemon.httpUrl}/api/quarantine`, { headers })).json()) as { files: Array<{ id: string; present: boolean; path: string }> };
  expect(list.files).toEqual([expect.objectContaining({ id, present: true, path: 'items-csv/items-page.csv' })]);
  const one = (await (await fetch(`${daemon.httpUrl}/api/quarantine/${id}`, { headers })).json()) as {
    offending: Array<{ line: number; text: string }>;
    fix: { editable: boolean; lines: Array<{ line: number; text: string }> };
  };
  expect(one.offending).toEqual([expect.objectContaining({ line: 3, text: '2,,2' })]);
  expect(one.fix).toMatchObject({ editable: true, lines: [{ line: 3, text: '2,,2' }] });
  const download = await fetch(`${daemon.httpUrl}/api/quarantine/${id}/file`, { headers });
  expect(download.status).toBe(200);
  expect(download.headers.get('content-disposition')).toContain('items-page.csv');
  expect(await download.text()).toBe(BAD);

  const fixed = await fetch(`${daemon.httpUrl}/api/quarantine/${id}/fix`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ edits: [{ line: 3, before: '2,,2', after: '2,two,2' }] }),
  });
  expect(fixed.status).toBe(200);
  expect(await fixed.json()).toEqual({ fixed: true, input: `s3://${b.name}/in/fixed-${id}/items-page.csv` });
  expect(await env.outcome(`fixed-${id}/items-page.csv`, 'loaded')).toMatchObject({ rows: 2 });
  expect((await b.get(`archive/items-csv/fixed-${id}/items-page.csv`).catch(() => null)) ?? null).toBeNull(); // archive/ is local here
  expect(await env.files('archive', 'items-csv')).toEqual([path.join(`fixed-${id}`, 'items-page.csv')]);
  // The original stays quarantined, marked as fixed.
  expect((await b.get('failed/items-csv/items-page.csv')).toString()).toBe(BAD);
  const after = (await (await fetch(`${daemon.httpUrl}/api/quarantine/${id}`, { headers })).json()) as { resubmission: { kind: string; next: { status: string } | null } };
  expect(after.resubmission).toMatchObject({ kind: 'fix', next: { status: 'loaded' } });
});
