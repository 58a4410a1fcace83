/**
 * The shape of src/: no import cycles (type-only imports count: they tie modules together just as
 * much for a reader, and a cycle of them turns into a runtime one at the first value import). The
 * AWS SDK is loaded only where a bucket is used (source/s3/sdk.ts).
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import madge from 'madge';
import { PROJECT_ROOT } from '../helpers/env.js';

it('has no import cycles in src/', async () => {
  const graph = await madge(path.join(PROJECT_ROOT, 'src'), { fileExtensions: ['ts'], tsConfig: path.join(PROJECT_ROOT, 'tsconfig.json') });
  expect(graph.circular()).toEqual([]);
  // Every module was read: a module madge could not parse would hide its imports.
  expect(Object.keys(graph.obj()).length).toBeGreaterThan(80);
  expect(graph.warnings().skipped.filter((m) => m.startsWith('.'))).toEqual([]);
});

it('imports the AWS SDK for its types only, outside source/s3/sdk.ts', async () => {
  const src = path.join(PROJECT_ROOT, 'src');
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
  const valueImports: string[] = [];
  for (const file of files) {
    if (file === path.join('source', 's3', 'sdk.ts')) continue;
    const text = await readFile(path.join(src, file), 'utf8');
    for (const m of text.matchAll(/import\s+(type\s+)?[^;]*?from\s+'(@aws-sdk\/[^']+|@smithy\/[^']+)'/g)) if (!m[1]) valueImports.push(`${file}: ${m[2]}`);
    if (/require\(\s*'@aws-sdk|import\(\s*'@aws-sdk/.test(text)) valueImports.push(`${file}: a dynamic import`);
  }
  expect(valueImports).toEqual([]);
  expect(files.length).toBeGreaterThan(80);
});

it('starts a daemon without a bucket without loading the AWS SDK', () => {
  // The daemon's modules as `npm start` loads them (dist/), in a process of their own.
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(path.join(PROJECT_ROOT, 'dist', 'daemon.js'))});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const aws = cache.filter((k) => k.includes('@aws-sdk'));
    const s3 = await import(${JSON.stringify(path.join(PROJECT_ROOT, 'dist', 'source', 's3', 'sdk.js'))});
    s3.s3Sdk();
    const after = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('@aws-sdk/client-s3'));
    console.log(JSON.stringify({ aws: aws.length, modules: cache.length, after: after.length }));
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!);
  expect(out.aws).toBe(0);
  expect(out.modules).toBeGreaterThan(10); // pg, winston and the rest did load
  expect(out.after).toBeGreaterThan(0); // and the SDK loads when asked
});
