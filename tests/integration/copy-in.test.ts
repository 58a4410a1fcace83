/**
 * COPY FROM STDIN (write/copy-in.ts) against the real server: every row of many buffers arrives
 * unchanged although each owned buffer is freed once the socket has written it; a server error, a
 * missing table, a statement that is no COPY and a connection killed or cut mid-COPY each reject
 * instead of hanging; `abort` leaves the connection ready for ROLLBACK TO SAVEPOINT; the client's
 * listeners go when the COPY is over, however it ends.
 */
import pg from 'pg';
import { createDatabase } from '../helpers/env.js';
import { startCopyIn } from '../../src/write/copy-in.js';

let database: Awaited<ReturnType<typeof createDatabase>>;
let admin: pg.Client;

beforeAll(async () => {
  database = await createDatabase();
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await database.drop();
});

async function connect(): Promise<pg.PoolClient> {
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => undefined); // a killed backend: the COPY's promises carry the error
  await client.connect();
  return client as unknown as pg.PoolClient;
}

/** Rows (id bigint, t text) in COPY binary, in a buffer of their own. */
function rows(from: number, count: number, text: (id: number) => string): Buffer {
  const parts: Buffer[] = [];
  for (let id = from; id < from + count; id++) {
    const t = Buffer.from(text(id), 'utf8');
    const row = Buffer.alloc(2 + 4 + 8 + 4 + t.length);
    row.writeInt16BE(2, 0);
    row.writeInt32BE(8, 2);
    row.writeBigInt64BE(BigInt(id), 6);
    row.writeInt32BE(t.length, 14);
    t.copy(row, 18);
    parts.push(row);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const p of parts) at += p.copy(out, at);
  return out;
}

const textOf = (id: number) => `${id}:${'ü€x'.repeat(id % 50)}`;

test('every row of many buffers arrives unchanged; owned whole buffers are freed once written', async () => {
  await admin.query('CREATE TABLE many (id bigint, t text)');
  const client = await connect();
  let id = 0;
  try {
    await client.query('BEGIN');
    const copy = startCopyIn(client, 'COPY many (id, t) FROM STDIN WITH (FORMAT binary)');
    const owned: Buffer[] = [];
    const batch = 500;
    // Small buffers, then ones larger than the socket takes at once (the rest is written later,
    // from the buffer itself: freed early, it would arrive as garbage or fail the write).
    for (const [count, size] of [[300, 500], [6, 60_000]] as const) {
      for (let i = 0; i < count; i++, id += size) {
        const buffer = rows(id, size, textOf);
        owned.push(buffer);
        await copy.write(buffer, true);
      }
    }
    // Not freed: a buffer COPY does not own, and a slice of a larger one even when said to be owned.
    const lent = rows(id, batch, textOf);
    await copy.write(lent);
    id += batch;
    const shared = Buffer.concat([rows(id, batch, textOf), Buffer.alloc(16)]);
    const slice = shared.subarray(0, shared.length - 16);
    await copy.write(slice, true);
    id += batch;
    expect(await copy.end()).toBe(id);
    await client.query('COMMIT');
    expect(owned.every((b) => b.buffer.byteLength === 0)).toBe(true);
    expect(lent.length).toBeGreaterThan(0);
    expect(shared.buffer.byteLength).toBe(shared.length);
  } finally {
    await client.end();
  }
  const expected = Array.from({ length: id }, (_, i) => textOf(i)).join('|');
  const { rows: got } = await admin.query<{ n: string; ids: string; texts: string }>(
    `SELECT count(*) AS n, sum(id) AS ids, md5(string_agg(t, '|' ORDER BY id)) AS texts FROM many`,
  );
  expect(got[0]).toEqual({ n: String(id), ids: String((id * (id - 1)) / 2), texts: (await admin.query(`SELECT md5($1) AS m`, [expected])).rows[0].m });
});

/** The client's own listeners, to see the COPY's go when it is over. */
const listeners = (client: pg.PoolClient) => client.listenerCount('error') + client.listenerCount('end');

test('a row the server refuses rejects the COPY with its error; the savepoint before it still works', async () => {
  await admin.query('CREATE TABLE checked (id bigint CHECK (id < 1000), t text)');
  const client = await connect();
  const before = listeners(client);
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO checked VALUES (1, $1)', ['kept']);
    await client.query('SAVEPOINT file_0');
    const copy = startCopyIn(client, 'COPY checked (id, t) FROM STDIN WITH (FORMAT binary)');
    const run = async () => {
      for (let id = 0; id < 20_000; id += 1000) await copy.write(rows(id, 1000, textOf), true);
      return copy.end();
    };
    await expect(run()).rejects.toMatchObject({ code: '23514' });
    expect(listeners(client)).toBe(before);
    await client.query('ROLLBACK TO SAVEPOINT file_0');
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  expect((await admin.query('SELECT t FROM checked')).rows).toEqual([{ t: 'kept' }]);
});

test('abort ends an open COPY so that ROLLBACK TO SAVEPOINT runs; after the end it does nothing', async () => {
  await admin.query('CREATE TABLE aborted (id bigint, t text)');
  const client = await connect();
  const before = listeners(client);
  try {
    await client.query('BEGIN');
    await client.query('SAVEPOINT file_0');
    const copy = startCopyIn(client, 'COPY aborted (id, t) FROM STDIN WITH (FORMAT binary)');
    await copy.write(rows(0, 1000, textOf), true);
    await copy.abort('taken out: a\0b');
    expect(listeners(client)).toBe(before);
    await expect(copy.write(rows(1000, 10, textOf))).rejects.toMatchObject({ code: '57014' });
    await client.query('ROLLBACK TO SAVEPOINT file_0');
    // Aborted before the server even said the COPY began.
    await client.query('SAVEPOINT file_1');
    const early = startCopyIn(client, 'COPY aborted (id, t) FROM STDIN WITH (FORMAT binary)');
    await early.abort('taken out at once');
    await client.query('ROLLBACK TO SAVEPOINT file_1');
    const done = startCopyIn(client, 'COPY aborted (id, t) FROM STDIN WITH (FORMAT binary)');
    await done.write(rows(5000, 3, textOf), true);
    expect(await done.end()).toBe(3);
    await done.abort('too late: nothing to do');
    expect(listeners(client)).toBe(before);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  expect((await admin.query('SELECT id FROM aborted ORDER BY id')).rows.map((r) => Number(r.id))).toEqual([5000, 5001, 5002]);
});

test('a statement that starts no COPY rejects instead of waiting for one', async () => {
  const client = await connect();
  try {
    const copy = startCopyIn(client, 'SELECT 1');
    await expect(copy.write(rows(0, 1, textOf))).rejects.toThrow(/no COPY started by: SELECT 1/);
    expect((await client.query('SELECT 2 AS two')).rows[0].two).toBe(2);
  } finally {
    await client.end();
  }
});

test('a table that does not exist rejects the first write', async () => {
  const client = await connect();
  try {
    const copy = startCopyIn(client, 'COPY missing (id, t) FROM STDIN WITH (FORMAT binary)');
    await expect(copy.write(rows(0, 10, textOf), true)).rejects.toMatchObject({ code: '42P01' });
    await expect(copy.end()).rejects.toMatchObject({ code: '42P01' });
    // The connection is usable again afterwards.
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  } finally {
    await client.end();
  }
});

test('a backend terminated mid-COPY rejects the writes and the end', async () => {
  await admin.query('CREATE TABLE killed (id bigint, t text)');
  const client = await connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await client.query('BEGIN');
  const copy = startCopyIn(client, 'COPY killed (id, t) FROM STDIN WITH (FORMAT binary)');
  await copy.write(rows(0, 1000, textOf), true);
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  const run = async () => {
    for (let id = 1000; ; id += 1000) await copy.write(rows(id, 1000, textOf), true);
  };
  await expect(run()).rejects.toMatchObject({ code: expect.stringMatching(/^(57P01|ECONNRESET|EPIPE)$/) });
  await expect(copy.end()).rejects.toMatchObject({ code: expect.stringMatching(/^(57P01|ECONNRESET|EPIPE)$/) });
  expect((await admin.query('SELECT count(*)::int AS n FROM killed')).rows[0].n).toBe(0);
});

test('a connection cut while a write waits for the socket rejects that write and the end', async () => {
  await admin.query('CREATE TABLE cut (id bigint, t text)');
  const client = await connect();
  await client.query('BEGIN');
  const copy = startCopyIn(client, 'COPY cut (id, t) FROM STDIN WITH (FORMAT binary)');
  await copy.write(rows(0, 10, textOf), true);
  // Larger than the socket takes at once: the write waits for 'drain' when the socket goes.
  const pending = copy.write(rows(10, 200_000, textOf), true);
  (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  await expect(pending).rejects.toThrow(/Connection terminated/);
  await expect(copy.end()).rejects.toThrow(/Connection terminated/);
  expect((await admin.query('SELECT count(*)::int AS n FROM cut')).rows[0].n).toBe(0);
});
