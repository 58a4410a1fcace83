/**
 * The `prepare:` steps compiled once, from what a user writes (config/types.ts's UserStep) into one
 * tagged form that both engines interpret — records (steps.ts), CSV cells (cells.ts) — with what a
 * step means (its renaming, its change of a value, its values from the file name) defined here once.
 * The table below is the one list of step names: a step the configuration gains and this table
 * lacks does not compile.
 */
import type { UserStep } from '../config/types.js';
import { DataError } from '../errors.js';
import { defineKey } from './keys.js';

/** Columns a step applies to: all of them (`true`), or these. */
export type StepColumns = true | readonly string[];

export type PrepareStep =
  | { kind: 'headers'; style: 'lowercase' | 'snake_case' }
  | { kind: 'rename'; to: ReadonlyMap<string, string> }
  | { kind: 'trim'; columns: StepColumns }
  | { kind: 'lowercase_values'; columns: StepColumns }
  | { kind: 'uppercase_values'; columns: StepColumns }
  | { kind: 'null_values'; values: ReadonlySet<string> }
  | { kind: 'drop_rows_with_nulls'; columns: StepColumns }
  | { kind: 'drop_duplicate_rows' }
  | { kind: 'defaults'; values: ReadonlyArray<readonly [string, unknown]> }
  | { kind: 'add_columns'; fromFileName: RegExp | null; values: Readonly<Record<string, unknown>> }
  | { kind: 'select'; columns: ReadonlySet<string> }
  | { kind: 'exclude'; columns: readonly string[] };

export type StepKind = PrepareStep['kind'];
type UserStepName = UserStep extends infer S ? (S extends unknown ? keyof S : never) : never;
type UserValue<K extends UserStepName> = Extract<UserStep, Record<K, unknown>>[K];

interface StepDefinition<K extends UserStepName> {
  /** The compiled step; throws an Error naming what is wrong (the caller adds file and path). */
  compile(value: UserValue<K>): Extract<PrepareStep, { kind: K }>;
  /** It changes values (a problem then also shows the value as the file had it). */
  changesValues: boolean;
  /** Why the columnar (CSV cells) engine cannot run it, or null when it can. */
  notOnCells(step: Extract<PrepareStep, { kind: K }>): string | null;
}

const cells = () => null;

/** Every step, by the name a user writes. */
const STEPS: { [K in UserStepName]: StepDefinition<K> } = {
  headers: { compile: (style) => ({ kind: 'headers', style }), changesValues: false, notOnCells: cells },
  rename: { compile: (map) => ({ kind: 'rename', to: new Map(Object.entries(map)) }), changesValues: false, notOnCells: cells },
  trim: { compile: (columns) => ({ kind: 'trim', columns }), changesValues: true, notOnCells: cells },
  null_values: { compile: (values) => ({ kind: 'null_values', values: new Set(values) }), changesValues: true, notOnCells: cells },
  lowercase_values: { compile: (columns) => ({ kind: 'lowercase_values', columns }), changesValues: true, notOnCells: cells },
  uppercase_values: { compile: (columns) => ({ kind: 'uppercase_values', columns }), changesValues: true, notOnCells: cells },
  drop_rows_with_nulls: { compile: (columns) => ({ kind: 'drop_rows_with_nulls', columns }), changesValues: false, notOnCells: cells },
  drop_duplicate_rows: { compile: () => ({ kind: 'drop_duplicate_rows' }), changesValues: false, notOnCells: cells },
  defaults: { compile: (values) => ({ kind: 'defaults', values: Object.entries(values) }), changesValues: true, notOnCells: () => 'prepare step defaults' },
  add_columns: {
    compile: ({ from_file_name: pattern, values = {} }) => ({ kind: 'add_columns', fromFileName: pattern === undefined ? null : namedGroups(pattern), values }),
    changesValues: false,
    notOnCells: (step) => (Object.values(step.values).some((v) => typeof v !== 'string') ? 'add_columns with values that are not text' : null),
  },
  select: { compile: (columns) => ({ kind: 'select', columns: new Set(columns) }), changesValues: false, notOnCells: cells },
  exclude: { compile: (columns) => ({ kind: 'exclude', columns }), changesValues: false, notOnCells: cells },
};

export const STEP_NAMES = Object.keys(STEPS) as UserStepName[];

function definition<K extends StepKind>(kind: K): StepDefinition<K> {
  return STEPS[kind] as unknown as StepDefinition<K>;
}

/** A step as written → its compiled form. Throws an Error naming the step's problem. */
export function compileStep(step: UserStep): PrepareStep {
  const [name, value] = Object.entries(step)[0] as [string, unknown];
  if (!Object.hasOwn(STEPS, name)) throw new Error(`unknown step "${name}" (steps: ${STEP_NAMES.join(', ')})`);
  return (STEPS[name as UserStepName].compile as (v: unknown) => PrepareStep)(value);
}

export function changesValues(step: PrepareStep): boolean {
  return definition(step.kind).changesValues;
}

/** Why the columnar engine cannot run the step, or null when it can. */
export function notOnCells(step: PrepareStep): string | null {
  return (definition(step.kind).notOnCells as (s: PrepareStep) => string | null)(step);
}

function namedGroups(pattern: string): RegExp {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    throw new Error(`add_columns.from_file_name: not a valid regular expression: ${(error as Error).message}`);
  }
  if (!/\(\?<[A-Za-z_][A-Za-z0-9_]*>/.test(pattern)) throw new Error('add_columns.from_file_name: use named groups, e.g. (?<year>\\d{4})');
  return regex;
}

// ---- What a step means, for both engines ----------------------------------------------------------

export function snakeCase(name: string): string {
  return name
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** The new name of a column under `headers` or `rename`. */
export function renaming(step: Extract<PrepareStep, { kind: 'headers' | 'rename' }>): (name: string) => string {
  if (step.kind === 'rename') return (name) => step.to.get(name) ?? name;
  return step.style === 'snake_case' ? snakeCase : (name) => name.toLowerCase();
}

/** A label for a renaming step in a problem ("headers: lowercase", "rename"). */
export function renamingLabel(step: Extract<PrepareStep, { kind: 'headers' | 'rename' }>): string {
  return step.kind === 'headers' ? `headers: ${step.style}` : 'rename';
}

/** What a value step makes of a text value (undefined: the value is removed). */
export function valueChange(step: Extract<PrepareStep, { kind: 'trim' | 'lowercase_values' | 'uppercase_values' | 'null_values' }>): (value: string) => string | undefined {
  switch (step.kind) {
    case 'trim':
      return (v) => v.trim();
    case 'lowercase_values':
      return (v) => v.toLowerCase();
    case 'uppercase_values':
      return (v) => v.toUpperCase();
    case 'null_values': {
      const nulls = step.values;
      return (v) => (nulls.has(v) ? undefined : v);
    }
  }
}

/**
 * The values `add_columns` gives every record of a file: its constants and the named groups of the
 * file name. A name that does not match is a data error.
 */
export function fileValues(step: Extract<PrepareStep, { kind: 'add_columns' }>, fileName: string): Record<string, unknown> {
  const added: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(step.values)) defineKey(added, k, v);
  if (step.fromFileName) {
    const match = step.fromFileName.exec(fileName);
    if (!match?.groups) {
      const message = `the file name "${fileName}" does not match add_columns.from_file_name ${step.fromFileName.source}`;
      throw new DataError('prepare', message, [{ rule: 'add_columns', message }]);
    }
    for (const [k, v] of Object.entries(match.groups)) if (v !== undefined) defineKey(added, k, v);
  }
  return added;
}
