#!/usr/bin/env node
/**
 * The Parquet codec lever (issue 28): CPU time and size of parquet-wasm writing the big-CSV bench's
 * rows (7 typed columns + lineage) with each codec, in batches of 5,000 rows as the daemon sends
 * them, row groups of 64 Ki rows, dictionary off — the writer properties of src/write/parquet-file.ts.
 * `node bench/parquet-codecs.mjs [rows=1000000] [repeats=3]`; prints the median CPU seconds (user +
 * system of this process, single-threaded) and the file size per codec.
 */
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const REPEATS = Number(process.argv[3] ?? 3);
const BATCH = 5000;
const KINDS = ['click', 'view', 'buy', 'refund'];
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma', 'kappa', 'zeta'];

let seed = 42;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

function batchAt(start, count) {
  const id = new BigInt64Array(count);
  const ts = new BigInt64Array(count);
  const kind = [];
  const amount = new Float64Array(count);
  const label = [];
  const flag = [];
  const note = [];
  const fileId = new BigInt64Array(count).fill(7n);
  const sourceFile = [];
  const record = new BigInt64Array(count);
  for (let k = 0; k < count; k++) {
    const i = start + k;
    id[k] = BigInt(i);
    ts[k] = BigInt(Date.UTC(2024, 0, 1) + i * 1000) * 1000n;
    kind.push(KINDS[i % 4]);
    amount[k] = Math.round(rnd() * 1_000_000) / 100;
    label.push(`L${(i * 2654435761) % 100000}`);
    flag.push(i % 3 === 0);
    note.push(`${WORDS[i % 8]}, ${WORDS[(i * 7) % 8]} and "${WORDS[(i * 3) % 8]}"`);
    sourceFile.push('big.csv');
    record[k] = BigInt(i + 2);
  }
  return arrow.tableFromArrays({
    id,
    ts: arrow.vectorFromArray(ts, new arrow.TimestampMicrosecond('UTC')),
    kind: arrow.vectorFromArray(kind, new arrow.Utf8()),
    amount,
    label: arrow.vectorFromArray(label, new arrow.Utf8()),
    flag: arrow.vectorFromArray(flag, new arrow.Bool()),
    note: arrow.vectorFromArray(note, new arrow.Utf8()),
    _file_id: fileId,
    _source_file: arrow.vectorFromArray(sourceFile, new arrow.Utf8()),
    _source_record: record,
  });
}

const batches = [];
for (let start = 0; start < ROWS; start += BATCH) batches.push(arrow.tableToIPC(batchAt(start, Math.min(BATCH, ROWS - start)), 'stream'));

const codecs = { zstd: pq.Compression.ZSTD, snappy: pq.Compression.SNAPPY, lz4_raw: pq.Compression.LZ4_RAW, uncompressed: pq.Compression.UNCOMPRESSED };
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

const all = concatIpc(batches);
console.log(`parquet-wasm ${ROWS.toLocaleString('en')} rows in batches of ${BATCH}, median of ${REPEATS}`);
for (const [name, codec] of Object.entries(codecs)) {
  const times = [];
  let bytes = 0;
  for (let r = 0; r < REPEATS; r++) {
    const properties = new pq.WriterPropertiesBuilder()
      .setCompression(codec)
      .setMaxRowGroupSize(64 * 1024)
      .setDictionaryEnabled(false)
      .setColumnEncoding('_source_record', pq.Encoding.DELTA_BINARY_PACKED)
      .build();
    const started = cpu();
    // One table from all batches, written in row groups as the streaming writer does.
    const table = pq.Table.fromIPCStream(all);
    const out = pq.writeParquet(table, properties);
    times.push(cpu() - started);
    bytes = out.length;
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(13)} ${times[(REPEATS - 1) >> 1].toFixed(2)} s CPU   ${(bytes / 1e6).toFixed(1)} MB`);
}

/** The batches' IPC streams as one stream: the first schema, every batch's messages. */
function concatIpc(streams) {
  const tables = streams.map((s) => arrow.tableFromIPC(s));
  return arrow.tableToIPC(new arrow.Table(tables.flatMap((t) => t.batches)), 'stream');
}
