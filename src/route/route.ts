/**
 * Routing: the first dataset (by priority, then file name) whose `match` globs fit the path wins —
 * unless the file is in `input/_dataset/<name>/`, which routes it to dataset <name> whatever its
 * name (where `loadbay failed retry FILE --dataset NAME` puts a file routed by hand).
 */
import type { Dataset } from '../config/types.js';
import { DataError } from '../errors.js';

/** The folder of input/ whose sub-folders name the dataset of the files in them. */
export const BY_HAND_FOLDER = '_dataset';

export function route<D extends Dataset>(datasets: readonly D[], relativePath: string): D {
  const [top, name, ...rest] = relativePath.split('/');
  if (top === BY_HAND_FOLDER && name !== undefined && rest.length > 0) {
    const named = datasets.find((d) => d.name === name);
    if (named) return named;
    const message = `no dataset is named "${name}" (files in input/${BY_HAND_FOLDER}/${name}/ go to the dataset of that name)`;
    return fail(message, [{ rule: 'match', message: `datasets: ${datasets.map((d) => d.name).join(', ') || 'none configured'}` }]);
  }
  const dataset = datasets.find((d) => d.matches(relativePath));
  if (dataset) return dataset;
  const tried = datasets.map((d) => `${d.name}: ${d.match.join(', ')}`);
  return fail(
    'no dataset matches',
    tried.length > 0
      ? tried.map((patterns) => ({ rule: 'match', message: `tried ${patterns}` }))
      : [{ rule: 'match', message: 'no datasets are configured' }],
  );
}

function fail(message: string, problems: Array<{ rule: string; message: string }>): never {
  throw new DataError('route', message, problems);
}
