/**
 * The input folder as a source: `fs.watch` plus a periodic rescan find paths (watcher.ts), the
 * stabilizer says when a file is finished (stability.ts), files are read from disk and settled by
 * moving them into archive/ or output_failed/ (outcome/settle.ts).
 *
 * A loaded file whose producer went on writing after it had stood still is not archived as if all
 * of it were loaded: its size and mtime are checked right before the move, on the moved file, and
 * once more a little later (a producer holding the descriptor writes into the archived copy).
 */
import { lstatSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { statNow } from '../../lib/fs-now.js';
import path from 'node:path';
import type { Config, Dataset } from '../../config/types.js';
import { DataError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { archive, quarantine } from '../../outcome/settle.js';
import { isObjectWhere, ledgerPath, type Places } from '../places.js';
import type { Archived, Arrival, ArrivalState, ByteInput, InputSource, QuarantineDetails, SourceHandlers } from '../source.js';
import type { Item } from '../transfer.js';
import { fileInput } from './file-input.js';
import { SpecialFiles } from './special.js';
import { Stabilizer, type StableFile } from './stability.js';
import { watchInput, type InputWatcher } from './watcher.js';

/**
 * A producer that still holds the file open writes on into the archived copy (a rename does not
 * close its descriptor): the archived file is looked at once more after this long.
 */
export const ARCHIVE_RECHECK_MS = 2000;

/**
 * Paths in hand before a worker takes them (being watched until they stand still, or waiting), so
 * memory does not grow with the number of files in input/: the rest stay there until there is room
 * (watcher.ts). About ten seconds of the fastest loading measured (BENCHMARKS.md).
 */
export const MAX_WAITING_FILES = 10_000;

export interface FolderSourceOptions {
  config: Config;
  log: Logger;
  /** Where the archive and the quarantine are; its writer (this instance) names temporary files (instance.ts). */
  places: Places;
  /** The folder (default: `folders.input`). */
  dir?: string;
  /**
   * Ledger ids are paths inside the folder (the first local input, as before several inputs
   * existed: old ledgers stay valid); otherwise the file's absolute path.
   */
  relativeIds?: boolean;
  /** Aborts when the daemon stops: later looks at archived files are dropped. */
  signal: AbortSignal;
}

export class FolderSource implements InputSource {
  readonly name: string;
  private readonly dir: string;
  private watcher: InputWatcher | null = null;
  private stabilizer: Stabilizer | null = null;

  constructor(private readonly options: FolderSourceOptions) {
    this.dir = options.dir ?? options.config.folders.input;
    this.name = `${path.relative(options.config.root, this.dir) || '.'}/`;
  }

  get folder(): string {
    return this.dir;
  }

  /** The arrival of a file found finished in the folder. */
  arrivalOf(file: StableFile): Arrival {
    const relative = this.relativeOf(file.file);
    return { source: this, id: this.idOf(relative), relative, size: file.size, mtimeMs: file.mtimeMs };
  }

  /** The ledger's and the lock's name of a file: its path inside the folder, or its absolute path. */
  idOf(relative: string): string {
    return this.options.relativeIds === false ? this.pathOf(relative) : relative;
  }

  private relativeOf(file: string): string {
    return path.relative(this.dir, file).split(path.sep).join('/');
  }

  async start({ ready, inHand, waiting }: SourceHandlers): Promise<void> {
    const { config, log } = this.options;
    const specials = new SpecialFiles((file, kind) =>
      log.event('ignored', { file: this.relativeOf(file), reason: `${kind}, not a regular file: left alone` }),
    );
    const stabilizer = (this.stabilizer = new Stabilizer(
      config.processing.stableWindowMs,
      (file) => ready(this.arrivalOf(file)),
      (file, error) => log.warn(`cannot stat ${file}: ${errorMessage(error)}`),
      (file, kind) => specials.found(file, kind),
      config.processing.renamedIsFinished,
    ));
    this.watcher = watchInput(this.dir, {
      rescanIntervalMs: config.processing.rescanIntervalMs,
      onPath: (file, renamed) => {
        if (!inHand(this.idOf(this.relativeOf(file)))) stabilizer.notify(file, renamed);
      },
      onError: (error) => log.warn(`watching ${this.dir}: ${errorMessage(error)}`),
      specials,
      onInput: (present) =>
        present
          ? log.info(`${this.dir} is there again: watching it, taking files`)
          : log.warn(`${this.dir} is gone (deleted, moved or unmounted): no file is taken until it is back`),
      // Files being watched until they stand still, and finished ones waiting for a worker.
      room: () => MAX_WAITING_FILES - stabilizer.size - waiting(),
    });
    await this.watcher.ready;
    await this.watcher.rescan();
  }

  rescan(): Promise<void> {
    return this.watcher?.rescan() ?? Promise.resolve();
  }

  lookAgain(relative: string): void {
    this.stabilizer?.notify(this.pathOf(relative));
  }

  async state(arrival: Arrival): Promise<ArrivalState> {
    return stateOf(this.pathOf(arrival.relative), arrival);
  }

  refusal(arrival: Arrival): DataError | null {
    const stat = lstatSync(this.pathOf(arrival.relative), { throwIfNoEntry: false });
    if (!stat?.isSymbolicLink()) return null;
    return new DataError('route', 'symbolic links are not followed; drop the file itself', [
      { rule: 'symlink', message: 'the path is a symbolic link' },
    ]);
  }

  open(arrival: Arrival): ByteInput {
    return fileInput(this.pathOf(arrival.relative), arrival.size);
  }

  async archive(arrival: Arrival, dataset: Dataset, sync: boolean): Promise<Archived> {
    const file = this.pathOf(arrival.relative);
    if (stateOf(file, arrival) !== 'same') return { archived: null, changed: file, folder: null };
    const moved = await archive(this.options.places, this.options.config, dataset, this.itemOf(file, arrival), arrival.relative, sync);
    const folder = sync ? null : (moved?.folder ?? path.dirname(file));
    // Into a bucket, what was seen is uploaded; a producer that went on writing keeps the file here.
    if (moved?.sourceChanged) return { archived: moved.where, changed: file, folder };
    const archived = moved?.where ?? null;
    if (archived) this.leaveFixFolder(arrival.relative);
    if (archived && !isObjectWhere(archived) && stateOf(archived, arrival) !== 'same') return { archived: null, changed: archived, folder };
    return { archived, changed: null, folder };
  }

  private itemOf(file: string, arrival: Arrival): Item {
    return { where: file, size: arrival.size, mtimeMs: arrival.mtimeMs, etag: null, versionId: null };
  }

  async quarantine(
    arrival: Arrival,
    dataset: string | null,
    error: DataError,
    details: QuarantineDetails,
    beforeMove?: (report: unknown) => Promise<void>,
    at?: string,
  ): Promise<string> {
    const file = at ?? this.pathOf(arrival.relative);
    const current = at ? statNow(at) : null;
    const item = current ? { where: file, size: current.size, mtimeMs: current.mtimeMs, etag: null, versionId: null } : this.itemOf(file, arrival);
    const { path: quarantined } = await quarantine(this.options, dataset, item, arrival.relative, error, details, beforeMove);
    this.leaveFixFolder(arrival.relative);
    return ledgerPath(this.options.places, quarantined);
  }

  /** A file the console fixed came in a folder of its own (`fixed-<id>/`, http/fix.ts): gone once the file settled. */
  private leaveFixFolder(relative: string): void {
    if (/^fixed-\d+\/[^/]+$/.test(relative)) void rmdir(path.dirname(this.pathOf(relative))).catch(() => undefined);
  }

  watchArchived(archived: string, arrival: Arrival, grown: () => void): void {
    if (isObjectWhere(archived)) return; // an object is written whole: nothing goes on being written into it
    const { config, signal, log } = this.options;
    // A file settled during a stop: its later look is dropped like the others (an abort listener
    // added now would never run, and the timer would outlive the daemon).
    if (signal.aborted) return;
    const delay = Math.max(ARCHIVE_RECHECK_MS, 4 * config.processing.stableWindowMs);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', cancel);
      try {
        if (stateOf(archived, arrival) === 'changed') grown();
      } catch (error) {
        log.warn(`checking ${path.relative(config.root, archived)} again: ${errorMessage(error)}`);
      }
    }, delay);
    const cancel = () => clearTimeout(timer);
    signal.addEventListener('abort', cancel, { once: true });
  }

  health(): { lastRescanAt: number; closed: boolean } {
    return this.watcher?.health() ?? { lastRescanAt: 0, closed: true };
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.stabilizer?.close();
  }

  private pathOf(relative: string): string {
    return path.join(this.dir, ...relative.split('/'));
  }
}

/** Synchronous (lib/fs-now.ts): the file's size and mtime against what they were when it was seen. */
function stateOf(file: string, arrival: Arrival): ArrivalState {
  const now = lstatSync(file, { throwIfNoEntry: false });
  if (!now) return 'gone';
  return now.size === arrival.size && now.mtimeMs === arrival.mtimeMs ? 'same' : 'changed';
}
