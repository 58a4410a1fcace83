/**
 * Every kind of bad file ends in output_failed/ with a specific reason and report, and the daemon
 * goes on to load the next good file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { sharedEnv } from '../helpers/env.js';

const schema = `
schema:
  type: object
  properties:
    id: { type: integer }
    name: { type: string }
`;
const DATASETS = {
  'csv.yaml': `name: csv\nmatch: ["*.csv", "*.csv.gz"]\nformat: csv\n${schema}table: bad.csv\n`,
  'csv-norm.yaml': `name: csv-norm\nmatch: "norm-*.txt"\nformat: csv\nprepare:\n  - headers: lowercase\n${schema}table: bad.norm\n`,
  'jsonl.yaml': `name: jsonl\nmatch: "*.jsonl"\nformat: jsonl\n${schema}table: bad.jsonl\n`,
  'json.yaml': `name: json\nmatch: "*.json"\nformat: json\n${schema}table: bad.json\n`,
  'named.yaml': `name: named\nmatch: "named-*.csv"\npriority: 10\nformat: csv\nprepare:\n  - add_columns: { from_file_name: 'named-(?<day>\\d{8})' }\n${schema.replace('properties:', 'properties:\n    day: { type: string }')}table: bad.named\n`,
  'json-path.yaml': `name: json-path\nmatch: "api-*.data"\nformat: json\njson: { records: teams }\n${schema}table: bad.api\n`,
};

const shared = sharedEnv({ datasets: DATASETS });

const halfOf = (buffer: Buffer) => buffer.subarray(0, Math.floor(buffer.length / 2));
const bigArray = '[' + Array.from({ length: 3000 }, (_, i) => `{"id": ${i}, "name": "n${i}"}`).join(',\n');

it.each([
  ['ragged.csv', 'id,name\n1,a\n2,b,extra\n', 'read', 'line 3 has 3 fields, the header has 2'],
  ['quote.csv', 'id,name\n1,"a\n2,b\n', 'read', 'line 2: Quoted field unterminated'],
  ['latin1.csv', Buffer.from('id,name\n1,Jos\xe9\n', 'latin1'), 'read', 'line 2: the file is not valid utf-8: undecodable bytes at byte offset 13'],
  ['cut.csv.gz', halfOf(gzipSync('id,name\n' + Array.from({ length: 5000 }, (_, i) => `${i},n${(i * 7919) % 10007}`).join('\n'))), 'read', /^not a valid gzip file: unexpected end of file/],
  ['broken.json', bigArray + ',\n{"id": 3001 "name": "x"}]', 'read', /^invalid JSON at line 3001, column 13: /],
  ['api-empty.data', '{"count": 0, "competitions": []}', 'read', 'no records found at "teams"'],
  ['norm-dup.txt', 'ID,Name,NAME\n1,a,b\n', 'prepare', /^columns "Name" and "NAME" both become "name" after headers: lowercase/],
  ['blank-header.csv', 'id, ,name\n1,2,3\n', 'read', 'header column 2 is empty'],
  ['dup-header.csv', 'id,name,id\n1,a,2\n', 'read', 'header "id" appears twice (columns 1 and 3)'],
  ['notjson.jsonl', '{"id": 1}\nnot json\n', 'read', /^line 2 is not valid JSON/],
  ['wrongtype.jsonl', '{"id": "one"}\n', 'validate', 'line 1, field "id" = "one": type: must be integer'],
  ['empty.csv', 'id,name\n', 'validate', 'no rows'],
  ['extra.csv', 'id,name,colour\n1,a,red\n', 'prepare', 'unknown column "colour" (not in the schema; set extra_columns: ignore or keep)'],
  ['named-latest.csv', 'id,name\n1,a\n', 'prepare', 'the file name "named-latest.csv" does not match add_columns.from_file_name named-(?<day>\\d{8})'],
])('%s is quarantined at %s', async (name, content, stage, reason) => {
  await shared().drop(name, content);
  const line = await shared().outcome(name);
  expect(line).toMatchObject({ event: 'failed', stage });
  expect(line.reason).toEqual(typeof reason === 'string' ? reason : expect.stringMatching(reason));
  const dataset = String(line.dataset);
  const report = JSON.parse(await readFile(path.join(shared().folders.failed, dataset, `${name}.error.json`), 'utf8'));
  expect(report).toMatchObject({ file: name, stage, reason: line.reason });
  expect(await shared().files('failed', dataset)).toEqual(expect.arrayContaining([name, `${name}.error.json`]));
  // The daemon is still there: a good file right after loads.
  const good = `ok-after-${name.replace(/\W/g, '-')}.jsonl`;
  await shared().drop(good, `{"id": 1, "name": "${name}"}\n`);
  expect(await shared().outcome(good)).toMatchObject({ event: 'loaded', rows: 1 });
});
