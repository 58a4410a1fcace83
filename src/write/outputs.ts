/**
 * A file's outputs besides the table: its Parquet file and, under `on_invalid_row: skip_row`, its
 * rejects file. Both are written under temporary names while the file streams; `commit()` moves
 * them into place together (after the caller recorded the Parquet path in the ledger) and
 * `abort()` removes both, so a load never leaves one without the other.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Column } from '../columns.js';
import type { Config } from '../config/types.js';
import type { Problem } from '../errors.js';
import type { Locator } from '../read/types.js';
import { openRejects, type RejectsWriter } from './rejects.js';
import { fsyncPath } from '../lib/fs-now.js';
import { fitName } from '../outcome/move.js';
import type { Lineage } from './arrow.js';
import { openParquetWriter, type CopySink, type ParquetWriter } from './parquet.js';
import { emptyVector, type TypedBatch } from './vectors.js';

export interface OutputsSpec {
  /** output_parquet/<dataset> */
  parquetDir: string;
  /** output_failed/<dataset>, when rejected rows are kept */
  rejectsDir: string | null;
  /** The file's path under input/ */
  relative: string;
  columns: Column[];
  lineage: Lineage;
  locator: Locator;
  /** Makes temporary names unique across instances and attempts. */
  tag: string;
  /** `parquet:` of the configuration. */
  compression: Config['parquet'];
  /** Given each written batch's rows as COPY binary, in order, encoded by the Parquet thread (parquet.ts). */
  copy?: CopySink;
}

export class FileOutputs {
  private finished: Promise<void> | null = null;
  private rows = 0;
  private constructor(
    private readonly spec: OutputsSpec,
    private readonly parquet: ParquetWriter,
    private readonly rejects: RejectsWriter | null,
  ) {}

  static async open(spec: OutputsSpec): Promise<FileOutputs> {
    mkdirSync(spec.parquetDir, { recursive: true }); // synchronous: see lib/fs-now.ts
    const tmp = path.join(spec.parquetDir, `.${fitName(path.basename(spec.relative), 120)}.${spec.tag}.tmp`);
    const parquet = await openParquetWriter(tmp, spec.columns, spec.lineage, spec.compression, spec.copy);
    let rejects: RejectsWriter | null = null;
    try {
      if (spec.rejectsDir) rejects = await openRejects(spec.rejectsDir, spec.relative, spec.locator, spec.tag);
    } catch (error) {
      await parquet.abort();
      throw error;
    }
    return new FileOutputs(spec, parquet, rejects);
  }

  /** Rows to Parquet (copied for the Parquet thread: the batch is the caller's again on return). */
  write(batch: TypedBatch): Promise<void> {
    this.rows += batch.length;
    return this.parquet.write(batch);
  }

  /** Rejected records to the rejects file (when kept). */
  async reject(byRecord: Map<number | string, Problem[]>, originals: Map<number, unknown> | null): Promise<void> {
    if (this.rejects && byRecord.size > 0) await this.rejects.write(byRecord, originals ?? new Map());
  }

  /** Ends the Parquet file (in its thread, while the caller goes on); `commit` waits for it. */
  finish(): Promise<void> {
    if (!this.finished) {
      const empty = this.rows === 0 ? this.parquet.write({ length: 0, numbers: new Float64Array(0), vectors: this.spec.columns.map((c) => emptyVector(c.kind, 0)) }) : Promise.resolve();
      this.finished = empty.then(() => this.parquet.finish());
      this.finished.catch(() => undefined); // awaited by commit(); abort() waits for it on any failure
    }
    return this.finished;
  }

  /** Where the Parquet file goes: `<name>-<sha8>[-<file id>].parquet`. */
  parquetPath(sha256: string, fileId: string | null): string {
    const name = `${fitName(path.basename(this.spec.relative), 40)}-${sha256.slice(0, 8)}${fileId ? `-${fileId}` : ''}.parquet`;
    return path.join(this.spec.parquetDir, name);
  }

  /**
   * Both files into place: Parquet renamed to `parquetPath`, the rejects file (when it holds any)
   * fsync'd and renamed, the folder fsync'd (unless the caller does it, once for several files).
   * Returns the rejects file's path, or null.
   */
  async commit(parquetPath: string, rejected: number, syncFolder = true): Promise<string | null> {
    await this.finish();
    await this.parquet.commit(parquetPath);
    const rejectsFile = this.rejects && rejected > 0 ? await this.rejects.commit() : null;
    if (this.rejects && rejectsFile === null) await this.rejects.abort(); // nothing rejected: no file
    if (syncFolder) await fsyncPath(this.spec.parquetDir);
    return rejectsFile;
  }

  /** Removes whatever is not committed. Safe at any point, more than once. */
  async abort(): Promise<void> {
    await this.parquet.abort();
    await this.rejects?.abort(); // a committed one was renamed already
  }
}
