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
console.log(`wrote examples to ${out}`);
