/**
 * Every value as PostgreSQL reads it: value texts of every column kind — the edges that once changed
 * a value silently, and random ones — go through CSV, JSONL and JSON datasets on both engines (the
 * fast one and the record path) of a running daemon, on a database whose time zone and DateStyle are
 * not the defaults. Each value loaded, in the table and in the Parquet file, must be what PostgreSQL's
 * own input function makes of the same text (a cast on the test server); a value PostgreSQL refuses
 * must be refused, row by row (`on_invalid_row: skip_row`), with a rule that says why. A value
 * PostgreSQL accepts may be refused only where docs/datasets.md ("Values") says loadbay's rule is
 * narrower — the documented forms below.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { parse as parseLossless } from 'lossless-json';
import pg from 'pg';
import { createTestEnv, waitFor, type LogLine, type TestEnv } from '../helpers/env.js';
import { readParquetFile, storedValues } from '../helpers/parquet.js';
import { ASCII_SPACE, csvCell, jsonLiteral, KINDS, RAW_STRING_LITERALS, valueTexts, type Kind } from '../helpers/value-texts.js';

const SEED = Number(process.env['LOADBAY_VALUES_SEED'] ?? Date.now() % 1_000_000);
const RANDOM_PER_KIND = 150;

const COLUMN: Record<Kind, string> = { integer: 'i', number: 'n', boolean: 'b', string: 's', date: 'd', timestamp: 't', json: 'j' };
const PROPERTY: Record<Kind, string> = {
  integer: '{ type: integer }',
  number: '{ type: number }',
  boolean: '{ type: boolean }',
  string: '{ type: string }',
  date: '{ type: string, format: date }',
  timestamp: '{ type: string, format: date-time }',
  json: '{ type: [object, array] }',
};

type Format = 'csv' | 'jsonl' | 'json';
interface Variant {
  name: string;
  format: Format;
  /** The record path: a top-level keyword outside the compiled set sends the dataset there. */
  records: boolean;
  kinds: readonly Kind[];
}
const VARIANTS: Variant[] = [
  { name: 'v-csv', format: 'csv', records: false, kinds: KINDS.filter((k) => k !== 'json') },
  { name: 'v-csv-records', format: 'csv', records: true, kinds: KINDS },
  { name: 'v-jsonl', format: 'jsonl', records: false, kinds: KINDS },
  { name: 'v-jsonl-records', format: 'jsonl', records: true, kinds: KINDS },
  { name: 'v-json', format: 'json', records: false, kinds: KINDS },
  { name: 'v-json-records', format: 'json', records: true, kinds: KINDS },
];

function datasetYaml(v: Variant): string {
  const table = `vals.${v.name.replace(/-/g, '_')}`;
  const properties = v.kinds.map((k) => `    ${COLUMN[k]}: ${PROPERTY[k]}`).join('\n');
  return [
    `name: ${v.name}`, `match: "${v.name}.${v.format}"`, `format: ${v.format}`, `table: ${table}`,
    'on_invalid_row: skip_row', 'on_empty: load', 'schema:', '  type: object', '  required: [id]',
    ...(v.records ? ['  minProperties: 1'] : []), '  properties:', '    id: { type: integer }', properties, '',
  ].join('\n');
}

/** One value of a file: its row id, its kind, what the file holds and the text PostgreSQL reads. */
interface Case {
  id: number;
  kind: Kind;
  /** The CSV cell text, or the JSON literal. */
  written: string;
  /** A JSON literal is read by PostgreSQL as jsonb first (strings unescaped, numbers as written). */
  json: boolean;
}

const trimAscii = (text: string) => {
  let s = 0;
  let e = text.length;
  while (s < e && ASCII_SPACE.includes(text[s]!)) s++;
  while (e > s && ASCII_SPACE.includes(text[e - 1]!)) e--;
  return text.slice(s, e);
};
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEANS = new Set(['true', 'false', 't', 'f', 'yes', 'no', 'y', 'n', 'on', 'off', '1', '0']);
const dateFormat = (fullFormats.date as { validate: (s: string) => boolean }).validate;
const dateTimeFormat = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

/**
 * The forms docs/datasets.md documents per kind, decided here independently of loadbay's code: a
 * value of another form is refused even where PostgreSQL would read it ("0x10", "NaN", "tru", a
 * date with a time, a JSON string in a number column). Within these forms PostgreSQL decides.
 */
function documented(c: Case): boolean {
  if (c.json) {
    let value: unknown;
    try {
      value = JSON.parse(c.written);
    } catch {
      return false; // not JSON: the line is refused
    }
    switch (c.kind) {
      case 'integer':
      case 'number':
        return typeof value === 'number';
      case 'boolean':
        return typeof value === 'boolean';
      case 'string':
        return typeof value === 'string';
      case 'date':
        return typeof value === 'string' && dateFormat(value);
      case 'timestamp':
        return typeof value === 'string' && dateTimeFormat(value);
      case 'json':
        return typeof value === 'object' && value !== null && doublesHold(c.written);
    }
  }
  const text = c.written;
  switch (c.kind) {
    case 'integer':
    case 'number':
      return NUMBER.test(trimAscii(text));
    case 'boolean':
      return BOOLEANS.has(trimAscii(text).toLowerCase());
    case 'string':
      return true;
    case 'date':
      return dateFormat(text);
    case 'timestamp':
      return dateTimeFormat(text);
    case 'json': {
      try {
        const value: unknown = JSON.parse(text);
        return typeof value === 'object' && value !== null && doublesHold(text);
      } catch {
        return false;
      }
    }
  }
}

/** A number no double holds (1e999, or 1e-400, which is not 0) is refused anywhere in a JSON value. */
function doublesHold(json: string): boolean {
  let holds = true;
  parseLossless(json, null, (literal: string) => {
    const n = Number(literal);
    if (!Number.isFinite(n) || (n === 0 && /[1-9]/.test(literal.replace(/[eE].*$/, '')))) holds = false;
    return 0;
  });
  return holds;
}

const ORACLE = `
CREATE FUNCTION pg_temp.oracle(kind text, t text, is_json boolean, OUT ok boolean, OUT v text) LANGUAGE plpgsql AS $$
DECLARE
  x text := t;
  n numeric;
BEGIN
  ok := true;
  IF is_json AND kind IN ('string', 'date', 'timestamp') THEN x := (t::jsonb) #>> '{}'; END IF;
  CASE kind
    WHEN 'integer' THEN
      n := x::numeric;
      IF n <> trunc(n) THEN ok := false; v := 'not a whole number'; RETURN; END IF;
      v := n::int8::text;
    WHEN 'number' THEN v := x::float8::text;
    WHEN 'boolean' THEN v := x::boolean::text;
    WHEN 'string' THEN v := x;
    WHEN 'date' THEN v := (x::date - date '1970-01-01')::text;
    WHEN 'timestamp' THEN v := (extract(epoch FROM x::timestamptz) * 1000000)::int8::text;
    WHEN 'json' THEN v := x::jsonb::text;
  END CASE;
EXCEPTION WHEN others THEN
  ok := false;
  v := SQLERRM;
END $$`;

/** The stored value in the oracle's terms. */
const STORED: Record<Kind, string> = {
  integer: 'r.i::text',
  number: 'r.n::text',
  boolean: 'r.b::text',
  string: 'r.s',
  date: "(r.d - date '1970-01-01')::text",
  timestamp: '(extract(epoch FROM r.t) * 1000000)::int8::text',
  json: 'r.j::text',
};

let env: TestEnv;
let oracle: pg.Client;

beforeAll(async () => {
  env = await createTestEnv({ datasets: Object.fromEntries(VARIANTS.map((v) => [`${v.name}.yaml`, datasetYaml(v)])) });
  const database = new URL(env.url).pathname.slice(1);
  // loadbay's own connections (opened after this) and the oracle's run under settings that are not the defaults.
  await env.pool.query(`ALTER DATABASE ${database} SET timezone = 'America/St_Johns'`);
  await env.pool.query(`ALTER DATABASE ${database} SET DateStyle = 'SQL, DMY'`);
  oracle = new pg.Client({ connectionString: env.url });
  await oracle.connect();
  const { rows } = await oracle.query<{ tz: string; ds: string }>('SELECT current_setting($1) AS tz, current_setting($2) AS ds', ['timezone', 'DateStyle']);
  expect(rows[0]).toEqual({ tz: 'America/St_Johns', ds: 'SQL, DMY' });
  await oracle.query(ORACLE);
  await env.start();
});

afterAll(async () => {
  await oracle?.end();
  await env?.cleanup();
});

/** The cases of a variant's file and the file's content. */
function fileOf(v: Variant, texts: Record<Kind, string[]>): { cases: Case[]; content: string } {
  const cases: Case[] = [];
  for (const kind of v.kinds) {
    for (const text of texts[kind]) {
      if (v.format === 'csv') {
        if (text === '') continue; // an empty field is NULL: its own test below
        // CSV is UTF-8 text: a lone surrogate cannot be in it.
        if (text.isWellFormed()) cases.push({ id: cases.length + 1, kind, written: text, json: false });
        continue;
      }
      const literal = jsonLiteral(kind, text);
      if (literal === null) continue;
      // A JSON document is one text: a literal that is not JSON would refuse the whole file.
      if (v.format === 'json' && !isJson(literal)) continue;
      cases.push({ id: cases.length + 1, kind, written: literal, json: true });
    }
    if (v.format !== 'csv' && (kind === 'string' || kind === 'timestamp')) {
      for (const literal of RAW_STRING_LITERALS) cases.push({ id: cases.length + 1, kind, written: literal, json: true });
    }
  }
  if (v.format !== 'csv') {
    // JSON is typed: a value of another JSON type is refused, whatever its text.
    for (const [kind, literal] of [['integer', '"12"'], ['number', '"1.5"'], ['boolean', '"yes"'], ['boolean', '1'], ['date', '20240101'], ['string', '12'], ['json', '"{}"']] as const) {
      cases.push({ id: cases.length + 1, kind, written: literal, json: true });
    }
  }
  const columns = v.kinds.map((k) => COLUMN[k]);
  if (v.format === 'csv') {
    // The id last: a value ending in CR is never a row's last field.
    const lines = [[...columns, 'id'].join(',')];
    for (const c of cases) lines.push([...columns.map((name, i) => (name === COLUMN[c.kind] ? csvCell(c.written, c.id + i) : '')), String(c.id)].join(','));
    return { cases, content: lines.join('\n') + '\n' };
  }
  const records = cases.map((c) => `{"id":${c.id},"${COLUMN[c.kind]}":${c.written}}`);
  return { cases, content: v.format === 'jsonl' ? records.join('\n') + '\n' : `[\n${records.join(',\n')}\n]` };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

interface Verdict {
  ok: boolean;
  v: string;
}

/** PostgreSQL's reading of each case (a text with NUL cannot even be sent: PostgreSQL text holds none). */
async function oracleOf(cases: Case[]): Promise<Map<number, Verdict>> {
  const sendable = cases.filter((c) => !c.written.includes('\u0000'));
  const { rows } = await oracle.query<{ id: number; ok: boolean; v: string }>(
    'SELECT c.id, (pg_temp.oracle(c.kind, c.t, c.j)).* FROM unnest($1::int[], $2::text[], $3::text[], $4::bool[]) AS c(id, kind, t, j)',
    [sendable.map((c) => c.id), sendable.map((c) => c.kind), sendable.map((c) => c.written), sendable.map((c) => c.json)],
  );
  const verdicts = new Map(rows.map((r) => [r.id, { ok: r.ok, v: r.v }]));
  for (const c of cases) if (!verdicts.has(c.id)) verdicts.set(c.id, { ok: false, v: 'text with NUL' });
  return verdicts;
}

/** How a failed expectation is shown: the case, what PostgreSQL says, what loadbay did. */
const show = (c: Case, verdict: Verdict, got: unknown) =>
  `${c.kind} ${JSON.stringify(c.written)}: postgres ${verdict.ok ? `reads ${verdict.v.slice(0, 60)}` : `refuses (${verdict.v})`}, loadbay ${JSON.stringify(got, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;

describe.each(VARIANTS)('$name', (variant) => {
  it(`stores what PostgreSQL reads and refuses what it refuses (seed ${SEED})`, async () => {
    const { cases, content } = fileOf(variant, valueTexts(SEED, RANDOM_PER_KIND));
    const file = `${variant.name}.${variant.format}`;
    await env.drop(file, content);
    const line = await firstOutcome(file);
    expect(line).toMatchObject({ event: 'loaded' });
    const verdicts = await oracleOf(cases);
    const table = `vals.${variant.name.replace(/-/g, '_')}`;

    // Refused rows, by id: the rejects file names each with its reasons.
    const refused = new Map<number, string[]>();
    if (line['rejects']) {
      const rejects = (await readFile(path.join(env.root, String(line['rejects'])), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { reasons: string[] } & Record<string, unknown>);
      for (const reject of rejects) {
        // Every reason starts with its line or record number, which is the case's id in JSON files;
        // a CSV record as read carries its id (a CSV row may span lines).
        const record = reject['record'] as { id?: unknown } | null;
        const id = variant.format === 'csv' ? Number(record?.id) : Number(/^(?:line|record) (\d+)/.exec(reject.reasons[0] ?? '')?.[1]);
        refused.set(id, reject.reasons);
      }
    }

    // Stored values, from the table and from the Parquet file.
    const stored = await oracle.query<{ id: number; got: string | null; same_json: boolean | null }>(
      `SELECT c.id, CASE c.kind ${variant.kinds.map((k) => `WHEN '${k}' THEN ${STORED[k]}`).join(' ')} END AS got,
              ${variant.kinds.includes('json') ? "CASE WHEN c.kind = 'json' THEN (SELECT CASE WHEN o.ok THEN r.j = o.v::jsonb END FROM pg_temp.oracle(c.kind, c.t, c.j) o) END" : 'NULL'} AS same_json
         FROM unnest($1::int[], $2::text[], $3::text[], $4::bool[]) AS c(id, kind, t, j)
         JOIN ${table} r ON r.id = c.id`,
      [cases.map((c) => c.id), cases.map((c) => c.kind), cases.map((c) => (c.written.includes('\u0000') ? '' : c.written)), cases.map((c) => c.json)],
    );
    const inTable = new Map(stored.rows.map((r) => [r.id, r]));
    const parquet = await readParquetFile(path.join(env.root, String(line['parquet'])));
    const ids = storedValues(parquet, 'id').map(Number);
    const inParquet = new Map<number, Record<string, unknown>>();
    const columns = Object.fromEntries(variant.kinds.map((k) => [k, storedValues(parquet, COLUMN[k])]));
    ids.forEach((id, row) => inParquet.set(id, Object.fromEntries(variant.kinds.map((k) => [k, columns[k]![row]]))));

    const wrong: unknown[] = [];
    const parquetJson: Array<{ id: number; text: string; want: string }> = [];
    for (const c of cases) {
      const verdict = verdicts.get(c.id)!;
      const accepted = documented(c) && verdict.ok;
      const row = inTable.get(c.id);
      const reasons = refused.get(c.id);
      if (!accepted) {
        if (process.env['LOADBAY_VALUES_DUMP'] && documented(c)) console.log(show(c, verdict, reasons));
        if (row || !reasons) wrong.push(show(c, verdict, row ? { loaded: row.got } : 'neither loaded nor refused'));
        // A reason names the field and its rule (or, for a number no double holds, the record).
        else if (reasons.length === 0 || !reasons.every((r) => /field "[a-z]+"|number .* 64-bit float|not valid JSON/.test(r) && !/internal|Do not know|undefined/.test(r))) {
          wrong.push(show(c, verdict, { reasons }));
        }
        continue;
      }
      if (!row) {
        wrong.push(show(c, verdict, { refused: reasons ?? 'missing' }));
        continue;
      }
      const same = c.kind === 'json' ? row.same_json === true : row.got === verdict.v;
      if (!same) wrong.push(show(c, verdict, { table: row.got }));
      const value = inParquet.get(c.id)?.[c.kind];
      if (c.kind === 'json') parquetJson.push({ id: c.id, text: String(value), want: verdict.v });
      else if (!sameInParquet(c.kind, value, verdict.v)) wrong.push(show(c, verdict, { parquet: typeof value === 'bigint' ? `${value}n` : value }));
    }
    if (parquetJson.length > 0) {
      const { rows } = await oracle.query<{ id: number; same: boolean }>(
        'SELECT id, t::jsonb = w::jsonb AS same FROM unnest($1::int[], $2::text[], $3::text[]) AS p(id, t, w)',
        [parquetJson.map((p) => p.id), parquetJson.map((p) => p.text), parquetJson.map((p) => p.want)],
      );
      for (const r of rows) if (!r.same) wrong.push({ id: r.id, parquet: parquetJson.find((p) => p.id === r.id) });
    }
    expect(wrong).toEqual([]);
    // The file's rows are all accounted for: each loaded or refused once.
    expect(line['rows']).toBe(inTable.size);
    expect(inTable.size + refused.size).toBe(cases.length);
  });
});

/** The file's first outcome, a retry included: a file retried for ever fails here at once. */
async function firstOutcome(file: string): Promise<LogLine> {
  const ends = new Set(['loaded', 'failed', 'skipped', 'retrying', 'held']);
  return waitFor(async () => (await env.logLines()).find((l) => l.file === file && ends.has(l.event)), { message: `an outcome for ${file}`, timeoutMs: 30_000 });
}

function sameInParquet(kind: Kind, value: unknown, want: string): boolean {
  switch (kind) {
    case 'integer':
    case 'timestamp':
      return typeof value === 'bigint' && String(value) === want;
    case 'number':
      return typeof value === 'number' && Object.is(value, Number(want));
    case 'boolean':
      return String(value) === want;
    case 'date':
      return String(value) === want;
    default:
      return value === want;
  }
}

it('reads an empty CSV field as NULL, in every column kind', async () => {
  const file = 'v-csv-records.csv';
  const columns = KINDS.map((k) => COLUMN[k]);
  await env.drop(`empty/${file}`, `${[...columns, 'id'].join(',')}\n${columns.map(() => '').join(',')},1\n${columns.map(() => '""').join(',')},2\n`);
  const line = await env.outcome(`empty/${file}`);
  expect(line).toMatchObject({ event: 'loaded', rows: 2 });
  const { rows } = await env.pool.query(`SELECT ${columns.join(', ')} FROM vals.v_csv_records WHERE _source_file = 'empty/${file}' ORDER BY id`);
  expect(rows).toEqual([Object.fromEntries(columns.map((c) => [c, null])), Object.fromEntries(columns.map((c) => [c, null]))]);
});
