/** Record keys without special cases: no key name, `__proto__` included, is dropped or turned into a prototype. */

/** An own, enumerable key, whatever its name (a plain store of `__proto__` would set the prototype). */
export function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The record's own value for the key: a name `Object.prototype` has (`constructor`, `toString` …) is not inherited. */
export function ownValue(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
