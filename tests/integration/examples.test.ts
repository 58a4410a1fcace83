/**
 * Every shipped example end to end: the project's own config/datasets, the sample files that
 * scripts/make-examples.mjs makes, dropped into a running loadbay; rows checked in PostgreSQL and
 * in the Parquet file.
 */
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT, sharedEnv } from '../helpers/env.js';
import { columnTypes, readParquetFile } from '../helpers/parquet.js';

const shared = sharedEnv();

async function dropExample(name: string) {
  const staged = path.join(shared().root, name);
  await copyFile(path.join(PROJECT_ROOT, 'examples', name), staged);
  const { rename } = await import('node:fs/promises');
  await rename(staged, path.join(shared().folders.input, name));
  return shared().outcome(name);
}

async function query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  return (await shared().pool.query(sql)).rows as T[];
}

it('student performance: lower-cased headers and values, rows with nulls dropped, integer grades', async () => {
  expect(await dropExample('student-mat.csv')).toMatchObject({ event: 'loaded', dataset: 'students', rows: 40 });
  const por = await dropExample('student-por.csv');
  expect(por).toMatchObject({ event: 'loaded', rows: 38, dropped: { null_rows: 2, duplicate_rows: 0 } });
  const [row] = await query(`SELECT school, sex, internet, g3, pg_typeof(g3)::text AS g3_type FROM student_data ORDER BY _source_file, _source_record LIMIT 1`);
  expect(row).toMatchObject({ school: expect.stringMatching(/^(gp|ms)$/), sex: expect.stringMatching(/^[fm]$/), g3_type: 'bigint' });
  expect(typeof row!['internet']).toBe('boolean');
  const [counts] = await query<{ n: number; upper: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE mjob <> lower(mjob))::int AS upper FROM student_data`,
  );
  expect(counts).toEqual({ n: 78, upper: 0 });
});

it('Olympic athlete events: absent fields are NULL, years from the file name', async () => {
  const line = await dropExample('athlete_events_2000_2004.jsonl.gz');
  expect(line).toMatchObject({ event: 'loaded', dataset: 'athlete-events', rows: 120 });
  const [row] = await query<{ n: number; medals: number; years: string }>(
    `SELECT count(*)::int AS n, count(medal)::int AS medals, string_agg(DISTINCT start_year || '-' || end_year, ',') AS years FROM athlete_events`,
  );
  expect(row!.n).toBe(120);
  expect(row!.medals).toBeGreaterThan(0);
  expect(row!.medals).toBeLessThan(120);
  expect(row!.years).toBe('2000-2004');
  const parquet = await readParquetFile(path.join(shared().root, String(line['parquet'])));
  expect(columnTypes(parquet)).toMatchObject({ athlete_id: 'Int64', height: 'Float64', start_year: 'Int64' });
});

it('NHL box score: skaters only, one row per player per game; players and points leaders built', async () => {
  // 7 entries per side: 1 goalie and 1 scratched player are dropped (no skater stats), 5 skaters stay.
  expect(await dropExample('boxscore_2023020001.json')).toMatchObject({
    event: 'loaded',
    dataset: 'nhl-boxscore',
    rows: 10,
    dropped: { null_rows: 4, duplicate_rows: 0 },
  });
  const rows = await query<{ side: string; n: number; team: string }>(
    `SELECT side, count(*)::int AS n, max(team_name) AS team FROM nhl.game_stats WHERE game_id = 2023020001 GROUP BY side ORDER BY side`,
  );
  expect(rows).toEqual([
    { side: 'away', n: 5, team: 'Toronto Maple Leafs' },
    { side: 'home', n: 5, team: 'Montreal Canadiens' },
  ]);
  const [players] = await query(`SELECT count(*)::int AS n, bool_and(points = goals + assists) AS sums FROM nhl.nhl_players`);
  expect(players).toEqual({ n: 10, sums: true });
  const leaders = await query<{ team_name: string }>('SELECT team_name FROM nhl.points_leaders ORDER BY team_name');
  expect(new Set(leaders.map((l) => l.team_name))).toEqual(new Set(['Montreal Canadiens', 'Toronto Maple Leafs']));
});

it('football competitions and teams: records inside the API responses, unknown fields kept in _extra', async () => {
  expect(await dropExample('competitions.json')).toMatchObject({ event: 'loaded', rows: 4 });
  expect(await dropExample('teams_PL.json')).toMatchObject({ event: 'loaded', rows: 6 });
  const competitions = await query(
    `SELECT code, area_country_code, current_season_start_date::text AS start, current_season_current_matchday AS matchday, _extra->>'emblem' AS emblem
       FROM football.competitions ORDER BY id`,
  );
  expect(competitions[0]).toEqual({ code: 'WC', area_country_code: 'INT', start: '2024-08-16', matchday: null, emblem: 'https://example.invalid/WC.png' });
  const teams = await query(`SELECT competition_code, tla, founded, _extra->'area'->>'name' AS area FROM football.competition_teams ORDER BY id`);
  expect(teams).toHaveLength(6);
  expect(teams[0]).toEqual({ competition_code: 'PL', tla: 'ARS', founded: '1870', area: 'England' });
});

it('scooter events and weather: nested objects flattened into two tables', async () => {
  expect(await dropExample('scooter_events_2024-06-01.json')).toMatchObject({ event: 'loaded', dataset: 'scooter-events', rows: 60 });
  expect(await dropExample('weather_2024-06-01.json')).toMatchObject({ event: 'loaded', dataset: 'scooter-weather', rows: 18 });
  const [events] = await query<{ trips: number; ends: number }>(
    `SELECT count(trip_distance_m)::int AS trips, count(*) FILTER (WHERE event_type = 'trip_end')::int AS ends FROM scooter.events`,
  );
  expect(events!.trips).toBe(events!.ends);
  const [weather] = await query(`SELECT count(DISTINCT city_name)::int AS cities, min(weather_data_temperature_c) >= 8 AS plausible FROM scooter.weather`);
  expect(weather).toEqual({ cities: 3, plausible: true });
});
