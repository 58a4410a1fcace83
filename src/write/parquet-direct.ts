/**
 * A file of one batch (most small files) written as Parquet straight from the typed vectors,
 * without Arrow IPC and parquet-wasm: row groups of 65,536 rows, a page per column
 * (parquet-pages.ts), chunk statistics, the footer parquet-footer.ts writes. parquet-wasm spent
 * ~25 µs of set-up per column chunk in wasm before it encoded a value, most of a small file's
 * encoding (BENCHMARKS.md, "A Parquet writer for one-batch files"). Files of several batches
 * still stream through parquet-wasm (parquet-file.ts): written this way too, they cost as much CPU
 * and ~35 MB more memory (Node's zstd per page). tests/unit/parquet-direct.test.ts reads what this
 * writes through parquet-wasm and DuckDB and requires what parquet-wasm's own file of the same
 * batch gives.
 */
import type { Column } from '../columns.js';
import type { ParquetCodec } from '../config/types.js';
import type { ArrowBatch, Lineage } from './arrow.js';
import { footer, MAGIC, type PlacedChunk, type RowGroup } from './parquet-footer.js';
import { directCodec, leafOf, LINEAGE_LEAVES, ROW_GROUP_ROWS, type Leaf } from './parquet-format.js';
import { addColumnPage, addConstantPage, addRecordsPage, closeChunk, newChunk, releaseScratch, type Chunk, type Page } from './parquet-pages.js';
import { int64Bytes } from './parquet-values.js';

/** A batch's text column with more bytes than this is split into several pages (a page's size is an i32). */
const PAGE_TEXT_BYTES = 64 * 1024 * 1024;

/** Row groups as they are completed, laid out one after the other from the file's start. */
class Layout {
  readonly leaves: Leaf[];
  readonly groups: RowGroup[] = [];
  /** The pages of completed row groups (headers and bodies), in file order. */
  readonly ready: Uint8Array[] = [];
  private offset = MAGIC.length;
  private chunks: Chunk[] = [];
  private rows = 0;
  private readonly fileId: Uint8Array;
  private readonly name: Uint8Array;
  /** `_source_file`'s one dictionary entry, PLAIN: its length, then its bytes. */
  private readonly plainName: Uint8Array;
  /**
   * Listed columns whose dictionary passed its limit in a row group: plain in the file's later row
   * groups (hashing a group's worth of values again only to give up cost 3× the file's encoding).
   */
  private readonly plain = new Set<string>();

  constructor(
    private readonly columns: Column[],
    lineage: Lineage,
    private readonly codec: ParquetCodec,
    private readonly dictionary: Set<string>,
    private readonly pageTextBytes: number,
  ) {
    this.leaves = [...columns.map(leafOf), LINEAGE_LEAVES.fileId, LINEAGE_LEAVES.sourceFile, LINEAGE_LEAVES.sourceRecord];
    this.fileId = int64Bytes(BigInt(lineage.fileId));
    this.name = Buffer.from(lineage.sourceFile, 'utf8');
    this.plainName = new Uint8Array(4 + this.name.length);
    new DataView(this.plainName.buffer).setUint32(0, this.name.length, true);
    this.plainName.set(this.name, 4);
    this.start();
  }

  private start(): void {
    this.chunks = [
      ...this.columns.map((c, i) => newChunk(this.leaves[i]!, this.codec, { dictionary: this.dictionary.has(c.name) && (c.kind === 'string' || c.kind === 'json') && !this.plain.has(c.name) })),
      newChunk(LINEAGE_LEAVES.fileId, this.codec, { constant: { plain: this.fileId, statistic: this.fileId } }),
      newChunk(LINEAGE_LEAVES.sourceFile, this.codec, { constant: { plain: this.plainName, statistic: this.name } }),
      newChunk(LINEAGE_LEAVES.sourceRecord, this.codec),
    ];
    this.rows = 0;
  }

  /** Rows `from … to` of a batch, into the row group being built (closing it when full). */
  add(batch: ArrowBatch, from: number, to: number): void {
    while (from < to) {
      const end = Math.min(to, from + ROW_GROUP_ROWS - this.rows);
      for (const [a, b] of pageSlices(batch, from, end, this.pageTextBytes)) this.page(batch, a, b);
      this.rows += end - from;
      from = end;
      if (this.rows === ROW_GROUP_ROWS) this.close();
    }
  }

  private page(batch: ArrowBatch, from: number, to: number): void {
    const n = this.columns.length;
    for (let c = 0; c < n; c++) addColumnPage(this.chunks[c]!, batch.vectors[c]!, from, to);
    addConstantPage(this.chunks[n]!, to - from);
    addConstantPage(this.chunks[n + 1]!, to - from);
    addRecordsPage(this.chunks[n + 2]!, batch.numbers, from, to);
  }

  /** Ends the row group being built, if it has rows: its chunks are laid out and their buffers ready. */
  close(): void {
    if (this.rows === 0) return;
    const placed: PlacedChunk[] = [];
    for (const chunk of this.chunks) {
      closeChunk(chunk);
      const start = this.offset;
      let dictionaryAt = -1;
      if (chunk.dictionaryPage) {
        dictionaryAt = this.offset;
        this.place(chunk.dictionaryPage);
      }
      const dataAt = this.offset;
      for (const page of chunk.pages) this.place(page);
      if (chunk.dictionary?.full) this.plain.add(chunk.leaf.name);
      placed.push({ chunk, start, dictionaryAt, dataAt });
    }
    this.groups.push({ rows: this.rows, chunks: placed });
    this.start();
  }

  private place([head, body]: Page): void {
    this.ready.push(head, body);
    this.offset += head.length + body.length;
  }

  footer(): Uint8Array {
    return footer(this.columns, this.leaves, this.codec, this.groups);
  }
}

/** Row ranges of `from … to` in which no text column has more than `limit` bytes: usually one. */
function pageSlices(batch: ArrowBatch, from: number, to: number, limit: number): Array<[number, number]> {
  const texts: Int32Array[] = [];
  for (const v of batch.vectors) if (v.kind === 'string' || v.kind === 'json') texts.push(v.offsets);
  if (texts.every((o) => o[to]! - o[from]! <= limit)) return [[from, to]];
  const slices: Array<[number, number]> = [];
  let start = from;
  for (let i = from; i < to; i++) {
    // Row i joins the slice unless that takes a column past the limit (a slice has at least one row).
    if (i > start && texts.some((o) => o[i + 1]! - o[start]! > limit)) {
      slices.push([start, i]);
      start = i;
    }
  }
  slices.push([start, to]);
  return slices;
}

/**
 * The Parquet file of one batch, in memory, or null when `codec` is not one this writer has
 * (lz4_raw: parquet-wasm writes it).
 * `dictionary`: the columns worth dictionary encoding (as parquet-wasm is told). `pageTextBytes`:
 * where a batch's text is split into pages (tests make it small to write many pages).
 */
export function directParquet(columns: Column[], batch: ArrowBatch, lineage: Lineage, codec: ParquetCodec, dictionary: string[], pageTextBytes = PAGE_TEXT_BYTES): Uint8Array | null {
  if (!directCodec(codec)) return null;
  const layout = new Layout(columns, lineage, codec, new Set(dictionary), pageTextBytes);
  layout.add(batch, 0, batch.length);
  layout.close();
  const tail = layout.footer();
  // Every byte is written below: no zero-filling.
  const out = Buffer.allocUnsafe(MAGIC.length + layout.ready.reduce((n, b) => n + b.length, 0) + tail.length);
  out.set(MAGIC, 0);
  let at = MAGIC.length;
  for (const part of layout.ready) {
    out.set(part, at);
    at += part.length;
  }
  out.set(tail, at);
  releaseScratch();
  return out;
}
