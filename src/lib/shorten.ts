/** Values and names from a file as messages and reports show them: JSON-quoted, at most 80 characters. */
import { jsonText } from '../read/json-values.js';

const MAX_VALUE_CHARS = 80;

/** A value as JSON (BigInts as digits), cut to 80 characters. */
export function shorten(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (jsonText(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

/** A name from the file (a header, a key), cut to 80 characters. */
export function shortName(name: string): string {
  return name.length > MAX_VALUE_CHARS ? `${name.slice(0, MAX_VALUE_CHARS - 1)}…` : name;
}
