/**
 * Every shipped example end to end: the project's own config/datasets, the sample files that
 * scripts/make-examples.mjs makes, dropped into a running loadbay; rows checked in PostgreSQL and
 * in the Parquet file.
 */
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_ROOT, sharedEnv } from '../helpers/env.js';
import { columnTypes, duckdbQuery, readParquetFile } from '../helpers/parquet.js';

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

it('NHL box scores: skaters only, one row per player per game, each with the team of his side in that game', async () => {
  // 7 entries per side: 1 goalie and 1 scratched player are dropped (no skater stats), 5 skaters stay.
  for (const game of ['boxscore_2023020001.json', 'boxscore_2023020002.json']) {
    expect(await dropExample(game)).toMatchObject({ event: 'loaded', dataset: 'nhl-boxscore', rows: 10, dropped: { null_rows: 4, duplicate_rows: 0 } });
  }
  const rows = await query<{ game_id: string; side: string; n: number; team: string; teams: number }>(
    `SELECT game_id::text, side, count(*)::int AS n, max(team_name) AS team, count(DISTINCT team_name)::int AS teams FROM nhl.game_stats GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  expect(rows).toEqual([
    { game_id: '2023020001', side: 'away', n: 5, team: 'Toronto Maple Leafs', teams: 1 },
    { game_id: '2023020001', side: 'home', n: 5, team: 'Montreal Canadiens', teams: 1 },
    { game_id: '2023020002', side: 'away', n: 5, team: 'Boston Bruins', teams: 1 },
    { game_id: '2023020002', side: 'home', n: 5, team: 'Toronto Maple Leafs', teams: 1 },
  ]);
  // The traded player's currentTeam reads Boston in both box scores; he played game 1 for Montreal.
  expect(await query(`SELECT game_id::text, team_name, current_team_name FROM nhl.game_stats WHERE person_id = 8479003 ORDER BY game_id`)).toEqual([
    { game_id: '2023020001', team_name: 'Montreal Canadiens', current_team_name: 'Boston Bruins' },
    { game_id: '2023020002', team_name: 'Boston Bruins', current_team_name: 'Boston Bruins' },
  ]);
  // A player without a current team (retired since) loads, with the team he played for.
  expect(await query(`SELECT DISTINCT team_name, current_team_name FROM nhl.game_stats WHERE person_id = 8478004`)).toEqual([{ team_name: 'Toronto Maple Leafs', current_team_name: null }]);
  const [players] = await query(`SELECT count(*)::int AS n, bool_and(points = goals + assists) AS sums FROM nhl.nhl_players`);
  expect(players).toEqual({ n: 14, sums: true }); // 5 Leafs, 5 Canadiens, 4 Bruins and the player traded from Montreal to Boston
  const leaders = await query<{ team_name: string }>('SELECT team_name FROM nhl.points_leaders ORDER BY team_name');
  expect(new Set(leaders.map((l) => l.team_name))).toEqual(new Set(['Boston Bruins', 'Montreal Canadiens', 'Toronto Maple Leafs']));
});

it('football competitions and teams (v4): records inside the API responses, nulls where the API has none, unknown fields kept in _extra', async () => {
  expect(await dropExample('competitions.json')).toMatchObject({ event: 'loaded', rows: 4 });
  expect(await dropExample('teams_PL.json')).toMatchObject({ event: 'loaded', rows: 6 });
  expect(await dropExample('teams_CL.json')).toMatchObject({ event: 'loaded', rows: 3 });
  expect(await dropExample('teams_FL1.json')).toMatchObject({ event: 'loaded', rows: 0 });
  const competitions = await query(
    `SELECT code, area_code, area_flag, current_season_start_date::text AS start, current_season_current_matchday AS matchday, _extra->'current_season_winner_venue' AS winner_venue
       FROM football.competitions ORDER BY id`,
  );
  expect(competitions[0]).toEqual({ code: 'WC', area_code: 'INT', area_flag: null, start: '2022-11-20', matchday: null, winner_venue: null });
  const teams = await query(`SELECT competition_code, tla, founded, api_competition_code, _extra->'area'->>'name' AS area FROM football.competition_teams ORDER BY competition_code DESC, id`);
  expect(teams).toHaveLength(9);
  expect(teams[0]).toEqual({ competition_code: 'PL', tla: 'ARS', founded: '1870', api_competition_code: 'PL', area: 'England' });
  // What the API returns as null is NULL: colours, website, short name and tla, crest, founded, venue.
  const [nulls] = await query(
    `SELECT count(*) FILTER (WHERE club_colors IS NULL)::int AS colours, count(*) FILTER (WHERE website IS NULL)::int AS website,
            count(*) FILTER (WHERE short_name IS NULL AND tla IS NULL)::int AS short, count(*) FILTER (WHERE crest IS NULL AND venue IS NULL AND founded IS NULL)::int AS crest
       FROM football.competition_teams`,
  );
  expect(nulls).toEqual({ colours: 1, website: 1, short: 1, crest: 1 });
});

it("Tier's scooter data: dotted keys to the columns the dataset names, track events without their closing bracket", async () => {
  const events = await dropExample('track_events.json');
  expect(events).toMatchObject({ event: 'loaded', dataset: 'scooter-events', rows: 40, read: { unterminated_array: 'the closing "]" was missing; loadbay supplied it' } });
  expect(await dropExample('weather.json')).toMatchObject({ event: 'loaded', dataset: 'scooter-weather', rows: 18, dropped: { null_rows: 2, duplicate_rows: 0 } });
  const [tracks] = await query<{ n: number; riders: number; rated: number; ratings: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT anonymous_id)::int AS riders, count(*) FILTER (WHERE event_name = 'Ride Rated')::int AS rated, count(rating)::int AS ratings FROM scooter.events`,
  );
  expect(tracks!.rated).toBe(tracks!.ratings);
  expect(tracks!.riders).toBeGreaterThan(1);
  const [weather] = await query(`SELECT count(DISTINCT city)::int AS cities, min(observed_at) AS first, bool_and((precip_type IS NULL) = (precip_intensity = 0)) AS rain FROM scooter.weather`);
  expect(weather).toEqual({ cities: 3, first: '2019-06-04 06:05:13', rain: true });
});

it('loads every sample without a single quarantine', async () => {
  const lines = await shared().logLines();
  expect(lines.filter((l) => l.event === 'loaded').length).toBe(11);
  expect(lines.filter((l) => ['failed', 'held', 'retrying'].includes(l.event))).toEqual([]);
});

it("DuckDB over every example dataset's Parquet folder reads the table's rows", async () => {
  const tables: Record<string, { table: string; current?: string }> = {
    students: { table: 'public.student_data' },
    'athlete-events': { table: 'public.athlete_events' },
    'nhl-boxscore': { table: 'nhl.game_stats' },
    'football-teams': { table: 'football.competition_teams' },
    // upsert: every delivery keeps its file; the current rows are the latest per key (docs/datasets.md).
    'football-competitions': { table: 'football.competitions', current: 'QUALIFY row_number() OVER (PARTITION BY id ORDER BY _file_id DESC, _source_record DESC) = 1' },
    'scooter-events': { table: 'scooter.events' },
    'scooter-weather': { table: 'scooter.weather' },
  };
  for (const [dataset, { table, current }] of Object.entries(tables)) {
    const lineage = "_file_id::text || ':' || _source_record::text AS row";
    const inTable = (await query<{ row: string }>(`SELECT ${lineage} FROM ${table} ORDER BY 1`)).map((r) => r.row);
    const glob = path.join(shared().folders.parquet, dataset).replace(/'/g, "''");
    const inParquet = (await duckdbQuery(`SELECT ${lineage} FROM read_parquet('${glob}/*.parquet') ${current ?? ''} ORDER BY 1`)).map((r) => r['row']);
    expect({ dataset, rows: inParquet }).toEqual({ dataset, rows: inTable });
    expect(inTable.length).toBeGreaterThan(0);
  }
});
