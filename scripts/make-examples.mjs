#!/usr/bin/env node
// Writes the small sample files under examples/ that the shipped datasets load. Deterministic:
// the same bytes on every run (a seeded generator, fixed gzip settings), made by this project.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const out = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'examples');
mkdirSync(out, { recursive: true });

let seed = 20261122;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

// UCI student performance, semicolon-delimited as in student-mat.csv.
const header = 'school;sex;age;address;famsize;Pstatus;Medu;Fedu;Mjob;Fjob;reason;guardian;traveltime;studytime;failures;schoolsup;famsup;paid;activities;nursery;higher;internet;romantic;famrel;freetime;goout;Dalc;Walc;health;absences;G1;G2;G3';
const jobs = ['teacher', 'health', 'services', 'at_home', 'other'];
const yesNo = () => pick(['yes', 'no']);
const students = [header];
for (let i = 0; i < 40; i++) {
  const g1 = int(3, 19);
  const g2 = Math.max(0, Math.min(20, g1 + int(-2, 2)));
  const g3 = Math.max(0, Math.min(20, g2 + int(-2, 2)));
  students.push([
    pick(['"GP"', '"MS"']), pick(['"F"', '"M"']), int(15, 22), pick(['"U"', '"R"']), pick(['"LE3"', '"GT3"']),
    pick(['"T"', '"A"']), int(0, 4), int(0, 4), `"${pick(jobs)}"`, `"${pick(jobs)}"`,
    `"${pick(['home', 'reputation', 'course', 'other'])}"`, `"${pick(['mother', 'father', 'other'])}"`,
    int(1, 4), int(1, 4), int(0, 3), ...Array.from({ length: 8 }, () => `"${yesNo()}"`),
    int(1, 5), int(1, 5), int(1, 5), int(1, 5), int(1, 5), int(1, 5), int(0, 30), `"${g1}"`, `"${g2}"`, g3,
  ].join(';'));
}
writeFileSync(path.join(out, 'student-mat.csv'), students.join('\n') + '\n');

// Olympic athlete events: JSONL, gzipped; optional fields absent rather than null.
const sports = [['Athletics', "Athletics Men's 100 metres"], ['Swimming', "Swimming Women's 200 metres Freestyle"], ['Rowing', "Rowing Men's Coxless Pairs"], ['Judo', "Judo Women's Lightweight"]];
const teams = [['Norway', 'NOR'], ['Kenya', 'KEN'], ['Japan', 'JPN'], ['Brazil', 'BRA'], ['Canada', 'CAN']];
const games = [[2000, 'Summer', 'Sydney'], [2002, 'Winter', 'Salt Lake City'], [2004, 'Summer', 'Athina']];
const lines = [];
for (let i = 1; i <= 120; i++) {
  const [sport, event] = pick(sports);
  const [team, noc] = pick(teams);
  const [year, season, city] = pick(games);
  const record = { athlete_id: 1000 + i, name: `Athlete ${i}`, sex: event.includes('Women') ? 'F' : 'M' };
  if (random() > 0.1) record.age = int(17, 38);
  if (random() > 0.2) record.height = int(150, 205);
  if (random() > 0.25) record.weight = int(45, 110) + 0.5 * int(0, 1);
  Object.assign(record, { team, noc, year, season, city, sport, event });
  const r = random();
  if (r < 0.05) record.medal = 'Gold';
  else if (r < 0.1) record.medal = 'Silver';
  else if (r < 0.15) record.medal = 'Bronze';
  lines.push(JSON.stringify(record));
}
writeFileSync(path.join(out, 'athlete_events_2000_2004.jsonl.gz'), gzipSync(lines.join('\n') + '\n', { level: 9 }));
// Students: two rows with an empty field, which the dataset's drop_rows_with_nulls removes.
{
  const lines = students.slice();
  lines[5] = lines[5].replace(/;"yes";/, ';;');
  lines[9] = lines[9].replace(/^"(GP|MS)";/, ';');
  writeFileSync(path.join(out, 'student-por.csv'), lines.join('\n') + '\n');
}

// NHL box scores as statsapi.web.nhl.com/api/v1/game/<gamePk>/boxscore returns them: per side
// the team, its stats, and players keyed "ID<playerId>" (person with currentTeam — the player's team
// when the box score was fetched, not necessarily in that game —, position, stats: skaterStats,
// goalieStats, or {} for a scratched player), then goalies/skaters/scratches id lists and coaches.
const firstNames = ['Auston', 'Mitch', 'Connor', 'Leon', 'Sidney', 'Nathan', 'Cale', 'Igor', 'Elias', 'Jack'];
const lastNames = ['Larsen', 'Berg', 'Dahl', 'Moen', 'Holm', 'Lund', 'Vik', 'Strand', 'Nilsen', 'Bakke'];
const clubs = {
  toronto: { id: 10, name: 'Toronto Maple Leafs', link: '/api/v1/teams/10' },
  montreal: { id: 8, name: 'Montreal Canadiens', link: '/api/v1/teams/8' },
  boston: { id: 6, name: 'Boston Bruins', link: '/api/v1/teams/6' },
};
const positions = { C: ['Center', 'Forward', 'C'], L: ['Left Wing', 'Forward', 'LW'], R: ['Right Wing', 'Forward', 'RW'], D: ['Defenseman', 'Defenseman', 'D'], G: ['Goalie', 'Goalie', 'G'] };
const position = (code) => ({ code, name: positions[code][0], type: positions[code][1], abbreviation: positions[code][2] });
const people = new Map();
function person(id, club) {
  if (!people.has(id)) {
    const [first, last] = [pick(firstNames), pick(lastNames)];
    const code = pick(['C', 'L', 'R', 'D']);
    people.set(id, {
      id, fullName: `${first} ${last}`, link: `/api/v1/people/${id}`, firstName: first, lastName: last, primaryNumber: String(int(2, 98)),
      birthDate: `${int(1990, 2003)}-0${int(1, 9)}-1${int(0, 9)}`, currentAge: int(20, 33), birthCity: pick(['Toronto', 'Oslo', 'Boston', 'Quebec']),
      birthCountry: pick(['CAN', 'USA', 'NOR', 'SWE']), nationality: pick(['CAN', 'USA', 'NOR', 'SWE']), height: `6' ${int(0, 4)}"`, weight: int(175, 225),
      active: true, alternateCaptain: false, captain: false, rookie: random() < 0.2, shootsCatches: pick(['L', 'R']), rosterStatus: 'Y',
      currentTeam: club, primaryPosition: position(code),
    });
  }
  return people.get(id);
}
const skaterStats = (goals, assists) => ({
  timeOnIce: `${int(8, 24)}:${String(int(0, 59)).padStart(2, '0')}`, assists, goals, shots: goals + int(0, 5), hits: int(0, 5), powerPlayGoals: 0, powerPlayAssists: 0,
  penaltyMinutes: pick([0, 0, 2]), faceOffWins: int(0, 9), faceoffTaken: int(9, 18), takeaways: int(0, 2), giveaways: int(0, 2), shortHandedGoals: 0, shortHandedAssists: 0,
  blocked: int(0, 3), plusMinus: int(-2, 2), evenTimeOnIce: '12:10', powerPlayTimeOnIce: '1:02', shortHandedTimeOnIce: '0:00',
});
/** One side: a goalie, five skaters (`scores`: [goals, assists] each) and a scratched player. */
function side(club, ids, scores) {
  const players = {};
  const goalie = { person: { ...person(ids[0], club), primaryPosition: position('G') }, jerseyNumber: '30', position: position('G'),
    stats: { goalieStats: { timeOnIce: '60:00', assists: 0, goals: 0, pim: 0, shots: int(20, 40), saves: int(18, 38), decision: pick(['W', 'L']) } } };
  players[`ID${ids[0]}`] = goalie;
  ids.slice(1, 6).forEach((id, i) => {
    const p = person(id, club);
    players[`ID${id}`] = { person: p, jerseyNumber: p.primaryNumber, position: p.primaryPosition, stats: { skaterStats: skaterStats(...scores[i]) } };
  });
  const scratched = person(ids[6], club);
  players[`ID${ids[6]}`] = { person: scratched, jerseyNumber: scratched.primaryNumber, position: { code: 'N/A', name: 'Unknown', type: 'Unknown', abbreviation: 'N/A' }, stats: {} };
  const goals = scores.reduce((n, [g]) => n + g, 0);
  return {
    team: club,
    teamStats: { teamSkaterStats: { goals, pim: 4, shots: 30, powerPlayPercentage: '0.0', powerPlayGoals: 0.0, powerPlayOpportunities: 2.0, faceOffWinPercentage: '50.0', blocked: 12, takeaways: 5, giveaways: 7, hits: 20 } },
    players,
    goalies: [ids[0]], skaters: ids.slice(1, 6), onIce: [], onIcePlus: [], scratches: [ids[6]], penaltyBox: [],
    coaches: [{ person: { fullName: `${pick(firstNames)} ${pick(lastNames)}`, link: '/api/v1/people/null' }, position: { code: 'HC', name: 'Head Coach', type: 'Head Coach', abbreviation: 'Head Coach' } }],
  };
}
const boxscore = (away, home) => ({
  copyright: 'Sample made by loadbay in the shape of NHL statsapi box scores.', teams: { away, home },
  officials: [{ official: { id: 2075, fullName: 'Sample Referee', link: '/api/v1/people/2075' }, officialType: 'Referee' }],
});
const leafs = [8478000, 8478001, 8478002, 8478003, 8478004, 8478005, 8478006];
const habs = [8479000, 8479001, 8479002, 8479003, 8479004, 8479005, 8479006];
const bruins = [8480000, 8480001, 8480002, 8480003, 8480004, 8480005, 8480006];
// 8479003 plays game 1 for Montreal and game 2 for Boston, after a trade; both box scores were
// fetched after it, so his currentTeam reads Boston in both, as a real backfill's would.
const traded = 8479003;
const game1 = boxscore(side(clubs.toronto, leafs, [[0, 1], [2, 0], [0, 0], [1, 1], [0, 0]]), side(clubs.montreal, habs, [[1, 0], [0, 2], [2, 1], [0, 0], [0, 0]]));
// 8478004 retired since: a player with no current team has no currentTeam at all.
delete game1.teams.away.players['ID8478004'].person.currentTeam;
const game2 = boxscore(side(clubs.boston, [...bruins.slice(0, 5), traded, bruins[6]], [[0, 0], [1, 0], [0, 1], [0, 0], [1, 2]]), side(clubs.toronto, leafs, [[1, 0], [0, 0], [0, 1], [0, 0], [0, 0]]));
people.get(traded).currentTeam = clubs.boston;
for (const [gamePk, game] of [[2023020001, game1], [2023020002, game2]]) {
  writeFileSync(path.join(out, `boxscore_${gamePk}.json`), JSON.stringify(game, null, 2));
}

// football-data.org v4. GET /v4/competitions: area with code and flag (null for World), emblem,
// currentSeason with its winner (a team, whose venue may be null, or null).
const areas = [[2267, 'World', 'INT', null], [2072, 'England', 'ENG', 'https://crests.football-data.org/770.svg'], [2081, 'France', 'FRA', 'https://crests.football-data.org/773.svg'], [2077, 'Europe', 'EUR', 'https://crests.football-data.org/EUR.svg']];
const argentina = { id: 762, name: 'Argentina', shortName: 'Argentina', tla: 'ARG', crest: 'https://crests.football-data.org/762.png', address: 'Viamonte 1366/76 Buenos Aires, Buenos Aires 1053', website: 'http://www.afa.org.ar', founded: 1893, clubColors: 'Sky Blue / White / Black', venue: null, lastUpdated: '2022-05-17T21:09:25Z' };
const competitions = [
  [2000, 'FIFA World Cup', 'WC', 'CUP', 0, argentina], [2021, 'Premier League', 'PL', 'LEAGUE', 1, null], [2015, 'Ligue 1', 'FL1', 'LEAGUE', 2, null],
  [2001, 'UEFA Champions League', 'CL', 'CUP', 3, null],
].map(([id, name, code, type, a, winner], i) => ({
  id, area: { id: areas[a][0], name: areas[a][1], code: areas[a][2], flag: areas[a][3] }, name, code, type, emblem: `https://crests.football-data.org/${code}.png`, plan: 'TIER_ONE',
  currentSeason: { id: 1400 + i, startDate: type === 'CUP' && a === 0 ? '2022-11-20' : '2024-08-16', endDate: type === 'CUP' && a === 0 ? '2022-12-18' : '2025-05-25', currentMatchday: type === 'CUP' ? null : 12, winner },
  numberOfAvailableSeasons: 20 + i, lastUpdated: '2024-11-20T08:00:00Z',
}));
writeFileSync(path.join(out, 'competitions.json'), JSON.stringify({ count: competitions.length, filters: { client: 'sample' }, competitions }, null, 2));

// GET /v4/competitions/<code>/teams: the competition and season, then the teams with area,
// runningCompetitions, coach, squad and staff. The API has null for what it does not know: here a
// club without colours, one without website, one without short name and tla, one without crest,
// venue or founding year, and an address the API assembles from nulls ("null London null").
const running = (c) => ({ id: c.id, name: c.name, code: c.code, type: c.type, emblem: c.emblem });
const [, premierLeague, , championsLeague] = competitions;
const clubNames = ['Arsenal', 'Chelsea', 'Everton', 'Fulham', 'Brentford', 'Burnley'];
const footballTeams = clubNames.map((club, i) => ({
  area: { id: 2072, name: 'England', code: 'ENG', flag: 'https://crests.football-data.org/770.svg' },
  id: 57 + i, name: `${club} FC`, shortName: club, tla: club.slice(0, 3).toUpperCase(), crest: `https://crests.football-data.org/${57 + i}.png`,
  address: `${i + 1} Sample Road London`, website: `https://example.invalid/${club.toLowerCase()}`, founded: 1870 + i * 7, clubColors: 'Red / White', venue: `${club} Stadium`,
  runningCompetitions: [running(premierLeague), ...(i < 2 ? [running(championsLeague)] : [])],
  coach: { id: 11000 + i, firstName: pick(firstNames), lastName: i === 3 ? null : pick(lastNames), name: `Coach ${club}`, dateOfBirth: '1980-03-01', nationality: 'England', contract: i === 3 ? { start: null, until: null } : { start: '2023-07', until: '2026-06' } },
  squad: [{ id: 3000 + i, name: `${pick(firstNames)} ${pick(lastNames)}`, position: 'Goalkeeper', dateOfBirth: '1995-01-01', nationality: 'England' }],
  staff: [], lastUpdated: '2024-11-01T10:00:00Z',
}));
footballTeams[5].clubColors = null;
footballTeams[4].website = null;
Object.assign(footballTeams[3], { shortName: null, tla: null, address: 'null London null' });
const teamsResponse = (competition, season, teams) => ({
  count: teams.length, filters: { season: '2024' }, competition: running(competition),
  season: { id: season, startDate: '2024-08-16', endDate: '2025-05-25', currentMatchday: competition.type === 'CUP' ? null : 12, winner: null }, teams,
});
writeFileSync(path.join(out, 'teams_PL.json'), JSON.stringify(teamsResponse(premierLeague, 1401, footballTeams), null, 2));
// The Champions League: two Premier League clubs (a team in two competitions) and a French one.
const paris = {
  area: { id: 2081, name: 'France', code: 'FRA', flag: 'https://crests.football-data.org/773.svg' }, id: 524, name: 'Paris Saint-Germain FC', shortName: 'PSG', tla: 'PSG',
  crest: null, address: '24 Rue du Commandant Guilbaud Paris 75016', website: 'http://www.psg.fr', founded: null, clubColors: 'Red / Blue / White', venue: null,
  runningCompetitions: [running(competitions[2]), running(championsLeague)], coach: { id: 11100, firstName: '', lastName: 'Sample', name: 'Sample', dateOfBirth: null, nationality: null, contract: { start: null, until: null } },
  squad: [], staff: [], lastUpdated: '2024-11-01T10:00:00Z',
};
writeFileSync(path.join(out, 'teams_CL.json'), JSON.stringify(teamsResponse(championsLeague, 1403, [footballTeams[0], footballTeams[1], paris]), null, 2));
// A competition whose teams response is empty: it must show 0 teams, not vanish.
writeFileSync(path.join(out, 'teams_FL1.json'), JSON.stringify(teamsResponse(competitions[2], 1402, []), null, 2));

// Tier's scooter data, as the data-engineering challenge delivered it (its public solutions read
// these keys): flat records whose keys carry the source table, "weather_data.city",
// "segment_tracks.event_name", times as "YYYY-MM-DD HH:MM:SS" without a zone, null where unknown.
// weather.json is an array; track_events.json an array whose closing "]" was never written, one
// record per line, each followed by ",".
const stamp = (base, seconds) => new Date(base + seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
const weather = [];
for (const [i, city] of ['Berlin', 'Zurich', 'Oslo'].entries()) {
  for (let h = 0; h < 6; h++) {
    const raining = random() < 0.4;
    weather.push({
      'weather_data.date_time': stamp(Date.UTC(2019, 5, 4, 6 + h, 5, 13), i * 60), 'weather_data.city': city,
      'weather_data.currently_apparenttemperature': int(800, 2900) / 100, 'weather_data.currently_humidity': int(30, 95) / 100,
      'weather_data.currently_precipintensity': raining ? int(1, 400) / 10000 : 0, 'weather_data.currently_precipprobability': raining ? int(20, 90) / 100 : 0,
      'weather_data.currently_preciptype': raining ? 'rain' : null, 'weather_data.currently_temperature': int(800, 2900) / 100,
      'weather_data.currently_visibility': int(500, 1016) / 100, 'weather_data.currently_windspeed': int(0, 900) / 100,
    });
  }
}
// Observations the feed could not place: no city, no time (dropped and counted by the dataset).
weather.push({ ...weather[0], 'weather_data.city': null }, { ...weather[1], 'weather_data.date_time': null });
writeFileSync(path.join(out, 'weather.json'), `[${weather.map((w) => JSON.stringify(w)).join(',\n')}]\n`);
const uuid = () => Array.from({ length: 32 }, () => '0123456789ABCDEF'[int(0, 15)]).join('').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
const devices = [['iPhone11,6', 'Apple', 'ios', 'iOS', '12.2'], ['SM-G960F', 'samsung', 'android', 'Android', '9'], ['Pixel 3', 'Google', 'android', 'Android', '10']];
const riders = Array.from({ length: 8 }, () => ({ anonymous: uuid(), device: uuid(), kind: pick(devices), zone: pick(['Europe/Berlin', 'Europe/Zurich', 'Europe/Oslo']) }));
const eventNames = ['Signup Started', 'Ride Started', 'Ride Ended', 'Ride Rated', 'App Opened'];
const events = [];
for (let i = 0; i < 40; i++) {
  const rider = pick(riders);
  const name = pick(eventNames);
  const at = Date.UTC(2019, 4, 13, 14, 23, 41) + i * 61_000;
  events.push({
    'segment_tracks.original_timestamp_time': stamp(at, 0), 'segment_tracks.event_name': name, 'segment_tracks.context_timezone': rider.zone,
    'segment_tracks.context_os_version': rider.kind[4], 'segment_tracks.context_os_name': rider.kind[3], 'segment_tracks.context_device_type': rider.kind[2],
    'segment_tracks.context_device_model': rider.kind[0], 'segment_tracks.context_device_manufacturer': rider.kind[1], 'segment_tracks.context_device_id': rider.device,
    'segment_tracks.context_app_version': '3.0.5', 'segment_tracks.context_app_name': 'Tier', 'segment_tracks.context_app_build': '3.0.5.2',
    'segment_tracks.anonymous_id': rider.anonymous, 'segment_tracks.received_time': stamp(at, 5), 'segment_tracks.sent_time': stamp(at, 5),
    'segment_tracks.properties_rating': name === 'Ride Rated' ? String(int(1, 5)) : null,
  });
}
writeFileSync(path.join(out, 'track_events.json'), `[${events.map((e) => `${JSON.stringify(e)},\n`).join('')}`);
console.log(`wrote examples to ${out}`);
