/**
 * The example feeds answer what their original pipelines answered, through a running loadbay on the
 * shipped configuration: NHL players and points leaders (with a corrected game re-delivered and a
 * day backfilled), football teams per competition (a team in two competitions, a competition with
 * no teams, a competition re-delivered, two exports triggered at once), the students' questions and
 * the Olympic medal summary — each figure computed independently from the sample file.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PROJECT_ROOT, sharedEnv, waitFor, type LogLine } from '../helpers/env.js';
import { runCli } from '../helpers/cli.js';

const shared = sharedEnv();

const example = (name: string) => readFile(path.join(PROJECT_ROOT, 'examples', name));

/** The built command line, as a user runs it. */
const run = (args: string[]) => runCli(args);

/** Drops a file (atomically) and waits for the outcome of this drop, even when the name was used before. */
async function drop(name: string, content: string | Buffer, event = 'loaded'): Promise<LogLine> {
  const env = shared();
  const before = (await env.logLines()).filter((l) => l.file === name && ['loaded', 'failed', 'skipped'].includes(l.event)).length;
  const staged = path.join(env.root, `staged-${name}`);
  await writeFile(staged, content);
  await rename(staged, path.join(env.folders.input, name));
  const line = await waitFor(
    async () => (await env.logLines()).filter((l) => l.file === name && ['loaded', 'failed', 'skipped'].includes(l.event))[before],
    { message: `outcome ${before + 1} of ${name}`, timeoutMs: 30_000 },
  );
  expect(line.event).toBe(event);
  return line;
}

async function query<T = Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> {
  return (await shared().pool.query(sql, values)).rows as T[];
}

/** The export written after this load (a run that coalesced several triggers lists them all). */
async function exportedAfter(load: LogLine): Promise<string> {
  const covers = (l: LogLine) => l.file_id === load.file_id || (Array.isArray(l['after_file_ids']) && (l['after_file_ids'] as string[]).includes(String(load.file_id)));
  await waitFor(async () => (await shared().logLines()).some((l) => l.event === 'exported' && covers(l)), {
    message: `the export after ${load.file}`,
  });
  return readFile(path.join(shared().root, 'exports', 'teams_per_competition.csv'), 'utf8');
}

describe('NHL: skaters, players, points leaders, reruns', () => {
  type Skater = { person: { id: number; fullName: string; currentTeam?: { name: string } }; stats: { skaterStats?: { goals: number; assists: number } } };
  type Side = { team: { name: string }; players: Record<string, Skater> };
  type BoxScore = { teams: Record<string, Side> };
  /** The skaters of a box score, each with the team of his side in that game. */
  const skaters = (doc: BoxScore) =>
    Object.values(doc.teams).flatMap((side) => Object.values(side.players).filter((p) => p.stats.skaterStats).map((p) => ({ ...p, team: side.team.name })));
  /** Every game loaded in this describe, by game id: the reference the models are computed from. */
  const games = new Map<number, BoxScore>();
  async function dropGame(gameId: number, doc: BoxScore): Promise<LogLine> {
    const line = await drop(`boxscore_${gameId}.json`, JSON.stringify(doc));
    games.set(gameId, doc);
    return line;
  }
  /** The original job's models, computed from the box scores themselves: points count for the team they were scored for. */
  function reference() {
    const byPlayerTeam = new Map<string, { team_name: string; id: number; full_name: string; points: number; latest: number }>();
    const byPlayer = new Map<number, { id: string; full_name: string; team_name: string; points: number; latest: number }>();
    for (const [gameId, doc] of [...games].sort((a, b) => a[0] - b[0])) {
      for (const p of skaters(doc)) {
        const points = p.stats.skaterStats!.goals + p.stats.skaterStats!.assists;
        const key = `${p.team}\u0000${p.person.id}`;
        const tally = byPlayerTeam.get(key) ?? { team_name: p.team, id: p.person.id, full_name: p.person.fullName, points: 0, latest: 0 };
        byPlayerTeam.set(key, { ...tally, points: tally.points + points, full_name: p.person.fullName, latest: gameId });
        const player = byPlayer.get(p.person.id) ?? { id: String(p.person.id), full_name: '', team_name: '', points: 0, latest: 0 };
        byPlayer.set(p.person.id, { ...player, full_name: p.person.fullName, team_name: p.team, points: player.points + points, latest: gameId });
      }
    }
    const leaders = new Map<string, Array<{ team_name: string; full_name: string; points: string }>>();
    for (const t of byPlayerTeam.values()) {
      if (t.points <= 0) continue;
      const best = leaders.get(t.team_name);
      const row = { team_name: t.team_name, full_name: t.full_name, points: String(t.points) };
      if (!best || Number(best[0]!.points) < t.points) leaders.set(t.team_name, [row]);
      else if (Number(best[0]!.points) === t.points) best.push(row);
    }
    const byKey = (a: { team_name: string; full_name: string }, b: { team_name: string; full_name: string }) =>
      a.team_name.localeCompare(b.team_name) || a.full_name.localeCompare(b.full_name);
    return {
      players: [...byPlayer.values()].map(({ id, full_name, team_name, points }) => ({ id, full_name, team_name, points: String(points) })).sort((a, b) => Number(a.id) - Number(b.id)),
      leaders: [...leaders.values()].flat().sort(byKey),
    };
  }
  async function expectModels(): Promise<void> {
    const wanted = reference();
    expect(await query('SELECT id::text, full_name, team_name, points::text FROM nhl.nhl_players ORDER BY id')).toEqual(wanted.players);
    expect(await query('SELECT team_name, full_name, points::text FROM nhl.points_leaders ORDER BY team_name, full_name')).toEqual(wanted.leaders);
  }

  it('loads the sample game and builds nhl_players and points_leaders as the original job did', async () => {
    const doc = JSON.parse(String(await example('boxscore_2023020001.json'))) as BoxScore;
    await dropGame(2023020001, doc);
    await expectModels();
    // The documented command: the top 10 points leaders.
    const top = await query('SELECT full_name, team_name, points FROM nhl.points_leaders ORDER BY points DESC, full_name LIMIT 10');
    expect(top.length).toBeGreaterThan(0);
  });

  it('a corrected box score for the same game replaces its rows and updates the tallies; a backfilled game adds to them', async () => {
    const doc = JSON.parse(String(await example('boxscore_2023020001.json'))) as BoxScore;
    const [first] = skaters(doc);
    doc.teams['away']!.players[`ID${first!.person.id}`]!.stats.skaterStats!.goals += 3; // the correction
    const line = await dropGame(2023020001, doc);
    expect(line).toMatchObject({ rows: 10, mode: 'replace' });
    expect(await query('SELECT count(*)::int AS n FROM nhl.game_stats WHERE game_id = 2023020001')).toEqual([{ n: 10 }]);
    await expectModels();
    // The backfilled day: another game between the same teams, the same player scoring once more.
    const next = JSON.parse(JSON.stringify(doc)) as BoxScore;
    for (const side of Object.values(next.teams)) for (const p of Object.values(side.players)) if (p.stats.skaterStats) p.stats.skaterStats = { goals: 0, assists: 0 };
    next.teams['away']!.players[`ID${first!.person.id}`]!.stats.skaterStats = { goals: 1, assists: 0 };
    await dropGame(2023020002, next);
    expect(await query('SELECT count(DISTINCT game_id)::int AS games FROM nhl.game_stats')).toEqual([{ games: 2 }]);
    await expectModels();
    // The player now leads his team alone.
    expect(await query('SELECT full_name FROM nhl.points_leaders WHERE team_name = $1', [first!.team])).toEqual([{ full_name: first!.person.fullName }]);
  });

  it('credits each team with the points scored for it: a player traded between box scores leads the team he scored for, not his new one', async () => {
    // Sample game 2: Boston against Toronto, with 8479003, who played game 1 for Montreal. Both box
    // scores were fetched after the trade: his currentTeam reads Boston in game 1 as well.
    const game1 = JSON.parse(String(await example('boxscore_2023020001.json'))) as BoxScore;
    const game2 = JSON.parse(String(await example('boxscore_2023020002.json'))) as BoxScore;
    const traded = game1.teams['home']!.players['ID8479003']!;
    expect(traded.person.currentTeam!.name).toBe('Boston Bruins');
    expect(game2.teams['away']!.players['ID8479003']).toBeDefined();
    game1.teams['home']!.players['ID8479003']!.stats.skaterStats!.assists += 1; // a corrected game 1, so it loads again
    await dropGame(2023020001, game1);
    await dropGame(2023020003, game2);
    await expectModels();
    // What he scored for each team, from the box scores loaded (the backfilled game of the test before has him too).
    const scored = (team: string) =>
      [...games.values()].flatMap((g) => skaters(g)).filter((p) => p.person.id === 8479003 && p.team === team).map((p) => p.stats.skaterStats!.goals + p.stats.skaterStats!.assists);
    const forMontreal = scored('Montreal Canadiens').reduce((a, b) => a + b, 0);
    const forBoston = scored('Boston Bruins').reduce((a, b) => a + b, 0);
    expect(forMontreal).toBeGreaterThan(0);
    expect(forBoston).toBeGreaterThan(0);
    expect(await query('SELECT team_name, points::int, games::int FROM nhl.player_team_points WHERE id = 8479003 ORDER BY team_name')).toEqual([
      { team_name: 'Boston Bruins', points: forBoston, games: scored('Boston Bruins').length },
      { team_name: 'Montreal Canadiens', points: forMontreal, games: scored('Montreal Canadiens').length },
    ]);
    // He scored the most for Montreal in the games loaded, and Montreal keeps that; Boston is
    // credited only with what he scored for Boston.
    expect(await query(`SELECT points::int FROM nhl.points_leaders WHERE team_name = 'Montreal Canadiens' AND full_name = $1`, [traded.person.fullName])).toEqual([{ points: forMontreal }]);
    expect(await query(`SELECT max(points)::int AS points FROM nhl.points_leaders WHERE team_name = 'Boston Bruins'`)).toEqual([{ points: forBoston }]);
    // nhl_players: one row per player, his total, the team of his latest game.
    expect(await query('SELECT team_name, points::int FROM nhl.nhl_players WHERE id = 8479003')).toEqual([{ team_name: 'Boston Bruins', points: forMontreal + forBoston }]);
  });

  it('refuses a box score whose side lists its players before its team, saying why', async () => {
    const doc = JSON.parse(String(await example('boxscore_2023020001.json'))) as BoxScore;
    const { team, ...rest } = doc.teams['away']!;
    doc.teams['away'] = { ...rest, team } as Side; // keys in another order: "players" before "team"
    const line = await drop('boxscore_2023020004.json', JSON.stringify(doc), 'failed');
    expect(line).toMatchObject({ stage: 'read' });
    expect(line.reason).toContain('teams.away.team.id comes after records it belongs to (json.from_document: team_id)');
  });
});

describe('football: teams per competition', () => {
  it('counts a team in every competition it plays in, shows a competition without teams, orders by teams', async () => {
    await drop('competitions.json', await example('competitions.json'));
    await drop('teams_PL.json', await example('teams_PL.json'));
    await drop('teams_CL.json', await example('teams_CL.json'));
    const line = await drop('teams_FL1.json', await example('teams_FL1.json'));
    expect(line).toMatchObject({ rows: 0 });
    expect((await exportedAfter(line)).trim().split('\n')).toEqual([
      'Competition,Number of Teams',
      'Premier League,6',
      'UEFA Champions League,3',
      'FIFA World Cup,0',
      'Ligue 1,0',
    ]);
    expect(await query('SELECT count(*)::int AS teams FROM football.dim_teams')).toEqual([{ teams: 7 }]);
    expect(await query(`SELECT count(*)::int AS n FROM football.fact_competitions WHERE team_id = 57`)).toEqual([{ n: 2 }]);
  });

  it('a competition delivered again replaces its memberships: a team that left is no longer counted', async () => {
    const cl = JSON.parse(String(await example('teams_CL.json')));
    cl.teams = cl.teams.filter((t: { id: number }) => t.id !== 58);
    const csv = await exportedAfter(await drop('teams_CL.json', JSON.stringify(cl)));
    expect(csv).toContain('UEFA Champions League,2\n');
    expect(await query('SELECT competition_id::int FROM football.fact_competitions WHERE team_id = 58')).toEqual([{ competition_id: 2021 }]);
  });

  it('a load recovered after it could not be moved is exported too', async () => {
    const env = shared();
    const blocker = path.join(env.folders.archive, 'football-teams', 'late');
    await mkdir(path.dirname(blocker), { recursive: true });
    await writeFile(blocker, 'a file where a folder should be: the move fails');
    const pl = JSON.parse(String(await example('teams_PL.json')));
    pl.teams = pl.teams.slice(0, 5);
    await mkdir(path.join(env.folders.input, 'late'), { recursive: true });
    await writeFile(path.join(env.root, 'late.json'), JSON.stringify(pl));
    await rename(path.join(env.root, 'late.json'), path.join(env.folders.input, 'late', 'teams_PL.json'));
    await env.outcome('late/teams_PL.json', 'retrying');
    await rm(blocker);
    const recovered = await env.outcome('late/teams_PL.json', 'loaded');
    expect(recovered).toMatchObject({ recovered: true });
    expect(await exportedAfter(recovered)).toContain('Premier League,5\n');
  });

  it('two exports triggered at once: one file, complete and current, nothing left behind', async () => {
    const env = shared();
    const pl = JSON.parse(String(await example('teams_PL.json')));
    pl.teams = pl.teams.slice(0, 4);
    const competitions = JSON.parse(String(await example('competitions.json')));
    competitions.competitions[0].name = 'FIFA World Cup (renamed)';
    const failedBefore = (await env.logLines()).filter((l) => l.event === 'export_failed').length;
    const loads = await Promise.all([drop('teams_PL.json', JSON.stringify(pl)), drop('competitions-2.json', JSON.stringify(competitions))]);
    for (const load of loads) await exportedAfter(load);
    // Whichever export ran last ran after both loads.
    await waitFor(async () => {
      const csv = await readFile(path.join(env.root, 'exports', 'teams_per_competition.csv'), 'utf8');
      return csv.includes('Premier League,4\n') && csv.includes('FIFA World Cup (renamed),0\n');
    }, { message: 'the final snapshot' });
    expect((await env.logLines()).filter((l) => l.event === 'export_failed').length).toBe(failedBefore);
    expect((await readdir(path.join(env.root, 'exports'))).filter((f) => f !== 'teams_per_competition.csv')).toEqual([]);
  });

  it('loads what the real API returns for clubs it knows little about: null short name, tla, crest, address, website, founded, colours, venue', async () => {
    // The World Cup's national teams, as GET /v4/competitions/WC/teams has them: a federation with
    // no colours on record, one with nothing but a name.
    const response = JSON.parse(String(await example('teams_CL.json')));
    response.competition = { id: 2000, name: 'FIFA World Cup', code: 'WC', type: 'CUP', emblem: null };
    const known = { ...response.teams[2], id: 762, name: 'Argentina', shortName: 'Argentina', tla: 'ARG', clubColors: null, venue: null, website: null };
    const unknown = Object.fromEntries(Object.keys(known).map((k) => [k, null]));
    response.teams = [known, { ...unknown, id: 9999, name: 'Tuvalu', area: { id: 2250, name: 'Tuvalu', code: null, flag: null }, runningCompetitions: [], squad: [], staff: [] }];
    response.count = 2;
    const line = await drop('teams_WC.json', JSON.stringify(response));
    expect(line).toMatchObject({ rows: 2 });
    expect(await query(`SELECT name, short_name, tla, crest, address, website, founded, club_colors, venue, last_updated FROM football.competition_teams WHERE id = 9999`)).toEqual([
      { name: 'Tuvalu', short_name: null, tla: null, crest: null, address: null, website: null, founded: null, club_colors: null, venue: null, last_updated: null },
    ]);
    expect(await exportedAfter(line)).toMatch(/^FIFA World Cup( \(renamed\))?,2$/m); // renamed by the test before
  });

  it('refuses a teams file named by competition id instead of code, with the reason, and changes nothing', async () => {
    const before = await query('SELECT competition_code, count(*)::int AS n FROM football.competition_teams GROUP BY 1 ORDER BY 1');
    // The Champions League's teams of another season, saved as teams_2001.json.
    const cl = JSON.parse(String(await example('teams_CL.json')));
    cl.filters = { season: '2023' };
    const line = await drop('teams_2001.json', JSON.stringify(cl), 'failed');
    expect(line).toMatchObject({ dataset: 'football-teams', stage: 'check' });
    const why = 'the file name gives competition code "2001", which no competition has; the response is for competition CL (id 2001): name the file teams_CL.json';
    expect(line.reason).toBe(`check sql "every membership's competition exists" failed: 1 violation; first: ${why}`);
    const report = JSON.parse(await readFile(path.join(shared().root, `${String(line['quarantined_as'])}.error.json`), 'utf8'));
    expect(report.problems[0]).toMatchObject({ rule: `check sql "every membership's competition exists"`, message: `violates sql "every membership's competition exists": ${why}` });
    expect(await query('SELECT competition_code, count(*)::int AS n FROM football.competition_teams GROUP BY 1 ORDER BY 1')).toEqual(before);
  });

  it('failed retry FILE --dataset NAME routes a file no dataset matches to that dataset by hand', async () => {
    const env = shared();
    const competitions = JSON.parse(String(await example('competitions.json')));
    competitions.competitions[3].name = 'UEFA Champions League (by hand)';
    const unmatched = await drop('football_competitions_2024.json', JSON.stringify(competitions), 'failed');
    expect(unmatched).toMatchObject({ dataset: null, stage: 'route', reason: 'no dataset matches' });
    const retry = await run(['failed', 'retry', 'football_competitions_2024.json', '--dataset', 'football-competitions', '--config', env.configFile]);
    expect(retry).toMatchObject({ code: 0 });
    expect(retry.out).toContain('_unmatched/football_competitions_2024.json → input/_dataset/football-competitions/football_competitions_2024.json (routed to football-competitions by hand)');
    const loaded = await env.outcome('_dataset/football-competitions/football_competitions_2024.json', 'loaded');
    expect(loaded).toMatchObject({ dataset: 'football-competitions', rows: 4 });
    expect(await query('SELECT name FROM football.competitions WHERE id = 2001')).toEqual([{ name: 'UEFA Champions League (by hand)' }]);
    expect((await env.logLines()).find((l) => l.event === 'retried' && l['routed_to'] === 'football-competitions')).toMatchObject({ from: '_unmatched/football_competitions_2024.json' });
    // A dataset that does not exist is a usage error that names the datasets there are.
    const wrong = await run(['failed', 'retry', 'x.json', '--dataset', 'nope', '--config', env.configFile]);
    expect(wrong.code).toBe(2);
    expect(wrong.out).toContain('no dataset "nope" (datasets: athlete-events, football-competitions');
  });
});

describe('the students and Olympic feeds keep their answers', () => {
  it('answers the four student questions on the student-mat sample as the file itself does', async () => {
    const text = String(await example('student-mat.csv'));
    const [head, ...lines] = text.trim().split('\n');
    const names = head!.split(';').map((h) => h.toLowerCase());
    const records = lines.map((l) => Object.fromEntries(l.split(';').map((v, i) => [names[i], v.replace(/^"|"$/g, '').toLowerCase()])));
    const complete = records.filter((r) => Object.values(r).every((v) => v !== ''));
    await drop('student-mat.csv', text);
    const mean = (rows: typeof complete) => rows.reduce((s, r) => s + Number(r['g3']), 0) / rows.length;
    const groups = (key: string) => [...new Set(complete.map((r) => r[key]!))].sort().map((value) => ({ value, g3: mean(complete.filter((r) => r[key] === value)) }));
    const rounded = (rows: Array<{ value: string; g3: number }>) => rows.map(({ value, g3 }) => ({ value, g3: Math.round(g3 * 1000) / 1000 }));
    const db = async (sql: string) => rounded((await query<{ value: string; g3: string }>(sql)).map((r) => ({ value: String(r.value), g3: Number(r.g3) })));
    const where = `WHERE _source_file = 'student-mat.csv'`;
    // 1. the average final grade per school; 2. with and without internet at home; 3. per weekly study time.
    expect(await db(`SELECT school AS value, avg(g3) AS g3 FROM student_data ${where} GROUP BY 1 ORDER BY 1`)).toEqual(rounded(groups('school')));
    expect(await db(`SELECT internet::text AS value, avg(g3) AS g3 FROM student_data ${where} GROUP BY 1 ORDER BY 1`)).toEqual(
      rounded(groups('internet').map((g) => ({ ...g, value: g.value === 'yes' ? 'true' : 'false' }))).sort((a, b) => a.value.localeCompare(b.value)),
    );
    expect(await db(`SELECT studytime::text AS value, avg(g3) AS g3 FROM student_data ${where} GROUP BY 1 ORDER BY 1`)).toEqual(rounded(groups('studytime')));
    // 4. how many students passed (final grade 10 or more) per sex.
    const passed = [...new Set(complete.map((r) => r['sex']!))].sort().map((sex) => ({ sex, n: complete.filter((r) => r['sex'] === sex && Number(r['g3']) >= 10).length }));
    expect(await query(`SELECT sex, count(*) FILTER (WHERE g3 >= 10)::int AS n FROM student_data ${where} GROUP BY 1 ORDER BY 1`)).toEqual(passed);
  });

  it('rebuilds the Olympic medal summary as counted from the sample itself', async () => {
    const gz = await example('athlete_events_2000_2004.jsonl.gz');
    await drop('athlete_events_2000_2004.jsonl.gz', gz);
    const athletes = gunzipSync(gz).toString().trim().split('\n').map((l) => JSON.parse(l) as { year: number; season: string; team: string; medal?: string });
    const teams = new Map<string, Set<string>>();
    for (const a of athletes) if (a.medal) (teams.get(`${a.year} ${a.season}`) ?? teams.set(`${a.year} ${a.season}`, new Set()).get(`${a.year} ${a.season}`)!).add(a.team);
    const expected = [...teams].map(([games, set]) => ({ games, countries: set.size })).sort((a, b) => a.games.localeCompare(b.games));
    expect(await query(`SELECT year || ' ' || season AS games, countries_with_medals::int AS countries FROM reporting.medal_summary ORDER BY 1`)).toEqual(expected);
  });
});

describe("Tier's scooter feeds: dotted keys, track events without their closing bracket", () => {
  const example2 = async (name: string) => String(await example(name));
  const lines = (text: string) => text.trimEnd().split('\n');

  it('loads an export whose last record ends in "," and one that is complete, saying which in the log line', async () => {
    const text = await example2('track_events.json');
    expect(text.startsWith('[{"segment_tracks.')).toBe(true);
    expect(text.trimEnd().endsWith('},')).toBe(true);
    const open = await drop('track_events_2019-05-14.json', lines(text).slice(0, 10).join('\n') + '\n');
    expect(open).toMatchObject({ dataset: 'scooter-events', rows: 10, read: { unterminated_array: 'the closing "]" was missing; loadbay supplied it' } });
    const closed = await drop('track_events_2019-05-15.json', lines(text).slice(0, 5).join('\n').replace(/,$/, '') + '\n]\n');
    expect(closed).toMatchObject({ rows: 5, read: { unterminated_array: 'the array was complete' } });
    expect(await query(`SELECT anonymous_id, event_name, received_time FROM scooter.events WHERE _file_id = $1 ORDER BY _source_record LIMIT 1`, [open.file_id])).toEqual([
      { anonymous_id: JSON.parse(lines(text)[0]!.slice(1, -1))['segment_tracks.anonymous_id'], event_name: expect.any(String), received_time: expect.stringMatching(/^2019-05-13 \d\d:\d\d:\d\d$/) },
    ]);
  });

  it('refuses an export cut off inside its last record, and its report says how it was read', async () => {
    const text = lines(await example2('track_events.json'));
    const cut = [...text.slice(0, 4), text[4]!.slice(0, 80)].join('\n');
    const line = await drop('track_events_2019-05-16.json', cut, 'failed');
    expect(line).toMatchObject({ stage: 'read' });
    expect(line.reason).toMatch(/^invalid JSON .*\(read as an array that may lack its closing "\]": json\.unterminated_array\)$/);
    expect(await query(`SELECT count(*)::int AS n FROM scooter.events WHERE _source_file = 'track_events_2019-05-16.json'`)).toEqual([{ n: 0 }]);
  });

  it('a record the schema refuses: the failure report names it and says the closing bracket was supplied', async () => {
    const text = lines(await example2('track_events.json'));
    const bad = JSON.parse(text[2]!.replace(/,$/, ''));
    bad['segment_tracks.received_time'] = '13/05/2019 14:23';
    const line = await drop('track_events_2019-05-17.json', [...text.slice(0, 2), JSON.stringify(bad) + ','].join('\n') + '\n', 'failed');
    expect(line).toMatchObject({ stage: 'validate', read: { unterminated_array: 'the closing "]" was missing; loadbay supplied it' } });
    const report = JSON.parse(await readFile(path.join(shared().root, `${String(line['quarantined_as'])}.error.json`), 'utf8'));
    expect(report).toMatchObject({ read: { unterminated_array: 'the closing "]" was missing; loadbay supplied it' } });
    expect(report.problems[0]).toMatchObject({ record: 3, field: 'received_time', rule: 'format: must match format "iso-date-time"' });
  });

  it('is strict where the dataset does not opt in: weather without its closing bracket is refused', async () => {
    const text = lines(await example2('weather.json'));
    const line = await drop('weather_2019-06-05.json', text.slice(0, 4).join('\n') + '\n', 'failed');
    expect(line).toMatchObject({ dataset: 'scooter-weather', stage: 'read' });
    expect(line.reason).toMatch(/^invalid JSON/);
    expect(line.reason).not.toContain('unterminated');
  });

  it("makes its tables again when their schema was dropped behind its back (the README's way to start over)", async () => {
    await query('DROP SCHEMA scooter CASCADE');
    const text = lines(await example2('track_events.json'));
    const line = await drop('track_events_2019-05-18.json', text.slice(0, 3).join('\n') + '\n');
    expect(line).toMatchObject({ dataset: 'scooter-events', rows: 3 });
    expect(await query('SELECT count(*)::int AS n FROM scooter.events')).toEqual([{ n: 3 }]);
  });
});
