/**
 * `logs/conversion.log`, the audit trail ops tail: one JSON line per event, appended in order by one
 * writer. Lines wait in memory (bounded) while the file cannot be written — a full disk, a folder
 * gone — and are written when it can be again; each write opens the file anew, so the log also
 * follows a rotation or a deleted file, and a write that fails half-way is cut back, so no torn line
 * stays. It never stops processing: a failure is reported once on the console (and again when the
 * log recovers), never thrown.
 */
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

/** Lines held while the file cannot be written; past this the oldest go, and the log says how many. */
const MAX_PENDING_LINES = 100_000;
const RETRY_MS = 1000;

export interface AuditLogOptions {
  /** Told once when writing starts failing, and once when it works again. */
  onTrouble(message: string): void;
  onRecovered(message: string): void;
}

export class AuditLog {
  private pending: string[] = [];
  private dropped = 0;
  private writing: Promise<void> | null = null;
  private failing = false;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly file: string,
    private readonly options: AuditLogOptions,
  ) {}

  write(line: string): void {
    if (this.closed) return;
    this.pending.push(line);
    if (this.pending.length > MAX_PENDING_LINES) {
      this.pending.shift();
      this.dropped++;
    }
    if (!this.failing) this.startWriting();
  }

  /** Resolves once every line written so far is in the file (or the file cannot be written now). */
  async flush(): Promise<void> {
    while (this.writing || (this.pending.length > 0 && !this.failing)) {
      if (!this.writing) this.startWriting();
      await this.writing;
    }
  }

  /** Writes what is pending (one attempt when the file cannot be written), then stops taking lines. */
  async close(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    await this.writing;
    if (this.pending.length > 0) await this.flushOnce();
    this.closed = true;
  }

  private startWriting(): void {
    this.writing ??= this.flushOnce().finally(() => {
      this.writing = null;
      if (this.pending.length > 0 && !this.failing) this.startWriting();
    });
  }

  private async flushOnce(): Promise<void> {
    const lines = this.pending;
    if (lines.length === 0) return;
    this.pending = [];
    const lost = this.dropped;
    const text =
      (lost > 0 ? JSON.stringify({ level: 'warn', message: 'log_lines_dropped', event: 'log_lines_dropped', count: lost, timestamp: new Date().toISOString() }) + '\n' : '') +
      lines.join('\n') +
      '\n';
    try {
      await appendWhole(this.file, text);
      this.dropped -= lost;
      if (this.failing) {
        this.failing = false;
        this.options.onRecovered(`${this.file} is writable again; ${lines.length} waiting line(s) written`);
      }
    } catch (error) {
      this.pending = lines.concat(this.pending);
      if (!this.failing) {
        this.failing = true;
        this.options.onTrouble(
          `cannot write ${this.file}: ${(error as Error).message}; loading goes on, log lines wait in memory and are retried every ${RETRY_MS / 1000} s`,
        );
      }
      if (!this.closed && !this.retry) {
        this.retry = setTimeout(() => {
          this.retry = null;
          this.failing = true; // stays set until a write succeeds
          this.startWriting();
        }, RETRY_MS);
        this.retry.unref();
      }
    }
  }
}

/** Appends all of `text` or nothing: a partial write (ENOSPC half-way) is truncated away. */
async function appendWhole(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const handle = await open(file, 'a');
  try {
    const { size } = await handle.stat();
    try {
      await handle.writeFile(text);
    } catch (error) {
      await handle.truncate(size).catch(() => undefined);
      throw error;
    }
  } finally {
    await handle.close();
  }
}
