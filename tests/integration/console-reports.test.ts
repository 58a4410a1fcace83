/**
 * Reports are found through the ledger, never by their name (issue 30, item 2): a file dropped into
 * input/ as `*.error.json` is a quarantined file of its own, whatever it says — a `failed_at` that
 * is not a string, a real file's id — through the running daemon, its console and `loadbay failed`.
 * With the ledger out of reach the CLI reads output_failed/, checking every report.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Daemon } from '../../src/daemon.js';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'reports-test-token-0123456789';

const run = (args: string[], extra: Record<string, string>) => runCli(args, { env: extra }).then((r) => ({ code: r.code, out: r.stdout, err: r.stderr }));

let env: TestEnv;
let daemon: Daemon;
const get = (route: string) => fetch(`${daemon.httpUrl}${route}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
const post = (route: string) => fetch(`${daemon.httpUrl}${route}`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });

beforeEach(async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  await appendFile(env.configFile, `  token: ${TOKEN}\n`);
  daemon = await env.start();
});
afterEach(async () => {
  await env.cleanup();
});

const BAD_JSON = JSON.stringify([{ id: 1, name: 'ok' }, { id: -2, name: 'bad' }]);

it('a dropped *.error.json whose failed_at is not a string: the console and failed list answer, and show it as a quarantined file', async () => {
  const real = await env.drop('items-real.json', BAD_JSON);
  void real;
  const realLine = await env.outcome('items-real.json', 'failed');
  await env.drop('items-real.json.error.json', JSON.stringify({ file: 'items-real.json', file_id: realLine.file_id, failed_at: 12, stage: 'read', reason: 'FORGED', problem_count: 1, groups: [], problems: [] }));
  const forgedLine = await env.outcome('items-real.json.error.json', 'failed');

  const response = await get('/api/quarantine');
  expect(response.status).toBe(200);
  const list = (await response.json()) as { files: Array<{ id: string; file: string; reason: string; path: string }> };
  expect(list.files.map((f) => [f.id, f.file]).sort()).toEqual(
    [
      [realLine.file_id, 'items-real.json'],
      [forgedLine.file_id, 'items-real.json.error.json'],
    ].sort(),
  );
  expect(list.files.every((f) => f.reason !== 'FORGED')).toBe(true);
  // The forged file did not take the real report's place, nor the other way round.
  expect(await env.files('failed', 'items-json')).toEqual(
    ['items-real-2.json.error.json', 'items-real-2.json.error.json.error.json', 'items-real.json', 'items-real.json.error.json'].sort(),
  );
  const forged = await get(`/api/quarantine/${forgedLine.file_id}`);
  expect(await forged.json()).toMatchObject({ file: 'items-real.json.error.json', path: 'items-json/items-real-2.json.error.json', report: { file: 'items-real.json.error.json' } });

  const cli = await run(['failed', 'list', '--config', env.configFile, '--json'], { DATABASE_URL: env.url });
  expect(cli.code).toBe(0);
  expect((JSON.parse(cli.out) as Array<{ file: string }>).map((f) => f.file).sort()).toEqual(['items-real.json', 'items-real.json.error.json']);
});

it('a dropped *.error.json carrying a real file id neither hides the real report nor breaks its retry', async () => {
  await env.drop('items-twin.json', BAD_JSON);
  const realLine = await env.outcome('items-twin.json', 'failed');
  const realReport = JSON.parse(await readFile(path.join(env.folders.failed, 'items-json', 'items-twin.json.error.json'), 'utf8'));
  // A perfect copy of the real report, older and with another reason: once it would have won.
  const forgedReport = { ...realReport, reason: 'FORGED', failed_at: '2000-01-01T00:00:00.000Z', quarantined_as: 'items-json/items-twin.json' };
  await env.drop('items-twin.json.error.json', JSON.stringify(forgedReport));
  const forgedLine = await env.outcome('items-twin.json.error.json', 'failed');

  const detail = (await (await get(`/api/quarantine/${realLine.file_id}`)).json()) as { report: { reason: string; file_id: string }; path: string };
  expect(detail.report.reason).toBe(realLine.reason);
  expect(detail.report.file_id).toBe(realLine.file_id);
  expect(detail.path).toBe('items-json/items-twin.json');

  const retried = await post(`/api/quarantine/${realLine.file_id}/retry`);
  expect(retried.status).toBe(200);
  expect(await retried.json()).toEqual({ retried: true, input: 'items-twin.json' });
  // The real file went back (and fails again, with its own report); the forged one stays quarantined.
  await waitFor(async () => (await env.logLines()).filter((l) => l.file === 'items-twin.json' && l.event === 'failed').length === 2, { message: 'the second failure' });
  const files = await env.files('failed', 'items-json');
  expect(files).toContain('items-twin-2.json.error.json');
  expect(JSON.parse(await readFile(path.join(env.folders.failed, 'items-json', 'items-twin-2.json.error.json'), 'utf8'))).toMatchObject({ reason: 'FORGED' });
  // Sent back once: a second retry of the same file is refused.
  expect((await post(`/api/quarantine/${realLine.file_id}/retry`)).status).toBe(409);
  const open = (await (await get('/api/quarantine')).json()) as { files: Array<{ id: string }> };
  expect(open.files.map((f) => f.id)).toContain(forgedLine.file_id);
  expect(open.files.map((f) => f.id)).not.toContain(realLine.file_id);
});

it('a dropped *.error.json quarantined first is not overwritten by the report of the file it is named after', async () => {
  const forged = JSON.stringify({ id: 'not a number', note: 'I am a quarantined file, keep me' });
  await env.drop('items-first.json.error.json', forged);
  await env.outcome('items-first.json.error.json', 'failed');
  await env.drop('items-first.json', BAD_JSON);
  const real = await env.outcome('items-first.json', 'failed');
  expect(await env.files('failed', 'items-json')).toEqual(
    ['items-first-2.json', 'items-first-2.json.error.json', 'items-first.json.error.json', 'items-first.json.error.json.error.json'].sort(),
  );
  expect(await readFile(path.join(env.folders.failed, 'items-json', 'items-first.json.error.json'), 'utf8')).toBe(forged);
  const detail = (await (await get(`/api/quarantine/${real.file_id}`)).json()) as { path: string; report: { reason: string } };
  expect(detail).toMatchObject({ path: 'items-json/items-first-2.json', report: { reason: real.reason } });
});

it('without the ledger, failed list reads output_failed/, checks every report and skips what is not one', async () => {
  await env.drop('items-alone.json', BAD_JSON);
  const realLine = await env.outcome('items-alone.json', 'failed');
  const realReport = JSON.parse(await readFile(path.join(env.folders.failed, 'items-json', 'items-alone.json.error.json'), 'utf8'));
  // Dropped: a report-shaped file with the real id (quarantined beside its own report) …
  await env.drop('items-alone.json.error.json', JSON.stringify({ ...realReport, reason: 'FORGED', quarantined_as: 'items-json/items-alone-2.json' }));
  await env.outcome('items-alone.json.error.json', 'failed');
  await daemon.stop();
  // … and, behind loadbay's back, garbage and a report with a failed_at that is a number.
  const failed = path.join(env.folders.failed, 'items-json');
  await writeFile(path.join(failed, 'garbage.error.json'), '{not json');
  await writeFile(path.join(failed, 'numbers.error.json'), JSON.stringify({ ...realReport, failed_at: 12 }));

  const offline = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' };
  const list = await run(['failed', 'list', '--config', env.configFile, '--json'], offline);
  expect(list.code).toBe(0);
  expect(list.err).toContain('the ledger cannot be asked');
  expect(list.err).toMatch(/skipped items-json[/\\]garbage\.error\.json: not a loadbay report/);
  expect(list.err).toMatch(/skipped items-json[/\\]numbers\.error\.json: not a loadbay report: \/failed_at: must be string/);
  const files = JSON.parse(list.out) as Array<{ path: string; reason: string; file_id: string }>;
  expect(files.map((f) => [f.path, f.reason === 'FORGED'])).toEqual(
    expect.arrayContaining([
      ['items-json/items-alone.json', false],
      ['items-json/items-alone-2.json.error.json', false],
    ]),
  );
  expect(files.filter((f) => f.file_id === realLine.file_id)).toHaveLength(1);
  const text = await run(['failed', 'list', '--config', env.configFile], offline);
  expect(text.code).toBe(0);
  expect(text.out).toContain('items-json/items-alone.json ');
});
