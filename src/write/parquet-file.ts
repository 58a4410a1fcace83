/**
 * Parquet through parquet-wasm: a file of several batches streamed as Arrow IPC (arrow.ts) into
 * bounded row groups, so memory stays flat however large the input, written under a temporary
 * name and fsync'd by `finish()`; a one-batch file in a codec parquet-direct.ts does not have
 * (lz4_raw); and writing a one-batch file's bytes. This runs inside the Parquet thread
 * (parquet-thread.ts); the pipeline talks to it through parquet.ts.
 */
import { closeSync, createWriteStream, open, unlinkSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { fsyncPath } from '../lib/fs-now.js';
import { Writable } from 'node:stream';
import * as pq from 'parquet-wasm';
import type { Column } from '../columns.js';
import type { ParquetCodec } from '../config/types.js';
import { PARQUET_CREATED_BY } from '../lib/version.js';
import { batchStream, type Lineage, type Scratch } from './arrow.js';
import { ROW_GROUP_ROWS } from './parquet-format.js';
import type { TypedBatch } from './vectors.js';
/**
 * Arrow bytes waiting for the encoder before `write()` makes the sender wait: enough that the main
 * thread and this one rarely wait on each other (a few 5,000-row batches), small next to the heap.
 */
const QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * Every IPC stream is written over the last one: parquet-wasm copies a stream into its own memory
 * as its first step (`Table.fromIPCStream`, before anything is awaited), so one is never needed
 * after the next is begun.
 */
const scratch: Scratch = { buffer: new Uint8Array(0) };

export interface ParquetFileWriter {
  /** One batch of rows; resolves once there is room for the next. */
  write(batch: TypedBatch): Promise<void>;
  /** Ends the file, flushes it to disk; the temporary file is complete afterwards. */
  finish(): Promise<void>;
  /** Stops writing and removes the temporary file. Safe to call at any point, more than once. */
  abort(): Promise<void>;
}

/** The codecs `parquet.compression` may name. */
const CODECS: Record<ParquetCodec, pq.Compression> = {
  zstd: pq.Compression.ZSTD,
  snappy: pq.Compression.SNAPPY,
  lz4_raw: pq.Compression.LZ4_RAW,
  gzip: pq.Compression.GZIP,
  uncompressed: pq.Compression.UNCOMPRESSED,
};

/**
 * `codec`, bounded row groups, `dictionary`: the columns worth dictionary encoding (the others are
 * written plain). `pageStatistics`: min/max per page as well as per column chunk (the page index,
 * for files with several pages per column). parquet-wasm takes the properties over: one per file.
 */
function writerProperties(codec: ParquetCodec, dictionary: string[], pageStatistics = true): pq.WriterProperties {
  let builder = new pq.WriterPropertiesBuilder()
    .setCompression(CODECS[codec])
    .setMaxRowGroupSize(ROW_GROUP_ROWS)
    .setDictionaryEnabled(false)
    // Line numbers rise by small steps: delta-encoded.
    .setColumnEncoding('_source_record', pq.Encoding.DELTA_BINARY_PACKED)
    .setCreatedBy(PARQUET_CREATED_BY);
  if (!pageStatistics) builder = builder.setStatisticsEnabled(pq.EnabledStatistics.Chunk);
  for (const name of dictionary) builder = builder.setColumnDictionaryEnabled(name, true);
  return builder.build();
}

/**
 * A one-batch file's Parquet encoded in one call by parquet-wasm, for the codec parquet-direct.ts
 * does not have (lz4_raw): chunk statistics only, as that writer writes them (a small file's
 * page index would repeat them).
 */
export function encodeParquet(codec: ParquetCodec, dictionary: string[], columns: Column[], batch: TypedBatch, lineage: Lineage): Uint8Array {
  return pq.writeParquet(pq.Table.fromIPCStream(batchStream(columns, batch, lineage, scratch)), writerProperties(codec, dictionary, false));
}

/**
 * A whole file in one go, for a file that is one batch (most small files): its encoded bytes
 * written, not fsync'd — parquet.ts fsyncs it from the main thread, so that the
 * fsyncs of a group's files overlap and this thread never waits for one. The stream below costs
 * ~5 ms more per file in set-up (web streams, a write stream, the encoder's tasks) than the
 * encoding itself takes for 400 rows. The codec is `parquet.small_file_compression` — snappy by
 * default: for a page of a few hundred values zstd's set-up costs more than the compression
 * (BENCHMARKS.md, "Many small files").
 */
export async function writeParquetFile(tmpPath: string, bytes: Uint8Array): Promise<void> {
  // Created in the thread pool: creating a file can wait ~0.8 ms for the file system's journal
  // while other files' fsyncs commit it (measured in a burst), time this thread spends encoding the
  // next file instead. Writing into the page cache and closing are quick: done here.
  const fd = await new Promise<number>((resolve, reject) => open(tmpPath, 'w', 0o644, (error, fd) => (error ? reject(error) : resolve(fd))));
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  } catch (error) {
    // A full disk must not leave a partial file; the write's error is the one to report.
    closeSync(fd);
    try {
      unlinkSync(tmpPath);
    } catch {
      // gone already
    }
    throw error;
  }
  closeSync(fd);
}

/** `dictionary`: the columns worth dictionary encoding; the others are written plain. */
export function openParquetFile(tmpPath: string, codec: ParquetCodec, dictionary: string[], columns: Column[], lineage: Lineage): ParquetFileWriter {
  const queue: pq.RecordBatch[] = [];
  let queuedBytes = 0;
  const sizes = new Map<pq.RecordBatch, number>();
  let controller!: ReadableStreamDefaultController<pq.RecordBatch>;
  let wakeWriter: (() => void) | null = null;
  let wakePull: (() => void) | null = null;
  let ended = false;
  const batches = new ReadableStream<pq.RecordBatch>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        while (queue.length === 0 && !ended) await new Promise<void>((resolve) => (wakePull = resolve));
        wakePull = null;
        const next = queue.shift();
        if (next) {
          queuedBytes -= sizes.get(next) ?? 0;
          sizes.delete(next);
          c.enqueue(next);
        }
        else c.close();
        wakeWriter?.();
      },
    },
    { highWaterMark: 0 },
  );
  const properties = writerProperties(codec, dictionary);
  // A path-based stream: Writable.toWeb over a FileHandle stream left FileHandle.sync() pending.
  const out = createWriteStream(tmpPath, { mode: 0o644 });
  const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  out.on('error', () => undefined);
  // Not awaited here: parquet-wasm resolves the stream only after it has seen the first batch.
  const done = pq
    .transformParquetStream(batches, properties)
    .then((bytes) => bytes.pipeTo(Writable.toWeb(out) as WritableStream<Uint8Array>));
  let failure: unknown = null;
  done.catch((error: unknown) => {
    failure ??= error;
    wakeWriter?.();
  });

  return {
    async write(batch) {
      if (failure) throw failure;
      const ipc = batchStream(columns, batch, lineage, scratch);
      const table = pq.Table.fromIPCStream(ipc);
      const batches = table.recordBatches();
      for (const recordBatch of batches) {
        sizes.set(recordBatch, ipc.byteLength / batches.length);
        queue.push(recordBatch);
      }
      queuedBytes += ipc.byteLength;
      table.free();
      wakePull?.();
      while (queuedBytes >= QUEUED_BYTES && !failure) await new Promise<void>((resolve) => (wakeWriter = resolve));
      wakeWriter = null;
      if (failure) throw failure;
    },
    async finish() {
      ended = true;
      wakePull?.();
      await done;
      await closed;
      await fsyncPath(tmpPath);
    },
    async abort() {
      ended = true;
      failure ??= new Error('aborted');
      try {
        controller.error(failure);
      } catch {
        // already closed
      }
      wakePull?.();
      await done.catch(() => undefined);
      for (const batch of queue.splice(0)) batch.free();
      out.destroy();
      await closed;
      await unlink(tmpPath).catch(() => undefined);
    },
  };
}
