/** Readers on real files in a temporary folder. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import type { Dataset, Limits } from '../../src/config/types.js';
import { DataError } from '../../src/errors.js';
import { recordMaker } from '../../src/read/csv.js';
import { readFile } from '../../src/read/index.js';
import type { RawBatch } from '../../src/read/types.js';
import { localFile } from '../../src/source/folder/file-input.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function dataset(format: Dataset['format'], extra: Partial<Dataset> = {}): Dataset {
  return {
    format,
    csv: { delimiter: ',', header: true, columns: null, quote: '"', encoding: 'utf-8' },
    json: { records: null, pathColumns: [] },
    ...extra,
  } as Dataset;
}

async function readAll(name: string, content: string | Buffer, ds: Dataset, limits: Partial<Limits> = {}): Promise<RawBatch & { sha256: string }> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  const opened = readFile(localFile(file), ds, { batchRows: 2, limits: { ...DEFAULT_LIMITS, ...limits } });
  const all: RawBatch = { records: [], numbers: [], problems: [] };
  for await (const batch of opened.batches) {
    // A JSONL batch ends at `batchRows` lines, however many a chunk holds.
    if (ds.format === 'jsonl') expect(batch.records.length).toBeLessThanOrEqual(2);
    all.records.push(...batch.records);
    all.numbers.push(...batch.numbers);
    all.problems.push(...batch.problems);
  }
  return { ...all, sha256: opened.source.digest().sha256 };
}

async function readError(name: string, content: string | Buffer, ds: Dataset, limits: Partial<Limits> = {}): Promise<DataError> {
  try {
    await readAll(name, content, ds, limits);
  } catch (error) {
    if (error instanceof DataError) return error;
    throw error;
  }
  throw new Error('expected a DataError');
}

describe('CSV', () => {
  it('reads quoted delimiters, quotes and newlines, CRLF and a BOM, numbering records by their first line', async () => {
    const text = '\uFEFFa,b\r\n1,"x, ""y"""\r\n2,"two\r\nlines"\r\n\r\n3,z\r\n';
    const result = await readAll('a.csv', text, dataset('csv'));
    expect(result.records).toEqual([
      { a: '1', b: 'x, "y"' },
      { a: '2', b: 'two\r\nlines' },
      { a: '3', b: 'z' },
    ]);
    expect(result.numbers).toEqual([2, 3, 6]);
    expect(result.problems).toEqual([]);
  });

  it('numbers lines right after fields with LF and CRLF inside quotes', async () => {
    const text = 'a,b\n1,"x\ny"\n2,"p\r\nq\r\nr"\n3,z\n4,"s\nt"\n';
    expect((await readAll('lines.csv', text, dataset('csv'))).numbers).toEqual([2, 4, 7, 8]);
  });

  it('builds records safely whatever the header holds', () => {
    const make = recordMaker(['__proto__', 'a"b', 'line\nbreak', '}; process.exit(1); ({']);
    const record = make(['p', 'q', 'r', 's']);
    expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    expect(Object.keys(record)).toEqual(['__proto__', 'a"b', 'line\nbreak', '}; process.exit(1); ({']);
    expect(record['__proto__']).toBe('p');
    expect(record['}; process.exit(1); ({']).toBe('s');
  });

  it('reports a ragged row with its line and both counts', async () => {
    const result = await readAll('ragged.csv', 'a,b\n1,2\n3\n4,5,6\n', dataset('csv'));
    expect(result.records).toEqual([{ a: '1', b: '2' }]);
    expect(result.problems.map((p) => p.message)).toEqual([
      'line 3 has 1 fields, the header has 2',
      'line 4 has 3 fields, the header has 2',
    ]);
  });

  it('rejects an empty or duplicated header name', async () => {
    expect((await readError('dup.csv', 'a,b,a\n1,2,3\n', dataset('csv'))).message).toBe(
      'header "a" appears twice (columns 1 and 3)',
    );
    expect((await readError('empty.csv', 'a, ,c\n1,2,3\n', dataset('csv'))).message).toBe('header column 2 is empty');
  });

  it('turns an unterminated quote into a data error', async () => {
    const error = await readError('quote.csv', 'a,b\n1,"open\n2,3\n', dataset('csv'));
    expect(error.stage).toBe('read');
    expect(error.message).toBe('line 2: Quoted field unterminated');
  });

  it('rejects bytes that are not UTF-8 and reads them under encoding: latin1', async () => {
    const latin1 = Buffer.from('a,b\n1,caf\xe9\n', 'latin1');
    expect((await readError('latin.csv', latin1, dataset('csv'))).message).toMatch(/not valid utf-8/);
    const ds = dataset('csv', { csv: { delimiter: ',', header: true, columns: null, quote: '"', encoding: 'latin1' } });
    expect((await readAll('latin-ok.csv', latin1, ds)).records).toEqual([{ a: '1', b: 'café' }]);
  });

  it('detects the delimiter from the first lines when none is given', async () => {
    const auto = () => dataset('csv', { csv: { delimiter: 'auto', header: true, columns: null, quote: '"', encoding: 'utf-8' } });
    expect((await readAll('semi.csv', 'a;b;c\n1;"x;y";3\n', auto())).records).toEqual([{ a: '1', b: 'x;y', c: '3' }]);
    expect((await readAll('tabs.tsv', 'a\tb\n1,5\t2\n', auto())).records).toEqual([{ a: '1,5', b: '2' }]);
    expect((await readAll('pipes.csv', 'a|b\n1|2\n', auto())).records).toEqual([{ a: '1', b: '2' }]);
  });

  it('uses csv.columns for a file without a header', async () => {
    const ds = dataset('csv', { csv: { delimiter: ';', header: false, columns: ['x', 'y'], quote: '"', encoding: 'utf-8' } });
    expect((await readAll('nohead.csv', '1;2\n3;4\n', ds)).records).toEqual([
      { x: '1', y: '2' },
      { x: '3', y: '4' },
    ]);
  });

  it('reads gzip and reports a truncated gzip file as a data error', async () => {
    const gz = gzipSync('a,b\n' + '1,2\n'.repeat(1000));
    expect((await readAll('ok.csv.gz', gz, dataset('csv'))).records).toHaveLength(1000);
    const error = await readError('cut.csv.gz', gz.subarray(0, gz.length - 20), dataset('csv'));
    expect(error.message).toMatch(/not a valid gzip file/);
    expect((await readError('fake.csv.gz', 'a,b\n1,2\n', dataset('csv'))).message).toMatch(/not a valid gzip file/);
  });
});

describe('JSONL', () => {
  it('skips blank lines and reports lines that are not JSON objects', async () => {
    const result = await readAll('a.jsonl', '{"a":1}\n\n[1]\n{"a":\n{"a":2}', dataset('jsonl'));
    expect(result.records).toEqual([{ a: 1 }, { a: 2 }]);
    expect(result.numbers).toEqual([1, 5]);
    expect(result.problems.map((p) => [p.line, p.message.split(':')[0]])).toEqual([
      [3, 'line 3 is not a JSON object'],
      [4, 'line 4 is not valid JSON'],
    ]);
  });
});

describe('JSON', () => {
  it('reads a top-level array and a single object', async () => {
    expect((await readAll('arr.json', '[{"a":1},{"a":2}]', dataset('json'))).records).toEqual([{ a: 1 }, { a: 2 }]);
    expect((await readAll('one.json', '{"a":1}', dataset('json'))).records).toEqual([{ a: 1 }]);
  });

  it('finds records at a path with * steps', async () => {
    const doc = {
      gameId: 1,
      teams: {
        home: { team: { id: 10 }, players: { ID1: { person: { id: 1 } }, ID2: { person: { id: 2 } } } },
        away: { team: { id: 20 }, players: { ID3: { person: { id: 3 } } } },
      },
    };
    const ds = dataset('json', { json: { records: 'teams.*.players.*', pathColumns: ['side', 'player_key'] } });
    const result = await readAll('nhl.json', JSON.stringify(doc), ds);
    expect(result.records.map((r) => [(r['person'] as { id: number }).id, r['side'], r['player_key']])).toEqual([
      [1, 'home', 'ID1'],
      [2, 'home', 'ID2'],
      [3, 'away', 'ID3'],
    ]);
    const list = dataset('json', { json: { records: 'competitions', pathColumns: [] } });
    expect((await readAll('comp.json', '{"count":2,"competitions":[{"id":1},{"id":2}]}', list)).records).toEqual([
      { id: 1 },
      { id: 2 },
    ]);
  });

  it('sets aside a record over max_record_bytes while its tokens stream past, and reads on', async () => {
    const huge = '[{"a": 1}, {"a": "' + 'x'.repeat(2 * 1024 * 1024) + '"}, {"a": 3}]';
    const result = await readAll('huge.json', huge, dataset('json'), { maxRecordBytes: 1024 * 1024 });
    expect(result.records).toEqual([{ a: 1 }, { a: 3 }]);
    expect(result.problems).toEqual([
      { record: 2, rule: 'limit: max_record_bytes', message: 'record 2: larger than 1048576 characters, over limits.max_record_bytes (1048576)' },
    ]);
  });

  it('holds each record to max_depth, max_record_values and max_columns, without recursion', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const flood = '[' + Array.from({ length: 5000 }, () => '{}').join(',') + ']';
    const wide = '{' + Array.from({ length: 50 }, (_, i) => `"k${i}": ${i}`).join(',') + '}';
    const doc = `[{"id": 1, "zz": ${deep}}, {"id": 2, "zz": ${flood}}, ${wide}, {"id": 4}]`;
    const result = await readAll('nested.json', doc, dataset('json'), { maxDepth: 10, maxRecordValues: 1000, maxColumns: 20 });
    expect(result.records).toEqual([{ id: 4 }]);
    expect(result.problems.map((p) => [p.record, p.rule])).toEqual([
      [1, 'limit: max_depth'],
      [2, 'limit: max_record_values'],
      [3, 'limit: max_columns'],
    ]);
  });

  it('keeps integers beyond 2^53 exact, refuses numbers that overflow a double, keeps __proto__ as a key', async () => {
    const doc = '[{"a": 9007199254740993, "b": -9223372036854775808, "c": 1.5, "d": [12345678901234567890]}, {"a": 1e999}, {"__proto__": {"x": 1}, "a": 2}]';
    const result = await readAll('numbers.json', doc, dataset('json'));
    expect(result.records[0]).toEqual({ a: 9007199254740993n, b: -9223372036854775808n, c: 1.5, d: [12345678901234567890n] });
    expect(result.problems).toEqual([expect.objectContaining({ record: 2, rule: 'number: outside the range of a 64-bit float' })]);
    expect(Object.keys(result.records[1]!)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(result.records[1])).toBe(Object.prototype);
  });

  it('says a top-level scalar is not a record instead of "no rows"', async () => {
    const error = await readError('scalar.json', '42', dataset('json'));
    expect(error.message).toBe('the document is a number, not an object (one record) or an array of records');
  });

  it('reports a path that finds nothing and a syntax error mid-array', async () => {
    const ds = dataset('json', { json: { records: 'teams', pathColumns: [] } });
    expect((await readError('none.json', '{"competitions": []}', ds)).message).toBe('no records found at "teams"');
    // The path leads to an empty array: a file of no records, for on_empty to judge.
    expect((await readAll('empty.json', '{"count": 0, "teams": []}', ds)).records).toEqual([]);
    const error = await readError('broken.json', '[{"a":1},\n{"a":2},\n{"a" 3}]', dataset('json'));
    expect(error.message).toBe("invalid JSON at line 3, column 6: Expected ':' after property name");
    expect(error.problems[0]).toMatchObject({ line: 3, rule: 'json' });
  });
});

describe('JSONL limits and exact values', () => {
  it('reads int64 exactly, refuses 1e999, keeps __proto__, and sets aside deep, wide and long lines', async () => {
    const lines = [
      '{"a": 9223372036854775807, "b": 1234567890123456789, "c": 2.5e3}',
      '{"a": 1e999}',
      '{"a": ' + '['.repeat(50_000) + ']'.repeat(50_000) + '}',
      '{"__proto__": 1, "a": 3}',
      '{"a": "' + 'x'.repeat(3 * 1024 * 1024) + '"}',
      '{' + Array.from({ length: 30 }, (_, i) => `"k${i}": 1`).join(',') + '}',
      '{"a": 7}',
    ].join('\n');
    const result = await readAll('limits.jsonl', lines, dataset('jsonl'), { maxDepth: 16, maxRecordBytes: 1024 * 1024, maxColumns: 20 });
    expect(result.records).toEqual([{ a: 9223372036854775807n, b: 1234567890123456789n, c: 2500 }, expect.anything(), { a: 7 }]);
    expect(Object.keys(result.records[1]!)).toEqual(['__proto__', 'a']);
    expect(result.numbers).toEqual([1, 4, 7]);
    expect(result.problems.map((p) => [p.line, p.rule])).toEqual([
      [2, 'number: outside the range of a 64-bit float'],
      [3, 'limit: max_depth'],
      [5, 'limit: max_record_bytes'],
      [6, 'limit: max_columns'],
    ]);
  });
});

describe('CSV limits', () => {
  it('refuses a header over max_columns and sets aside a row over it', async () => {
    const wide = Array.from({ length: 30 }, (_, i) => `c${i}`).join(',');
    expect((await readError('wide.csv', `${wide}\n`, dataset('csv'), { maxColumns: 20 })).message).toBe(
      'line 1: the header has 30 fields, over limits.max_columns (20)',
    );
    const result = await readAll('row.csv', `a,b\n1,2\n${wide}\n3,4\n`, dataset('csv'), { maxColumns: 20 });
    expect(result.numbers).toEqual([2, 4]);
    expect(result.problems.map((p) => [p.line, p.rule])).toEqual([[3, 'limit: max_columns']]);
  });

  it('refuses a row whose CR LF would leave a CR in a file that started with LF', async () => {
    const result = await readAll('mixed.csv', 'a,b\n1,x\n2,y\r\n3,z\n', dataset('csv'));
    expect(result.numbers).toEqual([2, 4]);
    expect(result.problems).toEqual([expect.objectContaining({ line: 3, field: 'b', rule: 'csv: mixed line endings' })]);
  });

  it('names the line and byte of undecodable bytes past a character split between pieces or chunks', async () => {
    // Over 1 MiB: read in 256 KiB chunks, decoded in 32 KiB pieces. A two-byte character spans
    // each boundary named; the bad byte comes after it.
    for (const [split, bad] of [[32 * 1024, 40_000], [256 * 1024, 270_000]] as const) {
      const bytes = Buffer.alloc(1536 * 1024, 'x');
      for (let at = 99; at < bytes.length; at += 100) bytes[at] = 0x0a; // a line every 100 bytes
      bytes[split - 1] = 0xc3; // é
      bytes[split] = 0xa9;
      bytes[bad] = 0xff;
      const line = bytes.subarray(0, bad).filter((b) => b === 0x0a).length + 1;
      const error = await readError('split.jsonl', bytes, dataset('jsonl'));
      expect(error.message).toBe(`line ${line}: the file is not valid utf-8: undecodable bytes at byte offset ${bad}`);
    }
  });

  it('holds every JSONL line to max_record_bytes in characters, whole or streamed, and names the right line at the end', async () => {
    const limit = 50_000;
    const lines = ['{"a":1}', `{"a":"${'x'.repeat(100_000)}"}`, `{"a":"${'é'.repeat(40_000)}"}`, '{"a":4}'];
    // Small: read in one piece; over 1 MiB: streamed in 256 KiB chunks, the long line inside one of them.
    const filler = Array.from({ length: 150_000 }, () => '{"a":0}');
    for (const before of [[], filler]) {
      const result = await readAll('long.jsonl', [...before, ...lines].join('\n'), dataset('jsonl'), { maxRecordBytes: limit });
      const n = before.length;
      expect({ n, records: result.records.length, last: result.numbers.slice(-2), problems: result.problems.map((p) => [p.line, p.rule]) }).toEqual({
        n,
        records: n + 3,
        last: [n + 3, n + 4],
        problems: [[n + 2, 'limit: max_record_bytes']],
      });
    }
    // The last line over the limit, streamed and skipped, ends in half a character: its own line is named.
    const bytes = Buffer.concat([Buffer.from(`{"a":1}\n{"a":"${'x'.repeat(2_000_000)}`), Buffer.from([0xc3])]);
    const error = await readError('cut.jsonl', bytes, dataset('jsonl'), { maxRecordBytes: limit });
    expect(error.message).toMatch(/^line 2: the file is not valid utf-8/);
  });

  it('names the line and byte of undecodable bytes', async () => {
    const error = await readError('latin.csv', Buffer.concat([Buffer.from('a,b\n1,x\n2,'), Buffer.from([0xe9]), Buffer.from('\n')]), dataset('csv'));
    expect(error.message).toBe('line 3: the file is not valid utf-8: undecodable bytes at byte offset 10');
  });
});

describe('gzip limits', () => {
  it('stops a file that inflates beyond max_decompressed_bytes or max_gzip_ratio', async () => {
    const bomb = gzipSync('id\n' + '\n'.repeat(40 * 1024 * 1024));
    expect((await readError('bomb.csv.gz', bomb, dataset('csv'), { maxDecompressedBytes: 1024 * 1024 })).message).toMatch(
      /^the gzip data inflates to more than 1048576 bytes, over limits.max_decompressed_bytes \(1048576\)$/,
    );
    expect((await readError('bomb2.csv.gz', bomb, dataset('csv'))).message).toMatch(
      /^the gzip data inflates \d+ times its compressed size \(\d+ bytes from \d+\), over limits.max_gzip_ratio \(200\)$/,
    );
  });
});
