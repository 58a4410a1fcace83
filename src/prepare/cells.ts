/**
 * The `prepare:` steps on a batch of CSV cells (the columnar path): the same compiled steps as
 * steps.ts runs on records (compile-steps.ts says what each means), with the same results, but run
 * per column over byte ranges instead of per record over objects.
 * Renames relabel columns, `select`/`exclude` drop them, `add_columns` adds a constant column, value
 * steps change cells (ASCII in place, anything else as a replacement text), row-dropping steps
 * shrink the selection of rows. Which datasets come here is decided in validate/plan.ts.
 */
import { createHash } from 'node:crypto';
import type { Dataset } from '../config/types.js';
import type { Problem } from '../errors.js';
import { shortName } from '../lib/shorten.js';
import { cellText, type CellBatch } from '../read/csv-cells.js';
import { limitError } from '../read/limits.js';
import { schemaNames } from '../columns.js';
import { fileValues, renaming, renamingLabel, valueChange, type PrepareStep, type StepColumns } from './compile-steps.js';
import type { PrepareStats } from './steps.js';
import { unreachable } from '../lib/unreachable.js';

/** A batch after preparation: named columns over the batch's cells, and the rows still in. */
export interface CellView {
  batch: CellBatch;
  names: string[];
  /** Per column: the field it reads, or -1 for a constant (`constants`). */
  fields: number[];
  constants: Array<string | undefined>;
  /** Replacement texts by cell (`row * width + field`); `undefined`: the value was removed. */
  overrides: Map<number, string | undefined>;
  /** Rows still in, in file order. */
  rows: Int32Array;
  count: number;
}

/** The text of a cell, or undefined when it is absent (removed, or a column the file lacks). */
export function viewText(view: CellView, column: number, row: number): string | undefined {
  const field = view.fields[column]!;
  if (field < 0) return view.constants[column];
  const cell = row * view.batch.width + field;
  if (view.overrides.size > 0 && view.overrides.has(cell)) return view.overrides.get(cell);
  const b = view.batch;
  return cellText(b, b.starts[cell]!, b.ends[cell]!, b.escaped[cell]!);
}

const ASCII_SPACE = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

export interface CellPreparer {
  (batch: CellBatch): CellView;
  stats: PrepareStats;
}

/** `steps`: the dataset's compiled steps (compile.ts), none of which plan.ts found not to run on cells. */
export function makeCellPreparer(dataset: Dataset, steps: readonly PrepareStep[], fileName: string, maxDistinctRows: number): CellPreparer {
  const stats: PrepareStats = { droppedNullRows: 0, droppedDuplicateRows: 0 };
  const known = schemaNames(dataset.columns);
  // drop_duplicate_rows remembers, per step, the rows it has seen in this file.
  const seen = steps.map(() => new Set<string>());
  // Values from the file name, once per file (a name that does not match is a data error now, as on records).
  const constants = steps.map((s) => (s.kind === 'add_columns' ? (fileValues(s, fileName) as Record<string, string>) : null));
  const preparer = ((batch: CellBatch): CellView => {
    const rows = new Int32Array(batch.rows);
    for (let r = 0; r < batch.rows; r++) rows[r] = r;
    const view: CellView = {
      batch,
      names: [...batch.header],
      fields: batch.header.map((_, i) => i),
      constants: batch.header.map(() => undefined),
      overrides: new Map(),
      rows,
      count: batch.rows,
    };
    steps.forEach((step, i) => runStep(view, step, { constants: constants[i]!, stats, seen: seen[i]!, maxDistinctRows }));
    extraColumns(view, dataset.extraColumns, known);
    return view;
  }) as CellPreparer;
  preparer.stats = stats;
  return preparer;
}

interface Context {
  /** add_columns: the values this file's rows get. */
  constants: Record<string, string> | null;
  stats: PrepareStats;
  seen: Set<string>;
  maxDistinctRows: number;
}

function runStep(view: CellView, step: PrepareStep, context: Context): void {
  switch (step.kind) {
    case 'headers':
    case 'rename':
      return relabel(view, renamingLabel(step), renaming(step));
    case 'select':
      return keepColumns(view, (name) => step.columns.has(name));
    case 'exclude': {
      const unwanted = new Set(step.columns);
      return keepColumns(view, (name) => !unwanted.has(name));
    }
    case 'add_columns':
      return addColumns(view, context.constants ?? {});
    case 'trim':
      return changeValues(view, step.columns, trimColumn, valueChange(step));
    case 'lowercase_values':
      return changeValues(view, step.columns, lowerColumn, valueChange(step));
    case 'uppercase_values':
      return changeValues(view, step.columns, upperColumn, valueChange(step));
    case 'null_values':
      return changeValues(view, true, null, valueChange(step));
    case 'drop_rows_with_nulls':
      return dropRows(view, step.columns, context.stats);
    case 'drop_duplicate_rows':
      return dropDuplicates(view, context);
    case 'defaults':
      throw new Error('the columnar path cannot run step "defaults" (validate/plan.ts should have sent this dataset elsewhere)');
    default:
      return unreachable(step, 'prepare step');
  }
}

/** headers / rename: new names; two columns landing on one name is a problem for every row, as per record. */
function relabel(view: CellView, step: string, map: (name: string) => string): void {
  const targets = view.names.map(map);
  const first = new Map<string, number>();
  let collision: { other: string; key: string; to: string } | null = null;
  targets.forEach((to, i) => {
    const earlier = first.get(to);
    if (earlier === undefined) first.set(to, i);
    else collision ??= { other: view.names[earlier]!, key: view.names[i]!, to };
  });
  if (collision) {
    const { other, key, to } = collision;
    for (let i = 0; i < view.count; i++) {
      const line = view.batch.lines[view.rows[i]!]!;
      view.batch.problems.push({
        line,
        field: shortName(to),
        rule: step,
        message: `columns "${shortName(other)}" and "${shortName(key)}" both become "${shortName(to)}" after ${step}`,
      });
    }
    view.count = 0;
    return;
  }
  view.names = targets;
}

function keepColumns(view: CellView, keep: (name: string) => boolean): void {
  const indexes = view.names.map((_, i) => i).filter((i) => keep(view.names[i]!));
  view.names = indexes.map((i) => view.names[i]!);
  view.fields = indexes.map((i) => view.fields[i]!);
  view.constants = indexes.map((i) => view.constants[i]);
}

function addColumns(view: CellView, added: Record<string, string>): void {
  for (const [name, value] of Object.entries(added)) {
    const at = view.names.indexOf(name);
    if (at >= 0) {
      view.fields[at] = -1;
      view.constants[at] = value;
    } else {
      view.names.push(name);
      view.fields.push(-1);
      view.constants.push(value);
    }
  }
}

/** Columns a step applies to: all, or the listed ones the view has. */
function columnsOf(view: CellView, which: StepColumns): number[] {
  if (which === true) return view.names.map((_, i) => i);
  return which.map((name) => view.names.indexOf(name)).filter((i) => i >= 0);
}

/**
 * A change of a column's cells that keeps their bytes in the buffer (narrowing the range or
 * rewriting in place), one tight loop per column; a cell it cannot change that way (non-ASCII,
 * say) goes to `slow`, for the text path.
 */
type InPlace = (b: CellBatch, rows: Int32Array, count: number, field: number, slow: number[]) => void;

function changeValues(view: CellView, which: StepColumns, inPlace: InPlace | null, change: (value: string) => string | undefined): void {
  const b = view.batch;
  const slow: number[] = [];
  for (const c of columnsOf(view, which)) {
    const field = view.fields[c]!;
    if (field < 0) {
      const value = view.constants[c];
      if (value !== undefined) view.constants[c] = change(value);
      continue;
    }
    slow.length = 0;
    // A cell an earlier step replaced is text already: only columns without such cells change in place.
    if (inPlace !== null && view.overrides.size === 0) inPlace(b, view.rows, view.count, field, slow);
    else for (let i = 0; i < view.count; i++) slow.push(view.rows[i]! * b.width + field);
    for (const cell of slow) {
      const text = view.overrides.has(cell) ? view.overrides.get(cell) : cellText(b, b.starts[cell]!, b.ends[cell]!, b.escaped[cell]!);
      if (text === undefined) continue;
      const changed = change(text);
      if (changed !== text) view.overrides.set(cell, changed);
    }
  }
}

const trimColumn: InPlace = (b, rows, count, field, slow) => {
  const { buf, starts, ends, width } = b;
  for (let i = 0; i < count; i++) {
    const cell = rows[i]! * width + field;
    let s = starts[cell]!;
    let e = ends[cell]!;
    while (s < e && ASCII_SPACE(buf[s]!)) s++;
    while (e > s && ASCII_SPACE(buf[e - 1]!)) e--;
    // Unicode spaces (U+00A0 …) at either end: the text path decides.
    if (s < e && (buf[s]! >= 0x80 || buf[e - 1]! >= 0x80)) {
      slow.push(cell);
      continue;
    }
    starts[cell] = s;
    ends[cell] = e;
  }
};

/**
 * ASCII letters change case in place; a cell with other text goes to the text path — with its
 * ASCII letters already changed, which changes nothing there (they stay letters, so no rule that
 * looks at neighbours, like Greek final sigma, sees anything different).
 */
function caseColumn(lower: boolean): InPlace {
  const [from, to] = lower ? [0x41, 0x5a] : [0x61, 0x7a];
  return (b, rows, count, field, slow) => {
    const { buf, starts, ends, width } = b;
    for (let i = 0; i < count; i++) {
      const cell = rows[i]! * width + field;
      const e = ends[cell]!;
      for (let k = starts[cell]!; k < e; k++) {
        const c = buf[k]!;
        if (c >= 0x80) {
          slow.push(cell);
          break;
        }
        if (c >= from && c <= to) buf[k] = c ^ 0x20;
      }
    }
  };
}
const lowerColumn = caseColumn(true);
const upperColumn = caseColumn(false);

/** Is the cell empty, as steps.ts's isEmpty says of a CSV value? A removed value is empty. */
export function isEmptyCell(view: CellView, column: number, row: number): boolean {
  const field = view.fields[column]!;
  if (field < 0) {
    const value = view.constants[column];
    return value === undefined || value === '';
  }
  const cell = row * view.batch.width + field;
  if (view.overrides.size > 0 && view.overrides.has(cell)) {
    const value = view.overrides.get(cell);
    return value === undefined || value === '';
  }
  return view.batch.ends[cell] === view.batch.starts[cell];
}

function dropRows(view: CellView, which: StepColumns, stats: PrepareStats): void {
  const listed = which === true ? null : which.map((name) => view.names.indexOf(name));
  // A listed column the rows do not have is empty in every row.
  if (listed?.includes(-1)) {
    stats.droppedNullRows += view.count;
    view.count = 0;
    return;
  }
  const columns = listed ?? view.names.map((_, i) => i);
  const fields = columns.map((c) => view.fields[c]!);
  if (view.overrides.size === 0 && fields.every((f) => f >= 0)) {
    // Every cell is its bytes in the file: empty when it has none (isEmptyCell's last line).
    const { starts, ends, width } = view.batch;
    let kept = 0;
    for (let i = 0; i < view.count; i++) {
      const row = view.rows[i]!;
      const at = row * width;
      let empty = false;
      for (let k = 0; k < fields.length; k++) {
        const cell = at + fields[k]!;
        if (ends[cell] === starts[cell]) {
          empty = true;
          break;
        }
      }
      if (empty) stats.droppedNullRows++;
      else view.rows[kept++] = row;
    }
    view.count = kept;
    return;
  }
  let kept = 0;
  for (let i = 0; i < view.count; i++) {
    const row = view.rows[i]!;
    let empty = false;
    for (const c of columns) {
      if (isEmptyCell(view, c, row)) {
        empty = true;
        break;
      }
    }
    if (empty) stats.droppedNullRows++;
    else view.rows[kept++] = row;
  }
  view.count = kept;
}

function dropDuplicates(view: CellView, context: Context): void {
  const order = view.names.map((_, i) => i).sort((x, y) => (view.names[x]! < view.names[y]! ? -1 : view.names[x]! > view.names[y]! ? 1 : 0));
  let kept = 0;
  for (let i = 0; i < view.count; i++) {
    const row = view.rows[i]!;
    const hash = createHash('sha256');
    for (const c of order) {
      const text = viewText(view, c, row);
      hash.update(view.names[c]!);
      hash.update(text === undefined ? '\u0000' : `\u0001${text.length}:${text}`);
    }
    const fingerprint = hash.digest().toString('latin1');
    if (context.seen.has(fingerprint)) {
      context.stats.droppedDuplicateRows++;
      continue;
    }
    if (context.seen.size >= context.maxDistinctRows) {
      const what = `drop_duplicate_rows: more than ${context.maxDistinctRows} distinct rows to remember`;
      throw limitError('prepare', 'max_distinct_rows', context.maxDistinctRows, what, { locator: 'line', number: view.batch.lines[row]! });
    }
    context.seen.add(fingerprint);
    view.rows[kept++] = row;
  }
  view.count = kept;
}

/** Columns the schema does not know: a problem per row (`error`) or dropped (`ignore`). */
function extraColumns(view: CellView, policy: Dataset['extraColumns'], known: ReadonlySet<string>): void {
  const unknown = view.names.map((_, i) => i).filter((i) => !known.has(view.names[i]!));
  if (unknown.length === 0) return;
  if (policy !== 'error') {
    keepColumns(view, (name) => known.has(name));
    return;
  }
  let kept = 0;
  for (let i = 0; i < view.count; i++) {
    const row = view.rows[i]!;
    // A value removed by a step is no longer a key of the record: not unknown there.
    const present = unknown.filter((c) => view.fields[c]! < 0 ? view.constants[c] !== undefined : !(view.overrides.has(row * view.batch.width + view.fields[c]!) && view.overrides.get(row * view.batch.width + view.fields[c]!) === undefined));
    if (present.length === 0) {
      view.rows[kept++] = row;
      continue;
    }
    const names = present.map((c) => view.names[c]!).sort(); // in the record path's order (prepare.ts)
    const named = names.slice(0, 5).map((e) => `"${shortName(e)}"`).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
    const problem: Problem = {
      line: view.batch.lines[row]!,
      field: shortName(names[0]!),
      rule: 'extra_columns',
      message: `unknown column${names.length > 1 ? 's' : ''} ${named} (not in the schema; set extra_columns: ignore or keep)`,
      columns: names,
    };
    view.batch.problems.push(problem);
  }
  view.count = kept;
  keepColumns(view, (name) => known.has(name));
}
