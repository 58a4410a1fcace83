/** Text, keys and encodings that were silently changed or crashed a stage. */
import assert from 'node:assert/strict';
import type { HostileCase } from '../corpus.js';

function extraKeys(table: string, file: string): HostileCase['verify'] {
  return async ({ pool }) => {
    const { rows } = await pool.query(`SELECT _extra::text AS extra FROM ${table} WHERE _source_file = $1`, [file]);
    assert.deepEqual(rows, [{ extra: '{"other": "x", "__proto__": "p"}' }]);
  };
}

export const cases: HostileCase[] = [
  {
    file: 'proto.csv',
    why: 'a __proto__ header was dropped from _extra',
    content: () => 'id,__proto__,other\n1,p,x\n',
    expect: { event: 'loaded', rows: 1 },
    verify: extraKeys('hostile.csv_rows', 'proto.csv'),
  },
  {
    file: 'proto.jsonl',
    why: 'the same in JSONL',
    content: () => '{"id": 1, "__proto__": "p", "other": "x"}\n',
    expect: { event: 'loaded', rows: 1 },
    verify: extraKeys('hostile.jsonl_rows', 'proto.jsonl'),
  },
  {
    file: 'proto.json',
    why: 'the same in JSON',
    content: () => '[{"id": 1, "__proto__": "p", "other": "x"}]',
    expect: { event: 'loaded', rows: 1 },
    verify: extraKeys('hostile.json_rows', 'proto.json'),
  },
  {
    file: 'surrogate.jsonl',
    why: 'a lone surrogate became U+FFFD on its way to UTF-8',
    content: () => '{"id": 1, "name": "a\\ud800b"}\n',
    expect: { event: 'failed', stage: 'validate', reason: /^line 1, field "name" = .*: text: contains a lone UTF-16 surrogate/ },
  },
  {
    file: 'mixed-endings.csv',
    why: 'a file switching from LF to CRLF stored "a\\r" in the last field',
    content: () => 'id,name\n1,a\n2,b\r\n',
    expect: { event: 'failed', stage: 'read', reason: 'line 3 ends with CR LF, but the file\'s first line ends with LF alone: mixed line endings would leave a CR in field "name"' },
  },
  {
    file: 'quote-inside.csv',
    why: 'a quote inside an unquoted field is taken as text, as RFC 4180 readers do (documented)',
    content: () => 'id,name\n1,ab"c\n',
    expect: { event: 'loaded', rows: 1 },
    verify: async ({ pool }) => {
      const { rows } = await pool.query(`SELECT name FROM hostile.csv_rows WHERE _source_file = 'quote-inside.csv'`);
      assert.deepEqual(rows, [{ name: 'ab"c' }]);
    },
  },
  {
    file: 'latin1.csv',
    why: 'an encoding error said "after byte 0" without a line',
    content: () => Buffer.concat([Buffer.from('id,name\n1,ok\n2,Jos'), Buffer.from([0xe9]), Buffer.from('\n')]),
    expect: { event: 'failed', stage: 'read', reason: 'line 3: the file is not valid utf-8: undecodable bytes at byte offset 18' },
  },
  {
    file: 'prepared-size.csv',
    why: 'a report showed the value after preprocessing, which an analyst cannot find in the file',
    content: () => 'ID,Size\n1, XL \n',
    expect: { event: 'failed', stage: 'validate', reason: 'line 2, field "size" = "xl": enum: must be one of "s", "m", "l" (in the file: " XL ")' },
  },
];
