/**
 * Per-shape compiled record functions. The records of one file nearly always have the same keys in
 * the same order (one CSV header, one JSON producer), so a step can compile a function for that key
 * list once — one object literal instead of 33 keyed stores, one straight-line coercion instead of
 * a Map lookup per field — and check each record's keys against it, which is cheap. Records of
 * another shape get their own function; past `MAX_SHAPES` distinct shapes the caller's generic path
 * runs (a file whose every record differs gains nothing from compiling).
 */

const MAX_SHAPES = 32;
/** Wider records take the generic path: compiling a function per key would cost more than it saves. */
const MAX_COMPILED_KEYS = 2000;

/** A JavaScript expression for the string. */
export function literal(text: string): string {
  return JSON.stringify(text);
}

/** A property key in an object literal: `__proto__` is computed, so it defines an own property. */
export function literalKey(text: string): string {
  return text === '__proto__' ? '["__proto__"]' : JSON.stringify(text);
}

/**
 * Returns the function compiled for the record's key list; `null` when `compile` declined that shape
 * (it returns null for shapes it cannot handle) or too many shapes were seen.
 */
export function byShape<F>(compile: (keys: string[]) => F | null): (record: Record<string, unknown>) => F | null {
  let keys: string[] | null = null;
  let compiled: F | null = null;
  const shapes = new Map<string, F | null>();
  return (record) => {
    if (keys !== null) {
      let i = 0;
      let same = true;
      for (const key in record) {
        if (key !== keys[i++]) {
          same = false;
          break;
        }
      }
      if (same && i === keys.length) return compiled;
    }
    keys = Object.keys(record);
    if (keys.length > MAX_COMPILED_KEYS) {
      keys = null;
      return (compiled = null);
    }
    const signature = keys.join('\u0000');
    if (shapes.has(signature)) {
      compiled = shapes.get(signature)!;
    } else if (shapes.size < MAX_SHAPES) {
      compiled = compile(keys);
      shapes.set(signature, compiled);
    } else {
      compiled = null;
    }
    return compiled;
  };
}
