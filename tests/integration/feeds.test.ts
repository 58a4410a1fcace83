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

const shared = sharedEnv();

const example = (name: string) => readFile(path.join(PROJECT_ROOT, 'examples', name));

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
  type Skater = { person: { id: number; fullName: string; currentTeam: { name: string } }; stats: { skaterStats?: { goals: number; assists: number } } };
  const skaters = (doc: { teams: Record<string, { players: Record<string, Skater> }> }) =>
    Object.values(doc.teams).flatMap((t) => Object.values(t.players)).filter((p) => p.stats.skaterStats);

  it('loads the sample game and builds nhl_players and points_leaders as the original job did', async () => {
    const doc = JSON.parse(String(await example('boxscore_2023020001.json')));
    await drop('boxscore_2023020001.json', JSON.stringify(doc));
    const expected = skaters(doc).map((p) => ({
      id: String(p.person.id),
      full_name: p.person.fullName,
      team_name: p.person.currentTeam.name,
      points: String(p.stats.skaterStats!.goals + p.stats.skaterStats!.assists),
    }));
    expect(await query('SELECT id::text, full_name, team_name, points::text FROM nhl.nhl_players ORDER BY id')).toEqual(
      expected.sort((a, b) => Number(a.id) - Number(b.id)),
    );
    // Each team's top scorer, ties kept, only with points.
    const leaders = new Map<string, typeof expected>();
    for (const p of expected) {
      const best = leaders.get(p.team_name);
      if (Number(p.points) <= 0) continue;
      if (!best || Number(best[0]!.points) < Number(p.points)) leaders.set(p.team_name, [p]);
      else if (Number(best[0]!.points) === Number(p.points)) best.push(p);
    }
    const wanted = [...leaders.values()].flat().map((p) => ({ team_name: p.team_name, full_name: p.full_name, points: p.points }));
    const byKey = (a: { team_name: string; full_name: string }, b: { team_name: string; full_name: string }) =>
      a.team_name.localeCompare(b.team_name) || a.full_name.localeCompare(b.full_name);
    expect(await query('SELECT team_name, full_name, points::text FROM nhl.points_leaders')).toEqual(expect.arrayContaining(wanted));
    expect((await query<{ team_name: string; full_name: string }>('SELECT team_name, full_name FROM nhl.points_leaders')).sort(byKey)).toEqual(
      wanted.map(({ team_name, full_name }) => ({ team_name, full_name })).sort(byKey),
    );
    // The documented command: the top 10 points leaders.
    const top = await query('SELECT full_name, team_name, points FROM nhl.points_leaders ORDER BY points DESC, full_name LIMIT 10');
    expect(top.length).toBeGreaterThan(0);
  });

  it('a corrected box score for the same game replaces its rows and updates the tallies; a backfilled game adds to them', async () => {
    const doc = JSON.parse(String(await example('boxscore_2023020001.json')));
    const [first] = skaters(doc);
    first!.stats.skaterStats!.goals += 3; // the correction
    const line = await drop('boxscore_2023020001.json', JSON.stringify(doc));
    expect(line).toMatchObject({ rows: 10, mode: 'replace' });
    expect(await query('SELECT count(*)::int AS n FROM nhl.game_stats WHERE game_id = 2023020001')).toEqual([{ n: 10 }]);
    const id = first!.person.id;
    const points = first!.stats.skaterStats!.goals + first!.stats.skaterStats!.assists;
    expect(await query('SELECT points::int FROM nhl.nhl_players WHERE id = $1', [id])).toEqual([{ points }]);
    // The backfilled day: another game with the same player scoring once more.
    const next = JSON.parse(JSON.stringify(doc));
    for (const p of skaters(next)) p.stats.skaterStats = { goals: 0, assists: 0 };
    skaters(next)[0]!.stats.skaterStats = { goals: 1, assists: 0 };
    await drop('boxscore_2023020002.json', JSON.stringify(next));
    expect(await query('SELECT points::int FROM nhl.nhl_players WHERE id = $1', [id])).toEqual([{ points: points + 1 }]);
    expect(await query('SELECT count(DISTINCT game_id)::int AS games FROM nhl.game_stats')).toEqual([{ games: 2 }]);
    // The player now leads their team alone.
    expect(await query('SELECT full_name, points::int FROM nhl.points_leaders WHERE team_name = $1', [first!.person.currentTeam.name])).toEqual([
      { full_name: first!.person.fullName, points: points + 1 },
    ]);
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
