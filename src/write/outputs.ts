/**
 * A file's outputs besides the table: its Parquet file and, under `on_invalid_row: skip_row`, its
 * rejects file. Both are written under temporary names while the file streams; `commit()` moves
 * them into place together (after the caller recorded the Parquet path in the ledger) and
 * `abort()` removes both, so a load never leaves one without the other.
 *
 * Either folder may be in object storage. The Parquet thread still writes a local temporary file
 * (in the staging folder), and `commit()` uploads it to its final key — one PutObject, or a
 * multipart upload in parts of 8 MiB for a large file (memory: a few parts) — never over an
 * existing object. An upload a load leaves behind (its COMMIT never came) is deleted by `abort()`,
 * or, after a crash, by the start-up sweep (source/s3/sweep.ts).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { deleteWhere, isObjectWhere, joinWhere, putFileWhere, type Places, type Where } from '../source/places.js';
import { KeyTakenError } from '../source/s3/write.js';
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
  places: Places;
  /** output_parquet/<dataset>: a local folder or a prefix in object storage */
  parquetDir: Where;
  /** output_failed/<dataset>, when rejected rows are kept */
  rejectsDir: Where | null;
  /** The dataset's local folder for temporary files of outputs in object storage. */
  stagingDir: string;
  /**
   * The Parquet key is taken by an object that is no load's (an earlier attempt of this file that
   * never committed, its writer gone): it may be replaced.
   */
  orphaned: (parquet: Where) => Promise<boolean>;
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
  /** An object uploaded for this load, deleted by `abort()` unless its COMMIT was sent (`committing`). */
  private uploaded: Where | null = null;
  private committing = false;
  private constructor(
    private readonly spec: OutputsSpec,
    private readonly parquet: ParquetWriter,
    private readonly rejects: RejectsWriter | null,
    private readonly tmp: string,
  ) {}

  static async open(spec: OutputsSpec): Promise<FileOutputs> {
    const tmpDir = isObjectWhere(spec.parquetDir) ? spec.stagingDir : spec.parquetDir;
    mkdirSync(tmpDir, { recursive: true }); // synchronous: see lib/fs-now.ts
    const tmp = path.join(tmpDir, `.${fitName(path.basename(spec.relative), 120)}.${spec.tag}.tmp`);
    const parquet = await openParquetWriter(tmp, spec.columns, spec.lineage, spec.compression, spec.copy);
    let rejects: RejectsWriter | null = null;
    try {
      if (spec.rejectsDir) rejects = await openRejects(spec.places, spec.rejectsDir, spec.stagingDir, spec.relative, spec.locator, spec.tag);
    } catch (error) {
      await parquet.abort();
      throw error;
    }
    return new FileOutputs(spec, parquet, rejects, tmp);
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
  parquetPath(sha256: string, fileId: string | null): Where {
    const name = `${fitName(path.basename(this.spec.relative), 40)}-${sha256.slice(0, 8)}${fileId ? `-${fileId}` : ''}.parquet`;
    return joinWhere(this.spec.parquetDir, name);
  }

  /**
   * Both files into place: Parquet renamed (or uploaded) to `parquetPath`, the rejects file (when
   * it holds any) fsync'd and renamed (or uploaded), the local folder fsync'd (unless the caller
   * does it, once for several files: `syncFolder`). Returns where the rejects file went, or null.
   */
  async commit(parquetPath: Where, rejected: number, syncFolder = true): Promise<Where | null> {
    await this.finish();
    if (isObjectWhere(parquetPath)) await this.upload(parquetPath);
    else await this.parquet.commit(parquetPath);
    const rejectsFile = this.rejects && rejected > 0 ? await this.rejects.commit() : null;
    if (this.rejects && rejectsFile === null) await this.rejects.abort(); // nothing rejected: no file
    if (syncFolder && !isObjectWhere(this.spec.parquetDir)) await fsyncPath(this.spec.parquetDir);
    return rejectsFile;
  }

  /** The finished temporary file to its key; a key an orphan holds is taken back (see `orphaned`). */
  private async upload(where: Where): Promise<void> {
    try {
      await putFileWhere(this.spec.places, this.tmp, where, { contentType: 'application/vnd.apache.parquet' });
    } catch (error) {
      if (!(error instanceof KeyTakenError) || !(await this.spec.orphaned(where))) throw error;
      await deleteWhere(this.spec.places, where);
      await putFileWhere(this.spec.places, this.tmp, where, { contentType: 'application/vnd.apache.parquet' });
    }
    this.uploaded = where;
  }

  /**
   * The load's COMMIT is about to be sent: whether it took effect may be unknown if it fails, so
   * an uploaded Parquet object is no longer deleted by `abort()` (the start-up sweep decides from
   * the ledger).
   */
  committed(): void {
    this.committing = true;
  }

  /** Removes whatever is not committed. Safe at any point, more than once. */
  async abort(): Promise<void> {
    await this.parquet.abort();
    await this.rejects?.abort(); // a committed one was renamed already
    const uploaded = this.uploaded;
    if (uploaded && !this.committing) {
      this.uploaded = null;
      await deleteWhere(this.spec.places, uploaded).catch(() => undefined); // else the start-up sweep removes it
    }
  }
}
