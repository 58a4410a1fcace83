/**
 * Prometheus metrics (prom-client), fed by the daemon's events and, at scrape time, by the queue
 * and the folders. Prometheus naming: base units (seconds, bytes), `_total` only on counters, no
 * file names as labels (a label per file would grow without bound); `dataset`, `table`, outcomes and
 * stages are bounded by the configuration. Every known label set is exported from the start at 0,
 * so `increase()` sees the first event after a start. Node's and the process's metrics keep
 * prom-client's standard names (`process_*`, `nodejs_*`), which stock dashboards expect.
 */
import { readdir } from 'node:fs/promises';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Dataset } from '../config/types.js';
import type { Stage } from '../errors.js';
import type { FileEventFields, LoadbayEvents } from '../events.js';
// The `dataset` label of a file no dataset matches, as its quarantine folder (names cannot start with `_`).
import { UNMATCHED } from '../outcome/settle.js';

export interface MetricsSources {
  events: LoadbayEvents;
  /** The datasets in force (they change on a reload): the `dataset` label's values. */
  datasets(): readonly Dataset[];
  /** Finished files waiting (or parked for a retry) and files in progress, from the queue. */
  backlog(): { files: number; bytes: number; oldestMtimeMs: number | null; inProgress: number };
  /** Each input's own backlog (its name: the folder or s3:// prefix, as in the configuration). */
  sources?: () => Array<{ source: string; files: number; bytes: number; oldestMtimeMs: number | null }>;
  failedDir: string;
  /** Open quarantined files, when output_failed is not a local folder to count (a bucket: the ledger). */
  countQuarantined?: () => Promise<number>;
  ready(): boolean;
}

const OUTCOMES = ['loaded', 'failed', 'skipped', 'vanished'] as const;
const DATASET_STAGES: readonly (Stage | 'export')[] = ['read', 'prepare', 'validate', 'load', 'check', 'settle', 'export'];
const RETRY_KINDS = ['retrying', 'held'] as const;
const LOAD_STAGES = ['read_validate', 'copy', 'parquet', 'commit'] as const;
/**
 * prom-client's sums of the per-type gauges `nodejs_active_{handles,requests,resources}`: gauges
 * named like counters, which promtool refuses (prometheus/client_js#283); `sum()` of the per-type
 * gauge gives the same number.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const QUARANTINE_CACHE_MS = 15_000;

export function createMetrics(sources: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  const discovered = new Counter({ name: 'loadbay_files_discovered_total', help: 'Files that stood still for the stability window and were queued', registers: [registry] });
  const processed = new Counter({
    name: 'loadbay_files_processed_total',
    help: `Files by outcome and dataset (${UNMATCHED}: no dataset matched)`,
    labelNames: ['outcome', 'dataset'],
    registers: [registry],
    collect: () => initialise(),
  });
  const rowsLoaded = new Counter({ name: 'loadbay_rows_loaded_total', help: 'Rows committed, per dataset and table', labelNames: ['dataset', 'table'], registers: [registry] });
  const rowsRejected = new Counter({
    name: 'loadbay_rows_rejected_total',
    help: 'Rows set aside under on_invalid_row: skip_row, per dataset and table',
    labelNames: ['dataset', 'table'],
    registers: [registry],
  });
  const bytes = new Counter({ name: 'loadbay_bytes_processed_total', help: 'Bytes of input files that reached an outcome, per dataset', labelNames: ['dataset'], registers: [registry] });
  const retries = new Counter({
    name: 'loadbay_retries_total',
    help: 'Retries after an infrastructure error (retrying) or of a held file (held), per dataset',
    labelNames: ['kind', 'dataset'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'loadbay_errors_total',
    help: 'Quarantined files by the stage that rejected them, and failed exports (stage="export"), per dataset',
    labelNames: ['stage', 'dataset'],
    registers: [registry],
  });
  const stages = new Histogram({
    name: 'loadbay_stage_duration_seconds',
    help: 'Time a load spent per stage: read_validate (read, prepare, validate, send), copy (COPY end, after_load, checks), parquet (finishing the file), commit',
    labelNames: ['stage'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const fileSeconds = new Histogram({
    name: 'loadbay_file_duration_seconds',
    help: 'From claim to outcome, per file',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const lastSuccess = new Gauge({ name: 'loadbay_last_success_timestamp_seconds', help: 'When the last file was loaded (0: none since start)', registers: [registry] });
  lastSuccess.set(0);
  for (const stage of LOAD_STAGES) stages.zero({ stage });
  for (const outcome of OUTCOMES) fileSeconds.zero({ outcome });

  /** Every label set the datasets in force can produce, at 0 until its first event (idempotent). */
  const initialise = () => {
    for (const outcome of OUTCOMES) processed.inc({ outcome, dataset: UNMATCHED }, 0);
    errors.inc({ stage: 'route', dataset: UNMATCHED }, 0);
    bytes.inc({ dataset: UNMATCHED }, 0);
    for (const kind of RETRY_KINDS) retries.inc({ kind, dataset: UNMATCHED }, 0);
    for (const d of sources.datasets()) {
      const dataset = d.name;
      const table = `${d.table.schema}.${d.table.name}`;
      for (const outcome of OUTCOMES) processed.inc({ outcome, dataset }, 0);
      for (const stage of DATASET_STAGES) errors.inc({ stage, dataset }, 0);
      for (const kind of RETRY_KINDS) retries.inc({ kind, dataset }, 0);
      bytes.inc({ dataset }, 0);
      rowsLoaded.inc({ dataset, table }, 0);
      rowsRejected.inc({ dataset, table }, 0);
    }
  };
  initialise();
  /** The event's dataset; a retry or a vanished file carries none: the dataset its name routes to. */
  const datasetOf = (fields: FileEventFields): string => {
    if (typeof fields.dataset === 'string') return fields.dataset;
    const file = fields.file;
    return (typeof file === 'string' && sources.datasets().find((d) => d.matches(file))?.name) || UNMATCHED;
  };
  new Gauge({
    name: 'loadbay_backlog_files',
    help: 'Finished files waiting to be processed (including those parked for a retry)',
    registers: [registry],
    collect() {
      this.set(sources.backlog().files);
    },
  });
  new Gauge({
    name: 'loadbay_backlog_bytes',
    help: 'Bytes of the finished files waiting',
    registers: [registry],
    collect() {
      this.set(sources.backlog().bytes);
    },
  });
  new Gauge({
    name: 'loadbay_oldest_pending_file_timestamp_seconds',
    help: 'Modification time of the oldest file waiting (0: none)',
    registers: [registry],
    collect() {
      const oldest = sources.backlog().oldestMtimeMs;
      this.set(oldest === null ? 0 : oldest / 1000);
    },
  });
  new Gauge({
    name: 'loadbay_source_backlog_files',
    help: 'Finished files (objects) waiting per input: a local folder or an s3:// prefix',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources.sources?.() ?? []) this.set({ source: s.source }, s.files);
    },
  });
  new Gauge({
    name: 'loadbay_source_oldest_pending_timestamp_seconds',
    help: 'Modification time of the oldest file (object) waiting per input (0: none)',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources.sources?.() ?? []) this.set({ source: s.source }, s.oldestMtimeMs === null ? 0 : s.oldestMtimeMs / 1000);
    },
  });
  new Gauge({
    name: 'loadbay_files_in_progress',
    help: 'Files being processed right now',
    registers: [registry],
    collect() {
      this.set(sources.backlog().inProgress);
    },
  });
  new Gauge({
    name: 'loadbay_ready',
    help: '1 when ready (database, ledger, watcher, free space), else 0; see /readyz',
    registers: [registry],
    collect() {
      this.set(sources.ready() ? 1 : 0);
    },
  });
  let quarantined = { at: 0, count: 0 };
  new Gauge({
    name: 'loadbay_quarantined_files',
    help: 'Files in output_failed/ (reports and rejects files not counted)',
    registers: [registry],
    async collect() {
      if (Date.now() - quarantined.at > QUARANTINE_CACHE_MS) {
        quarantined = { at: Date.now(), count: await (sources.countQuarantined ?? (() => countQuarantined(sources.failedDir)))() };
      }
      this.set(quarantined.count);
    },
  });

  const { events } = sources;
  events.on('discovered', () => discovered.inc());
  for (const outcome of OUTCOMES) {
    events.on(outcome, (fields: FileEventFields) => {
      const dataset = datasetOf(fields);
      processed.inc({ outcome, dataset });
      if (typeof fields['bytes'] === 'number') bytes.inc({ dataset }, fields['bytes']);
      if (typeof fields['duration_ms'] === 'number') fileSeconds.observe({ outcome }, fields['duration_ms'] / 1000);
    });
  }
  events.on('loaded', (fields) => {
    const dataset = datasetOf(fields);
    const table = typeof fields['table'] === 'string' ? fields['table'] : 'unknown';
    if (typeof fields['rows'] === 'number') rowsLoaded.inc({ dataset, table }, fields['rows']);
    if (typeof fields['rejected'] === 'number') rowsRejected.inc({ dataset, table }, fields['rejected']);
    const seconds = fields['stage_seconds'] as Record<string, number> | undefined;
    if (seconds) for (const [stage, value] of Object.entries(seconds)) stages.observe({ stage }, value);
    lastSuccess.set(Date.now() / 1000);
  });
  events.on('failed', (fields) => errors.inc({ stage: String(fields['stage'] ?? 'unknown'), dataset: datasetOf(fields) }));
  events.on('export_failed', (fields) => errors.inc({ stage: 'export', dataset: datasetOf(fields) }));
  for (const kind of RETRY_KINDS) events.on(kind, (fields) => retries.inc({ kind, dataset: datasetOf(fields) }));
  const datasetWaiting = new Gauge({
    name: 'loadbay_dataset_waiting',
    help: "1 while a dataset's files wait for its table, which another session holds locked",
    labelNames: ['dataset'],
    registers: [registry],
  });
  events.on('dataset_waiting', (fields) => datasetWaiting.set({ dataset: fields.dataset }, 1));
  events.on('dataset_resumed', (fields) => datasetWaiting.set({ dataset: fields.dataset }, 0));
  return registry;
}

async function countQuarantined(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter(
    (e) => e.isFile() && !e.name.startsWith('.') && !e.name.endsWith('.error.json') && !e.name.endsWith('.rejects.jsonl') && !e.parentPath.includes('.history'),
  ).length;
}
