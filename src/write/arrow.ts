/**
 * Builds an Arrow record batch from validated records, one typed column per schema column:
 * int64, float64, bool, utf8, date32, timestamp(µs, UTC); JSON columns as JSON text.
 */
import { endianness } from 'node:os';
import * as arrow from 'apache-arrow';
import type { Column } from '../columns.js';
import { jsonText } from '../read/json-values.js';

export function arrowSchema(columns: Column[]): arrow.Schema {
  return new arrow.Schema(columns.map((c) => new arrow.Field(c.name, arrowType(c), true)));
}

function arrowType(column: Column): arrow.DataType {
  switch (column.kind) {
    case 'integer':
      return new arrow.Int64();
    case 'number':
      return new arrow.Float64();
    case 'boolean':
      return new arrow.Bool();
    case 'date':
      return new arrow.DateDay();
    case 'timestamp':
      return new arrow.TimestampMicrosecond('UTC');
    case 'string':
    case 'json':
      return new arrow.Utf8();
  }
}

// setInt64 writes the halves of int64 values in little-endian order, as Arrow requires.
if (endianness() !== 'LE') throw new Error('loadbay writes Arrow buffers for little-endian machines only');

const MS_PER_DAY = 86_400_000;

/** "2024-03-01" → days since the epoch. */
export function dateToDays(value: string): number {
  return Math.floor(Date.parse(value.slice(0, 10) + 'T00:00:00Z') / MS_PER_DAY);
}

/** RFC 3339 date-time → microseconds since the epoch, keeping digits below the millisecond. */
export function timestampToMicros(value: string): bigint {
  return BigInt(epochMillis(value)) * 1000n + BigInt(subMillisecondMicros(value));
}

/**
 * Milliseconds since the epoch. A leap second (`23:59:60`, which the date-time format accepts) is
 * the first instant of the next minute, as PostgreSQL reads it; Date.parse alone says NaN.
 */
export function epochMillis(value: string): number {
  const ms = Date.parse(value);
  if (ms === ms) return ms; // not NaN
  if (value.charCodeAt(17) === 54 && value.charCodeAt(18) === 48) {
    // "…:60": parse as :59 and add the second.
    const rolled = Date.parse(`${value.slice(0, 17)}59${value.slice(19)}`);
    if (rolled === rolled) return rolled + 1000;
  }
  throw new RangeError(`not a date-time loadbay can convert: ${JSON.stringify(value.slice(0, 40))}`);
}

/**
 * Digits 4–6 of the fraction of a validated date-time as microseconds (0–999). The format fixes
 * `YYYY-MM-DD?hh:mm:ss`, so a fraction always starts at index 19.
 */
function subMillisecondMicros(value: string): number {
  if (value.charCodeAt(19) !== 46) return 0; // '.'
  let micros = 0;
  for (let i = 23, scale = 100; i < 26; i++, scale /= 10) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) break;
    micros += digit * scale;
  }
  return micros;
}

const TWO_32 = 4294967296;

/**
 * Writes an int64 slot through its two 32-bit halves (Arrow buffers are little-endian): no BigInt
 * per value for the common case of a safe integer; anything else goes through BigInt.
 */
function setInt64(words: Int32Array, data: BigInt64Array, i: number, value: number | bigint): void {
  if (typeof value === 'bigint') {
    data[i] = value;
  } else if (Number.isSafeInteger(value)) {
    const high = Math.floor(value / TWO_32);
    words[2 * i] = (value - high * TWO_32) | 0;
    words[2 * i + 1] = high;
  } else {
    data[i] = BigInt(value);
  }
}

export function toRecordBatch(
  schema: arrow.Schema,
  columns: Column[],
  records: Record<string, unknown>[],
): arrow.RecordBatch {
  const length = records.length;
  const children = columns.map((column, i) => {
    const type = schema.fields[i]!.type;
    const name = column.name;
    // `__proto__` only as an own property: a record without it has no value, not its prototype.
    const values =
      name === '__proto__'
        ? records.map((record) => (Object.hasOwn(record, name) ? record[name] : undefined))
        : records.map((record) => record[name]);
    return columnData(column, type, values, length);
  });
  const data = arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children });
  return new arrow.RecordBatch(schema, data);
}

function columnData(column: Column, type: arrow.DataType, values: unknown[], length: number): arrow.Data {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const isValid = (i: number) => {
    const v = values[i];
    if (v === undefined || v === null) {
      nullCount++;
      return false;
    }
    nullBitmap[i >> 3]! |= 1 << (i & 7);
    return true;
  };
  switch (column.kind) {
    case 'integer': {
      const data = new BigInt64Array(length);
      const words = new Int32Array(data.buffer);
      for (let i = 0; i < length; i++) if (isValid(i)) setInt64(words, data, i, values[i] as number | bigint);
      return arrow.makeData({ type: type as arrow.Int64, length, nullCount, nullBitmap, data });
    }
    case 'number': {
      const data = new Float64Array(length);
      for (let i = 0; i < length; i++) if (isValid(i)) data[i] = values[i] as number;
      return arrow.makeData({ type: type as arrow.Float64, length, nullCount, nullBitmap, data });
    }
    case 'boolean': {
      const data = new Uint8Array((length + 7) >> 3);
      for (let i = 0; i < length; i++) if (isValid(i) && values[i] === true) data[i >> 3]! |= 1 << (i & 7);
      return arrow.makeData({ type: type as arrow.Bool, length, nullCount, nullBitmap, data });
    }
    case 'date': {
      const data = new Int32Array(length);
      for (let i = 0; i < length; i++) if (isValid(i)) data[i] = dateToDays(values[i] as string);
      return arrow.makeData({ type: type as arrow.DateDay, length, nullCount, nullBitmap, data });
    }
    case 'timestamp': {
      const data = new BigInt64Array(length);
      const words = new Int32Array(data.buffer);
      for (let i = 0; i < length; i++) {
        if (!isValid(i)) continue;
        const text = values[i] as string;
        const micros = epochMillis(text) * 1000 + subMillisecondMicros(text);
        if (Number.isSafeInteger(micros)) setInt64(words, data, i, micros);
        else data[i] = timestampToMicros(text); // beyond ±285 years of 1970
      }
      return arrow.makeData({ type: type as arrow.TimestampMicrosecond, length, nullCount, nullBitmap, data });
    }
    case 'string':
    case 'json': {
      const texts: string[] = new Array(length);
      for (let i = 0; i < length; i++) {
        if (!isValid(i)) {
          texts[i] = '';
          continue;
        }
        const v = values[i];
        texts[i] = column.kind === 'json' || typeof v !== 'string' ? jsonText(v) : v;
      }
      const valueOffsets = new Int32Array(length + 1);
      // One UTF-8 encoding per column, not two native calls per value. When the bytes are as many as
      // the characters, every character is ASCII and the offsets are the string lengths.
      const joined = texts.join('');
      let data: Buffer = Buffer.from(joined, 'utf8');
      if (data.length === joined.length) {
        let offset = 0;
        for (let i = 0; i < length; i++) valueOffsets[i + 1] = offset += texts[i]!.length;
      } else {
        data = encodeEach(texts, valueOffsets);
      }
      return arrow.makeData({
        type: type as arrow.Utf8,
        length,
        nullCount,
        nullBitmap,
        valueOffsets,
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      });
    }
  }
}

/** UTF-8 of each text, one after the other, with its end offsets (texts with non-ASCII characters). */
function encodeEach(texts: string[], valueOffsets: Int32Array): Buffer {
  let bytes = 0;
  for (const text of texts) bytes += Buffer.byteLength(text);
  const data = Buffer.allocUnsafe(bytes);
  let offset = 0;
  for (let i = 0; i < texts.length; i++) {
    offset += data.write(texts[i]!, offset);
    valueOffsets[i + 1] = offset;
  }
  return data;
}
