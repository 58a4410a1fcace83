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
