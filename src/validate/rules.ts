/**
 * A property's compiled keywords (the compiled set, validate/plan.ts) and the checks both kinds of
 * kernel build from them: on numbers, and on the text of strings.
 */

/** A string check as ajv runs it: a format function or a regular expression. */
export type TextTest = (text: string) => boolean;

export interface PropertyRules {
  enum?: unknown[];
  const?: unknown;
  hasConst: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: RegExp;
  /** The property's format, as ajv checks it (string formats only). */
  format?: TextTest;
  /** `type` is given (JSON values are checked against it); null passes when it lists "null" or is absent. */
  typed: boolean;
  nullable: boolean;
  /** JSON columns: the types `type` allows (object, array); undefined when there is no `type`. */
  jsonTypes?: Set<string>;
}

/** A check of a number against the numeric keywords, or null when there are none. */
export function numberCheck(rules: PropertyRules): ((n: number) => boolean) | null {
  const tests: Array<(n: number) => boolean> = [];
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf } = rules;
  // The bounds in one comparison chain (a value here is a finite number): the common schema has
  // just these, and one closure per cell beats a list of them.
  if (minimum !== undefined || maximum !== undefined || exclusiveMinimum !== undefined || exclusiveMaximum !== undefined) {
    const low = minimum ?? -Infinity;
    const high = maximum ?? Infinity;
    const above = exclusiveMinimum ?? -Infinity;
    const below = exclusiveMaximum ?? Infinity;
    tests.push((n) => n >= low && n <= high && n > above && n < below);
  }
  // ajv: fails when `m === 0 || (r = n / m, r !== parseInt(r))`.
  if (multipleOf !== undefined) tests.push((n) => multipleOf !== 0 && n / multipleOf === parseInt(String(n / multipleOf)));
  if (rules.enum) {
    const allowed = new Set(rules.enum.filter((v) => typeof v === 'number'));
    tests.push((n) => allowed.has(n));
  }
  if (rules.hasConst) {
    const c = rules.const;
    tests.push((n) => n === c);
  }
  if (tests.length === 0) return null;
  if (tests.length === 1) return tests[0]!;
  return (n) => {
    for (const test of tests) if (!test(n)) return false;
    return true;
  };
}

/** A check of a string against the string keywords that need the text (enum, const, pattern, format). */
export function textCheck(rules: PropertyRules, withFormat: boolean): TextTest | null {
  const tests: TextTest[] = [];
  if (rules.enum) {
    const allowed = new Set(rules.enum.filter((v) => typeof v === 'string'));
    tests.push((s) => allowed.has(s));
  }
  if (rules.hasConst) {
    const c = rules.const;
    tests.push((s) => s === c);
  }
  if (rules.pattern) {
    const pattern = rules.pattern;
    tests.push((s) => pattern.test(s));
  }
  if (rules.format && withFormat) tests.push(rules.format);
  if (tests.length === 0) return null;
  if (tests.length === 1) return tests[0]!;
  return (s) => tests.every((t) => t(s));
}

