/**
 * `json.from_document`: columns whose values are elsewhere in the document than the records, e.g.
 * the team of a box score side (`teams.*.team.name`) for the players under `teams.*.players.*`.
 * The `*` steps of such a path take, in order, the keys the records path's `*` steps matched for
 * the record, so each record gets the value of its own side.
 *
 * One pass, memory flat: the tokens stream through a tracker that keeps the path it is at, the last
 * value seen at each of these paths (with the keys its `*` steps matched), and hands each record the
 * values as they were when the record began — on a fresh `startObject` token, since the parser's
 * tokens are shared objects. A path the document does not have leaves the column out (the schema
 * says whether it may be); a value that comes after records it belongs to cannot be given to them,
 * and is a data error naming the path.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { DataError } from '../errors.js';
import { NumberRangeError, parseJsonNumber } from './json-values.js';

/** What a record learns from the document: values by column, and the paths that hold no single value. */
export interface RecordContext {
  values: Record<string, unknown>;
  absent: Array<{ column: string; path: string; why: 'not a single value' }>;
}

/** The `startObject` token of a record, carrying its context. */
export interface ContextToken {
  name: 'startObject';
  context: RecordContext;
}

interface Spec {
  column: string;
  segments: string[];
  /** Positions of the `*` steps. */
  stars: number[];
  last: { binding: string; value: unknown; single: boolean } | null;
  /** The binding the last record got no value for: a value for it now comes too late. */
  missed: { binding: string; path: string } | null;
}

type Key = string | number | null;

const segmentsOf = (path: string | null) => (path ? path.split('.') : []);
const starsOf = (segments: string[]) => segments.flatMap((s, i) => (s === '*' ? [i] : []));

/** Config-time check of one `from_document` path against the records path; null when fine. */
export function fromDocumentProblem(recordsPath: string | null, path: string): string | null {
  const records = segmentsOf(recordsPath);
  const segments = segmentsOf(path);
  if (segments.some((s) => s === '')) return `"${path}" has an empty step`;
  if (starsOf(segments).length > starsOf(records).length) {
    return `"${path}" has more "*" steps than json.records (${recordsPath ?? 'the document'}): each "*" takes the key a "*" of the records path matched`;
  }
  const inside = segments.length > records.length && records.every((s, i) => s === segments[i]);
  if (inside) return `"${path}" is inside the records (${recordsPath ?? 'the document'}): name that field in the schema instead`;
  return null;
}

export function documentContext(recordsPath: string | null, columns: Record<string, string>): Transform {
  const records = segmentsOf(recordsPath);
  const recordStars = starsOf(records);
  const specs: Spec[] = Object.entries(columns).map(([column, path]) => {
    const segments = segmentsOf(path);
    return { column, segments, stars: starsOf(segments), last: null, missed: null };
  });
  // Keys are kept only as deep as some path looks; deeper levels are counted.
  const keep = Math.max(records.length + 1, ...specs.map((s) => s.segments.length));
  const stack: Key[] = [];
  let depth = 0;
  let previous = '';

  const matches = (segments: string[], length: number) => {
    for (let i = 0; i < length; i++) if (segments[i] !== '*' && String(stack[i]) !== segments[i]) return false;
    return true;
  };
  const bindingOf = (stars: number[], count: number) => stars.slice(0, count).map((i) => String(stack[i])).join('\u0000');
  const capture = (value: unknown, single: boolean): DataError | null => {
    for (const spec of specs) {
      if (spec.segments.length !== depth || !matches(spec.segments, depth)) continue;
      const binding = bindingOf(spec.stars, spec.stars.length);
      if (spec.missed?.binding === binding) {
        const message = `${spec.missed.path} comes after records it belongs to (json.from_document: ${spec.column}); the document is read once, front to back, so the value must come first`;
        return new DataError('read', message, [{ field: spec.column, rule: 'json.from_document', message }]);
      }
      spec.last = { binding, value, single };
    }
    return null;
  };
  const isRecordStart = () =>
    (depth === records.length && matches(records, depth)) ||
    (depth === records.length + 1 && typeof stack[records.length] === 'number' && matches(records, records.length));
  const contextOf = (): RecordContext => {
    const context: RecordContext = { values: {}, absent: [] };
    for (const spec of specs) {
      const binding = bindingOf(recordStars, spec.stars.length);
      let k = 0;
      const path = spec.segments.map((s) => (s === '*' ? String(stack[recordStars[k++]!]) : s)).join('.');
      if (!spec.last || spec.last.binding !== binding) spec.missed = { binding, path };
      else if (!spec.last.single) context.absent.push({ column: spec.column, path, why: 'not a single value' });
      else context.values[spec.column] = spec.last.value;
    }
    return context;
  };

  return new Transform({
    objectMode: true,
    highWaterMark: 64,
    transform(token: { name: string; value?: string }, _enc, callback: TransformCallback) {
      let out: unknown = token;
      let failure: DataError | null = null;
      const name = token.name;
      // The index of an array element, as stream-json's filters count it.
      if (depth > 0 && depth <= keep && typeof stack[depth - 1] === 'number') {
        const packedAfterChunks = (name === 'numberValue' && previous === 'endNumber') || (name === 'stringValue' && previous === 'endString');
        if (VALUE_STARTS.has(name) && !packedAfterChunks) (stack[depth - 1] as number)++;
      }
      if (name === 'keyValue' && depth > 0 && depth <= keep) stack[depth - 1] = token.value!;
      previous = name;
      switch (name) {
        case 'startObject':
        case 'startArray':
          if (depth <= keep) failure = capture(undefined, false);
          if (name === 'startObject' && depth <= records.length + 1 && isRecordStart()) {
            out = { name: 'startObject', context: contextOf() } satisfies ContextToken;
          }
          depth++;
          if (depth <= keep) stack[depth - 1] = name === 'startObject' ? null : -1;
          break;
        case 'endObject':
        case 'endArray':
          depth--;
          if (depth < keep) stack.length = depth;
          break;
        case 'stringValue':
          if (depth <= keep) failure = capture(token.value, true);
          break;
        case 'numberValue':
          if (depth <= keep) {
            let value: unknown;
            try {
              value = parseJsonNumber(token.value!);
            } catch (error) {
              if (!(error instanceof NumberRangeError)) throw error;
              value = token.value; // the text: the column's validation reports it
            }
            failure = capture(value, true);
          }
          break;
        case 'nullValue':
          if (depth <= keep) failure = capture(null, true);
          break;
        case 'trueValue':
        case 'falseValue':
          if (depth <= keep) failure = capture(name === 'trueValue', true);
          break;
      }
      if (failure) return callback(failure);
      callback(null, out);
    },
  });
}

const VALUE_STARTS = new Set(['startObject', 'startArray', 'startString', 'startNumber', 'nullValue', 'trueValue', 'falseValue', 'stringValue', 'numberValue']);
