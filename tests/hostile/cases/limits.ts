/** Files whose size, width, depth or compression would exhaust memory or stack, or hold a worker. */
import { gzipSync } from 'node:zlib';
import type { HostileCase } from '../corpus.js';

const empties = (n: number) => Array.from({ length: n }, () => '{}').join(',');

export const cases: HostileCase[] = [
  {
    file: 'flood.json',
    why: 'a record with millions of {} (the size guard did not count structure): out-of-memory crash loop',
    content: () => `[{"id": 1, "doc": [${empties(50_000)}]}]`,
    expect: { event: 'failed', stage: 'read', reason: 'record 1: more than 10000 values, over limits.max_record_values (10000)' },
  },
  {
    file: 'flood.jsonl',
    why: 'one JSONL line of {} after {}',
    content: () => `{"id": 1, "doc": [${empties(50_000)}]}\n`,
    expect: { event: 'failed', stage: 'read', reason: /line 1: more than 10000 values, over limits\.max_record_values/ },
  },
  {
    file: 'wide-header.csv',
    why: 'a header with a huge number of columns (V8 died compiling a record maker for it)',
    content: () => Array.from({ length: 5000 }, (_, i) => `c${i}`).join(',') + '\n1\n',
    expect: { event: 'failed', stage: 'read', reason: 'line 1: the header has 5000 fields, over limits.max_columns (100)' },
  },
  {
    file: 'wide-row.jsonl',
    why: 'a JSON record with more keys than any table could hold',
    content: () => '{"id": 1, ' + Array.from({ length: 500 }, (_, i) => `"k${i}": ${i}`).join(', ') + '}\n',
    expect: { event: 'failed', stage: 'read', reason: /line 1: more than 100 keys, over limits\.max_columns \(100\)/ },
  },
  {
    file: 'deep.jsonl',
    why: 'a 100k-deep array overflowed the stack in flatten/jsonb and was retried for ever',
    content: () => `{"id": 1, "doc": ${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`,
    expect: { event: 'failed', stage: 'read', reason: /line 1: nesting deeper than 32 levels, over limits\.max_depth \(32\)/ },
  },
  {
    file: 'deep.json',
    why: 'the same in a JSON document',
    content: () => `[{"id": 1, "doc": ${'['.repeat(100_000)}${']'.repeat(100_000)}}]`,
    expect: { event: 'failed', stage: 'read', reason: /record 1: nesting deeper than 32 levels/ },
  },
  {
    file: 'flat-deep.jsonl',
    why: 'deep objects under flatten: true',
    content: () => `{"id": 1, "a": ${'{"b": '.repeat(5000)}1${'}'.repeat(5000)}}\n`,
    expect: { event: 'failed', stage: 'read', reason: /line 1: nesting deeper than 32 levels/ },
  },
  {
    file: 'long-line.jsonl',
    why: 'a line over the record size: skipped while it streams, reported with its line and a problem count',
    content: () => `{"id": 1}\n{"id": 2, "name": "${'x'.repeat(2 * 1024 * 1024)}"}\n{"id": 3}\n`,
    expect: { event: 'failed', stage: 'read', reason: 'line 2: the line is longer than 1048576 characters, over limits.max_record_bytes (1048576)' },
  },
  {
    file: 'unterminated.csv',
    why: 'an unterminated quote that swallows the rest of the file',
    content: () => `id,name\n1,"${'x'.repeat(2 * 1024 * 1024)}\n`,
    expect: { event: 'failed', stage: 'read', reason: /^line 2: a record longer than 1048576 characters \(an unterminated quote\?\), over limits\.max_record_bytes/ },
  },
  {
    file: 'bomb.csv.gz',
    why: 'a small gzip of gigabytes of newlines held a worker for minutes',
    content: () => gzipSync('id\n' + '\n'.repeat(40 * 1024 * 1024)),
    expect: { event: 'failed', stage: 'read', reason: /^the gzip data inflates \d+ times its compressed size .*over limits\.max_gzip_ratio \(50\)$/ },
  },
  {
    file: 'scalar.json',
    why: 'a top-level scalar was reported as "no rows"',
    content: () => '"just a string"',
    expect: { event: 'failed', stage: 'read', reason: 'the document is a string, not an object (one record) or an array of records' },
  },
  {
    file: 'dedupe-many.csv',
    why: 'drop_duplicate_rows remembers every distinct row: the number of them is the file\'s to choose',
    content: () => 'id\n' + Array.from({ length: 300 }, (_, i) => i).join('\n') + '\n',
    expect: {
      event: 'failed',
      stage: 'prepare',
      reason: 'line 102: drop_duplicate_rows: more than 100 distinct rows to remember, over limits.max_distinct_rows (100)',
    },
  },
  {
    file: 'dedupe-long-name.csv',
    why: 'a header name of 100,000 characters must not make every message and report that long',
    content: () => `id,${'n'.repeat(100_000)}\n1,x\n`,
    expect: { event: 'failed', stage: 'prepare', reason: /^unknown column "n{79}…" \(not in the schema; set extra_columns: ignore or keep\)$/ },
  },
];
