/**
 * Files that cannot be read, told as what they are: an empty JSON document, data after the end of a
 * gzip stream, a sparse file of NUL bytes (refused at once, not after reading gigabytes). Each ends
 * in output_failed/ with its reason, and the daemon goes on loading.
 */
import { readFile, rename, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sharedEnv } from '../helpers/env.js';

const schema = 'schema:\n  type: object\n  properties:\n    id: { type: integer }\n';
const shared = sharedEnv({
  datasets: {
    'r-csv.yaml': `name: r-csv\nmatch: ["*.csv", "*.csv.gz"]\nformat: csv\ntable: reading.csv_rows\n${schema}`,
    'r-jsonl.yaml': `name: r-jsonl\nmatch: ["*.jsonl", "*.jsonl.gz"]\nformat: jsonl\ntable: reading.jsonl_rows\n${schema}`,
    'r-json.yaml': `name: r-json\nmatch: ["*.json", "*.json.gz"]\nformat: json\ntable: reading.json_rows\n${schema}`,
  },
});

let goodFiles = 0;

/** The file's outcome: quarantined at stage read with `reason`, its report beside it; then a good file still loads. */
async function quarantined(file: string, dataset: string, reason: string | RegExp): Promise<void> {
  const env = shared();
  const line = await env.outcome(file);
  expect({ event: line.event, stage: line.stage }).toEqual({ event: 'failed', stage: 'read' });
  expect(line.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  const report = JSON.parse(await readFile(path.join(env.folders.failed, dataset, `${file}.error.json`), 'utf8'));
  expect(report).toMatchObject({ file, reason: line.reason });
  expect(await env.files('failed', dataset)).toContain(file);
  const good = `after-${file.replace(/\W/g, '-')}.jsonl`;
  await env.drop(good, `{"id": ${++goodFiles}}\n`);
  expect(await env.outcome(good)).toMatchObject({ event: 'loaded', rows: 1 });
}

it.each([
  ['empty.json', ''],
  ['blank.json', ' \n\t\r\n'],
  ['empty.json.gz', gzipSync('')],
])('an empty JSON document (%s) is an empty file, not invalid JSON after record 0', async (file, content) => {
  await shared().drop(file, content);
  await quarantined(file, 'r-json', 'empty file: no JSON document');
});

it.each([
  ['trailing.jsonl.gz', 'r-jsonl', Buffer.concat([gzipSync('{"id": 1}\n'), Buffer.from('garbage after the stream')])],
  ['trailing.csv.gz', 'r-csv', Buffer.concat([gzipSync('id\n1\n'), gzipSync('2\n'), Buffer.from('PK\u0003\u0004 more')])],
  ['trailing.json.gz', 'r-json', Buffer.concat([gzipSync('[{"id": 1}]'), Buffer.from('x')])],
])('data after the end of the gzip stream (%s) is named, with the byte it starts at', async (file, dataset, content) => {
  const gzipped = content.length - (file === 'trailing.json.gz' ? 1 : file === 'trailing.csv.gz' ? 9 : 24);
  await shared().drop(file, content);
  await quarantined(file, dataset, `trailing data after the gzip stream at byte ${gzipped} (of ${content.length}): not gzip data, and not another gzip member`);
});

it.each([
  ['sparse.jsonl', 'r-jsonl'],
  ['sparse.csv', 'r-csv'],
])('a 10 GB sparse file of NUL bytes (%s) is refused at once, not after being read to its end', async (file, dataset) => {
  const env = shared();
  // Made under a hidden name (ignored) and renamed in, as a careful producer does.
  const hidden = path.join(env.folders.input, `.${file}`);
  await writeFile(hidden, '');
  await truncate(hidden, 10 * 1024 ** 3);
  await rename(hidden, path.join(env.folders.input, file));
  await quarantined(file, dataset, /^\d+ NUL bytes in a row before byte \d+: a sparse or binary file, not text$/);
});
