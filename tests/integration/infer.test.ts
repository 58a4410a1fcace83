/**
 * `loadbay infer` on what newcomers bring — a nested JSON document, file names with dates and hashes —
 * and `validate --json` naming every unknown column: the built CLI against real files, and the
 * inferred definition loaded by a running daemon.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { createTestEnv, type TestEnv } from '../helpers/env.js';
import { runCli } from '../helpers/cli.js';


const run = (args: string[]) => runCli(args);

/** A schedule-style document: the records (games) two arrays down, each with nested objects. */
function schedule(): string {
  const game = (pk: number, day: string, away: string, home: string, venue: string) => ({
    gamePk: pk,
    gameDate: `${day}T18:00:00Z`,
    status: { abstractGameState: 'Final', codedGameState: '7' },
    teams: { away: { score: pk % 5, team: { id: pk % 30, name: away } }, home: { score: pk % 3, team: { id: (pk + 1) % 30, name: home } } },
    venue: { name: venue },
  });
  return JSON.stringify({
    copyright: 'NHL and the NHL Shield are registered trademarks of the National Hockey League.',
    totalItems: 5,
    dates: [
      { date: '2020-08-04', totalGames: 3, games: [game(2019030011, '2020-08-04', 'Canadiens', 'Penguins', 'Rogers Place'), game(2019030012, '2020-08-04', 'Hurricanes', 'Rangers', 'Scotiabank Arena'), game(2019030013, '2020-08-04', 'Blackhawks', 'Oilers', 'Rogers Place')] },
      { date: '2020-08-05', totalGames: 2, games: [game(2019030021, '2020-08-05', 'Coyotes', 'Predators', 'Rogers Place'), game(2019030022, '2020-08-05', 'Panthers', 'Islanders', 'Scotiabank Arena')] },
    ],
  });
}

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

it('infer on a nested JSON document: the records path and flatten the dataset will use; name and glob without dates; it loads', async () => {
  env = await createTestEnv({ datasets: {} });
  const sample = path.join(env.root, 'schedule_2020_08_04_to_2020_08_05.json');
  await writeFile(sample, schedule());

  // Read as one record, the file makes no dataset: infer says where the records are.
  const whole = await run(['infer', sample]);
  expect(whole.code).toBe(0);
  expect(whole.out).toContain('(1 records sampled)');
  expect(whole.out).toContain("Its records look to be at dates.*.games.* (5 in this");
  expect(whole.out).toContain(`loadbay infer ${sample} --records 'dates.*.games.*' --flatten`);

  const inferred = await run(['infer', sample, '--records', 'dates.*.games.*', '--path-columns', 'day_index', '--flatten']);
  expect(inferred.code).toBe(0);
  expect(inferred.out).toContain('(5 records sampled)');
  const definition = parse(inferred.out) as { name: string; match: string; json: unknown; flatten: boolean; table: string; schema: { required: string[]; properties: Record<string, { type: string; format?: string }> } };
  expect(definition).toMatchObject({ name: 'schedule', match: 'schedule_*.json', json: { records: 'dates.*.games.*', path_columns: ['day_index'] }, flatten: true, table: 'public.schedule' });
  expect(definition.schema.properties).toMatchObject({
    gamePk: { type: 'integer' },
    gameDate: { type: 'string', format: 'date-time' },
    status_abstractGameState: { type: 'string' },
    teams_away_team_name: { type: 'string' },
    teams_home_score: { type: 'integer' },
    venue_name: { type: 'string' },
  });
  expect(definition.schema.required).toEqual(expect.arrayContaining(['gamePk', 'teams_home_team_id', 'day_index']));

  await writeFile(path.join(env.root, 'config', 'datasets', 'schedule.yaml'), inferred.out);
  const check = await run(['check-config', '--config', env.configFile]);
  expect(check.out).toContain('schedule: json, match schedule_*.json → public.schedule');
  const daemon = await env.start();
  expect(daemon).toBeTruthy();
  await copyFile(sample, path.join(env.folders.input, 'schedule_2020_08_06_to_2020_08_07.json'));
  expect(await env.outcome('schedule_2020_08_06_to_2020_08_07.json')).toMatchObject({ event: 'loaded', dataset: 'schedule', rows: 5 });
  const { rows } = await env.pool.query('SELECT "teams_home_team_name" AS home, day_index FROM public.schedule ORDER BY "gamePk"');
  expect(rows.map((r: { home: string }) => r.home)).toEqual(['Penguins', 'Rangers', 'Oilers', 'Predators', 'Islanders']);
});

it('infer proposes names and globs that leave out hashes, dates and numbers', async () => {
  env = await createTestEnv({ datasets: {} });
  const cases = [
    ['e4c3e2__student-mat.csv', 'student-mat', '*student-mat.csv'],
    ['athlete_events_1896_1900.jsonl', 'athlete_events', 'athlete_events_*.jsonl'],
    ['boxscore_2019020001.jsonl', 'boxscore', 'boxscore_*.jsonl'],
    ['competitions.jsonl', 'competitions', 'competitions.jsonl'],
  ];
  for (const [file, name, match] of cases) {
    const sample = path.join(env.root, file!);
    await writeFile(sample, file!.endsWith('.csv') ? 'school;age\nGP;18\nMS;17\n' : '{"id": 1}\n');
    const out = await run(['infer', sample]);
    expect([file, out.code]).toEqual([file, 0]);
    expect([file, parse(out.out)]).toMatchObject([file, { name, match }]);
  }
});

it('validate --json lists every unknown column, not the first five', async () => {
  const extra = Array.from({ length: 29 }, (_, i) => `extra_${String(i + 1).padStart(2, '0')}`);
  env = await createTestEnv({
    datasets: { 'people.yaml': 'name: people\nmatch: "people-*.csv"\nformat: csv\ntable: p.people\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n' },
  });
  const file = path.join(env.root, 'people-wide.csv');
  await writeFile(file, `id,${extra.join(',')}\n1,${extra.map(() => 'x').join(',')}\n`);
  const json = JSON.parse((await run(['validate', file, '--config', env.configFile, '--json'])).out) as { would_load: boolean; unknown_columns: string[]; problems: Array<{ message: string; columns: string[] }> };
  expect(json.would_load).toBe(false);
  expect(json.unknown_columns).toEqual(extra);
  expect(json.problems[0]!.message).toContain('and 24 more');
  expect(json.problems[0]!.columns).toEqual(extra);
  const text = await run(['validate', file, '--config', env.configFile]);
  expect(text.out).toContain(`unknown columns (29): ${extra.join(', ')}`);
  // JSONL records, whose unknown keys differ from record to record: every one, in the order met.
  await writeFile(path.join(env.root, 'config', 'datasets', 'people.yaml'), (await readFile(path.join(env.root, 'config', 'datasets', 'people.yaml'), 'utf8')).replace('"people-*.csv"\nformat: csv', '"people-*.jsonl"\nformat: jsonl'));
  const jsonl = path.join(env.root, 'people-mixed.jsonl');
  await writeFile(jsonl, '{"id": 1, "a": 1, "b": 2}\n{"id": 2, "c": 3}\n{"id": 3}\n');
  const mixed = JSON.parse((await run(['validate', jsonl, '--config', env.configFile, '--json'])).out) as { unknown_columns: string[] };
  expect(mixed.unknown_columns).toEqual(['a', 'b', 'c']);
});
