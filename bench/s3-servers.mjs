// Measures a candidate S3 test server (BENCHMARKS.md, "The S3 test server"): start time, small
// object PUT/GET/LIST, ranges, conditional requests, multipart ETags, ListMultipartUploads, 100,000
// keys (--many), a 1 GB object and the server's memory (--big), a restart with data. The server runs
// in its own process. Run from a scratch folder that has both candidates installed:
//
//   mkdir /tmp/s3b && cd /tmp/s3b && npm init -y && npm i fauxqs@1.9.2 s3rver@3.7.1 @aws-sdk/client-s3 @aws-sdk/lib-storage
//   node <loadbay>/bench/s3-servers.mjs fauxqs|s3rver [--many] [--big]      # npx -y node@24 … for Node 24
//   NOLEGACY=1 node <loadbay>/bench/s3-servers.mjs s3rver                   # s3rver without --openssl-legacy-provider
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command, CopyObjectCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand, ListMultipartUploadsCommand,
  AbortMultipartUploadCommand, HeadObjectCommand, DeleteObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const which = process.argv[2];
const big = process.argv.includes('--big');
const many = process.argv.includes('--many');
const out = {};
const free = () => new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });

async function startServer(port, dir) {
  const t0 = performance.now();
  const env = { ...process.env, FAUXQS_PORT: String(port), FAUXQS_LOGGER: 'false', FAUXQS_HOST: '127.0.0.1' };
  const args = which === 'fauxqs'
    ? ['node_modules/fauxqs/dist/cli.js']
    : [...(process.env.NOLEGACY ? [] : ['--openssl-legacy-provider']), 'node_modules/s3rver/bin/s3rver.js', '-d', dir, '-a', '127.0.0.1', '-p', String(port), '-s', '--no-vhost-buckets'];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = ''; child.stderr.on('data', (d) => (err += d));
  for (;;) {
    const ok = await new Promise((res) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); }); s.on('error', () => res(false)); });
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`server exited: ${err}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, ms: performance.now() - t0 };
}
const rss = (pid) => { const s = readFileSync(`/proc/${pid}/status`, 'utf8'); return { rss: +s.match(/VmRSS:\s+(\d+)/)[1] / 1024, hwm: +s.match(/VmHWM:\s+(\d+)/)[1] / 1024 }; };
const tryIt = async (name, fn) => { try { out[name] = await fn(); } catch (e) { out[name] = `ERROR ${e.name}: ${String(e.message).slice(0, 120)} (${e.$metadata?.httpStatusCode ?? ''})`; } };
async function pool(n, conc, fn) { let i = 0; await Promise.all(Array.from({ length: conc }, async () => { while (i < n) await fn(i++); })); }

const dir = mkdtempSync(path.join(os.tmpdir(), 'probe-'));
const port = await free();
let { child, ms } = await startServer(port, dir);
// A failure part way (s3rver without the OpenSSL flag) must not leave the server running.
process.on('exit', () => child.kill());
process.on('uncaughtException', (error) => {
  console.error(error);
  process.exit(1);
});
out.node = process.version;
out.start_ms = Math.round(ms);
out.rss_idle_mb = Math.round(rss(child.pid).rss);
const creds = which === 'fauxqs' ? { accessKeyId: 'test', secretAccessKey: 'test' } : { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: 'us-east-1', credentials: creds });
const B = 'probe';
await s3.send(new CreateBucketCommand({ Bucket: B }));

// small objects
const body = Buffer.alloc(1024, 97);
let t = performance.now();
await pool(2000, 16, (i) => s3.send(new PutObjectCommand({ Bucket: B, Key: `small/${String(i).padStart(6, '0')}.csv`, Body: body })));
out.put_1k_per_s = Math.round(2000 / ((performance.now() - t) / 1000));
t = performance.now();
await pool(2000, 16, async (i) => { const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: `small/${String(i).padStart(6, '0')}.csv` })); await r.Body.transformToByteArray(); });
out.get_1k_per_s = Math.round(2000 / ((performance.now() - t) / 1000));
t = performance.now();
for (let k = 0; k < 20; k++) { let tok; do { const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'small/', ContinuationToken: tok })); tok = r.NextContinuationToken; } while (tok); }
out.list_2000_keys_ms = Math.round((performance.now() - t) / 20);

// features
await tryIt('range_get', async () => { const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'small/000001.csv', Range: 'bytes=10-19' })); const b = await r.Body.transformToByteArray(); return `${r.$metadata.httpStatusCode} ${b.length} bytes ${r.ContentRange}`; });
await tryIt('range_past_end', async () => { const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'small/000001.csv', Range: 'bytes=1000-5000' })); const b = await r.Body.transformToByteArray(); return `${r.$metadata.httpStatusCode} ${b.length} bytes ${r.ContentRange}`; });
const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'small/000001.csv' }));
await tryIt('get_if_match_ok', async () => { const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'small/000001.csv', IfMatch: head.ETag })); await r.Body.transformToByteArray(); return r.$metadata.httpStatusCode; });
await tryIt('get_if_match_stale', async () => { const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'small/000001.csv', IfMatch: '"0000"' })); await r.Body.transformToByteArray(); return `${r.$metadata.httpStatusCode} (should be 412)`; });
await tryIt('copy_if_match_stale', async () => { const r = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy/x', CopySource: `${B}/small/000001.csv`, CopySourceIfMatch: '"0000"' })); return `${r.$metadata.httpStatusCode} copied (should be 412)`; });
await tryIt('copy_plain', async () => { const r = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy/y', CopySource: `${B}/small/000001.csv` })); return `${r.$metadata.httpStatusCode} etag ${r.CopyObjectResult?.ETag}`; });
await tryIt('put_if_none_match_existing', async () => { const r = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'small/000001.csv', Body: 'x', IfNoneMatch: '*' })); return `${r.$metadata.httpStatusCode} overwritten (should be 412)`; });
await tryIt('overwrite_changes_etag', async () => { await s3.send(new PutObjectCommand({ Bucket: B, Key: 'small/000002.csv', Body: 'other' })); const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'small/000002.csv' })); return `etag ${head.ETag} -> ${h.ETag}`; });
await tryIt('get_missing', async () => { await s3.send(new GetObjectCommand({ Bucket: B, Key: 'nope' })); return 'found?'; });
await tryIt('get_missing_bucket', async () => { await s3.send(new GetObjectCommand({ Bucket: 'nobucket', Key: 'nope' })); return 'found?'; });
await tryIt('multipart_etag', async () => {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp/a' }));
  const parts = [];
  for (let n = 1; n <= 2; n++) { const r = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp/a', UploadId, PartNumber: n, Body: Buffer.alloc(n === 1 ? 5 * 1024 * 1024 : 100, n) })); parts.push({ ETag: r.ETag, PartNumber: n }); }
  const r = await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'mp/a', UploadId, MultipartUpload: { Parts: parts } }));
  return r.ETag;
});
await tryIt('list_multipart_uploads', async () => {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp/open' }));
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: B }));
  out.abort_multipart = await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'mp/open', UploadId })).then((x) => x.$metadata.httpStatusCode, (e) => `ERROR ${e.name}`);
  return `${(r.Uploads ?? []).length} uploads listed (1 open)`;
});
await tryIt('start_after', async () => { const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'small/', StartAfter: 'small/001990.csv' })); return `${r.KeyCount} keys after 001990 (should be 9), first ${r.Contents?.[0]?.Key}`; });
await tryIt('delimiter', async () => { const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/' })); return (r.CommonPrefixes ?? []).map((p) => p.Prefix).join(','); });
await tryIt('list_max_keys_1_paged', async () => { let n = 0, tok, pages = 0; do { const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'mp/', MaxKeys: 1, ContinuationToken: tok })); n += r.KeyCount; tok = r.NextContinuationToken; pages++; } while (tok && pages < 10); return `${n} keys in ${pages} pages`; });

if (many) {
  t = performance.now();
  const N = 100_000;
  await pool(N, 32, (i) => s3.send(new PutObjectCommand({ Bucket: B, Key: `many/${String(i).padStart(7, '0')}.csv`, Body: '' })));
  out.put_100k_empty_s = +((performance.now() - t) / 1000).toFixed(1);
  t = performance.now();
  let n = 0, tok, pages = 0;
  do { const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'many/', ContinuationToken: tok })); n += r.KeyCount ?? 0; tok = r.NextContinuationToken; pages++; } while (tok);
  out.list_100k = `${n} keys, ${pages} pages, ${((performance.now() - t) / 1000).toFixed(2)} s`;
  t = performance.now();
  n = 0; pages = 0; tok = undefined;
  do { const r = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'many/', StartAfter: 'many/0090000.csv', ContinuationToken: tok })); n += r.KeyCount ?? 0; tok = r.NextContinuationToken; pages++; } while (tok);
  out.list_start_after_90k = `${n} keys (should be 9999), ${pages} pages, ${((performance.now() - t) / 1000).toFixed(2)} s`;
  out.rss_after_100k_mb = Math.round(rss(child.pid).rss);
}

if (big) {
  const size = 1024 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 98);
  const gen = Readable.from((function* () { for (let i = 0; i < size / chunk.length; i++) yield chunk; })());
  t = performance.now();
  await tryIt('put_1g', async () => {
    const up = new Upload({ client: s3, params: { Bucket: B, Key: 'big/1g.csv', Body: gen }, partSize: 8 * 1024 * 1024, queueSize: 4 });
    const r = await up.done();
    return `${((performance.now() - t) / 1000).toFixed(1)} s, etag ${r.ETag}, server rss ${Math.round(rss(child.pid).rss)} MB (peak ${Math.round(rss(child.pid).hwm)})`;
  });
  t = performance.now();
  await tryIt('get_1g', async () => {
    const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big/1g.csv' }));
    let n = 0; for await (const c of r.Body) n += c.length;
    return `${n} bytes, ${((performance.now() - t) / 1000).toFixed(1)} s, server peak ${Math.round(rss(child.pid).hwm)} MB, client rss ${Math.round(process.memoryUsage().rss / 1048576)} MB`;
  });
  await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'big/1g.csv' })).catch(() => undefined);
}

// restart with data
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
({ child } = await startServer(port, dir));
await tryIt('after_restart', async () => { const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'small/000003.csv' })); return `${(await r.Body.transformToByteArray()).length} bytes still there`; });
out.peak_rss_mb = Math.round(rss(child.pid).hwm);
child.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ server: which, ...out }, null, 1));
