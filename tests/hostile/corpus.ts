/**
 * The hostile-input corpus: files a careless producer or an attacker could drop, each with the
 * outcome loadbay must give. Cases live in `cases/` (one module per theme); the daemon-level test
 * (tests/integration/hostile.test.ts) drops every case into one running daemon, checks the outcome
 * and the report, and that the daemon still loads a good file afterwards. To add a case: add it to
 * a module in `cases/` (or a new module, listed in `CASE_MODULES`).
 *
 * The corpus runs against the datasets and small limits below, so a case that must breach a limit
 * stays a few megabytes at most; the limits' defaults are tested in tests/unit/read.test.ts.
 */
import type pg from 'pg';

export interface Expected {
  event: 'loaded' | 'failed';
  /** For `failed`: the stage in the log line and the report. */
  stage?: string;
  /** The log line's reason: exact text or a pattern. */
  reason?: string | RegExp;
  rows?: number;
}

export interface HostileCase {
  /** The file name dropped into input/ (it routes the case to a dataset below). */
  file: string;
  /** Why the case is here (the issue it guards against). */
  why: string;
  content: () => string | Buffer;
  expect: Expected;
  /** Further checks once the outcome is in (values in PostgreSQL, Parquet …). */
  verify?: (context: { pool: pg.Pool; parquetFile: (dataset: string, file: string) => Promise<string>; failedDir: string }) => Promise<void>;
}

const columns = `
schema:
  type: object
  required: [id]
  properties:
    id: { type: integer }
    name: { type: string }
    amount: { type: number }
    seen: { type: string, format: date-time }
`;

/** Datasets the corpus routes to, by file name. */
export const CORPUS_DATASETS: Record<string, string> = {
  'h-csv.yaml': `name: h-csv\nmatch: ["*.csv", "*.csv.gz"]\nformat: csv\ntable: hostile.csv_rows\nextra_columns: keep\n${columns}`,
  'h-jsonl.yaml': `name: h-jsonl\nmatch: ["*.jsonl", "*.jsonl.gz"]\nformat: jsonl\ntable: hostile.jsonl_rows\nextra_columns: keep\n${columns}    doc: { type: [object, array, "null"] }\n`,
  'h-json.yaml': `name: h-json\nmatch: ["*.json", "*.json.gz"]\nformat: json\ntable: hostile.json_rows\nextra_columns: keep\n${columns}    doc: { type: [object, array, "null"] }\n`,
  'h-dedupe.yaml': `name: h-dedupe\nmatch: "dedupe-*.csv"\npriority: 10\nformat: csv\ntable: hostile.dedupe_rows\nprepare:\n  - drop_duplicate_rows: true\n${columns}`,
  'h-prepared.yaml': `name: h-prepared\nmatch: "prepared-*.csv"\npriority: 10\nformat: csv\ntable: hostile.prepared_rows\nprepare:\n  - headers: lowercase\n  - trim: true\n  - lowercase_values: true\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n    size: { enum: [s, m, l] }\n`,
  // Without extra_columns: keep, a CSV dataset runs on the columnar engine (validate/plan.ts): every
  // plain CSV case is dropped here too, as cells-<name> (see loadCases).
  'h-cells.yaml': `name: h-cells\nmatch: ["cells-*.csv", "cells-*.csv.gz"]\npriority: 10\nformat: csv\ntable: hostile.cells_rows\n${columns}`,
  'h-flat.yaml': `name: h-flat\nmatch: "flat-*.jsonl"\npriority: 10\nformat: jsonl\nflatten: true\ntable: hostile.flat_rows\nextra_columns: keep\n${columns}`,
};

/** Small limits, so every case that breaches one is small (all are settable in loadbay.yaml). */
export const CORPUS_LIMITS = {
  max_record_bytes: 1024 * 1024,
  max_record_values: 10_000,
  max_depth: 32,
  max_columns: 100,
  max_decompressed_bytes: 64 * 1024 * 1024,
  max_gzip_ratio: 50,
  max_distinct_rows: 100,
};

export const CASE_MODULES = ['limits', 'values', 'text', 'reports'] as const;

/** A CSV case for h-csv (the record path, as its `extra_columns: keep` asks) that does not look at what h-csv keeps. */
const plainCsv = (c: HostileCase) => /\.csv(\.gz)?$/.test(c.file) && !/^(dedupe|prepared)-/.test(c.file) && !c.verify;

export async function loadCases(): Promise<HostileCase[]> {
  const all: HostileCase[] = [];
  for (const name of CASE_MODULES) {
    const module = (await import(`./cases/${name}.js`)) as { cases: HostileCase[] };
    all.push(...module.cases);
  }
  // The same files through the columnar engine (h-cells): the same outcome and reason.
  const mirrored = all.filter(plainCsv).map((c) => ({ ...c, file: `cells-${c.file}`, why: `${c.why} (columnar engine)` }));
  return [...all, ...mirrored];
}
