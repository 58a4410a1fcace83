/**
 * The shape of src/: no import cycles (type-only imports count: they tie modules together just as
 * much for a reader, and a cycle of them turns into a runtime one at the first value import).
 */
import path from 'node:path';
import madge from 'madge';
import { PROJECT_ROOT } from '../helpers/env.js';

it('has no import cycles in src/', async () => {
  const graph = await madge(path.join(PROJECT_ROOT, 'src'), { fileExtensions: ['ts'], tsConfig: path.join(PROJECT_ROOT, 'tsconfig.json') });
  expect(graph.circular()).toEqual([]);
  // Every module was read: a module madge could not parse would hide its imports.
  expect(Object.keys(graph.obj()).length).toBeGreaterThan(80);
  expect(graph.warnings().skipped.filter((m) => m.startsWith('.'))).toEqual([]);
});
