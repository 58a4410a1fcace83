/**
 * `json.unterminated_array: true`: a top-level array whose producer never wrote the closing `]`
 * (records separated by `,` and line breaks, as Tier's track_events.json exports are). The text is
 * passed on unchanged, except at its very end: after a last complete record (`}`, with or without a
 * trailing `,`) or after the opening `[`, the `]` is supplied. Anything else at the end — a record
 * cut short, a stray character — is left for the parser, so it is the syntax error it always was.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { DataError } from '../errors.js';

/** How the end of the text is completed: the held-back tail kept (perhaps without its comma), then `append`. */
export interface Closing {
  /** Whether loadbay supplied the `]` (false: the text ends in `]` or is left to fail). */
  supplied: boolean;
  /** The tail to keep instead of the held-back one (a trailing comma removed). */
  tail: string;
  append: string;
}

/**
 * The decision at the end of the text: `last` is the last non-white-space character before the
 * held-back tail (white space, possibly preceded by one comma).
 */
export function closingOf(last: string, tail: string): Closing {
  if (tail.startsWith(',')) {
    // A comma after the last record: only after a complete record is it the producer's separator.
    return last === '}' ? { supplied: true, tail: tail.slice(1), append: ']' } : { supplied: false, tail, append: '' };
  }
  if (last === '}' || last === '[') return { supplied: true, tail, append: ']' };
  return { supplied: false, tail, append: '' };
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Where the held-back tail starts: JSON white space at the end, and one comma before it. */
function tailStart(text: string): number {
  let i = text.length;
  while (i > 0 && isSpace(text.charCodeAt(i - 1))) i--;
  return i > 0 && text.charCodeAt(i - 1) === 0x2c ? i - 1 : i;
}

/** The last character that is not JSON white space, or '' (scans back over white space only). */
function lastNonSpace(text: string): string {
  let i = text.length;
  while (i > 0 && isSpace(text.charCodeAt(i - 1))) i--;
  return i > 0 ? text[i - 1]! : '';
}

/** The same completion applied to a whole text (for locating a syntax error with JSON.parse). */
export function closeText(text: string): string {
  const at = tailStart(text);
  const before = text.slice(0, at);
  const closing = closingOf(lastNonSpace(before), text.slice(at));
  return before + closing.tail + closing.append;
}

/** White space after a trailing comma that is held back, at most: more is refused, not buffered. */
export const MAX_HELD_CHARS = 1024 * 1024;

/**
 * A pass-through of the text that completes its end as `closingOf` says. Only a comma at the end of
 * a chunk is held back, with the white space after it (up to MAX_HELD_CHARS), so memory stays flat.
 */
export function unterminatedArrayCloser(onEnd: (supplied: boolean) => void): Transform {
  let tail = '';
  let last = '';
  return new Transform({
    decodeStrings: false,
    transform(chunk: string | Buffer, _enc, callback: TransformCallback) {
      const text = tail + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      let at = tailStart(text);
      if (text.charCodeAt(at) !== 0x2c) at = text.length; // white space alone is passed on
      const out = text.slice(0, at);
      tail = text.slice(at);
      last = lastNonSpace(out) || last;
      if (tail.length > MAX_HELD_CHARS) {
        const message = `json.unterminated_array: more than ${MAX_HELD_CHARS} characters of white space after a comma`;
        return callback(new DataError('read', message, [{ rule: 'json', message }]));
      }
      callback(null, out === '' ? undefined : out);
    },
    flush(callback: TransformCallback) {
      const closing = closingOf(last, tail);
      onEnd(closing.supplied);
      const end = closing.tail + closing.append;
      callback(null, end === '' ? undefined : end);
    },
  });
}
