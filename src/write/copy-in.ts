/**
 * `COPY … FROM STDIN` as a pg query object, in place of pg-copy-streams' copy-from: each buffer goes
 * to the socket with the socket's own completion callback, so a buffer COPY owns is freed the moment
 * the socket is done with it. pg-copy-streams reports a write done when `socket.write` returns, so
 * its buffers could only wait for a garbage collection, and on a large file they were the main
 * thread's largest share of memory (BENCHMARKS.md).
 *
 * A COPY that fails part-way never hangs: a server error or a lost connection rejects every pending
 * and later write, and the caller destroys the connection (the server then rolls back), so no
 * CopyFail is ever needed.
 */
import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { COPY_BINARY_HEADER, COPY_BINARY_TRAILER } from './copy-binary.js';

/** CopyData's and CopyDone's message codes (PostgreSQL protocol, "Message Formats"). */
const COPY_DATA = 0x64;
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);

export interface CopyLoad {
  /**
   * Sends rows encoded by `encodeCopyBinary`; resolves when the socket takes more. `owned`: the
   * whole ArrayBuffer under `rows` is COPY's from now on, and is freed once written.
   */
  write(rows: Buffer, owned?: boolean): Promise<void>;
  /** Ends the COPY; resolves with the row count PostgreSQL reports. */
  end(): Promise<number>;
}

/** What pg calls on the active query, for the messages a COPY FROM can receive. */
class CopyInQuery {
  rowCount = 0;
  socket: Duplex | null = null;
  failure: Error | null = null;
  private readonly opened: Promise<void>;
  private readonly finished: Promise<void>;
  private open!: () => void;
  private finish!: () => void;
  private reject!: (error: Error) => void;
  private readonly waiters = new Set<(error: Error) => void>();

  constructor(readonly text: string) {
    this.opened = new Promise<void>((resolve) => (this.open = resolve));
    this.finished = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.reject = reject;
    });
    this.finished.catch(() => undefined); // read by end(); a COPY abandoned before it must not crash
  }

  /** Set by pg to clear its `query_timeout` timer; called when the query is over. */
  callback(): void {}

  submit(connection: pg.Connection): void {
    this.socket = connection.stream;
    connection.query(this.text);
  }

  handleCopyInResponse(): void {
    this.socket!.write(copyData(COPY_BINARY_HEADER));
    this.open();
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {
    this.callback();
    this.finish();
  }

  handleError(error: Error): void {
    this.callback();
    this.fail(error);
  }

  fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters) waiter(this.failure);
    this.waiters.clear();
    this.reject(this.failure);
  }

  async write(rows: Buffer, owned: boolean): Promise<void> {
    if (!this.failure) await this.race(this.opened);
    if (this.failure) throw this.failure;
    const socket = this.socket!;
    socket.cork();
    socket.write(copyDataHeader(rows.length));
    // Only a whole buffer is freed: a slice of a shared one would take its neighbours with it.
    const own = owned && rows.byteOffset === 0 && rows.byteLength === rows.buffer.byteLength;
    const room = socket.write(rows, own ? (error) => error || free(rows) : undefined);
    socket.uncork();
    if (!room) await this.race(new Promise<void>((resolve) => socket.once('drain', resolve)));
  }

  async end(): Promise<number> {
    // A server error already in means the COPY is over: CopyDone now would start a new exchange.
    if (this.failure) throw this.failure;
    await this.write(COPY_BINARY_TRAILER, false);
    this.socket!.write(COPY_DONE);
    await this.finished;
    return this.rowCount;
  }

  /** Waits for `event`, or rejects with the COPY's failure (the socket may never drain then). */
  private race(event: Promise<void>): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        this.waiters.delete(settle);
        if (error) reject(error);
        else resolve();
      };
      this.waiters.add(settle);
      event.then(() => settle(), settle);
    });
  }
}

function copyDataHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(5);
  header[0] = COPY_DATA;
  header.writeUInt32BE(length + 4, 1);
  return header;
}

function copyData(payload: Buffer): Buffer {
  return Buffer.concat([copyDataHeader(payload.length), payload]);
}

/** Gives an ArrayBuffer's memory back now rather than at the next collection. */
function free(rows: Buffer): void {
  (rows.buffer as ArrayBuffer).transfer(0);
}

/** Starts `COPY sql FROM STDIN` on `client` (`sql` names the table and columns, binary format). */
export function startCopyIn(client: pg.PoolClient, sql: string): CopyLoad {
  const query = new CopyInQuery(sql);
  client.query(query);
  // A connection that dies mid-COPY may never reach the query: watch the client too.
  const onClientError = (error: Error) => query.fail(error);
  const onClientEnd = () => query.fail(Object.assign(new Error('Connection terminated during COPY'), { code: 'ECONNRESET' }));
  client.on('error', onClientError);
  client.on('end', onClientEnd);
  return {
    write: (rows, owned = false) => query.write(rows, owned),
    async end() {
      try {
        return await query.end();
      } finally {
        client.removeListener('error', onClientError);
        client.removeListener('end', onClientEnd);
      }
    },
  };
}
