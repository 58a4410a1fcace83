/**
 * What loadbay's Parquet writer (parquet-direct.ts) says in the format's terms: parquet.thrift's
 * enums, each column kind's physical and logical type (as arrow-rs maps the Arrow types arrow.ts
 * declares, so both writers' files have one schema), the lineage columns, and the codecs.
 */
import { createRequire } from 'node:module';
import { gzipSync, zstdCompressSync, constants as zlib } from 'node:zlib';
import type { Column } from '../columns.js';
import type { ParquetCodec } from '../config/types.js';
import { asBuffer } from '../lib/bytes.js';
import { unreachable } from '../lib/unreachable.js';

export const TYPE = { BOOLEAN: 0, INT32: 1, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
export const ENCODING = { PLAIN: 0, RLE: 3, DELTA_BINARY_PACKED: 5, RLE_DICTIONARY: 8 } as const;
export const PAGE = { DATA: 0, DICTIONARY: 2 } as const;
export const CONVERTED = { UTF8: 0, DATE: 6, TIMESTAMP_MICROS: 10 } as const;
const CODEC: Partial<Record<ParquetCodec, number>> = { uncompressed: 0, snappy: 1, gzip: 2, zstd: 6 };

/** Rows per row group, for both writers (bounded, so memory stays flat however large the input). */
export const ROW_GROUP_ROWS = 64 * 1024;

/** A column of the file as Parquet sees it. */
export interface Leaf {
  name: string;
  type: number;
  optional: boolean;
  logical?: 'string' | 'date' | 'timestamp';
}

export function leafOf(column: Column): Leaf {
  const { name } = column;
  switch (column.kind) {
    case 'integer':
      return { name, type: TYPE.INT64, optional: true };
    case 'number':
      return { name, type: TYPE.DOUBLE, optional: true };
    case 'boolean':
      return { name, type: TYPE.BOOLEAN, optional: true };
    case 'date':
      return { name, type: TYPE.INT32, optional: true, logical: 'date' };
    case 'timestamp':
      return { name, type: TYPE.INT64, optional: true, logical: 'timestamp' };
    case 'string':
    case 'json':
      return { name, type: TYPE.BYTE_ARRAY, optional: true, logical: 'string' };
    default:
      return unreachable(column.kind, 'column kind');
  }
}

export const LINEAGE_LEAVES = {
  fileId: { name: '_file_id', type: TYPE.INT64, optional: false },
  sourceFile: { name: '_source_file', type: TYPE.BYTE_ARRAY, optional: false, logical: 'string' },
  sourceRecord: { name: '_source_record', type: TYPE.INT64, optional: false },
} as const satisfies Record<string, Leaf>;

type Compress = (input: Buffer, options: { copyOutputData: boolean }) => Buffer;
let snappyCompress: Compress | null | undefined;

/**
 * napi-rs's snappy, loaded when first needed: where its prebuilt binding is missing (an install
 * without optional dependencies, an unlisted platform), snappy files go through parquet-wasm
 * instead of the Parquet thread failing to start.
 */
function snappy(): Compress | null {
  if (snappyCompress === undefined) {
    try {
      snappyCompress = (createRequire(import.meta.url)('snappy') as { compressSync: Compress }).compressSync;
    } catch {
      snappyCompress = null;
    }
  }
  return snappyCompress;
}

/** The codecs this writer has; another (lz4_raw) goes through parquet-wasm. */
export function directCodec(codec: ParquetCodec): boolean {
  return codec === 'snappy' ? snappy() !== null : CODEC[codec] !== undefined;
}

export function codecId(codec: ParquetCodec): number {
  const id = CODEC[codec];
  if (id === undefined) throw new Error(`no direct Parquet writer for ${codec}`);
  return id;
}

export function compress(codec: ParquetCodec, body: Uint8Array): Uint8Array {
  switch (codec) {
    case 'uncompressed':
      return body;
    case 'snappy':
      // Copied out of the binding's own heap (mimalloc), whose pages the binding's freed outputs kept
      // resident: 31 MB of the Parquet thread after bursts of small files (BENCHMARKS.md).
      return snappy()!(asBuffer(body), { copyOutputData: true });
    case 'gzip':
      return gzipSync(body);
    case 'zstd':
      // parquet-wasm's (arrow-rs's) default level.
      return zstdCompressSync(body, { params: { [zlib.ZSTD_c_compressionLevel]: 1 } });
    default:
      throw new Error(`no direct Parquet writer for ${codec}`);
  }
}
