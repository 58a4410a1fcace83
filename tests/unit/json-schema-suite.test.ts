/**
 * The official JSON Schema Test Suite (draft-07) as an oracle: every group whose keywords the column
 * kernels compile — per property type, enum, const, the numeric bounds, multipleOf, lengths,
 * pattern, format; per record properties, required, additionalProperties — runs through both
 * engines (the fast one, and the record path) on JSONL, and on CSV where the instance is text. Each
 * instance is a record's value (`{"v": instance}`) or, for the record keywords, the record itself.
 *
 * A verdict that differs from the suite's must be ajv's own answer or a limit of PostgreSQL's that
 * loadbay enforces, and must be listed in docs/datasets.md ("Where loadbay's verdict differs from
 * the JSON Schema Test Suite"); every entry there must still differ. The suite is read in place from
 * `../shared/data/json-schema-test-suite` next to the repository (never copied into it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compileDataset, type CompiledDataset } from '../../src/compile.js';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import { resolveDataset } from '../../src/config/dataset.js';
import type { UserDataset } from '../../src/config/types.js';
import { recordAjv } from '../../src/validate/ajv.js';
import { checkFile } from '../../src/validate/check.js';
import { PROJECT_ROOT } from '../helpers/env.js';
import { localFile } from '../../src/source/folder/file-input.js';

const SUITE = path.resolve(PROJECT_ROOT, '..', 'shared', 'data', 'json-schema-test-suite', 'tests', 'draft7');
const FILES = [
  'type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern',
  'format', 'required', 'properties', 'additionalProperties', 'optional/bignum', 'optional/float-overflow', 'optional/ecmascript-regex',
  'optional/non-bmp-regex', 'optional/format/date-time', 'optional/format/date', 'optional/format/time', 'optional/format/email',
  'optional/format/hostname', 'optional/format/ipv4', 'optional/format/ipv6', 'optional/format/uri', 'optional/format/uri-reference',
  'optional/format/uri-template', 'optional/format/json-pointer', 'optional/format/relative-json-pointer', 'optional/format/regex',
  'optional/format/ecmascript-regex', 'optional/format/unknown',
];
/** Keywords of one property the kernels compile (validate/plan.ts), and what only describes. */
const PROPERTY_KEYWORDS = new Set(['type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern', 'format']);
const DESCRIPTIVE = new Set(['$schema', '$id', 'title', 'description', 'default', 'examples', '$comment']);
const RECORD_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties']);

interface SuiteTest {
  description: string;
  data: unknown;
  valid: boolean;
}
interface Group {
  description: string;
  schema: unknown;
  tests: SuiteTest[];
}

/** One file a run checks: its dataset, which engine, and the suite tests whose instances its lines are. */
interface Run {
  format: 'jsonl' | 'csv';
  records: boolean;
  schema: Record<string, unknown>;
  extra: 'error' | 'ignore';
  tests: Array<{ test: SuiteTest; line: string }>;
}

const skipSuite = process.env['LOADBAY_SKIP_JSON_SCHEMA_SUITE'] === '1';
const present = existsSync(SUITE);

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'number' ? 'number' : typeof value;
}

const keysOf = (schema: unknown) => (typeof schema === 'object' && schema !== null && !Array.isArray(schema) ? Object.keys(schema) : null);

/** The runs of a group: none when its keywords are outside the compiled set (or no column can express it). */
function runsOf(group: Group): Run[] {
  const keys = keysOf(group.schema);
  if (keys === null) return []; // a boolean schema: not a column definition
  const schema = group.schema as Record<string, unknown>;
  const used = keys.filter((k) => !DESCRIPTIVE.has(k));
  const runs: Run[] = [];
  const add = (format: Run['format'], s: Record<string, unknown>, extra: Run['extra'], test: SuiteTest, line: string) => {
    for (const records of [false, true]) {
      const key = JSON.stringify([format, records, s, extra]);
      let run = runs.find((r) => JSON.stringify([r.format, r.records, r.schema, r.extra]) === key);
      if (!run) runs.push((run = { format, records, schema: s, extra, tests: [] }));
      run.tests.push({ test, line });
    }
  };
  if (used.length > 0 && used.every((k) => PROPERTY_KEYWORDS.has(k))) {
    for (const test of group.tests) {
      const record = (s: Record<string, unknown>) => ({ type: 'object', properties: { v: s } });
      const line = JSON.stringify({ v: test.data });
      // As written (untyped: a JSON column), and typed by the instance's JSON type, which the
      // kernels compile: the same verdict for this instance.
      add('jsonl', record(schema), 'error', test, line);
      const type = jsonType(test.data);
      if (schema['type'] === undefined && ['number', 'string', 'boolean', 'null'].includes(type)) {
        add('jsonl', record({ type: type === 'null' ? ['string', 'null'] : type, ...schema }), 'error', test, line);
      }
      // CSV where the instance is text a cell can hold (an empty cell is NULL, not "").
      const types = schema['type'] === undefined ? null : [schema['type']].flat();
      if (typeof test.data === 'string' && test.data !== '' && test.data.isWellFormed() && (types === null || types.includes('string'))) {
        add('csv', record({ ...schema, type: 'string' }), 'error', test, test.data);
      }
    }
  } else if (used.length > 0 && used.every((k) => RECORD_KEYWORDS.has(k)) && used.some((k) => k !== 'type') && typeof (schema['additionalProperties'] ?? true) === 'boolean') {
    const properties = { ...((schema['properties'] as Record<string, unknown>) ?? {}) };
    // A required name needs a column; `{}` takes any value, so the verdicts stay the suite's.
    for (const name of (schema['required'] as string[]) ?? []) if (!Object.hasOwn(properties, name)) Object.defineProperty(properties, name, { value: {}, enumerable: true });
    if (Object.keys(properties).length === 0) return [];
    const record = { ...schema, type: 'object', properties };
    // additionalProperties: false is extra_columns: error; otherwise other keys are left to ajv and dropped.
    const extra = schema['additionalProperties'] === false ? 'error' : 'ignore';
    for (const test of group.tests) {
      if (jsonType(test.data) === 'object') add('jsonl', record, extra, test, JSON.stringify(test.data));
    }
  }
  return runs;
}

interface Outcome {
  accepted: boolean;
  reasons: string[];
  engine: string;
}

let dir: string;
let counter = 0;

/** The run's file through checkFile: per line, loaded or refused (with reasons). */
async function check(run: Run): Promise<Outcome[] | string> {
  const user: UserDataset = {
    name: `suite-${++counter}`,
    match: '*',
    format: run.format,
    table: 'suite.t',
    on_invalid_row: 'skip_row',
    on_empty: 'load',
    extra_columns: run.extra,
    schema: run.schema,
  };
  let dataset: CompiledDataset;
  try {
    dataset = compileDataset(resolveDataset(path.join(dir, `${user.name}.yaml`), user), run.records ? { engine: 'records' } : {});
  } catch (error) {
    return (error as Error).message; // a schema no column can express (e.g. two types)
  }
  const engine = dataset.plan.engine;
  const file = path.join(dir, `${user.name}.${run.format}`);
  const lines = run.format === 'csv' ? ['v', ...run.tests.map((t) => `"${t.line.replaceAll('"', '""')}"`)] : run.tests.map((t) => t.line);
  await writeFile(file, lines.join('\n') + '\n');
  const checked = checkFile(localFile(file), path.basename(file), dataset, { batchRows: 5000, limits: DEFAULT_LIMITS });
  const loaded = new Set<number>();
  const refused = new Map<number, string[]>();
  for await (const batch of checked.batches) {
    for (const n of batch.typed.numbers) loaded.add(n);
    for (const [n, problems] of batch.rejected) refused.set(Number(n), problems.map((p) => p.message));
  }
  // Each instance's line: a CSV value may hold line breaks, so a row starts after the breaks before it.
  let next = run.format === 'csv' ? 2 : 1;
  return run.tests.map((t) => {
    const line = next;
    next += 1 + (run.format === 'csv' ? t.line.split('\n').length - 1 : 0);
    if (loaded.has(line) === refused.has(line)) throw new Error(`line ${line} of a run is ${loaded.has(line) ? 'both loaded and refused' : 'neither loaded nor refused'}`);
    return { accepted: loaded.has(line), reasons: refused.get(line) ?? [], engine };
  });
}

/** A PostgreSQL limit loadbay enforces (validate/targets.ts) or a number no double holds. */
const POSTGRES_RULE = /: (range|text|date-time): |64-bit float|not a whole number/;

/** The differences docs/datasets.md lists: "- `file` › group › test (jsonl, csv): why". */
function documented(): Set<string> {
  const docs = readFileSync(path.join(PROJECT_ROOT, 'docs', 'datasets.md'), 'utf8');
  const section = docs.split('### Where loadbay\'s verdict differs from the JSON Schema Test Suite')[1]?.split(/\n#{2,3} /)[0] ?? '';
  return new Set([...section.matchAll(/^- `([^`]+)` › (.+) › (.+) \(((?:jsonl|csv)(?:, (?:jsonl|csv))*)\): /gm)].flatMap((m) => m[4]!.split(', ').map((format) => `${m[1]} › ${m[2]} › ${m[3]} (${format})`)));
}

if (!present && !skipSuite) {
  it('finds the JSON Schema Test Suite', () => {
    throw new Error(`the JSON Schema Test Suite is not at ${SUITE} (its draft-07 files are read in place from ../shared/data/json-schema-test-suite next to the repository); set LOADBAY_SKIP_JSON_SCHEMA_SUITE=1 to skip this test`);
  });
}

(present && !skipSuite ? describe : describe.skip)('the JSON Schema Test Suite (draft-07)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-suite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the suite\'s verdict on both engines, or a documented one (ajv\'s own answer, a PostgreSQL limit)', async () => {
    const ajv = recordAjv();
    const differences = new Map<string, string>();
    const unexplained: string[] = [];
    const engines = new Map<string, number>();
    let instances = 0;
    for (const name of FILES) {
      const groups = JSON.parse(readFileSync(path.join(SUITE, `${name}.json`), 'utf8')) as Group[];
      for (const group of groups) {
        for (const run of runsOf(group)) {
          const outcomes = await check(run);
          if (typeof outcomes === 'string') continue;
          run.tests.forEach(({ test }, i) => {
            const outcome = outcomes[i]!;
            instances++;
            const engine = `${run.format} ${outcome.engine}`;
            engines.set(engine, (engines.get(engine) ?? 0) + 1);
            if (outcome.accepted === test.valid) return;
            const key = `${name} › ${group.description} › ${test.description} (${run.format})`;
            const ajvSays = ajv.validate(group.schema as object, test.data) as boolean;
            if (outcome.accepted === ajvSays) differences.set(key, 'ajv');
            else if (!outcome.accepted && outcome.reasons.every((r) => POSTGRES_RULE.test(r))) differences.set(key, 'postgres');
            else unexplained.push(`${key} [${engine}]: suite ${test.valid ? 'valid' : 'invalid'}, ajv ${ajvSays ? 'valid' : 'invalid'}, loadbay ${outcome.accepted ? 'loads it' : `refuses it: ${outcome.reasons.join('; ')}`}`);
          });
        }
      }
    }
    expect(unexplained).toEqual([]);
    // Both engines ran, on both formats, on a good share of the suite.
    for (const engine of ['jsonl values', 'jsonl records', 'csv columnar', 'csv records']) expect([engine, engines.get(engine) ?? 0]).toEqual([engine, expect.any(Number)]);
    expect(engines.get('jsonl values')).toBeGreaterThan(800);
    expect(engines.get('csv columnar')).toBeGreaterThan(300);
    expect(instances).toBeGreaterThan(3000);
    const listed = documented();
    if (process.env['LOADBAY_SUITE_DUMP']) console.log([...differences].map(([k, v]) => `- \`${k.replace(' › ', '` › ')}: ${v}`).join('\n'));
    expect([...differences.keys()].filter((k) => !listed.has(k)).map((k) => `${k}: ${differences.get(k)}`)).toEqual([]);
    expect([...listed].filter((k) => !differences.has(k))).toEqual([]);
  });
});
