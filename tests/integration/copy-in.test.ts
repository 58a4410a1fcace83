/**
 * COPY FROM STDIN (write/copy-in.ts) against the real server: every row of many buffers arrives
 * unchanged although each owned buffer is freed once the socket has written it; a server error, a
 * missing table and a connection killed mid-COPY each reject instead of hanging.
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

test('a row the server refuses rejects the COPY with its error, without hanging', async () => {
  await admin.query('CREATE TABLE checked (id bigint CHECK (id < 1000), t text)');
  const client = await connect();
  try {
    await client.query('BEGIN');
    const copy = startCopyIn(client, 'COPY checked (id, t) FROM STDIN WITH (FORMAT binary)');
    const run = async () => {
      for (let id = 0; id < 20_000; id += 1000) await copy.write(rows(id, 1000, textOf), true);
      return copy.end();
    };
    await expect(run()).rejects.toMatchObject({ code: '23514' });
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

test('a connection killed mid-COPY rejects the writes and the end', async () => {
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
  await expect(run()).rejects.toThrow();
  await expect(copy.end()).rejects.toThrow();
  expect((await admin.query('SELECT count(*)::int AS n FROM killed')).rows[0].n).toBe(0);
});
