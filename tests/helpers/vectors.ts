import fc from 'fast-check';
import type { ColumnKind } from '../../src/columns.js';
import { emptyVector, setInt64, TextBuilder, type Vector } from '../../src/write/vectors.js';

/** A value of a generated column: raw int64 (µs for timestamps), day numbers for dates, text, or null. */
export type Value = bigint | number | boolean | string | null;

/**
 * A vector holding `values`. Fixed-width vectors are longer than the batch, with a valid row past
 * its end, as the readers' vectors often are: an encoder may read only the batch's rows.
 */
export function vectorOf(kind: ColumnKind, values: Value[]): Vector {
  if (kind === 'string' || kind === 'json') {
    const text = new TextBuilder(values.length, 4);
    for (const v of values) {
      if (v === null) text.appendNull();
      else text.appendString(v as string);
    }
    return text.vector(kind);
  }
  const vector = emptyVector(kind, values.length + 3);
  values.forEach((v, i) => {
    if (v === null) return;
    vector.valid[i] = 1;
    if (vector.kind === 'integer' || vector.kind === 'timestamp') setInt64(vector, i, v as bigint);
    else if (vector.kind === 'boolean') vector.data[i] = v ? 1 : 0;
    else if (vector.kind === 'number' || vector.kind === 'date') vector.data[i] = v as number;
  });
  vector.valid[values.length] = 1;
  return vector;
}

/**
 * Generated values of a column kind, edges included: int64's whole range, unicode text. `special`:
 * NaN, ±Infinity and -0 among the doubles, and text that repeats (a dictionary pays) or is longer
 * than Parquet statistics keep. `lake`: timestamps within years 1–9999, the range DuckDB converts.
 */
export function valueArbitrary(kind: ColumnKind, { special = false, lake = false } = {}): fc.Arbitrary<Value> {
  switch (kind) {
    case 'timestamp':
      if (lake) return fc.bigInt({ min: -62_135_596_800_000_000n, max: 253_402_300_799_999_999n });
    // falls through
    case 'integer':
      return fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constantFrom(0n, -1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n + 1n));
    case 'number':
      return special ? fc.oneof(fc.double(), fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity)) : fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'date':
      return fc.integer({ min: -719_162, max: 2_932_896 });
    case 'string':
    case 'json':
      if (!special) return fc.string({ unit: 'binary', maxLength: 12 });
      return fc.oneof(fc.constantFrom('', 'a', 'b', 'ü', 'a\u0000b', 'zz'), fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ minLength: 60, maxLength: 80 }));
  }
}
