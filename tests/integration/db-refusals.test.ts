/**
 * What the database refuses behind loadbay's back, with loadbay connected as an ordinary role (a
 * superuser is never refused): a privilege revoked on a target table or on the ledger holds the
 * file — left in input/, the reason named, retried slowly — until it is granted again; and a
 * statement_timeout too short for a load (a test that fails today: the fix is in the worker).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { LoadbayEventMap } from '../../src/events.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createTestEnv, serverUrl, type TestEnv } from '../helpers/env.js';

const DATASET = { 'rows.yaml': 'name: rows\nmatch: "*.csv"\nformat: csv\ntable: refused.rows\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n' };

let env: TestEnv | null = null;
let daemon: Daemon | null = null;
let log: Logger | null = null;
let role: string | null = null;

afterEach(async () => {
  await daemon?.stop();
  await log?.close();
  await env?.cleanup(); // drops the database, and with it everything the role owned there
  if (role) await admin(`DROP ROLE IF EXISTS ${role}`);
  daemon = log = env = role = null;
});

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A daemon connected as a new role that owns the test's database (and so the tables it creates). */
async function startAsRole(processing: Record<string, number> = {}): Promise<{ env: TestEnv; daemon: Daemon }> {
  env = await createTestEnv({ datasets: DATASET, processing });
  role = `lb_role_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE ROLE ${role} LOGIN`);
  const database = new URL(env.url).pathname.slice(1);
  await admin(`ALTER DATABASE ${database} OWNER TO ${role}`);
  const url = new URL(env.url);
  url.username = role;
  const config = await loadConfig(env.configFile, { databaseUrl: url.toString() });
  log = createLogger({ logsDir: config.folders.logs, console: false });
  daemon = await startDaemon(config, log);
  return { env, daemon };
}

/** The first `held` line for the file, or the `retrying` line of its third attempt, whichever comes first. */
function heldOrRetried(d: Daemon, file: string): Promise<{ event: string; fields: LoadbayEventMap['held'] }> {
  return Promise.race([
    d.events.next('held', (f) => f.file === file).then((fields) => ({ event: 'held', fields })),
    d.events.next('retrying', (f) => f.file === file && Number(f.attempt) >= 3).then((fields) => ({ event: 'retrying', fields })),
  ]);
}

it('a privilege revoked on a target table: the file is held with the reason, and loads once it is granted again', async () => {
  const { env, daemon } = await startAsRole();
  const first = daemon.events.next('loaded', (f) => f.file === 'before.csv');
  await env.drop('before.csv', 'id\n1\n');
  await first;
  await env.pool.query(`REVOKE INSERT ON refused.rows FROM ${role}`);
  const outcome = heldOrRetried(daemon, 'after.csv');
  await env.drop('after.csv', 'id\n2\n');
  expect(await outcome).toMatchObject({ event: 'held', fields: { reason: 'permission denied for table rows' } });
  expect(await env.files('input')).toEqual(['after.csv']);
  const loaded = daemon.events.next('loaded', (f) => f.file === 'after.csv');
  await env.pool.query(`GRANT INSERT ON refused.rows TO ${role}`);
  expect(await loaded).toMatchObject({ rows: 1 });
});

it('a privilege revoked on the ledger: the file is held with the reason, and loads once it is granted again', async () => {
  const { env, daemon } = await startAsRole();
  await env.pool.query(`REVOKE UPDATE ON loadbay.files FROM ${role}`);
  const outcome = heldOrRetried(daemon, 'ledger.csv');
  await env.drop('ledger.csv', 'id\n3\n');
  expect(await outcome).toMatchObject({ event: 'held', fields: { reason: 'permission denied for table files' } });
  const loaded = daemon.events.next('loaded', (f) => f.file === 'ledger.csv');
  await env.pool.query(`GRANT UPDATE ON loadbay.files TO ${role}`);
  expect(await loaded).toMatchObject({ rows: 1 });
  const { rows } = await env.pool.query('SELECT count(*)::int AS n FROM refused.rows');
  expect(rows[0].n).toBe(1);
});

// Fails today: every attempt reads the whole file again and is cancelled, `retrying` for ever. The
// fix belongs in src/pipeline/worker.ts (the lead's): see the report of the hardening branch.
it('a statement_timeout too short for a load: held after a few attempts, naming the setting', async () => {
  const { env, daemon } = await startAsRole();
  await env.pool.query(`ALTER ROLE ${role} SET statement_timeout = '100ms'`);
  // Sessions take the setting when they connect: the daemon's connections are made anew.
  await env.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
  const outcome = Promise.race([
    daemon.events.next('held', (f) => f.file === 'slow.csv').then((fields) => ({ event: 'held', fields })),
    daemon.events.next('retrying', (f) => f.file === 'slow.csv' && Number(f.attempt) >= 8).then((fields) => ({ event: 'retrying', fields })),
  ]);
  await env.drop('slow.csv', `id\n${Array.from({ length: 1_000_000 }, (_, i) => i).join('\n')}\n`);
  expect(await outcome).toMatchObject({ event: 'held', fields: { reason: expect.stringMatching(/statement_timeout/) } });
});
