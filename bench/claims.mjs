// Claim + release of one file, per file: the ledger round trips every file pays before and after
// its load. Runs the built code (npm run build) against a throw-away embedded PostgreSQL.
//
//   node bench/claims.mjs                              # this checkout
//   node bench/claims.mjs --against ../other-checkout  # A/B: alternating rounds, this vs that build
//
// Prints the median wall and CPU milliseconds per claim of each build over the rounds.
import pg from 'pg';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startThrowawayPostgres } from './postgres.mjs';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: args } = parseArgs({
  options: { against: { type: 'string' }, rounds: { type: 'string', default: '8' }, claims: { type: 'string', default: '1500' } },
});
const { migrate } = await import(path.join(PROJECT, 'dist/db/ledger.js'));
const builds = { this: await import(path.join(PROJECT, 'dist/claim/claim.js')) };
if (args.against) builds.other = await import(path.join(path.resolve(args.against), 'dist/claim/claim.js'));

const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-claims-'));
const server = await startThrowawayPostgres(path.join(dir, 'data'));
const pool = new pg.Pool({ connectionString: server.url, max: 4 });
pool.on('error', () => undefined);
try {
  await migrate(pool);
  const file = path.join(dir, 'f.csv');
  await writeFile(file, 'a\n1\n');
  const { size, mtimeMs } = await stat(file);
  const rounds = Number(args.rounds);
  const claims = Number(args.claims);
  const names = Object.keys(builds);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 ? [...names].reverse() : names) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let i = 0; i < claims; i++) {
        const claim = await builds[name].claimFile(pool, { file, relative: `${name}-${round}-${i}.csv`, size, mtimeMs }, 'bench');
        await claim.release();
      }
      const cpu = process.cpuUsage(c0);
      results[name].push({ wall: (performance.now() - t0) / claims, cpu: (cpu.user + cpu.system) / 1000 / claims });
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const name of names) {
    const r = results[name];
    const label = name === 'this' ? PROJECT : path.resolve(args.against);
    console.log(`${label}: claim + release ${median(r.map((x) => x.wall)).toFixed(2)} ms wall, ${median(r.map((x) => x.cpu)).toFixed(2)} ms CPU per file (median of ${rounds} rounds × ${claims})`);
  }
} finally {
  await pool.end();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
