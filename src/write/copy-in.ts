/**
 * `COPY … FROM STDIN` as a pg query object, in place of pg-copy-streams' copy-from: each buffer goes
 * to the socket with the socket's own completion callback, so a buffer COPY owns is freed the moment
 * the socket is done with it. pg-copy-streams reports a write done when `socket.write` returns, so
 * its buffers could only wait for a garbage collection (BENCHMARKS.md).
 *
 * A COPY that fails part-way never hangs: a server error or a lost connection rejects every pending
 * and later write. `abort` ends one still open (CopyFail), so the connection takes its next query —
 * the ROLLBACK TO SAVEPOINT that takes one file of several out of a transaction.
 */
import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from './copy-binary.js';

/** Message codes of the PostgreSQL protocol ("Message Formats"). */
const COPY_DATA = 0x64;
const COPY_FAIL = 0x66;
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

export interface CopyLoad {
  /**
   * Sends rows encoded by `encodeCopyBinary`; resolves when the socket takes more. `owned`: the
   * whole ArrayBuffer under `rows` is COPY's from now on, and is freed once written.
   */
  write(rows: Buffer, owned?: boolean): Promise<void>;
  /** Ends the COPY; resolves with the row count PostgreSQL reports. */
  end(): Promise<number>;
  /**
   * Ends a COPY still open without its rows (CopyFail), and resolves once the server has answered;
   * never throws (a COPY already over, or a lost connection, leaves nothing to do).
   */
  abort(reason: string): Promise<void>;
}

/** What pg calls on the active query, for the messages a COPY FROM can receive. */
class CopyInQuery {
  private socket: Duplex | null = null;
  private failure: Error | null = null;
  private state: 'waiting' | 'open' | 'ending' | 'over' = 'waiting';
  private rowCount = 0;
  private readonly opened: Promise<void>;
  private readonly finished: Promise<void>;
  private open!: () => void;
  private finish!: () => void;
  private reject!: (error: Error) => void;
  private readonly waiters = new Set<(error: Error) => void>();
  private readonly onClientError = (error: Error) => this.fail(error);
  private readonly onClientEnd = () => this.fail(Object.assign(new Error('Connection terminated during COPY'), { code: 'ECONNRESET' }));

  constructor(
    readonly text: string,
    private readonly client: pg.PoolClient,
  ) {
    this.opened = new Promise<void>((resolve) => (this.open = resolve));
    this.finished = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.reject = reject;
    });
    this.finished.catch(() => undefined); // read by end() and abort(); a COPY dropped unread must not crash
    // A connection that dies mid-COPY may never reach the query: watch the client too, until it is over.
    client.on('error', this.onClientError);
    client.on('end', this.onClientEnd);
  }

  /** Set by pg to clear its `query_timeout` timer; called when the query is over. */
  callback(): void {}

  submit(connection: pg.Connection): void {
    this.socket = connection.stream;
    connection.query(this.text);
  }

  handleCopyInResponse(): void {
    if (this.state !== 'waiting') return;
    this.state = 'open';
    this.socket!.write(message(COPY_DATA, COPY_BINARY_HEADER));
    this.open();
  }

  // Replies of a statement that is no COPY FROM STDIN: ReadyForQuery then fails the query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {
    this.callback();
    // A reply without CopyInResponse: the statement was not a COPY FROM STDIN.
    if (this.state === 'waiting') return this.fail(new Error(`no COPY started by: ${this.text}`));
    this.over();
    this.finish();
  }

  handleError(error: Error): void {
    this.callback();
    this.fail(error);
  }

  async write(rows: Buffer, owned: boolean): Promise<void> {
    if (this.state === 'waiting') await this.race(this.opened);
    if (this.failure) throw this.failure;
    const socket = this.socket!;
    socket.cork();
    socket.write(header(COPY_DATA, rows.length));
    // Only a whole buffer is freed: a slice of a shared one would take its neighbours with it.
    const own = owned && rows.byteOffset === 0 && rows.byteLength === rows.buffer.byteLength;
    const room = socket.write(rows, own ? (error) => error || free(rows) : undefined);
    socket.uncork();
    if (room) return;
    let drained!: () => void;
    const drain = new Promise<void>((resolve) => socket.once('drain', (drained = resolve)));
    await this.race(drain, () => socket.removeListener('drain', drained));
  }

  async end(): Promise<number> {
    await this.write(COPY_BINARY_TRAILER, false);
    this.state = 'ending';
    this.socket!.write(COPY_DONE);
    await this.finished;
    return this.rowCount;
  }

  async abort(reason: string): Promise<void> {
    if (this.state === 'waiting') await this.race(this.opened).catch(() => undefined);
    if (this.state !== 'open' || this.failure) return;
    this.state = 'ending';
    this.socket!.write(message(COPY_FAIL, Buffer.from(`${reason.replace(/\0/g, '')}\0`, 'utf8')));
    await this.finished.catch(() => undefined); // the server answers CopyFail with an error
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.over();
    for (const waiter of this.waiters) waiter(this.failure);
    this.waiters.clear();
    this.reject(this.failure);
  }

  private over(): void {
    this.state = 'over';
    this.client.removeListener('error', this.onClientError);
    this.client.removeListener('end', this.onClientEnd);
  }

  /** Waits for `event`, or rejects with the COPY's failure (the socket may never drain then). */
  private race(event: Promise<void>, cleanup?: () => void): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        this.waiters.delete(settle);
        cleanup?.();
        if (error) reject(error);
        else resolve();
      };
      this.waiters.add(settle);
      event.then(() => settle(), settle);
    });
  }
}

/** A message's code and length word, for a payload of `length` bytes sent after it. */
function header(code: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(5);
  bytes[0] = code;
  bytes.writeUInt32BE(length + 4, 1);
  return bytes;
}

/** A whole protocol message: its code, its length, `payload`. */
function message(code: number, payload: Buffer): Buffer {
  return Buffer.concat([header(code, payload.length), payload]);
}

/** Gives an ArrayBuffer's memory back now rather than at the next collection. */
function free(rows: Buffer): void {
  const buffer = rows.buffer as ArrayBuffer;
  if (buffer.detached) return;
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable (never the case for COPY's buffers): a collection frees it.
  }
}

/** Starts `COPY sql FROM STDIN` on `client` (`sql` names the table and columns, binary format). */
export function startCopyIn(client: pg.PoolClient, sql: string): CopyLoad {
  const query = new CopyInQuery(sql, client);
  client.query(query);
  return {
    write: (rows, owned = false) => query.write(rows, owned),
    end: () => query.end(),
    abort: (reason) => query.abort(reason),
  };
}
