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

// NHL box score: one document per game, players keyed by "ID<playerId>".
const firstNames = ['Auston', 'Mitch', 'Connor', 'Leon', 'Sidney', 'Nathan', 'Cale', 'Igor', 'Elias', 'Jack'];
const lastNames = ['Larsen', 'Berg', 'Dahl', 'Moen', 'Holm', 'Lund', 'Vik', 'Strand', 'Nilsen', 'Bakke'];
function player(id, goalie, club) {
  const stats = goalie
    ? { goalieStats: { timeOnIce: '60:00', saves: int(15, 40), shots: int(20, 45), decision: pick(['W', 'L']) } }
    : { skaterStats: { timeOnIce: `${int(8, 24)}:${String(int(0, 59)).padStart(2, '0')}`, assists: int(0, 2), goals: int(0, 2), shots: int(0, 6), hits: int(0, 5), penaltyMinutes: pick([0, 0, 2]), plusMinus: int(-2, 2) } };
  return {
    person: { id, fullName: `${pick(firstNames)} ${pick(lastNames)}`, shootsCatches: pick(['L', 'R']), currentTeam: { id: club.id, name: club.name } },
    jerseyNumber: String(int(1, 98)), position: { code: goalie ? 'G' : pick(['C', 'L', 'R', 'D']) }, stats,
  };
}
function team(id, name, first) {
  const players = {};
  for (let i = 0; i < 6; i++) players[`ID${first + i}`] = player(first + i, i === 0, { id, name });
  // Every team has a scorer, so the sample's points_leaders lists both teams.
  players[`ID${first + 1}`].stats.skaterStats.goals = 2;
  players[`ID${first + 6}`] = { person: { id: first + 6, fullName: 'Scratched Player', currentTeam: { id, name } }, jerseyNumber: '99', position: { code: 'N/A' }, stats: {} };
  return { team: { id, name }, teamStats: { teamSkaterStats: { goals: 3, shots: 30 } }, players };
}
writeFileSync(
  path.join(out, 'boxscore_2023020001.json'),
  JSON.stringify({ copyright: 'sample made by loadbay', gamePk: 2023020001, teams: { away: team(10, 'Toronto Maple Leafs', 8478000), home: team(8, 'Montreal Canadiens', 8479000) }, officials: [] }, null, 1),
);

// Football API responses.
const areas = [[2267, 'World', 'INT'], [2072, 'England', 'ENG'], [2081, 'France', 'FRA'], [2077, 'Europe', 'EUR']];
const competitions = [
  [2000, 'FIFA World Cup', 'WC', 'CUP', 0], [2021, 'Premier League', 'PL', 'LEAGUE', 1], [2015, 'Ligue 1', 'FL1', 'LEAGUE', 2],
  [2001, 'UEFA Champions League', 'CL', 'CUP', 3],
].map(([id, name, code, type, a], i) => ({
  id, area: { id: areas[a][0], name: areas[a][1], code: areas[a][2], flag: null }, name, code, type, emblem: `https://example.invalid/${code}.png`, plan: 'TIER_ONE',
  currentSeason: { id: 1400 + i, startDate: '2024-08-16', endDate: '2025-05-25', currentMatchday: type === 'CUP' ? null : 12, winner: null },
  numberOfAvailableSeasons: 20 + i, lastUpdated: '2024-11-20T08:00:00Z',
}));
for (const c of competitions) { c.area.countryCode = c.area.code; delete c.area.code; }
writeFileSync(path.join(out, 'competitions.json'), JSON.stringify({ count: competitions.length, filters: { client: 'sample' }, competitions }, null, 1));
const clubs = ['Arsenal', 'Chelsea', 'Everton', 'Fulham', 'Brentford', 'Burnley'];
const footballTeams = clubs.map((club, i) => ({
  area: { id: 2072, name: 'England' }, id: 57 + i, name: `${club} FC`, shortName: club, tla: club.slice(0, 3).toUpperCase(),
  crest: `https://example.invalid/${57 + i}.png`, address: `${i + 1} Sample Road London`, website: `https://example.invalid/${club.toLowerCase()}`,
  founded: 1870 + i * 7, clubColors: 'Red / White', venue: `${club} Stadium`, lastUpdated: '2024-11-01T10:00:00Z',
}));
writeFileSync(path.join(out, 'teams_PL.json'), JSON.stringify({ count: footballTeams.length, competition: { id: 2021, code: "PL" }, season: { id: 1400 }, teams: footballTeams }, null, 1));
// The Champions League: two Premier League clubs (a team in two competitions) and a French one.
const clTeams = [footballTeams[0], footballTeams[1], {
  area: { id: 2081, name: 'France' }, id: 524, name: 'Paris Saint-Germain FC', shortName: 'PSG', tla: 'PSG', crest: 'https://example.invalid/524.png',
  address: '24 Rue du Commandant Guilbaud Paris', website: 'https://example.invalid/psg', founded: 1970, clubColors: 'Red / Blue / White', venue: 'Parc des Princes', lastUpdated: '2024-11-01T10:00:00Z',
}];
writeFileSync(path.join(out, 'teams_CL.json'), JSON.stringify({ count: clTeams.length, competition: { id: 2001, code: 'CL' }, season: { id: 1403 }, teams: clTeams }, null, 1));
// A competition whose teams response is empty: it must show 0 teams, not vanish.
writeFileSync(path.join(out, 'teams_FL1.json'), JSON.stringify({ count: 0, competition: { id: 2015, code: 'FL1' }, season: { id: 1402 }, teams: [] }, null, 1));

// Scooter track events and weather observations.
const events = [];
for (let i = 0; i < 60; i++) {
  const type = pick(['trip_start', 'trip_end', 'low_battery', 'parked']);
  const event = {
    event_id: `ev-${1000 + i}`, scooter_id: `sc-${int(1, 12)}`, event_type: type,
    timestamp: new Date(Date.UTC(2024, 5, 1, 8, 0, 0) + i * 97_000).toISOString(), battery_level: int(5, 100),
    location: { lat: 59.9 + random() / 10, lon: 10.7 + random() / 10 },
  };
  if (type === 'trip_end') event.trip = { distance_m: int(200, 6000), duration_s: int(60, 1800) };
  events.push(event);
}
writeFileSync(path.join(out, 'scooter_events_2024-06-01.json'), JSON.stringify(events, null, 1));
const weather = [];
for (const [city, country] of [['Oslo', 'NO'], ['Bergen', 'NO'], ['Stockholm', 'SE']]) {
  for (let h = 0; h < 6; h++) {
    weather.push({
      city: { name: city, country }, observed_at: new Date(Date.UTC(2024, 5, 1, 6 + h)).toISOString(),
      weather_data: { temperature_c: int(80, 220) / 10, wind_speed_ms: int(0, 120) / 10, precipitation_mm: pick([0, 0, 0.4, 2.1]), condition: pick(['clear', 'cloudy', 'rain']) },
    });
  }
}
writeFileSync(path.join(out, 'weather_2024-06-01.json'), JSON.stringify(weather, null, 1));
console.log(`wrote examples to ${out}`);
