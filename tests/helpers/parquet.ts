import { readFile } from 'node:fs/promises';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';

/** Reads a Parquet file back into an Arrow table (whole file: test fixtures are small). */
export async function readParquetFile(file: string): Promise<arrow.Table> {
  const bytes = new Uint8Array(await readFile(file));
  return arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
}

export function columnTypes(table: arrow.Table): Record<string, string> {
  return Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
}
