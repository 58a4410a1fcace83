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
