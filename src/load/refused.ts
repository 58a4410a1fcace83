/**
 * A value the table itself refuses (a CHECK or NOT NULL constraint, a unique index, a value out of
 * range: SQLSTATE classes 22 and 23) is the file's fault: a data error at the load stage, naming
 * the line or record when the COPY line can be traced back.
 */
import type { Dataset } from '../config/types.js';
import { DataError } from '../errors.js';

/**
 * Remembers where the last few batches sent to COPY came from, to name a row PostgreSQL rejects. A
 * batch of consecutive lines (the usual case) is kept as its first line and length: a copy of every
 * batch's numbers was the largest share of the main thread's garbage on a large file.
 */
export class SentRows {
  private readonly batches: Array<{ first: number; length: number; start: number; numbers: Float64Array | null }> = [];
  /** `numbers`: the batch's line or record numbers (not kept: it may be a view of a buffer that leaves). */
  add(first: number, numbers: Float64Array): void {
    const length = numbers.length;
    const start = numbers[0] ?? 0;
    const run = length === 0 || (numbers[length - 1] === start + length - 1 && consecutive(numbers));
    this.batches.push({ first, length, start, numbers: run ? null : numbers.slice() });
    if (this.batches.length > 16) this.batches.shift();
  }
  /** COPY line (1-based) → line or record number in the file, when still remembered. */
  source(copyLine: number): number | undefined {
    const index = copyLine - 1;
    const batch = this.batches.find((b) => index >= b.first && index < b.first + b.length);
    if (!batch) return undefined;
    return batch.numbers ? batch.numbers[index - batch.first] : batch.start + index - batch.first;
  }
}

function consecutive(numbers: Float64Array): boolean {
  for (let i = 1; i < numbers.length; i++) if (numbers[i] !== numbers[i - 1]! + 1) return false;
  return true;
}

export function rejectedByDatabase(error: unknown, dataset: Dataset, sent: SentRows, file: string): DataError | null {
  const pgError = error as { code?: string; message?: string; where?: string; column?: string; constraint?: string };
  if (typeof pgError.code !== 'string' || !/^2[23]/.test(pgError.code)) return null;
  // Another instance committed the same content first: not the file's fault; the retry skips it.
  if (pgError.constraint === 'files_loaded_content_idx' || pgError.constraint === 'files_first_load_idx') return null;
  const copyLine = Number(/COPY [^,]+, line (\d+)/.exec(pgError.where ?? '')?.[1]);
  const number = Number.isFinite(copyLine) ? sent.source(copyLine) : undefined;
  const locator = dataset.format === 'json' ? 'record' : 'line';
  const column = pgError.column ?? /column (\S+?):/.exec(pgError.where ?? '')?.[1];
  const rule = `postgres ${pgError.code}${pgError.constraint ? ` (${pgError.constraint})` : ''}: ${pgError.message}`;
  const where = number !== undefined ? `${locator} ${number}` : `row ${copyLine || '?'} of ${file}`;
  const message = `PostgreSQL rejected ${where}${column ? `, field "${column}"` : ''}: ${pgError.message}`;
  return new DataError('load', message, [
    { ...(number !== undefined ? { [locator]: number } : {}), ...(column ? { field: column } : {}), rule, message },
  ]);
}
