/**
 * The HTTP listener of a running daemon: Prometheus metrics after real loads, the probes (readiness
 * following the database), the status API, and the bearer token. Tests wait on the daemon's events.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import type { Daemon } from '../../src/daemon.js';
import pg from 'pg';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

/** One sample of a metric, by its labels. */
function sample(text: string, name: string, labels = ''): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').pop()) : null;
}

async function load(daemon: Daemon, name: string, content: string) {
  const loaded = daemon.events.next('loaded', (f) => f.file === name);
  await env!.drop(name, content);
  return loaded;
}

it('serves Prometheus metrics from real loads: counters, stage histograms, backlog, no file names', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const daemon = await env.start();
  expect(daemon.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await load(daemon, 'items-m1.jsonl', '{"id": 1, "name": "a"}\n{"id": 2, "name": "b"}\n');
  const failed = daemon.events.next('failed', (f) => f.file === 'items-m2.csv');
  await env.drop('items-m2.csv', 'id,name\nx,a\n');
  await failed;
  const response = await fetch(`${daemon.httpUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  expect(sample(text, 'loadbay_files_processed_total', 'outcome="loaded",dataset="items-jsonl"')).toBe(1);
  expect(sample(text, 'loadbay_files_processed_total', 'outcome="failed",dataset="items-csv"')).toBe(1);
  expect(sample(text, 'loadbay_files_discovered_total')).toBe(2);
  expect(sample(text, 'loadbay_rows_loaded_total', 'dataset="items-jsonl",table="shop.items_jsonl"')).toBe(2);
  expect(sample(text, 'loadbay_errors_total', 'stage="validate",dataset="items-csv"')).toBe(1);
  expect(sample(text, 'loadbay_stage_duration_seconds_count', 'stage="commit"')).toBe(1);
  expect(sample(text, 'loadbay_backlog_files')).toBe(0);
  expect(sample(text, 'loadbay_files_in_progress')).toBe(0);
  expect(sample(text, 'loadbay_quarantined_files')).toBe(1);
  expect(sample(text, 'loadbay_ready')).toBe(1);
  expect(sample(text, 'loadbay_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
  expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  expect(text).not.toMatch(/items-m1|items-m2/);
  // The shipped dashboard and alert rules use only metrics that exist.
  const exposed = new Set([...text.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]));
  for (const file of ['grafana-dashboard.json', 'prometheus-alerts.yml']) {
    const shipped = await readFile(path.join(PROJECT_ROOT, 'docs', 'monitoring', file), 'utf8');
    for (const [name] of shipped.matchAll(/\b(loadbay|process|nodejs)_[a-z0-9_]+/g)) {
      expect([file, name, exposed.has(name.replace(/_(bucket|count|sum)$/, '')) || exposed.has(name)]).toEqual([file, name, true]);
    }
  }
});

it('probes: live and ready; not ready while the database refuses connections, ready when it is back; status as JSON', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const daemon = await env.start();
  const live = await fetch(`${daemon.httpUrl}/livez`);
  expect(live.status).toBe(200);
  expect(await live.json()).toMatchObject({ status: 'ok', checks: [{ name: 'event_loop', ok: true }, { name: 'watcher', ok: true }] });
  const ready = await fetch(`${daemon.httpUrl}/readyz`);
  expect(ready.status).toBe(200);
  expect(((await ready.json()) as { checks: Array<{ name: string }> }).checks.map((c) => c.name)).toEqual(
    expect.arrayContaining(['database', 'ledger', 'watcher', `free_space ${env.folders.archive}`]),
  );
  await load(daemon, 'items-s1.jsonl', '{"id": 1, "name": "a"}\n');
  // The status comes from conversion.log (as `loadbay status`, same code): the line lands right after the event.
  const status = await waitFor(async () => {
    const body = (await (await fetch(`${daemon.httpUrl}/api/status`)).json()) as { overall: { loaded: number } };
    return body.overall.loaded === 1 ? body : null;
  }, { message: 'the status to count the load' });
  expect(status).toMatchObject({ ready: true, overall: { loaded: 1, failed: 0, skipped: 0 }, waiting: [], in_progress: [] });

  // The database goes away: not ready, with the reason; back: ready.
  const name = new URL(env.url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: new URL('/postgres', env.url).toString() });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    await waitFor(async () => (await fetch(`${daemon.httpUrl}/readyz`)).status === 503, { message: 'readyz 503' });
    const body = (await (await fetch(`${daemon.httpUrl}/readyz`)).json()) as { checks: Array<{ name: string; ok: boolean }> };
    expect(body.checks.find((c) => c.name === 'database')).toMatchObject({ ok: false });
  } finally {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    await admin.end();
  }
  await waitFor(async () => (await fetch(`${daemon.httpUrl}/readyz`)).status === 200, { message: 'readyz 200 again' });
  await load(daemon, 'items-s2.jsonl', '{"id": 2, "name": "b"}\n');
});

it('without a token the console is read-only: an action is refused and says how to enable it', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const daemon = await env.start();
  const failed = daemon.events.next('failed', (f) => f.file === 'items-r.csv');
  await env.drop('items-r.csv', 'id,name\nx,a\n');
  const { file_id } = await failed;
  expect((await fetch(`${daemon.httpUrl}/api/quarantine/${String(file_id)}`)).status).toBe(200);
  const retry = await fetch(`${daemon.httpUrl}/api/quarantine/${String(file_id)}/retry`, { method: 'POST' });
  expect(retry.status).toBe(403);
  expect(await retry.json()).toEqual({ error: expect.stringMatching(/^Read-only: to retry or fix files here, set http\.token .* or LOADBAY_HTTP_TOKEN, and restart loadbay/) });
  expect(await env.files('failed', 'items-csv')).toEqual(['items-r.csv', 'items-r.csv.error.json']);
});

it('answers only GET, says which routes exist, and requires the token when one is set', async () => {
  env = await createTestEnv({ datasets: ITEM_DATASETS });
  const { appendFile } = await import('node:fs/promises');
  await appendFile(env.configFile, '  token: a-long-enough-test-token\n');
  const daemon = await env.start();
  const auth = { Authorization: 'Bearer a-long-enough-test-token' };
  expect((await fetch(`${daemon.httpUrl}/metrics`)).status).toBe(401);
  expect((await fetch(`${daemon.httpUrl}/metrics`, { headers: { Authorization: 'Bearer wrong-token-of-the-same-size!' } })).status).toBe(401);
  expect((await fetch(`${daemon.httpUrl}/metrics`, { headers: auth })).status).toBe(200);
  expect((await fetch(`${daemon.httpUrl}/livez`, { method: 'POST', headers: auth })).status).toBe(405);
  expect((await fetch(`${daemon.httpUrl}/livez`, { method: 'DELETE', headers: auth })).status).toBe(405);
  const missing = await fetch(`${daemon.httpUrl}/../../etc/passwd`, { headers: auth });
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ error: 'not found', routes: ['/', '/metrics', '/livez', '/readyz', '/api/status'] });
  // A browser without the token is sent to sign in.
  const page = await fetch(`${daemon.httpUrl}/quarantine`, { headers: { Accept: 'text/html' }, redirect: 'manual' });
  expect([page.status, page.headers.get('location')]).toEqual([303, '/login']);
});
