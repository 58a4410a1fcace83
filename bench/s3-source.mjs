// loadbay's object-storage module against the test server (fauxqs, in its own process): listing
// 100,000 keys in pages (time, heap), a 1 GB object uploaded with uploadObject and read back with
// openObject (time, peak RSS of this process for each). Needs the build (npm run build).
//
//   node bench/s3-source.mjs [--keys 100000] [--gib 1]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';

const PROJECT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: args } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, gib: { type: 'string', default: '1' } } });
const { connectS3 } = await import(path.join(PROJECT, 'dist/source/s3/client.js'));
const { listPages } = await import(path.join(PROJECT, 'dist/source/s3/listing.js'));
const { parseS3Folder } = await import(path.join(PROJECT, 'dist/source/s3/location.js'));
const { headObject } = await import(path.join(PROJECT, 'dist/source/s3/identity.js'));
const { openObject } = await import(path.join(PROJECT, 'dist/source/s3/read.js'));
const { uploadObject } = await import(path.join(PROJECT, 'dist/source/s3/write.js'));
const { DEFAULT_S3 } = await import(path.join(PROJECT, 'dist/source/s3/settings.js'));

const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = spawn(process.execPath, [path.join(PROJECT, 'node_modules/fauxqs/dist/cli.js')], { env: { ...process.env, FAUXQS_PORT: String(port), FAUXQS_LOGGER: 'false' }, stdio: 'ignore' });
for (;;) {
  const up = await new Promise((resolve) => net.connect(port, '127.0.0.1').on('connect', function () { this.destroy(); resolve(true); }).on('error', () => resolve(false)));
  if (up) break;
  await new Promise((r) => setTimeout(r, 20));
}
process.env.AWS_ACCESS_KEY_ID = 'bench';
process.env.AWS_SECRET_ACCESS_KEY = 'bench';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const s3 = connectS3({ ...DEFAULT_S3, endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, region: 'us-east-1', sqsQueueUrl: null });
const peakRss = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const resetPeak = () => writeFileSync('/proc/self/clear_refs', '5');
console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model}), node ${process.version}`);
try {
  await s3.client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const keys = Number(args.keys);
  let next = 0;
  let t = performance.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < keys) {
      const i = next++;
      await s3.client.send(new PutObjectCommand({ Bucket: 'bench', Key: `in/${String(i).padStart(8, '0')}.csv`, Body: Buffer.from('id\n1\n') }));
    }
  }));
  console.log(`put ${keys} keys: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  global.gc?.();
  let heapPeak = 0;
  for (const [label, startAfter] of [['full listing', null], ['from the position at 90%', `in/${String(Math.floor(keys * 0.9)).padStart(8, '0')}.csv`]]) {
    t = performance.now();
    let n = 0;
    let pages = 0;
    for await (const page of listPages(s3, parseS3Folder('s3://bench/in/'), { startAfter })) {
      n += page.length;
      pages++;
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }
    console.log(`listPages, ${label}: ${n} keys in ${pages} pages, ${((performance.now() - t) / 1000).toFixed(2)} s, heap peak ${(heapPeak / 1048576).toFixed(0)} MB`);
  }
  const size = Number(args.gib) * 1024 ** 3;
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  resetPeak();
  t = performance.now();
  await uploadObject(s3, 'bench', 'in/big.csv', Readable.from((function* () { for (let i = 0; i < size / chunk.length; i++) yield chunk; })()), { writer: 'bench', partSize: 8 * 1024 * 1024, queueSize: 4 });
  console.log(`uploadObject ${args.gib} GiB: ${((performance.now() - t) / 1000).toFixed(1)} s, peak RSS ${peakRss().toFixed(0)} MB`);
  const identity = await headObject(s3, 'bench', 'in/big.csv');
  resetPeak();
  t = performance.now();
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const piece of openObject(s3, identity)) {
    hash.update(piece);
    bytes += piece.length;
  }
  console.log(`openObject ${bytes} bytes + sha256: ${((performance.now() - t) / 1000).toFixed(1)} s, peak RSS ${peakRss().toFixed(0)} MB`);
} finally {
  s3.close();
  server.kill();
}
