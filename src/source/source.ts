/**
 * Where files come from. A source lists what is waiting, tells when an item is complete, names it,
 * opens it as bytes and settles it (archive, quarantine, delete); nothing past this interface
 * assumes a local path. The input folder (folder/folder-source.ts) is one implementation; an
 * object-storage prefix is another.
 */
import type { Readable } from 'node:stream';
import type { Dataset } from '../config/types.js';
import type { DataError } from '../errors.js';

/** One delivery, as it was when its source found it complete. */
export interface Arrival {
  readonly source: InputSource;
  /**
   * What the ledger and the claim lock know it by: unique across every source of the
   * configuration (the input folder's files keep their path inside it).
   */
  readonly id: string;
  /** Its path inside the source, with forward slashes: what datasets match and logs show. */
  readonly relative: string;
  readonly size: number;
  /** Its modification time when seen (ms): with size and `version`, what "unchanged" means. */
  readonly mtimeMs: number;
  /** A source's own mark of this content (an object's ETag), when it has one. */
  readonly version?: string;
  /** An object's version id in a versioned bucket. */
  readonly versionId?: string | null;
}

/** An arrival's bytes. */
export interface ByteInput {
  /** The name the format and a `.gz` suffix are judged by. */
  readonly name: string;
  /** Its size when seen: an item read whole is never read past it. */
  readonly size: number;
  /** The bytes from the start, as a stream (errors are the source's: see `mapSourceError`). */
  stream(): Readable;
  /** The whole of a small item at once, when the source can read it without waiting (a local file). */
  readNow?(): Buffer;
  /** A local file's path: error paths that look at parts of it again (where a gzip stream ends). */
  readonly path?: string;
}

/** Where a loaded arrival went. */
export interface Archived {
  /** Where the file is now, in the source's terms (a path, a key); null when it was deleted. */
  archived: string | null;
  /** The file changed after it was read and was not archived: where it is now. */
  changed: string | null;
  /** What must be made durable (a folder to fsync) once for several moves; null when nothing. */
  folder: string | null;
}

export type ArrivalState = 'same' | 'changed' | 'gone';

export interface QuarantineDetails {
  fileId: string | null;
  sha256: string | null;
  bytes: number | null;
  /** How the file was read, when the reader had something to say (e.g. json.unterminated_array). */
  read?: Record<string, unknown> | undefined;
}

/** What a source tells the daemon, and asks of it. */
export interface SourceHandlers {
  /** Each arrival once it is complete. */
  ready(arrival: Arrival): void;
  /** Whether an item (by id) is queued or being loaded: not looked at again meanwhile. */
  inHand(id: string): boolean;
  /**
   * How many complete arrivals wait for a worker: a source keeps what it holds in hand (watched,
   * listed) bounded by it, so memory does not grow with what waits in the source.
   */
  waiting(): number;
  /**
   * Resolves once the queue has room for more of this source's arrivals (waiting, in flight or
   * parked): a source that lists a large backlog (a bucket prefix) pulls its next page only then.
   */
  room?(): Promise<void>;
}

export interface InputSource {
  /** For logs and status: `input/`, `s3://bucket/prefix/`. */
  readonly name: string;
  /**
   * What `open` gives is one version of the item, whole or failing (an object read with If-Match):
   * whether it changed after it was read needs no asking before the load (settling checks again).
   */
  readonly versionedReads?: boolean;
  /** Starts discovery (see `SourceHandlers`). */
  start(handlers: SourceHandlers): Promise<void>;
  /** Looks at everything now (a periodic safety net runs by itself). */
  rescan(): Promise<void>;
  /** Looks at one path again (after a retry delay): reported through `ready` once complete. */
  lookAgain(relative: string): void;
  /** Whether the arrival is still what it was when seen. */
  state(arrival: Arrival): Promise<ArrivalState>;
  /** A data error for an item that must not be read (a symbolic link), or null. */
  refusal(arrival: Arrival): DataError | null;
  open(arrival: Arrival): ByteInput;
  /**
   * A loaded arrival to the archive (or deleted): unless it changed after it was read. With `sync`
   * false, the caller makes `folder` durable (once for several arrivals) before relying on it.
   */
  archive(arrival: Arrival, dataset: Dataset, sync: boolean): Promise<Archived>;
  /**
   * A rejected arrival to the quarantine with its report; `beforeMove` runs once the report is
   * durable and before the file moves (the ledger is told first). `at`: where the file is now, when
   * not where it arrived (an archived copy that grew: `Archived`). Returns where it went.
   */
  quarantine(
    arrival: Arrival,
    dataset: string | null,
    error: DataError,
    details: QuarantineDetails,
    beforeMove?: (report: unknown) => Promise<void>,
    at?: string,
  ): Promise<string>;
  /**
   * Looks once more, a little later, at an archived copy a producer may still be writing into;
   * `grown` is called if it changed. Sources whose writes are atomic do nothing.
   */
  watchArchived(archived: string, arrival: Arrival, grown: () => void): void;
  /** The arrival's outcome is durable (settled, or found loaded already): its source may forget it. */
  settled?(arrival: Arrival): void;
  /** When the last full listing ended (or discovery last showed it runs), and whether discovery runs. */
  health(): { lastRescanAt: number; closed: boolean };
  close(): Promise<void>;
}
