/** What every part of a load needs of the running daemon, handed on explicitly. */
import type pg from 'pg';
import type { CompiledConfig } from '../compile.js';
import type { Exports } from '../export/export.js';
import type { Logger } from '../log.js';
import type { Places } from '../source/places.js';

export interface LoadContext {
  config: CompiledConfig;
  pool: pg.Pool;
  log: Logger;
  instanceId: string;
  /** Datasets whose table was created or checked by this process; cleared when a load says otherwise. */
  verifiedTables: Set<string>;
  /** Aborts when the daemon stops: checks scheduled after a settle are dropped. */
  signal: AbortSignal;
  /** Runs the exports a load triggers. */
  exports: Exports;
  /** Where files live (local folders, buckets) and the connection to object storage. */
  places: Places;
}
