// Claim throughput with N loadbay processes sharing one ledger: each process claims and releases
// files of its own (claimFiles in groups of `--group`, as the workers do) for `--seconds`, and the
// totals say where PostgreSQL (or the machine) becomes the ceiling. Needs the build (npm run build).
//
//   node bench/claims-scale.mjs [--processes 1,2,4,8] [--seconds 10] [--group 1] [--objects]
//
// `--objects`: the arrivals are objects (`s3://…` ids matched on their ETag, as an S3 input's are);
// their HeadObject is the object store's work, not the ledger's, and is left out.
// Prints claims per second per process count, and PostgreSQL's CPU per claim (all its processes,
// from /proc): one server core takes about 1 / that many claims per second — the ceiling where the
// instances run elsewhere. See docs/scaling.md.
import { fork } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: args } = parseArgs({
  options: {
    processes: { type: 'string', default: '1,2,4,8' },
    seconds: { type: 'string', default: '10' },
    group: { type: 'string', default: '1' },
    worker: { type: 'string' },
    objects: { type: 'boolean', default: false },
    url: { type: 'string' },
    file: { type: 'string' },
  },
});

if (args.worker !== undefined) {
  // One process: claims until the deadline, then reports its count.
  const { claimFiles } = await import(path.join(PROJECT, 'dist/claim/claim.js'));
  const pool = new pg.Pool({ connectionString: args.url, max: 4 });
  pool.on('error', () => undefined);
  const { size, mtimeMs } = await stat(args.file);
  const group = Number(args.group);
  const deadline = Date.now() + Number(args.seconds) * 1000;
  let n = 0;
  while (Date.now() < deadline) {
    const source = { state: async () => 'same' };
    const arrivals = Array.from({ length: group }, (_, i) => {
      const relative = `w${args.worker}/${n + i}.csv`;
      return args.objects
        ? { source, id: `s3://bench/in/${relative}`, relative, size, mtimeMs, version: `"${(n + i).toString(16).padStart(32, '0')}"`, versionId: null }
        : { source, id: relative, relative, size, mtimeMs };
    });
    const claimed = await claimFiles(pool, arrivals, `bench-${args.worker}`);
    n += claimed.claims.filter(Boolean).length;
    await claimed.release();
  }
  await pool.end();
  process.send({ claims: n });
  process.exit(0);
}

/** CPU seconds (user + system) of the postmaster `root` and every process it started, live or exited, from /proc. */
function serverCpu(root) {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(name) !== root && Number(fields[1]) !== root) continue;
      total += (Number(fields[11]) + Number(fields[12])) / tick;
      // Backends that have exited (a pool ended) count in the postmaster's reaped children's time.
      if (Number(name) === root) total += (Number(fields[13]) + Number(fields[14])) / tick;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const { migrate } = await import(path.join(PROJECT, 'dist/db/ledger.js'));
const { startThrowawayPostgres } = await import('./postgres.mjs');
const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-claims-scale-'));
const server = await startThrowawayPostgres(path.join(dir, 'data'), ['-c', 'max_connections=200']);
try {
  const pool = new pg.Pool({ connectionString: server.url, max: 2 });
  await migrate(pool);
  await pool.end();
  const file = path.join(dir, 'f.csv');
  await writeFile(file, 'a\n1\n');
  const postmaster = Number((await readFile(path.join(dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model}), node ${process.version}, ${args.seconds} s per run, groups of ${args.group}${args.objects ? ', objects' : ''}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const processes of args.processes.split(',').map(Number)) {
    const started = Date.now();
    const cpuBefore = serverCpu(postmaster);
    const counts = await Promise.all(
      Array.from({ length: processes }, (_, worker) =>
        new Promise((resolve, reject) => {
          const child = fork(new URL(import.meta.url).pathname, ['--worker', String(worker), '--url', server.url, '--file', file, '--seconds', args.seconds, '--group', args.group, ...(args.objects ? ['--objects'] : [])]);
          child.on('message', (m) => resolve(m.claims));
          child.on('error', reject);
          child.on('exit', (code) => code !== 0 && reject(new Error(`worker exited ${code}`)));
        }),
      ),
    );
    const total = counts.reduce((a, b) => a + b, 0);
    const seconds = (Date.now() - started) / 1000;
    const cpu = serverCpu(postmaster) - cpuBefore;
    const perClaim = total > 0 ? (cpu / total) * 1000 : NaN;
    console.log(
      `${processes} process(es): ${Math.round(total / seconds)} claims/s in all (${counts.map((c) => Math.round(c / seconds)).join(', ')} each); ` +
        `PostgreSQL ${cpu.toFixed(2)} CPU-s, ${perClaim.toFixed(3)} ms per claim (one server core: ~${Math.round(1000 / perClaim)} claims/s)`,
    );
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
