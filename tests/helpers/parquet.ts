import { readFile } from 'node:fs/promises';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';

/** Reads a Parquet file back into an Arrow table (whole file: test fixtures are small). */
export async function readParquetFile(file: string): Promise<arrow.Table> {
  const bytes = new Uint8Array(await readFile(file));
  return arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
}

/** The codecs a Parquet file's column chunks are compressed with, by name (`ZSTD`, `SNAPPY`, …). */
export async function parquetCodecs(file: string): Promise<Set<string>> {
  const parquet = await pq.ParquetFile.fromFile(new Blob([await readFile(file)]));
  try {
    const codecs = new Set<string>();
    for (const group of parquet.metadata().rowGroups()) for (const column of group.columns()) codecs.add(pq.Compression[column.compression()]);
    return codecs;
  } finally {
    parquet.free();
  }
}

export function columnTypes(table: arrow.Table): Record<string, string> {
  return Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
}

/**
 * What a user's DuckDB reads from a dataset's Parquet folder (`<dir>/*.parquet`, not its
 * `_superseded/`): the rows as objects, in `orderBy` order, values as DuckDB returns them to JS.
 */
export async function duckdbRows(dir: string, columns: string[], orderBy: string): Promise<Array<Record<string, unknown>>> {
  const glob = `${dir.replace(/'/g, "''")}/*.parquet`;
  return duckdbQuery(`SELECT ${columns.join(', ')} FROM read_parquet('${glob}') ORDER BY ${orderBy}`);
}

/** A query through an in-memory DuckDB, its rows as JSON-safe objects (bigints as text). */
export async function duckdbQuery(sql: string): Promise<Array<Record<string, unknown>>> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * A column's values as stored, row by row: int64 and timestamp(µs) as BigInts, date32 as days,
 * text decoded from its bytes as they are — apache-arrow's own decoding drops a leading U+FEFF
 * (a TextDecoder that does not ignore the BOM), which the file holds.
 */
export function storedValues(table: arrow.Table, name: string): unknown[] {
  const out: unknown[] = [];
  const text = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
  for (const data of table.getChild(name)!.data) {
    for (let i = 0; i < data.length; i++) {
      if (!data.getValid(i)) {
        out.push(null);
        continue;
      }
      const at = data.offset + i;
      if (arrow.DataType.isUtf8(data.type)) {
        const offsets = data.valueOffsets as Int32Array;
        out.push(text.decode((data.values as Uint8Array).subarray(offsets[at]!, offsets[at + 1]!)));
      } else if (arrow.DataType.isTimestamp(data.type) || arrow.DataType.isInt(data.type)) {
        out.push((data.values as BigInt64Array)[at]!);
      } else if (arrow.DataType.isDate(data.type)) {
        out.push((data.values as Int32Array)[at]!);
      } else {
        out.push(table.getChild(name)!.get(out.length));
      }
    }
  }
  return out;
}
