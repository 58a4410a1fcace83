/**
 * Accounting of a file's problems while it streams: the first few kept verbatim, every one counted,
 * repeated ones grouped by field and rule ("field `age`: 214 × type: must be integer, first at
 * lines 3, 9, 12, e.g. "seventeen""), the records they reject counted, and the earliest stage that
 * had one remembered. Memory is bounded by the number of distinct (field, rule) pairs.
 */
import type { Dataset } from '../config/types.js';
import { DataError, type Problem, type ProblemGroup, type Stage } from '../errors.js';
import type { Locator } from '../read/types.js';

export const MAX_REPORTED_PROBLEMS = 20;
const MAX_GROUPS = 50;
const GROUP_EXAMPLES = 3;
/** Distinct unknown column names remembered (a CSV header has at most `limits.max_columns`). */
const MAX_UNKNOWN_COLUMNS = 10_000;

export type { ProblemGroup };

const STAGE_ORDER: Stage[] = ['route', 'read', 'prepare', 'validate', 'load', 'check', 'settle'];

export class ProblemLog {
  readonly first: Problem[] = [];
  count = 0;
  /** Records rejected (a record with three problems counts once). */
  rejected = 0;
  /** Records seen, for `max_invalid_ratio`. */
  seen = 0;
  /** Every unknown column (rule `extra_columns`) in the order first met, for `validate`. */
  readonly unknownColumns = new Set<string>();
  private earliest = STAGE_ORDER.length;
  private readonly groups = new Map<string, ProblemGroup>();
  private otherGroups = 0;

  constructor(readonly locator: Locator) {}

  /**
   * Adds one batch's problems; returns them by record number (problems without a number under
   * their own key), for a rejects file.
   */
  add(byStage: Array<[Stage, Problem[]]>, seen: number): Map<number | string, Problem[]> {
    this.seen += seen;
    const byRecord = new Map<number | string, Problem[]>();
    for (const [stage, problems] of byStage) {
      if (problems.length === 0) continue;
      this.earliest = Math.min(this.earliest, STAGE_ORDER.indexOf(stage));
      for (const problem of problems) {
        this.count++;
        if (this.first.length < MAX_REPORTED_PROBLEMS) this.first.push(withoutRaw(problem));
        this.group(problem);
        for (const column of problem.columns ?? []) if (this.unknownColumns.size < MAX_UNKNOWN_COLUMNS) this.unknownColumns.add(column);
        const key = problem[this.locator] ?? `#${this.count}`;
        const list = byRecord.get(key);
        if (list) list.push(problem);
        else byRecord.set(key, [problem]);
      }
    }
    this.rejected += byRecord.size;
    return byRecord;
  }

  private group(problem: Problem): void {
    // Ragged rows and JSON lines differ in their message, not in what is wrong: group by rule.
    const key = `${problem.field ?? ''}\u0000${problem.rule}`;
    let group = this.groups.get(key);
    if (!group) {
      if (this.groups.size >= MAX_GROUPS) {
        this.otherGroups++;
        return;
      }
      group = { field: problem.field ?? null, rule: problem.rule, count: 0, first_at: [], example: problem.value ?? null };
      this.groups.set(key, group);
    }
    group.count++;
    const at = problem[this.locator];
    if (at !== undefined && group.first_at.length < GROUP_EXAMPLES) group.first_at.push(at);
  }

  get stage(): Stage {
    return STAGE_ORDER[this.earliest] ?? 'validate';
  }

  /** Over `max_invalid_rows` already (the ratio can only be judged at the end). */
  overRowLimit(dataset: Dataset): boolean {
    return dataset.maxInvalidRows !== null && this.rejected > dataset.maxInvalidRows;
  }

  overLimit(dataset: Dataset): boolean {
    return this.overRowLimit(dataset) || (dataset.maxInvalidRatio !== null && this.seen > 0 && this.rejected / this.seen > dataset.maxInvalidRatio);
  }

  sortedGroups(): ProblemGroup[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count);
  }

  /** A few lines a person reads first. */
  summary(): string {
    const where = this.locator === 'line' ? 'line' : 'record';
    const lines = this.sortedGroups().map((g) => {
      const at = g.first_at.length ? ` (first at ${where}${g.first_at.length > 1 ? 's' : ''} ${g.first_at.join(', ')}` : ' (';
      const example = g.example !== null ? `${g.first_at.length ? '; ' : ''}e.g. ${g.example})` : g.first_at.length ? ')' : '';
      const what = `${g.count} ${g.count === 1 ? 'row' : 'rows'}: ${g.rule}`;
      return `${g.field ? `field "${g.field}": ` : ''}${what}${at === ' (' && !example ? '' : at + example}`;
    });
    if (this.otherGroups) lines.push(`… and ${this.otherGroups} more problems of other kinds`);
    const head = `${this.count} problem${this.count === 1 ? '' : 's'} in ${this.rejected} record${this.rejected === 1 ? '' : 's'}`;
    return [head, ...lines].join('\n');
  }

  /** The data error that rejects the whole file. */
  toError(reason?: string): DataError {
    const sorted = [...this.first].sort((a, b) => (a.line ?? a.record ?? 0) - (b.line ?? b.record ?? 0));
    const first = sorted[0];
    const message =
      reason ?? (this.count === 1 && first ? first.message : `${this.count} problems; first: ${first?.message ?? 'unknown'}`);
    return new DataError(this.stage, message, sorted, this.count, { summary: this.summary(), groups: this.sortedGroups() });
  }
}

function withoutRaw(problem: Problem): Problem {
  if (!('raw' in problem)) return problem;
  const { raw, ...rest } = problem as Problem & { raw?: unknown };
  void raw;
  return rest;
}
