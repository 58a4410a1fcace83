/** Routing: the first dataset (by priority, then file name) whose `match` globs fit the path wins. */
import type { Dataset } from '../config/types.js';
import { DataError } from '../errors.js';

export function route<D extends Dataset>(datasets: readonly D[], relativePath: string): D {
  const dataset = datasets.find((d) => d.matches(relativePath));
  if (dataset) return dataset;
  const tried = datasets.map((d) => `${d.name}: ${d.match.join(', ')}`);
  throw new DataError(
    'route',
    'no dataset matches',
    tried.length > 0
      ? tried.map((patterns) => ({ rule: 'match', message: `tried ${patterns}` }))
      : [{ rule: 'match', message: 'no datasets are configured' }],
  );
}
