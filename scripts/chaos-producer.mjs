/**
 * The stream of files both chaos runs deliver (scripts/chaos.mjs into a folder, chaos-s3.mjs into a
 * bucket): valid files of `events` rows, invalid ones (a negative amount in the last row),
 * duplicates of earlier valid ones, some large, in bursts that are loaded in groups — and what each
 * must end as (`expected`: name → { kind: 'valid' | 'invalid' | 'duplicate', ids?, rows?, of? }).
 */

/** The dataset the events load into (the same in both runs). */
export const EVENTS_DATASET = `name: events
match: ["events-*.csv", "events-*.csv.gz"]
format: csv
table: chaos.events
schema:
  type: object
  required: [id, kind, amount]
  properties:
    id: { type: integer }
    kind: { type: string, enum: [click, view, buy] }
    amount: { type: number, minimum: 0 }
    at: { type: string, format: date-time }
`;

/** `rows` events from `firstId`; `bad`: the last one's amount is negative (the dataset refuses it). */
export function eventsCsv(firstId, rows, bad = false) {
  const lines = ['id,kind,amount,at'];
  for (let i = 0; i < rows; i++) {
    const kind = ['click', 'view', 'buy'][i % 3];
    const amount = bad && i === rows - 1 ? -1 : (i % 1000) / 10;
    lines.push(`${firstId + i},${kind},${amount},2026-11-22T10:${String(i % 60).padStart(2, '0')}:00Z`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Delivers `files` files with `deliver(name, content)`, choices drawn from `random` (the run's seed);
 * `largeFrom`: the draw above which a valid file has 150,000 rows. Returns what each must end as.
 */
export async function produceEvents({ files, random, sleep, deliver, largeFrom }) {
  const expected = new Map();
  const validContents = [];
  let burst = 0; // files left in a burst: delivered back to back, so they are loaded in groups
  for (let n = 1; n <= files; n++) {
    const name = `events-${String(n).padStart(4, '0')}.csv`;
    const r = random();
    if (r < 0.12 && validContents.length > 0) {
      const original = validContents[Math.floor(random() * validContents.length)];
      expected.set(name, { kind: 'duplicate', of: original.name });
      await deliver(name, original.content);
    } else if (r < 0.25) {
      expected.set(name, { kind: 'invalid' });
      await deliver(name, eventsCsv(n * 1_000_000, 50, true));
    } else {
      const rows = r > largeFrom ? 150_000 : 20 + Math.floor(random() * 400);
      const content = eventsCsv(n * 1_000_000, rows);
      expected.set(name, { kind: 'valid', ids: [n * 1_000_000, n * 1_000_000 + rows - 1], rows });
      validContents.push({ name, content });
      await deliver(name, content);
    }
    if (burst > 0) burst--;
    else if (random() < 0.08) burst = 10 + Math.floor(random() * 20);
    else await sleep(random() * 60);
  }
  return expected;
}
