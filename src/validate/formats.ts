/**
 * `date-time` and `date` formats that accept exactly what ajv-formats' full formats accept, faster.
 * The common canonical shapes (`2024-03-01T12:34:56.789Z`, `…+01:00`, `2024-03-01`) are checked
 * byte by byte by write/time.ts (the code that also converts them for loading); anything else goes
 * to ajv-formats' own function, whose regular expressions cost far more per value (BENCHMARKS.md, "Why the code is shaped as it is").
 * tests/unit/values.test.ts compares both on valid, invalid and edge-case strings.
 */
import type { FormatDefinition } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { canonicalDaysOf, canonicalMicrosOf } from '../write/time.js';

const fullDateTime = fullFormats['date-time'] as { validate: (s: string) => boolean; compare: FormatDefinition<string>['compare'] };
const fullDate = fullFormats.date as { validate: (s: string) => boolean; compare: FormatDefinition<string>['compare'] };

export const dateTimeFormat: FormatDefinition<string> = {
  type: 'string',
  // A canonical date-time converts (write/time.ts, the same code that loads it); anything else, and
  // what does not convert there, is ajv-formats' to decide.
  validate: (s: string) => !Number.isNaN(canonicalMicrosOf(s)) || fullDateTime.validate(s),
  compare: fullDateTime.compare,
};

export const dateFormat: FormatDefinition<string> = {
  type: 'string',
  validate: (s: string) => !Number.isNaN(canonicalDaysOf(s)) || fullDate.validate(s),
  compare: fullDate.compare,
};
