/**
 * The ajv that compiles datasets' record schemas: strict off (a user's schema may carry keywords
 * ajv does not know), no type coercion, the standard formats — with `date-time` and `date` checked
 * faster on their canonical shapes (formats.ts, the same sets of strings as ajv-formats'). A format
 * ajv does not know would be ignored (a warning): the warning is kept, and compile.ts refuses the
 * schema with it.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { dateFormat, dateTimeFormat } from './formats.js';

// ajv-formats ships CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** `allErrors`: every problem of a record (reports); without, ajv stops at the first (yes/no). */
export function recordAjv(allErrors = true): Ajv & { unknownFormats: string[] } {
  const unknownFormats: string[] = [];
  const logger = { log: () => undefined, error: console.error, warn: (message: string) => void (/unknown format/.test(message) ? unknownFormats.push(message) : console.warn(message)) };
  const ajv = Object.assign(new Ajv({ allErrors, strict: false, coerceTypes: false, logger }), { unknownFormats });
  addFormats(ajv);
  ajv.addFormat('date-time', dateTimeFormat);
  ajv.addFormat('date', dateFormat);
  return ajv;
}

/** A dataset's schema compiled (compile.ts). */
export interface Validators {
  /** Reports every problem of a record (allErrors). */
  validate: ValidateFunction;
  /** Stops at the first problem: the fast yes/no for the common, valid record. */
  isValid: ValidateFunction;
  /** The schema of a property named `__proto__`, which ajv leaves unchecked in `properties`; null without one. */
  protoValidate: ValidateFunction | null;
}
