/**
 * An export's query as a user writes it: a closing semicolon and a comment after it, or a comment
 * on its last line, still make a COPY that PostgreSQL runs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

const dataset = (query: string) => `name: tallies
match: ["tallies-*.csv"]
format: csv
table: ex.tallies
export: { query: ${JSON.stringify(query)}, to: exports/tallies.csv }
schema:
  type: object
  required: [id]
  properties:
    id: { type: integer }
`;

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

it.each([
  ['a semicolon and a comment after it', 'SELECT id FROM ex.tallies ORDER BY id; -- the daily report\n'],
  ['a comment on its last line', 'SELECT id FROM ex.tallies ORDER BY id -- the daily report'],
])('exports with %s', async (_what, query) => {
  env = await createTestEnv({ datasets: { 'tallies.yaml': dataset(query) } });
  await env.start();
  await env.drop('tallies-1.csv', 'id\n2\n1\n');
  expect(await env.outcome('tallies-1.csv', 'exported')).toMatchObject({ rows: 2 });
  expect(await readFile(path.join(env.root, 'exports', 'tallies.csv'), 'utf8')).toBe('id\n1\n2\n');
});
