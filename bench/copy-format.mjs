// PostgreSQL's CPU for COPY FROM STDIN of the 1M-row benchmark table in each format: csv (what
// psql's \copy sends), text (what loadbay sent before) and binary (what it sends now). The files are
// written by the server itself (COPY … TO) from one load; each is then streamed to one backend with
// pg-copy-streams, as loadbay does, formats alternating, `--runs N`; the backend's CPU is read from
// /proc before and after.
// Usage: npm run build && node bench/copy-format.mjs [--runs 3]
// (needs bench/.work/data/big-1000000.csv: run `npm run bench -- --only big` once)
import { spawnSync } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { startThrowawayPostgres } from './postgres.mjs';

const WORK = process.env.BENCH_WORK ?? path.resolve('bench/.work');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 3) || 3;
const csv = path.join(WORK, 'data', 'big-1000000.csv');
const TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
function backendCpu(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}
const DDL = 'id bigint, ts timestamptz, kind text, amount double precision, label text, flag boolean, note text, _file_id bigint, _source_file text, _source_record bigint';
const db = await startThrowawayPostgres(path.join(WORK, 'pg-copy-format'), ['-c', 'max_wal_size=4GB']);
const client = new pg.Client(db.url);
await client.connect();
const out = path.join('/tmp', 'loadbay-copy-format');
await mkdir(out, { recursive: true });
await chmod(out, 0o777);
const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
await client.query(`CREATE TABLE t (${DDL})`);
spawnSync('psql', [db.url, '-qc', `\\copy t (id, ts, kind, amount, label, flag, note) FROM '${csv}' WITH (FORMAT csv, HEADER)`], { stdio: 'inherit' });
await client.query(`UPDATE t SET _file_id = 1, _source_file = 'big-1000000.csv', _source_record = id + 1`);
await client.query(`COPY t TO '${out}/t.text'`);
await client.query(`COPY t TO '${out}/t.bin' WITH (FORMAT binary)`);
const files = { csv: [csv, '(id, ts, kind, amount, label, flag, note)', 'WITH (FORMAT csv, HEADER)'], text: [`${out}/t.text`, '', ''], binary: [`${out}/t.bin`, '', 'WITH (FORMAT binary)'] };
const results = { csv: [], text: [], binary: [] };
for (let r = 0; r < runs; r++) {
  for (const [name, [file, cols, opts]] of Object.entries(files)) {
    await client.query('TRUNCATE t; CHECKPOINT');
    const before = backendCpu(pid);
    const t0 = performance.now();
    await pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), client.query(copyFrom(`COPY t ${cols} FROM STDIN ${opts}`)));
    results[name].push({ wall: (performance.now() - t0) / 1000, cpu: backendCpu(pid) - before });
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, xs] of Object.entries(results)) {
  console.log(`${name.padEnd(7)} server CPU ${med(xs.map((x) => x.cpu)).toFixed(2)} s, wall ${med(xs.map((x) => x.wall)).toFixed(2)} s  (runs: ${xs.map((x) => x.cpu.toFixed(2)).join(' ')})`);
}
await client.end();
await db.stop();
