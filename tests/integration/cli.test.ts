/**
 * The built CLI as a user runs it: configuration errors, a graceful stop on SIGTERM, and a restart
 * after SIGKILL in the middle of work.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ITEM_DATASETS } from '../helpers/datasets.js';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';
import { CLI, startCli, type RunningCli } from '../helpers/cli.js';


type Run = RunningCli;
const run = (args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Run => startCli(args, { env, nodeArgs });

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

describe('configuration errors stop loadbay with exit code 2 and name the file and the path inside it', () => {
  it.each([
    ['an unknown key', 'processing:\n  concurency: 2\n', /loadbay\.yaml: \/processing: unknown key "concurency"/],
    ['a wrong type', 'processing:\n  concurrency: many\n', /loadbay\.yaml: \/processing\/concurrency: must be integer/],
    ['broken YAML', 'processing: [\n', /loadbay\.yaml: line \d+, column \d+/],
    ['a listener on all interfaces without a token', 'http:\n  host: 0.0.0.0\n', /loadbay\.yaml: \/http\/host: listening on 0\.0\.0\.0 needs http\.token \(or LOADBAY_HTTP_TOKEN\)/],
  ])('%s in loadbay.yaml', async (_what, text, message) => {
    env = await createTestEnv({ datasets: ITEM_DATASETS });
    await writeFile(env.configFile, text);
    const result = run(['start', '--config', env.configFile]);
    expect(await result.exit).toBe(2);
    expect(result.output()).toMatch(message);
  });

  it.each([
    ['a missing key', 'name: x\nformat: csv\ntable: t\nschema: {properties: {a: {type: string}}}\n', /bad\.yaml: \/: must have required property 'match'/],
    ['a bad format', 'name: x\nmatch: "*.csv"\nformat: xml\ntable: t\nschema: {properties: {a: {type: string}}}\n', /bad\.yaml: \/format: must be equal to one of the allowed values \(csv, jsonl, json\)/],
    ['a column of two types', 'name: x\nmatch: "*.csv"\nformat: csv\ntable: t\nschema: {properties: {a: {type: [string, integer]}}}\n', /bad\.yaml: \/schema\/properties\/a\/type: give exactly one type/],
    ['an enum of mixed types', 'name: x\nmatch: "*.csv"\nformat: csv\ntable: t\nschema: {properties: {a: {enum: [1, "one"]}}}\n', /bad\.yaml: \/schema\/properties\/a: the enum\/const values are of several types \(integer, string\); give a "type"/],
    ['an invalid JSON Schema', 'name: x\nmatch: "*.csv"\nformat: csv\ntable: t\nschema: {properties: {a: {type: string, minLength: -1}}}\n', /bad\.yaml: \/schema: not a valid JSON Schema/],
  ])('%s in a dataset file', async (_what, text, message) => {
    env = await createTestEnv({ datasets: { 'bad.yaml': text } });
    const result = run(['check-config', '--config', env.configFile]);
    expect(await result.exit).toBe(2);
    expect(result.output()).toMatch(message);
  });

  it.each([
    ['an export triggered by a dataset that does not exist', { 'a.yaml': 'name: a\nmatch: "a*.csv"\nformat: csv\ntable: t.a\nschema: {properties: {x: {type: string}}}\nexport: {query: "SELECT 1", to: exports/x.csv, after: [a, nope]}\n' }, /a\.yaml: \/export\/after\/1: no dataset is named "nope"/],
    ['one export target declared twice', {
      'a.yaml': 'name: a\nmatch: "a*.csv"\nformat: csv\ntable: t.a\nschema: {properties: {x: {type: string}}}\nexport: {query: "SELECT 1", to: exports/x.csv}\n',
      'b.yaml': 'name: b\nmatch: "b*.csv"\nformat: csv\ntable: t.b\nschema: {properties: {x: {type: string}}}\nexport: {query: "SELECT 2", to: exports/x.csv}\n',
    }, /b\.yaml: \/export\/to: .*exports\/x\.csv is also written by the export in .*a\.yaml; declare it once, with after: \[the datasets that trigger it\]/],
  ])('%s', async (_what, datasets, message) => {
    env = await createTestEnv({ datasets });
    const result = run(['check-config', '--config', env.configFile]);
    expect(await result.exit).toBe(2);
    expect(result.output()).toMatch(message);
  });

  it('accepts the shipped configuration', async () => {
    const result = run(['check-config', '--config', path.join(PROJECT_ROOT, 'config', 'loadbay.yaml')]);
    expect(await result.exit).toBe(0);
    expect(result.output()).toMatch(/valid, \d+ dataset\(s\)/);
  });

  it('rejects an unknown option', async () => {
    const result = run(['start', '--no-such-flag']);
    expect(await result.exit).toBe(2);
    expect(result.output()).toMatch(/unknown option '--no-such-flag'/);
  });
});

describe('small commands', () => {
  it('prints its version', async () => {
    const result = run(['--version']);
    expect(await result.exit).toBe(0);
    expect(result.output().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('stops quietly when its output is closed early (check-config | head -1)', async () => {
    const child = spawn(process.execPath, [CLI, 'check-config', '--config', path.join(PROJECT_ROOT, 'config', 'loadbay.yaml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.once('data', () => child.stdout!.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });

  it('infer takes --config like every other command', async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS, limits: { max_columns: 2 } });
    const sample = path.join(env.root, 'wide.csv');
    await writeFile(sample, 'a,b,c\n1,2,3\n');
    const result = run(['infer', sample, '--config', env.configFile]);
    expect(await result.exit).toBe(1);
    expect(result.output()).toContain('line 1: the header has 3 fields, over limits.max_columns (2)');
  });
});

describe('the daemon process', () => {
  it('stops gracefully on SIGTERM with exit code 0 and never logs the password', async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS });
    const withPassword = new URL(env.url);
    withPassword.password = 's3cret-pw';
    const daemon = run(['start', '--config', env.configFile], { DATABASE_URL: withPassword.toString() });
    await env.drop('items-cli.jsonl', '{"id": 1, "name": "one"}\n');
    await env.outcome('items-cli.jsonl', 'loaded');
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
    expect(daemon.output()).toMatch(/loaded\s+items-cli\.jsonl → items-jsonl \(1 rows/);
    expect(daemon.output()).not.toContain('s3cret-pw');
    expect(daemon.output()).not.toMatch(/connection lost|Error/);
  });

  it('stops at once on SIGTERM while it waits for an unreachable database, and redacts every password shape', async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { retry_initial_ms: 50, retry_max_ms: 200 } });
    const daemon = run(['start', '--config', env.configFile], { DATABASE_URL: 'postgres://alice:p@ssS3cretC@127.0.0.1:1/db?sslmode=disable' });
    await waitFor(() => (daemon.output().match(/waiting/g) ?? []).length >= 3, { message: 'a few waiting lines', timeoutMs: 30_000 });
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
    const waiting = (await env.logLines()).filter((l) => l.event === 'waiting').length;
    expect(waiting).toBeLessThan(50);
    expect(daemon.output()).not.toMatch(/ssS3cretC|p@ss/);
    expect(daemon.output()).toContain('database: postgres://alice:***@127.0.0.1:1/db?sslmode=disable');
  });

  it('reloads the dataset files on SIGHUP, and keeps the running ones when the new files are invalid', async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS });
    const daemon = run(['start', '--config', env.configFile], { DATABASE_URL: env.url });
    try {
      await waitFor(() => /watching/.test(daemon.output()), { message: 'the daemon to start' });
      await env.drop('notes-1.jsonl', '{"note": "before the dataset existed"}\n');
      expect(await env.outcome('notes-1.jsonl')).toMatchObject({ event: 'failed', stage: 'route' });
      const datasets = path.join(env.root, 'config', 'datasets');
      await writeFile(path.join(datasets, 'broken.yaml'), 'name: [\n');
      daemon.child.kill('SIGHUP');
      await waitFor(() => /SIGHUP: configuration not reloaded, the running one stays: .*broken\.yaml/.test(daemon.output()), { message: 'the refusal' });
      await writeFile(path.join(datasets, 'broken.yaml'), 'name: notes\nmatch: "notes-*.jsonl"\nformat: jsonl\ntable: shop.notes\nschema: {properties: {note: {type: string}}}\n');
      daemon.child.kill('SIGHUP');
      await waitFor(() => /reloaded 4 dataset\(s\)/.test(daemon.output()), { message: 'the reload' });
      await env.drop('notes-2.jsonl', '{"note": "after"}\n');
      expect(await env.outcome('notes-2.jsonl')).toMatchObject({ event: 'loaded', dataset: 'notes', rows: 1 });
    } finally {
      daemon.child.kill('SIGTERM');
      expect(await daemon.exit).toBe(0);
    }
  });

  it('survives, at the default limits and with npm start\'s heap, the files that crashed it out of memory', async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { concurrency: 4 } });
    const daemon = run(['start', '--config', env.configFile], { DATABASE_URL: env.url }, ['--max-old-space-size=1024']);
    try {
      await waitFor(() => /watching/.test(daemon.output()), { message: 'the daemon to start' });
      // Four CSVs at once whose header has 1.5M columns, and a JSONL line of 5M {}.
      const header = Array.from({ length: 1_500_000 }, (_, i) => `c${i}`).join(',');
      const names = ['items-wide-1.csv', 'items-wide-2.csv', 'items-wide-3.csv', 'items-wide-4.csv'];
      await Promise.all(names.map((name) => env!.drop(name, `${header}\n${name}\n`)));
      await env.drop('items-flood.jsonl', `{"id": 1, "name": [${Array.from({ length: 5_000_000 }, () => '{}').join(',')}]}\n`);
      for (const name of names) {
        expect(await env.outcome(name)).toMatchObject({ event: 'failed', reason: 'line 1: the header has 1500000 fields, over limits.max_columns (4096)' });
      }
      expect(await env.outcome('items-flood.jsonl')).toMatchObject({
        event: 'failed',
        reason: 'line 1: more than 1000000 values, over limits.max_record_values (1000000)',
      });
      await env.drop('items-after-flood.jsonl', '{"id": 1, "name": "still here"}\n');
      expect(await env.outcome('items-after-flood.jsonl')).toMatchObject({ event: 'loaded' });
      expect(daemon.child.exitCode).toBeNull();
    } finally {
      daemon.child.kill('SIGTERM');
      expect(await daemon.exit).toBe(0);
    }
  });

  it('recovers after SIGKILL in the middle of a load: every file loaded exactly once', async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS, processing: { batch_rows: 500 } });
    const big = ['{"id": 1, "name": "first"}'];
    for (let i = 2; i <= 200_000; i++) big.push(`{"id": ${i}, "name": "row ${i}", "price": ${i % 100}}`);
    await mkdir(env.folders.input, { recursive: true });
    await env.drop('items-big.jsonl', big.join('\n') + '\n');
    const first = run(['start', '--config', env.configFile], { DATABASE_URL: env.url });
    // Kill it while the big file's COPY is running.
    await waitFor(
      async () =>
        (await env!.pool.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COPY%items_jsonl%' AND state = 'active'")).rowCount,
      { message: 'the COPY to start', intervalMs: 10 },
    );
    first.child.kill('SIGKILL');
    await first.exit;
    const second = run(['start', '--config', env.configFile], { DATABASE_URL: env.url });
    try {
      expect(await env.outcome('items-big.jsonl', 'loaded')).toMatchObject({ rows: 200_000 });
      const { rows } = await env.pool.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM shop.items_jsonl');
      expect(rows[0]).toEqual({ n: 200_000, d: 200_000 });
      expect((await env.files('parquet', 'items-jsonl')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      expect(await env.files('parquet', 'items-jsonl')).toHaveLength(1);
    } finally {
      second.child.kill('SIGTERM');
      await second.exit;
    }
    // A graceful stop is quiet: no "connection lost" from the server going down with loadbay.
    expect(second.output()).not.toMatch(/connection lost|Error/);
  });
});

describe('the embedded database (no DATABASE_URL)', () => {
  it('starts, loads, stops cleanly with its server, and keeps the data across restarts', async () => {
    env = await createTestEnv({ datasets: ITEM_DATASETS });
    const { freePort } = await import('../../src/db/embedded.js');
    const port = await freePort();
    const { chmod, appendFile } = await import('node:fs/promises');
    await chmod(env.root, 0o755); // the server runs as the postgres user, which must reach data/
    await appendFile(env.configFile, `database:\n  embedded:\n    port: ${port}\n`);
    const noUrl = { DATABASE_URL: '' };
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

    const first = run(['start', '--config', env.configFile], noUrl);
    await waitFor(() => /watching/.test(first.output()), { message: 'the daemon to start', timeoutMs: 60_000 });
    expect(first.output()).toContain(`database: ${url}`);
    await env.drop('items-embedded.jsonl', '{"id": 1, "name": "kept"}\n');
    await env.outcome('items-embedded.jsonl', 'loaded');
    // The server dies under loadbay: it is started again and loading resumes without a restart.
    const { readFile } = await import('node:fs/promises');
    const postmaster = Number((await readFile(path.join(env.root, 'data', 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(postmaster, 'SIGKILL');
    await waitFor(() => /embedded PostgreSQL is running again/.test(first.output()), { message: 'the server to be restarted', timeoutMs: 60_000 });
    await env.drop('items-after-restart.jsonl', '{"id": 2, "name": "after"}\n');
    await env.outcome('items-after-restart.jsonl', 'loaded');
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
    expect(first.output()).not.toMatch(/TypeError|Error:/);
    const pg = (await import('pg')).default;
    const down = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    down.on('error', () => undefined);
    await expect(down.connect()).rejects.toThrow();

    const second = run(['start', '--config', env.configFile], noUrl);
    try {
      await waitFor(() => /watching/.test(second.output()), { message: 'the second start', timeoutMs: 60_000 });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT name FROM shop.items_jsonl ORDER BY id');
      await client.end();
      expect(rows).toEqual([{ name: 'kept' }, { name: 'after' }]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exit;
    }
    // A graceful stop is quiet: no "connection lost" from the server going down with loadbay.
    expect(second.output()).not.toMatch(/connection lost|Error/);
  });
});
