/**
 * Quarantine that analysts can work with: per-row policy with a rejects file, limits, empty files,
 * and reports whose summary groups repeated problems.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sharedEnv } from '../helpers/env.js';

const schema = `
schema:
  type: object
  required: [id, age]
  properties:
    id: { type: integer }
    age: { type: integer, minimum: 0 }
    name: { type: string }
`;
const DATASETS = {
  'strict.yaml': `name: strict\nmatch: "strict-*.csv"\nformat: csv\ntable: q.strict\n${schema}`,
  'lenient.yaml': `name: lenient\nmatch: "lenient-*"\nformat: csv\ntable: q.lenient\non_invalid_row: skip_row\nmax_invalid_rows: 5\n${schema}`,
  'ratio.yaml': `name: ratio\nmatch: "ratio-*"\nformat: jsonl\ntable: q.ratio\non_invalid_row: skip_row\nmax_invalid_ratio: 0.05\n${schema}`,
  'doc.yaml': `name: doc\nmatch: "doc-*.json"\nformat: json\ntable: q.doc\non_invalid_row: skip_row\n${schema}`,
  'lines.yaml': `name: lines\nmatch: "lines-*.jsonl"\nformat: jsonl\ntable: q.lines\non_invalid_row: skip_row\n${schema}`,
  'empty-ok.yaml': `name: empty-ok\nmatch: "empty-*"\nformat: csv\ntable: q.empty\non_empty: load\n${schema}`,
};

const shared = sharedEnv({ datasets: DATASETS });

function csv(rows: number, bad: Record<number, string>): string {
  const lines = ['id,age,name'];
  for (let i = 1; i <= rows; i++) lines.push(bad[i] ?? `${i},${20 + (i % 50)},n${i}`);
  return lines.join('\n') + '\n';
}

async function count(table: string): Promise<number> {
  return (await shared().pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}

it('skip_row loads the good rows and writes each rejected one, as read, with its reasons', async () => {
  const content = csv(100, { 10: '10,ten,n10', 50: '50,-3,n50', 77: '77,1' });
  await shared().drop('lenient-a.csv', content);
  const line = await shared().outcome('lenient-a.csv');
  expect(line).toMatchObject({ event: 'loaded', rows: 97, rejected: 3, rejects: path.join('output_failed', 'lenient', 'lenient-a.csv.rejects.jsonl') });
  expect(await count('q.lenient')).toBe(97);
  const rejects = (await readFile(path.join(shared().root, String(line['rejects'])), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  expect(rejects).toEqual([
    { line: 11, record: { id: '10', age: 'ten', name: 'n10' }, reasons: ['line 11, field "age" = "ten": type: must be integer'] },
    { line: 51, record: { id: '50', age: '-3', name: 'n50' }, reasons: ['line 51, field "age" = -3: minimum: must be >= 0'] },
    { line: 78, record: ['77', '1'], reasons: ['line 78 has 2 fields, the header has 3'] },
  ]);
  expect(await shared().files('input')).toEqual([]);
});

it('skip_row in a JSON document names each rejected record by its number, beside the record itself', async () => {
  const records = [{ id: 1, age: 30 }, { id: 2, age: 'old' }, { id: 3, age: 40 }, { id: 4, age: -1, name: 'x' }];
  await shared().drop('doc-a.json', JSON.stringify(records));
  const line = await shared().outcome('doc-a.json');
  expect(line).toMatchObject({ event: 'loaded', rows: 2, rejected: 2 });
  const rejects = (await readFile(path.join(shared().root, String(line['rejects'])), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  expect(rejects).toEqual([
    { record_number: 2, record: { id: 2, age: 'old' }, reasons: [expect.stringMatching(/^record 2, field "age" = "old": type: must be integer/)] },
    { record_number: 4, record: { id: 4, age: -1, name: 'x' }, reasons: [expect.stringMatching(/^record 4, field "age" = -1: minimum: must be >= 0/)] },
  ]);
});

it('skip_row keeps every digit of a rejected line that is not an object, as it was written', async () => {
  const lines = ['{"id": 1, "age": 30}', '[1, 0.10000000000000000001]', '0.10000000000000000001', '{"id": 2, "age": 40}'];
  await shared().drop('lines-a.jsonl', lines.join('\n') + '\n');
  const line = await shared().outcome('lines-a.jsonl');
  expect(line).toMatchObject({ event: 'loaded', rows: 2, rejected: 2 });
  const text = await readFile(path.join(shared().root, String(line['rejects'])), 'utf8');
  const [first, second] = text.trim().split('\n');
  expect(first).toContain('"line":2,"record":[1,0.10000000000000000001]');
  expect(second).toContain('"line":3,"record":0.10000000000000000001,"reasons":["line 3 is not a JSON object"]');
  await shared().drop('doc-numbers.json', '[{"id": 1, "age": 30}, 0.10000000000000000001]');
  const doc = await shared().outcome('doc-numbers.json');
  expect(doc).toMatchObject({ event: 'loaded', rows: 1, rejected: 1 });
  const docText = await readFile(path.join(shared().root, String(doc['rejects'])), 'utf8');
  expect(docText.trim()).toBe('{"record_number":2,"record":0.10000000000000000001,"reasons":["record 2 is not a JSON object"]}');
});

it('skip_row over max_invalid_rows rejects the whole file', async () => {
  const bad = Object.fromEntries([3, 4, 5, 6, 7, 8].map((i) => [i, `${i},x,n`]));
  await shared().drop('lenient-b.csv', csv(20, bad));
  const line = await shared().outcome('lenient-b.csv');
  expect(line).toMatchObject({ event: 'failed', stage: 'validate' });
  expect(line.reason).toBe('6 of 20 records invalid, over the limit (max_invalid_rows: 5)');
  expect((await shared().pool.query("SELECT 1 FROM q.lenient WHERE _source_file = 'lenient-b.csv'")).rowCount).toBe(0);
  expect(await shared().files('failed', 'lenient')).toEqual(['lenient-a.csv.rejects.jsonl', 'lenient-b.csv', 'lenient-b.csv.error.json']);
});

it('skip_row over max_invalid_ratio rejects the whole file', async () => {
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: i + 1, age: i < 3 ? -1 : 30 }));
  await shared().drop('ratio-a.jsonl', lines.join('\n'));
  const line = await shared().outcome('ratio-a.jsonl');
  expect(line.reason).toBe('3 of 40 records invalid, over the limit (max_invalid_ratio: 0.05)');
});

it('groups repeated problems in the report summary', async () => {
  const bad: Record<number, string> = {};
  for (let i = 1; i <= 214; i++) bad[i * 2] = `${i * 2},seventeen,n`;
  bad[3] = '3,,n';
  await shared().drop('strict-many.csv', csv(430, bad));
  const line = await shared().outcome('strict-many.csv');
  expect(line).toMatchObject({ event: 'failed', stage: 'validate', problem_count: 215 });
  const report = JSON.parse(await readFile(path.join(shared().folders.failed, 'strict', 'strict-many.csv.error.json'), 'utf8'));
  expect(report.summary).toBe(
    [
      '215 problems in 215 records',
      'field "age": 214 rows: type: must be integer (first at lines 3, 5, 7; e.g. "seventeen")',
      'field "age": 1 row: required: value missing (first at line 4)',
    ].join('\n'),
  );
  expect(report.groups[0]).toEqual({ field: 'age', rule: 'type: must be integer', count: 214, first_at: [3, 5, 7], example: '"seventeen"' });
  expect(report.problems).toHaveLength(20);
  expect(report.file_id).toBe(line['file_id']);
});

it('an empty file is rejected by default and loaded with on_empty: load', async () => {
  await shared().drop('strict-empty.csv', 'id,age,name\n');
  expect(await shared().outcome('strict-empty.csv')).toMatchObject({ event: 'failed', reason: 'no rows' });
  await shared().drop('empty-ok.csv', 'id,age,name\n');
  expect(await shared().outcome('empty-ok.csv')).toMatchObject({ event: 'loaded', rows: 0 });
});
