/**
 * What happens to a target table behind loadbay's back while it runs — a column's type changed, a
 * column dropped or added, privileges revoked, the table locked by another session — through the
 * running daemon: no value is loaded into a column of another type than it was encoded for, a good
 * file is never quarantined for it, nothing retries for ever, and a locked table does not take the
 * workers other datasets need.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/log.js';
import { createTestEnv, databaseUrl, serverUrl, waitFor, type LogLine, type TestEnv } from '../helpers/env.js';

let env: TestEnv | null = null;
let daemon: Daemon | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

const dataset = (name: string, table: string) => `name: ${name}
match: "${name}-*.csv"
format: csv
table: ${table}
schema:
  type: object
  required: [id]
  properties:
    id: { type: integer }
    amount: { type: number }
    label: { type: string }
`;

const DATASETS = { 'pay.yaml': dataset('pay', 'drift.pay'), 'other.yaml': dataset('other', 'drift.other') };

async function start(processing: Record<string, number> = {}): Promise<TestEnv> {
  env = await createTestEnv({ datasets: DATASETS, processing: { retry_max_ms: 400, ...processing } });
  daemon = await env.start();
  return env;
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  return (await env!.pool.query<T>(sql)).rows;
}

const linesOf = async (file: string): Promise<LogLine[]> => (await env!.logLines()).filter((l) => l.file === file);

it("a column's type changed while loadbay runs: the file is held, naming the column and both types; nothing is loaded until they agree", async () => {
  await start();
  await env!.drop('pay-1.csv', 'id,amount,label\n1,3,a\n');
  await env!.outcome('pay-1.csv', 'loaded');
  // double precision → bigint: the encoded double's bytes would be read as a bigint.
  await env!.pool.query('ALTER TABLE drift.pay ALTER COLUMN amount TYPE bigint');
  await env!.drop('pay-2.csv', 'id,amount,label\n2,1.5,b\n');
  const held = await env!.outcome('pay-2.csv', 'held');
  expect(held.reason).toMatch(/column "amount" is bigint, but dataset "pay" .* says double precision/);
  expect(await query('SELECT id FROM drift.pay ORDER BY id')).toEqual([{ id: '1' }]);
  expect(await env!.files('input')).toEqual(['pay-2.csv']);
  expect(await env!.files('failed')).toEqual([]);
  // Held, retried slowly, never a quarantine or a COPY error.
  await waitFor(async () => (await linesOf('pay-2.csv')).filter((l) => l.event === 'held').length >= 3, { message: 'three held lines' });
  expect((await linesOf('pay-2.csv')).every((l) => l.event === 'held')).toBe(true);
  // Put back: the file loads, its value as the file has it.
  await env!.pool.query('ALTER TABLE drift.pay ALTER COLUMN amount TYPE double precision');
  await env!.outcome('pay-2.csv', 'loaded');
  expect(await query('SELECT id, amount FROM drift.pay ORDER BY id')).toEqual([
    { id: '1', amount: 3 },
    { id: '2', amount: 1.5 },
  ]);
});

it('text changed to integer with several files at once: all held, none quarantined, none retried as a COPY error', async () => {
  await start();
  await env!.drop('pay-1.csv', 'id,amount,label\n1,2.5,a\n');
  await env!.outcome('pay-1.csv', 'loaded');
  await env!.pool.query('ALTER TABLE drift.pay ALTER COLUMN label TYPE integer USING length(label)');
  const files = ['pay-2.csv', 'pay-3.csv', 'pay-4.csv'];
  await Promise.all(files.map((f, i) => env!.drop(f, `id,amount,label\n${i + 2},1,text\n`)));
  for (const file of files) expect((await env!.outcome(file, 'held')).reason).toMatch(/column "label" is integer, but dataset "pay" .* says text/);
  expect(await env!.files('failed')).toEqual([]);
  for (const file of files) expect((await linesOf(file)).map((l) => l.event)).not.toContain('retrying');
  await env!.pool.query('ALTER TABLE drift.pay ALTER COLUMN label TYPE text');
  for (const file of files) await env!.outcome(file, 'loaded');
  expect(await query('SELECT count(*)::int AS n FROM drift.pay')).toEqual([{ n: 4 }]);
});

it('a column dropped, or a NOT NULL column without a default added: held with the reason, never quarantined', async () => {
  await start();
  await env!.drop('pay-1.csv', 'id,amount,label\n1,2.5,a\n');
  await env!.outcome('pay-1.csv', 'loaded');
  await env!.pool.query('ALTER TABLE drift.pay DROP COLUMN amount');
  await env!.drop('pay-2.csv', 'id,amount,label\n2,1.5,b\n');
  expect((await env!.outcome('pay-2.csv', 'held')).reason).toMatch(/has no column "amount" \(double precision\)/);
  await env!.pool.query('ALTER TABLE drift.pay ADD COLUMN amount double precision, ADD COLUMN owner text NOT NULL DEFAULT \'x\'');
  await env!.pool.query('ALTER TABLE drift.pay ALTER COLUMN owner DROP DEFAULT');
  await env!.drop('pay-3.csv', 'id,amount,label\n3,1.5,c\n');
  expect((await env!.outcome('pay-3.csv', 'held')).reason).toMatch(/column "owner" is NOT NULL without a default/);
  expect(await env!.files('failed')).toEqual([]);
  await env!.pool.query('ALTER TABLE drift.pay ALTER COLUMN owner SET DEFAULT \'loadbay\'');
  await env!.outcome('pay-2.csv', 'loaded');
  await env!.outcome('pay-3.csv', 'loaded');
});

it('privileges revoked on the target table: the file is held with the reason, and loads once they are granted again', async () => {
  const role = `lb_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    env = await createTestEnv({ datasets: DATASETS, processing: { retry_max_ms: 400 } });
    const db = new URL(env.url).pathname.slice(1);
    await admin.query(`GRANT ALL ON DATABASE ${db} TO ${role}`);
    // loadbay connects as the role (the test server trusts local connections).
    const asRole = new URL(databaseUrl(serverUrl(), db));
    asRole.username = role;
    const config = await env.loadConfig();
    const log = createLogger({ logsDir: config.folders.logs, console: false });
    const started = { log, daemon: await startDaemon({ ...config, database: { ...config.database, url: asRole.toString() } }, log) };
    try {
      const held = started.log.events.next('held', (f) => f.file === 'pay-2.csv');
      const loaded = (file: string) => started.log.events.next('loaded', (f) => f.file === file);
      await env.drop('pay-1.csv', 'id,amount,label\n1,2.5,a\n');
      await loaded('pay-1.csv');
      await env.pool.query(`ALTER TABLE drift.pay OWNER TO postgres`);
      await env.pool.query(`REVOKE ALL ON drift.pay FROM ${role}`);
      await env.drop('pay-2.csv', 'id,amount,label\n2,1.5,b\n');
      expect((await held).reason).toMatch(/permission denied/);
      expect(await env.files('failed')).toEqual([]);
      const after = loaded('pay-2.csv');
      await env.pool.query(`GRANT SELECT, INSERT ON drift.pay TO ${role}`);
      expect(await after).toMatchObject({ rows: 1 });
    } finally {
      await started.daemon.stop();
      await started.log.close();
    }
  } finally {
    await env?.cleanup();
    env = null;
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  }
});

it("a table locked by another session: its dataset waits without holding the workers, other datasets load, and it loads once the lock is gone", async () => {
  await start({ concurrency: 1, lock_timeout_ms: 300 });
  await env!.drop('pay-1.csv', 'id,amount,label\n1,2.5,a\n');
  await env!.outcome('pay-1.csv', 'loaded');
  const locker = await env!.pool.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE drift.pay IN ACCESS EXCLUSIVE MODE');
    const files = env!;
    for (const n of [2, 3, 4]) await files.drop(`pay-${n}.csv`, `id,amount,label\n${n},1,x\n`);
    const waiting = await waitFor(async () => (await files.logLines()).find((l) => l.event === 'dataset_waiting'), { message: 'dataset_waiting' });
    expect(waiting).toMatchObject({ dataset: 'pay', table: '"drift"."pay"' });
    expect(waiting.reason).toMatch(/pid \d+ .*holds AccessExclusiveLock/);
    // One worker, and the locked dataset does not keep it: another dataset's files load meanwhile.
    await files.drop('other-1.csv', 'id,amount,label\n1,1,y\n');
    await files.drop('other-2.csv', 'id,amount,label\n2,1,y\n');
    await files.outcome('other-1.csv', 'loaded');
    await files.outcome('other-2.csv', 'loaded');
    const status = (await (await fetch(`${daemon!.httpUrl}/api/status`)).json()) as { datasets_waiting: Array<{ dataset: string }> };
    expect(status.datasets_waiting.map((d) => d.dataset)).toEqual(['pay']);
    expect(await files.files('input')).toEqual(['pay-2.csv', 'pay-3.csv', 'pay-4.csv']);
    await locker.query('COMMIT');
  } finally {
    locker.release();
  }
  for (const n of [2, 3, 4]) await env!.outcome(`pay-${n}.csv`, 'loaded');
  await waitFor(async () => (await env!.logLines()).find((l) => l.event === 'dataset_resumed'), { message: 'dataset_resumed' });
  expect(await env!.files('failed')).toEqual([]);
});
