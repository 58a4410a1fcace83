/**
 * The byte-level CSV tokenizer of the columnar path (read/csv-cells.ts) against papaparse, which the
 * record path uses (read/csv.ts): on generated files — quotes, doubled quotes, line breaks and CRLF
 * inside quotes, spaces after a closing quote, a BOM, each delimiter, ragged rows, blank lines,
 * non-ASCII text, every line-break style, files cut into chunks anywhere — both must give the same
 * rows with the same line numbers, the same problems, or the same error at the same line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { CsvOptions, Limits } from '../../src/config/types.js';
import { DataError } from '../../src/errors.js';
import { cellText, newlineOf, readCsvCells } from '../../src/read/csv-cells.js';
import { detectNewline, readCsv } from '../../src/read/csv.js';
import { openSource } from '../../src/read/source.js';
import { localFile } from '../../src/source/folder/file-input.js';

const LIMITS: Limits = {
  maxRecordBytes: 1 << 20,
  maxRecordValues: 1_000_000,
  maxDepth: 64,
  maxColumns: 50,
  maxDecompressedBytes: 1 << 30,
  maxGzipRatio: 200,
  maxDistinctRows: 1_000_000,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-cells-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  rows: Array<[number, string[]]>;
  problems: Array<[number | undefined, string]>;
  error: [number | undefined, string] | null;
}

/**
 * A record's values in the header's order. Not Object.values: a header name that is an array index
 * ("12") would come first (found by this property test with a header cell of "12").
 */
function inHeaderOrder(record: Record<string, unknown>, header: string[]): string[] {
  expect(Object.keys(record).sort()).toEqual([...header].sort());
  return header.map((name) => record[name] as string);
}

async function viaPapaparse(file: string, options: CsvOptions, batchRows: number, header: string[] | null = null): Promise<Outcome> {
  const out: Outcome = { rows: [], problems: [], error: null };
  try {
    for await (const batch of readCsv(openSource(localFile(file), 'utf-8', LIMITS), options, { batchRows, limits: LIMITS })) {
      batch.records.forEach((r, i) => out.rows.push([batch.numbers[i]!, header ? inHeaderOrder(r, header) : (Object.values(r) as string[])]));
      for (const p of batch.problems) out.problems.push([p.line, p.rule]);
    }
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    out.error = [error.problems[0]?.line, error.problems[0]?.rule ?? error.message];
  }
  return out;
}

async function viaCells(file: string, options: CsvOptions, batchRows: number): Promise<Outcome & { header: string[] | null }> {
  const out: Outcome & { header: string[] | null } = { rows: [], problems: [], error: null, header: null };
  try {
    for await (const b of readCsvCells(openSource(localFile(file), 'utf-8', LIMITS, true), options, { batchRows, limits: LIMITS })) {
      out.header ??= b.header;
      for (let r = 0; r < b.rows; r++) {
        const fields: string[] = [];
        for (let f = 0; f < b.width; f++) fields.push(cellText(b, b.starts[r * b.width + f]!, b.ends[r * b.width + f]!, b.escaped[r * b.width + f]!));
        out.rows.push([b.lines[r]!, fields]);
      }
      for (const p of b.problems) out.problems.push([p.line, p.rule]);
    }
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    out.error = [error.problems[0]?.line, error.problems[0]?.rule ?? error.message];
  }
  return out;
}

/**
 * Rows in file order (the readers hand problems over in batches at different moments). A file that
 * ends in an error is rejected whole, so which rows went by before it does not matter.
 */
function normalised(o: Outcome) {
  if (o.error) return { error: true };
  return { rows: o.rows, problems: [...o.problems].sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)), error: o.error };
}

const DELIMITERS = [',', ';', '\t', '|'];
const NEWLINES = ['\n', '\r\n', '\r'];

/** A field as a producer might write it: plain, quoted (with doubled quotes, line breaks), odd spacing. */
const field = (d: string) =>
  fc.oneof(
    fc.constantFrom('', 'a', 'abc', '12', '-3.5', 'x y', 'größe', '😀', ' lead', 'trail '),
    fc.stringMatching(/^[a-z0-9 ]{0,6}$/),
    fc.array(fc.constantFrom('a', ' ', '"', d, '\n', '\r\n', 'é', ','), { maxLength: 6 }).map((parts) => `"${parts.join('').replaceAll('"', '""')}"`),
    fc.constantFrom('"quoted"  ', '"a"b', 'a"b', '""', '"x""y"', '"unterminated'),
  );

const csvFile = fc
  .record({
    d: fc.constantFrom(...DELIMITERS),
    nl: fc.constantFrom(...NEWLINES),
    width: fc.integer({ min: 1, max: 5 }),
    bom: fc.boolean(),
    trailing: fc.boolean(),
    seed: fc.nat(),
  })
  .chain(({ d, nl, width, bom, trailing }) =>
    fc
      .array(
        fc.oneof(
          { weight: 8, arbitrary: fc.array(field(d), { minLength: width, maxLength: width }) },
          { weight: 1, arbitrary: fc.array(field(d), { minLength: 0, maxLength: width + 2 }) }, // ragged or blank
        ),
        { maxLength: 12 },
      )
      .map((rows) => {
        const header = Array.from({ length: width }, (_, i) => `c${i}`).join(d);
        const text = [header, ...rows.map((r) => r.join(d))].join(nl) + (trailing ? nl : '');
        return { text: (bom ? '\ufeff' : '') + text, d };
      }),
  );

it('splits generated CSV files exactly as papaparse does: rows, line numbers, problems and errors', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(csvFile, fc.integer({ min: 1, max: 4 }), async ({ text, d }, batchRows) => {
      const file = path.join(dir, `f${n++}.csv`);
      await writeFile(file, text);
      const options: CsvOptions = { delimiter: d, header: true, columns: null, quote: '"', encoding: 'utf-8' };
      const actual = await viaCells(file, options, batchRows);
      const expected = await viaPapaparse(file, options, batchRows, actual.header);
      expect(normalised(actual)).toEqual(normalised(expected));
      // The same error at the same line — unless the file has two: papaparse reports the quote errors
      // of a whole chunk before any row of it is looked at; the tokenizer the first error in the file.
      if (actual.error && expected.error && actual.error[1] === expected.error[1]) expect(actual.error).toEqual(expected.error);
    }),
    { numRuns: 400 },
  );
});

it('a header name that is an array index keeps its place (a counterexample the property above found)', async () => {
  const file = path.join(dir, 'index-name.csv');
  await writeFile(file, 'c0|c1|c2\r""|12|"unterminated\r|"\r\n|a"|"quoted"  \r||');
  const options: CsvOptions = { delimiter: '|', header: true, columns: null, quote: '"', encoding: 'utf-8' };
  const actual = await viaCells(file, options, 1);
  const expected = await viaPapaparse(file, options, 1, actual.header);
  expect(actual.header).toEqual(['c0', 'c1', 'c2\r""', '12', 'unterminated\r|']);
  expect(normalised(actual)).toEqual(normalised(expected));
  expect(actual.rows).toEqual([[2, ['', 'a"', 'quoted', '', '']]]);
});

it('reads rows that cross chunk boundaries anywhere, and detects the delimiter as the record path does', async () => {
  // Big enough to span many 256 KiB read chunks, with quoted line breaks and multi-byte characters.
  const row = (i: number) => `${i};"line ${i}\nnext ""q"" ;";größe-${i};${'x'.repeat(i % 97)}`;
  const text = ['a;b;c;d', ...Array.from({ length: 40_000 }, (_, i) => row(i))].join('\r\n') + '\r\n';
  const file = path.join(dir, 'big.csv');
  await writeFile(file, text);
  const options: CsvOptions = { delimiter: 'auto', header: true, columns: null, quote: '"', encoding: 'utf-8' };
  const actual = await viaCells(file, options, 5000);
  const expected = await viaPapaparse(file, options, 5000, actual.header);
  expect(actual.rows.length).toBe(40_000);
  expect(actual.rows[39_999]![0]).toBe(2 + 2 * 39_999);
  expect(normalised(actual)).toEqual(normalised(expected));
});

test('the line break is detected on bytes as the record path detects it on text', () => {
  const piece = fc.constantFrom('\r', '\n', '\r\n', 'a', ';', 'é', '😀', '"');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
      const text = pieces.join('');
      expect(newlineOf(Buffer.from(text, 'utf8'))).toBe(detectNewline(text));
    }),
    { numRuns: 2000 },
  );
});
