/**
 * Loading like a data engineer needs: upsert, replace (table and key), evolution on and off, every
 * kind of data check, after-load SQL that fails, and the three shipped examples over several loads.
 */
import { spawn } from 'node:child_process';
import { copyFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTestEnv, PROJECT_ROOT, waitFor, type TestEnv } from '../helpers/env.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

const SCHEMA = `schema:
  type: object
  required: [id]
  properties:
    id: { type: integer }
    name: { type: string }
    day: { type: string, format: date }
`;

function dataset(name: string, extra: string, schema = SCHEMA): string {
  return `name: ${name}\nmatch: "${name}-*.csv"\nformat: csv\n${extra}\n${schema}`;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await env!.pool.query(sql)).rows;
}

describe('modes', () => {
  it('upsert inserts new keys and updates existing ones; duplicate keys in one file are refused unless dedupe: last', async () => {
    env = await createTestEnv({
      datasets: {
        'u.yaml': dataset('u', 'table: { name: m.u, mode: upsert, key: [id] }'),
        'd.yaml': dataset('d', 'table: { name: m.d, mode: upsert, key: [id], dedupe: last }'),
      },
    });
    await env.start();
    await env.drop('u-1.csv', 'id,name\n1,one\n2,two\n');
    await env.outcome('u-1.csv', 'loaded');
    await env.drop('u-2.csv', 'id,name\n2,TWO\n3,three\n');
    expect(await env.outcome('u-2.csv')).toMatchObject({ event: 'loaded', rows: 2, mode: 'upsert' });
    expect(await rows('SELECT id, name, _source_file FROM m.u ORDER BY id')).toEqual([
      { id: '1', name: 'one', _source_file: 'u-1.csv' },
      { id: '2', name: 'TWO', _source_file: 'u-2.csv' },
      { id: '3', name: 'three', _source_file: 'u-2.csv' },
    ]);
    await env.drop('u-3.csv', 'id,name\n4,a\n5,b\n4,c\n');
    const failed = await env.outcome('u-3.csv');
    expect(failed).toMatchObject({ event: 'failed', stage: 'load', reason: 'lines 2 and 4 have the same key (id) = [4]' });
    await env.drop('d-1.csv', 'id,name\n4,a\n5,b\n4,c\n');
    expect(await env.outcome('d-1.csv')).toMatchObject({ event: 'loaded' });
    expect(await rows('SELECT id, name FROM m.d ORDER BY id')).toEqual([
      { id: '4', name: 'c' },
      { id: '5', name: 'b' },
    ]);
  });

  it('replace: table swaps the whole table; replace by key swaps only the rows with the same key values', async () => {
    env = await createTestEnv({
      datasets: {
        't.yaml': dataset('t', 'table: { name: m.t, mode: replace, replace: table }'),
        'k.yaml': dataset('k', 'table: { name: m.k, mode: replace, replace: { key: [day] } }'),
      },
    });
    await env.start();
    await env.drop('t-1.csv', 'id,name\n1,a\n2,b\n');
    await env.outcome('t-1.csv', 'loaded');
    await env.drop('t-2.csv', 'id,name\n3,c\n');
    await env.outcome('t-2.csv', 'loaded');
    expect(await rows('SELECT id FROM m.t')).toEqual([{ id: '3' }]);

    await env.drop('k-1.csv', 'id,day\n1,2024-01-01\n2,2024-01-01\n3,2024-01-02\n');
    await env.outcome('k-1.csv', 'loaded');
    await env.drop('k-2.csv', 'id,day\n10,2024-01-01\n');
    await env.outcome('k-2.csv', 'loaded');
    expect(await rows('SELECT id, day::text FROM m.k ORDER BY id')).toEqual([
      { id: '3', day: '2024-01-02' },
      { id: '10', day: '2024-01-01' },
    ]);
  });
});

function checkConfig(configFile: string, url: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'cli.js'), 'check-config', '--config', configFile], {
      env: { ...process.env, DATABASE_URL: url },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', () => resolve(out));
  });
}

describe('schema evolution', () => {
  const wider = SCHEMA + '    score: { type: number }\n';
  it('adds a new column with evolve: add_columns, and holds the file without it', async () => {
    env = await createTestEnv({ datasets: { 'e.yaml': dataset('e', 'table: m.e') } });
    let daemon = await env.start();
    await env.drop('e-1.csv', 'id,name\n1,a\n');
    await env.outcome('e-1.csv', 'loaded');
    await daemon.stop();

    await writeFile(path.join(env.root, 'config', 'datasets', 'e.yaml'), dataset('e', 'table: m.e', wider));
    const check = await checkConfig(env.configFile, env.url);
    expect(check).toContain('e: 1 difference(s)');
    expect(check).toContain('! table "m"."e" has no column "score" (double precision) that dataset "e" needs');
    daemon = await env.start();
    await env.drop('e-2.csv', 'id,name,score\n2,b,1.5\n');
    const held = await env.outcome('e-2.csv', 'held');
    expect(held.reason).toBe('table "m"."e" has no column "score" (double precision) that dataset "e" needs');
    await daemon.stop();

    await writeFile(path.join(env.root, 'config', 'datasets', 'e.yaml'), dataset('e', 'table: m.e\nevolve: add_columns', wider));
    await env.start();
    expect(await env.outcome('e-2.csv', 'loaded')).toMatchObject({ rows: 1 });
    expect(await rows('SELECT id, score FROM m.e ORDER BY id')).toEqual([
      { id: '1', score: null },
      { id: '2', score: 1.5 },
    ]);
  });
});

describe('checks and after-load SQL', () => {
  it.each([
    ['not_null', '- not_null: [name]', 'id,name\n1,a\n2,\n', 'check not_null (name) failed: 1 violation', 3],
    ['accepted_values', '- accepted_values: { name: [a, b] }', 'id,name\n1,a\n2,z\n', 'check accepted_values (name) failed: 1 violation', 3],
    ['relationships', '- relationships: { id: m.parents.id }', 'id,name\n1,a\n7,b\n', 'check relationships (id → m.parents.id) failed: 1 violation', 3],
    ['row_count', '- row_count: { min: 3 }', 'id,name\n1,a\n2,b\n', 'check row_count (file, min 3) failed: 2 rows, fewer than 3', undefined],
    ['unique', '- unique: [name]', 'id,name\n1,a\n2,a\n', 'check unique (name) failed: 1 violation', undefined],
    ['sql', '- sql: SELECT * FROM m.c WHERE _file_id = $1 AND id > 5', 'id,name\n1,a\n6,b\n', 'check sql failed: 1 violation', 3],
  ])('%s: a violation rolls back and quarantines with the check and examples', async (kind, check, content, reason, line) => {
    env = await createTestEnv({ datasets: { 'c.yaml': dataset('c', `table: m.c\nchecks:\n  ${check}`) } });
    await env.pool.query('CREATE SCHEMA m; CREATE TABLE m.parents (id bigint); INSERT INTO m.parents VALUES (1), (2)');
    await env.start();
    await env.drop('c-1.csv', content);
    const failed = await env.outcome('c-1.csv');
    expect(failed).toMatchObject({ event: 'failed', stage: 'check', reason });
    if (line !== undefined) expect(failed.problems?.[0]).toMatchObject({ line });
    expect(await rows('SELECT count(*)::int AS n FROM m.c')).toEqual([{ n: 0 }]);
    // A file that passes the same check loads.
    await env.drop('c-2.csv', kind === 'row_count' ? 'id,name\n1,a\n2,b\n2,a\n' : 'id,name\n1,a\n2,b\n');
    expect(await env.outcome('c-2.csv')).toMatchObject({ event: 'loaded' });
  });

  it('a failing after-load SQL rolls the load back and holds the file, naming the SQL file', async () => {
    env = await createTestEnv({ datasets: { 'a.yaml': dataset('a', 'table: m.a\nafter_load: [sql/broken.sql]') } });
    await writeFile(path.join(env.root, 'config', 'sql', 'broken.sql'), 'INSERT INTO m.nowhere SELECT 1;');
    await env.start();
    await env.drop('a-1.csv', 'id\n1\n');
    const held = await env.outcome('a-1.csv', 'held');
    expect(held.reason).toBe('after_load sql/broken.sql of dataset "a" failed: relation "m.nowhere" does not exist');
    expect(await env.files('input')).toEqual(['a-1.csv']);
    expect(await rows('SELECT count(*)::int AS n FROM m.a')).toEqual([{ n: 0 }]);
  });
});

describe('the shipped examples over several loads', () => {
  async function drop(name: string, content?: string | Buffer) {
    const staged = path.join(env!.root, name);
    if (content === undefined) await copyFile(path.join(PROJECT_ROOT, 'examples', name), staged);
    else await writeFile(staged, content);
    await rename(staged, path.join(env!.folders.input, name));
    return env!.outcome(name);
  }
  const athlete = (id: number, year: number, team: string, medal?: string) =>
    JSON.stringify({ athlete_id: id, name: `A${id}`, sex: 'F', team, noc: 'NOR', year, season: 'Summer', city: 'X', sport: 'S', event: 'E', ...(medal ? { medal } : {}) });

  it('Olympic athlete events: a second delivery adds, a corrected one replaces, the medal summary follows', async () => {
    env = await createTestEnv();
    await env.start();
    await drop('athlete_events_2000_2004.jsonl.gz', gzipSync([athlete(1, 2000, 'Norway', 'Gold'), athlete(2, 2000, 'Kenya', 'Gold'), athlete(3, 2004, 'Japan')].join('\n')));
    await drop('athlete_events_2008_2012.jsonl.gz', gzipSync([athlete(4, 2008, 'Brazil', 'Bronze')].join('\n')));
    const summary = () => rows('SELECT year::int, season, countries_with_medals::int AS n FROM reporting.medal_summary ORDER BY year');
    expect(await summary()).toEqual([
      { year: 2000, season: 'Summer', n: 2 },
      { year: 2008, season: 'Summer', n: 1 },
    ]);
    // The corrected 2000–2004 delivery: Kenya's medal was a mistake, Japan won one in 2004.
    await rename(path.join(env.folders.archive, 'athlete-events', 'athlete_events_2000_2004.jsonl.gz'), path.join(env.root, 'old.gz'));
    await drop('athlete_events_2000_2004.jsonl.gz', gzipSync([athlete(1, 2000, 'Norway', 'Gold'), athlete(2, 2000, 'Kenya'), athlete(3, 2004, 'Japan', 'Silver')].join('\n')));
    // The same name twice: wait for its second outcome.
    await waitFor(async () => (await env!.logLines()).filter((l) => l.file === 'athlete_events_2000_2004.jsonl.gz').length === 2, {
      message: 'the corrected delivery',
    });
    const loads = (await env.logLines()).filter((l) => l.file === 'athlete_events_2000_2004.jsonl.gz' && l.event === 'loaded');
    expect(loads).toHaveLength(2);
    expect(await rows('SELECT count(*)::int AS n FROM athlete_events')).toEqual([{ n: 4 }]);
    expect(await summary()).toEqual([
      { year: 2000, season: 'Summer', n: 1 },
      { year: 2004, season: 'Summer', n: 1 },
      { year: 2008, season: 'Summer', n: 1 },
    ]);
  });

});
