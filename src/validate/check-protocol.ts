/**
 * What crosses between the main thread and the check thread (check-thread.ts, check-remote.ts), and
 * how an error crosses unchanged in what `errors.ts` judges by: its class (DataError, or a
 * RangeError/TypeError/SyntaxError that `contentError` makes a data error), its fields, and a
 * system error's code, errno, syscall and path.
 */
import type { ColumnKind } from '../columns.js';
import type { Dataset } from '../config/types.js';
import { DataError, type Problem, type ProblemGroup, type Stage } from '../errors.js';
import type { PrepareStats } from '../prepare/steps.js';
import type { ReadOptions } from '../read/types.js';
import type { PackedBatch } from '../write/thread-batch.js';
import { DecimalText } from '../read/json-values.js';
import type { ReadDigest } from './check.js';
import type { ProblemLog } from './problems.js';

/** Batches a file may run ahead of what the main thread has taken. */
export const AHEAD = 2;

/** A resolved dataset without its matcher (a function, which cannot cross). */
export type PlainDataset = Omit<Dataset, 'matches'>;

export type CheckRequest =
  | {
      op: 'check';
      id: number;
      /** `plain` the first time this key is used by the thread; `records`: the record path is forced. */
      dataset: { key: number; plain?: PlainDataset; records: boolean };
      path: string;
      size: number;
      relative: string;
      options: ReadOptions;
      keepOriginals: boolean;
    }
  /** The main thread took a batch: one more may come. */
  | { op: 'more'; id: number }
  /** The main thread stopped reading the file. */
  | { op: 'cancel'; id: number }
  /** A packed buffer back from the Parquet thread, to pack into again. */
  | { op: 'spare'; buffer: ArrayBuffer };

export type CheckReply =
  | {
      id: number;
      op: 'batch';
      packed: PackedBatch;
      kinds: ColumnKind[];
      rejected: Map<number | string, Problem[]>;
      originals: Map<number, unknown> | null;
      /** Where the originals hold a DecimalText, whose class structured clone drops (`decimalPaths`). */
      decimals: Array<[number, string[]]>;
      /** The same inside the rejected records' `raw` values: record key, problem index, path (`rawDecimalPaths`). */
      rawDecimals: Array<[number | string, number, string[]]>;
      loadable: boolean;
    }
  | { id: number; op: 'end'; digest: ReadDigest; stats: PrepareStats; problems: ProblemLog }
  | { id: number; op: 'error'; error: SerializedError; stats: PrepareStats | null; problems: ProblemLog | null }
  /** The thread no longer holds the request's compiled dataset (it keeps the most recently used): send it again with `plain`. */
  | { id: number; op: 'unknown' };

export interface SerializedError {
  type: 'DataError' | 'RangeError' | 'TypeError' | 'SyntaxError' | 'Error';
  message: string;
  stack?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  data?: { stage: Stage; problems: Problem[]; problemCount: number; summary: string | null; groups: ProblemGroup[]; digest: DataError['digest'] };
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof DataError) {
    const { stage, problems, problemCount, summary, groups, digest } = error;
    return { type: 'DataError', message: error.message, stack: error.stack, data: { stage, problems, problemCount, summary, groups, digest } };
  }
  const e = error as NodeJS.ErrnoException | null;
  const type = error instanceof RangeError ? 'RangeError' : error instanceof TypeError ? 'TypeError' : error instanceof SyntaxError ? 'SyntaxError' : 'Error';
  return { type, message: e?.message ?? String(error), stack: e?.stack, code: e?.code, errno: e?.errno, syscall: e?.syscall, path: e?.path };
}

const ERRORS = { RangeError, TypeError, SyntaxError, Error } as const;

export function deserializeError(error: SerializedError): Error {
  if (error.type === 'DataError') {
    const d = error.data!;
    const result = new DataError(d.stage, error.message, d.problems, d.problemCount, { ...(d.summary !== null ? { summary: d.summary } : {}), groups: d.groups });
    result.digest = d.digest;
    if (error.stack) result.stack = `${error.stack}\n    (in the check thread)`;
    return result;
  }
  const result = new ERRORS[error.type](error.message) as NodeJS.ErrnoException;
  for (const key of ['code', 'errno', 'syscall', 'path'] as const) if (error[key] !== undefined) Object.assign(result, { [key]: error[key] });
  if (error.stack) result.stack = `${error.stack}\n    (in the check thread)`;
  return result;
}

/** The key paths of every DecimalText inside `value` (itself one: the empty path). */
function decimalsIn(value: unknown, at: string[] = [], found: string[][] = []): string[][] {
  if (value instanceof DecimalText) found.push(at);
  else if (value !== null && typeof value === 'object') for (const key of Object.keys(value)) decimalsIn((value as Record<string, unknown>)[key], [...at, key], found);
  return found;
}

/** `root` with the DecimalText cloned at `at` back in its class (the revived value itself for the empty path). */
function reviveAt(root: unknown, at: string[]): unknown {
  const revive = (value: unknown) => {
    const { text, value: double } = value as { text: string; value: number };
    return new DecimalText(text, double);
  };
  if (at.length === 0) return revive(root);
  let parent = root as Record<string, unknown>;
  for (const key of at.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
  parent[at.at(-1)!] = revive(parent[at.at(-1)!]);
  return root;
}

/** The record number and key path of every DecimalText in the originals (JSON records rarely hold one). */
export function decimalPaths(originals: Map<number, unknown> | null): Array<[number, string[]]> {
  const paths: Array<[number, string[]]> = [];
  for (const [number, value] of originals ?? []) for (const at of decimalsIn(value)) paths.push([number, at]);
  return paths;
}

/** The DecimalTexts back in their class, where `decimalPaths` found them. */
export function reviveDecimals(originals: Map<number, unknown> | null, paths: Array<[number, string[]]>): void {
  for (const [number, at] of paths) originals!.set(number, reviveAt(originals!.get(number), at));
}

/** Where the rejected records' `raw` values (a record that is not an object, as read) hold a DecimalText. */
export function rawDecimalPaths(rejected: Map<number | string, Problem[]>): Array<[number | string, number, string[]]> {
  const paths: Array<[number | string, number, string[]]> = [];
  for (const [key, problems] of rejected) {
    problems.forEach((problem, i) => {
      if ('raw' in problem) for (const at of decimalsIn((problem as { raw?: unknown }).raw)) paths.push([key, i, at]);
    });
  }
  return paths;
}

/** The DecimalTexts of the rejected records' `raw` values back in their class. */
export function reviveRawDecimals(rejected: Map<number | string, Problem[]>, paths: Array<[number | string, number, string[]]>): void {
  for (const [key, i, at] of paths) {
    const problem = rejected.get(key)![i] as { raw?: unknown };
    problem.raw = reviveAt(problem.raw, at);
  }
}
