/**
 * A quarantined file's report (`<name>.error.json` beside it, and the same object in its ledger row):
 * its shape as a JSON Schema, and the one check anything read back — from disk or from the ledger —
 * passes before it is used. A file dropped into input/ can carry any name, `x.error.json` too, and
 * any content: nothing is taken for a report until it has this shape.
 */
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { DataError, ProblemGroup, Stage } from '../errors.js';
import { formatAjvErrors } from '../config/load.js';

// ajv-formats ships CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export const REPORT_SUFFIX = '.error.json';

/** A report larger than this is not one loadbay wrote (20 problems, 50 groups, values cut short). */
export const MAX_REPORT_BYTES = 4 * 1024 * 1024;

export interface FailureReport {
  /** A few lines to read first: the problems grouped by field and rule. */
  summary: string;
  file: string;
  file_id: string | null;
  dataset: string | null;
  stage: Stage;
  reason: string;
  problem_count: number;
  groups: ProblemGroup[];
  problems: DataError['problems'];
  sha256: string | null;
  bytes: number | null;
  /** How the file was read, when the reader had something to say. */
  read?: Record<string, unknown>;
  failed_at: string;
  /** The quarantined file, relative to output_failed/. */
  quarantined_as: string;
}

const STAGES: Stage[] = ['route', 'read', 'prepare', 'validate', 'load', 'check', 'settle'];

/** The shape loadbay writes (types.ts's FailureReport; ajv's JSONSchemaType cannot say "required, may be null"). */
const reportSchema = {
  type: 'object',
  required: ['summary', 'file', 'file_id', 'dataset', 'stage', 'reason', 'problem_count', 'groups', 'problems', 'failed_at', 'quarantined_as'],
  properties: {
    summary: { type: 'string' },
    file: { type: 'string', minLength: 1 },
    file_id: { type: ['string', 'null'], pattern: '^[0-9]{1,19}$' },
    dataset: { type: ['string', 'null'] },
    stage: { type: 'string', enum: STAGES },
    reason: { type: 'string' },
    problem_count: { type: 'integer', minimum: 0 },
    groups: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['field', 'rule', 'count', 'first_at', 'example'],
        properties: {
          field: { type: ['string', 'null'] },
          rule: { type: 'string' },
          count: { type: 'integer', minimum: 0 },
          first_at: { type: 'array', maxItems: 100, items: { type: 'integer', minimum: 0 } },
          example: { type: ['string', 'null'] },
        },
      },
    },
    problems: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['rule', 'message'],
        properties: {
          line: { type: 'integer', minimum: 0 },
          record: { type: 'integer', minimum: 0 },
          field: { type: 'string' },
          value: { type: 'string' },
          value_in_file: { type: 'string' },
          rule: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
    sha256: { type: ['string', 'null'], pattern: '^[0-9a-f]{64}$' },
    bytes: { type: ['integer', 'null'], minimum: 0 },
    read: { type: 'object' },
    failed_at: { type: 'string', format: 'date-time' },
    quarantined_as: { type: 'string', minLength: 1 },
  },
};

const ajv = new Ajv({ allErrors: false, strict: false });
addFormats(ajv);
const validateReport = ajv.compile<FailureReport>(reportSchema);

/** The value as a report, or why it is not one. */
export function checkReport(value: unknown): { report: FailureReport } | { error: string } {
  if (validateReport(value)) return { report: value };
  return { error: `not a loadbay report: ${formatAjvErrors(validateReport.errors ?? [])}` };
}

/** Report text (a file's content) as a report, or why it is not one. */
export function parseReport(text: string): { report: FailureReport } | { error: string } {
  if (Buffer.byteLength(text) > MAX_REPORT_BYTES) return { error: `not a loadbay report: larger than ${MAX_REPORT_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `not a loadbay report: ${(error as Error).message}` };
  }
  return checkReport(value);
}
