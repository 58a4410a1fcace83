/**
 * The JSON reader's dataset options beyond the records path, on real files: `unterminated_array`
 * (a top-level array without its closing `]`, as Tier's exports are) and `from_document` (values
 * from elsewhere in the document, as a box score side's team for its players).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../src/config/load.js';
import { resolveDataset } from '../../src/config/dataset.js';
import type { Dataset, UserDataset } from '../../src/config/types.js';
import { ConfigError, DataError } from '../../src/errors.js';
import { readFile } from '../../src/read/index.js';
import { closeText, unterminatedArrayCloser } from '../../src/read/json-unterminated.js';
import type { RawBatch } from '../../src/read/types.js';
import { localFile } from '../../src/source/folder/file-input.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-json-modes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function dataset(json: Partial<Dataset['json']>): Dataset {
  return { format: 'json', csv: { delimiter: ',', header: true, columns: null, quote: '"', encoding: 'utf-8' }, json: { records: null, pathColumns: [], ...json } } as Dataset;
}

let counter = 0;
async function read(content: string | Buffer, ds: Dataset, name = `f${++counter}.json`): Promise<RawBatch & { notes: Record<string, unknown> }> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  const opened = readFile(localFile(file), ds, { batchRows: 2, limits: DEFAULT_LIMITS });
  const all: RawBatch = { records: [], numbers: [], problems: [] };
  for await (const batch of opened.batches) {
    all.records.push(...batch.records);
    all.numbers.push(...batch.numbers);
    all.problems.push(...batch.problems);
  }
  return { ...all, notes: opened.notes };
}

async function readError(content: string, ds: Dataset): Promise<DataError> {
  try {
    await read(content, ds);
  } catch (error) {
    if (error instanceof DataError) return error;
    throw error;
  }
  throw new Error('expected a DataError');
}

const unterminated = dataset({ unterminatedArray: true });
const events = [
  { 'segment_tracks.anonymous_id': 'A1', 'segment_tracks.event_name': 'Signup Started', 'segment_tracks.properties_rating': null },
  { 'segment_tracks.anonymous_id': 'B2', 'segment_tracks.event_name': 'Ride Ended', 'segment_tracks.properties_rating': '5' },
  { 'segment_tracks.anonymous_id': 'C3', 'segment_tracks.event_name': 'App Opened', 'segment_tracks.properties_rating': null },
];
/** As the exports are: `[` then one record per line, each followed by `,`, and no `]`. */
const exportText = (records: object[], lastComma = true) => `[${records.map((r, i) => JSON.stringify(r) + (i < records.length - 1 || lastComma ? ',' : '')).join('\n')}\n`;

describe('json.unterminated_array', () => {
  it('reads records separated by "," and line breaks when the closing "]" is missing, with or without a last comma', async () => {
    for (const text of [exportText(events), exportText(events, false), exportText(events).trimEnd(), exportText(events) + '\n\n  \n']) {
      const result = await read(text, unterminated);
      expect(result.records).toEqual(events);
      expect(result.numbers).toEqual([1, 2, 3]);
      expect(result.problems).toEqual([]);
      expect(result.notes).toEqual({ unterminated_array: 'the closing "]" was missing; loadbay supplied it' });
    }
  });

  it('reads a complete array as it is, and says the array was complete', async () => {
    const result = await read(JSON.stringify(events, null, 2), unterminated);
    expect(result.records).toEqual(events);
    expect(result.notes).toEqual({ unterminated_array: 'the array was complete' });
    expect((await read('[\n', unterminated)).records).toEqual([]);
  });

  it('still refuses a record cut short at the end, saying the mode was used', async () => {
    for (const cut of ['{"segment_tracks.anonymous_id": "D4", "segment_tracks.event_na', '{"a": {"b": 1}', '{"a": 1,', '{"a": "x,']) {
      const error = await readError(exportText(events) + cut, unterminated);
      expect(error.stage).toBe('read');
      expect(error.message).toMatch(/^invalid JSON/);
      expect(error.message).toContain('json.unterminated_array');
    }
  });

  it('is strict by default: the same export without the mode is a syntax error', async () => {
    const error = await readError(exportText(events), dataset({}));
    expect(error.message).toMatch(/^invalid JSON/);
    expect(error.message).not.toContain('unterminated');
  });

  it('wants a top-level array: an object is refused with the reason', async () => {
    const error = await readError('{"a": 1}', unterminated);
    expect(error.message).toMatch(/is an object, not an array of records \(json\.unterminated_array/);
  });

  it('reads a gzipped export and a large one streamed in many chunks', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => ({ n: i, text: 'x, '.repeat(i % 50), nested: { list: [i, ','] } }));
    const text = exportText(many);
    const gz = await read(gzipSync(text), unterminated, 'big.json.gz');
    expect(gz.records).toHaveLength(3000);
    expect(gz.records[2999]).toEqual(many[2999]);
  });

  it('completes the end of any chunking of the text exactly as the whole text', async () => {
    // The streaming closer against closeText on whole texts, for every split into chunks.
    const texts = fc.oneof(
      fc.array(fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer())), { maxLength: 4 }).map((records) => exportText(records)),
      fc.array(fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 4 })), { maxLength: 4 }).map((records) => JSON.stringify(records)),
      fc.string({ unit: fc.constantFrom('[', ']', '{', '}', ',', ' ', '\n', '"', 'a', '1') }),
    );
    await fc.assert(
      fc.asyncProperty(texts, fc.array(fc.nat(), { maxLength: 5 }), async (text, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, i) => text.slice(start, [...points, text.length][i]));
        const closer = unterminatedArrayCloser(() => undefined);
        let out = '';
        closer.on('data', (c: Buffer | string) => (out += String(c)));
        const done = new Promise((resolve) => closer.on('end', resolve));
        for (const chunk of chunks) closer.write(chunk);
        closer.end();
        await done;
        expect(out).toBe(closeText(text));
      }),
    );
  });
});

describe('json.from_document', () => {
  const boxscore = {
    copyright: 'NHL',
    teams: {
      away: {
        team: { id: 10, name: 'Toronto Maple Leafs' },
        players: { ID1: { person: { id: 1, currentTeam: { name: 'Vancouver Canucks' } } }, ID2: { person: { id: 2 } } },
      },
      home: {
        team: { id: 8, name: 'Montreal Canadiens' },
        players: { ID3: { person: { id: 3 } } },
      },
    },
  };
  const players = dataset({ records: 'teams.*.players.*', pathColumns: ['side'], fromDocument: { team_name: 'teams.*.team.name', team_id: 'teams.*.team.id', note: 'copyright' } });

  it("gives each record the value of its own side: the team of the box score, not the player's current team", async () => {
    const result = await read(JSON.stringify(boxscore, null, 1), players);
    expect(result.problems).toEqual([]);
    expect(result.records.map((r) => [(r['person'] as { id: number }).id, r['side'], r['team_name'], r['team_id'], r['note']])).toEqual([
      [1, 'away', 'Toronto Maple Leafs', 10, 'NHL'],
      [2, 'away', 'Toronto Maple Leafs', 10, 'NHL'],
      [3, 'home', 'Montreal Canadiens', 8, 'NHL'],
    ]);
  });

  it('refuses a document whose value comes after records it belongs to, naming the path', async () => {
    // Keys sorted (as json.dumps(sort_keys=True) writes them): "players" before "team".
    const sorted = { teams: { away: { players: boxscore.teams.away.players, team: boxscore.teams.away.team }, home: boxscore.teams.home }, copyright: 'NHL' };
    const error = await readError(JSON.stringify(sorted), dataset({ records: 'teams.*.players.*', fromDocument: { team_name: 'teams.*.team.name' } }));
    expect(error.stage).toBe('read');
    expect(error.message).toBe(
      'teams.away.team.name comes after records it belongs to (json.from_document: team_name); the document is read once, front to back, so the value must come first',
    );
  });

  it('leaves the column out where the document has no such value: the schema says whether it may be missing', async () => {
    const doc = { teams: { away: { players: { ID1: { a: 1 } } }, home: { team: { name: 'Montreal Canadiens' }, players: { ID3: { a: 3 } } } } };
    const result = await read(JSON.stringify(doc), dataset({ records: 'teams.*.players.*', fromDocument: { team_name: 'teams.*.team.name' } }));
    expect(result.problems).toEqual([]);
    expect(result.records).toEqual([{ a: 1 }, { a: 3, team_name: 'Montreal Canadiens' }]);
  });

  it("never replaces a record's own key: such a record is a problem that says so", async () => {
    const result = await read(JSON.stringify(boxscore), dataset({ records: 'teams.*.players.*', fromDocument: { person: 'teams.*.team.name' } }));
    expect(result.records).toEqual([]);
    expect(result.problems.map((p) => p.message)).toEqual([1, 2, 3].map((n) => `record ${n} has a "person" of its own, which json.from_document would replace: name the column otherwise`));
  });

  it('refuses an object where a single value is expected', async () => {
    const result = await read(JSON.stringify(boxscore), dataset({ records: 'teams.*.players.*', fromDocument: { team: 'teams.*.team' } }));
    expect(result.records).toEqual([]);
    expect(result.problems[0]!.message).toContain('teams.away.team is an object or an array, not a single value');
  });

  it('takes values from arrays and keeps integers beyond 2^53 exact', async () => {
    const doc = { data: [{ name: 'a', id: 9007199254740993, items: [{ x: 1 }, { x: 2 }] }, { name: 'b', id: 2, items: [{ x: 3 }] }] };
    const text = JSON.stringify(doc).replace('9007199254740992', '9007199254740993');
    const result = await read(text, dataset({ records: 'data.*.items.*', fromDocument: { group: 'data.*.name', group_id: 'data.*.id' } }));
    expect(result.records).toEqual([
      { x: 1, group: 'a', group_id: 9007199254740993n },
      { x: 2, group: 'a', group_id: 9007199254740993n },
      { x: 3, group: 'b', group_id: 2 },
    ]);
  });

  it('is checked against the records path when the dataset is read', () => {
    const user = (json: UserDataset['json']): UserDataset => ({ name: 'x', match: 'x', format: 'json', json, table: 't', schema: { type: 'object', properties: { a: {} } } });
    expect(() => resolveDataset('x.yaml', user({ records: 'teams.*.players.*', from_document: { t: 'teams.*.team.name' } }))).not.toThrow();
    expect(() => resolveDataset('x.yaml', user({ records: 'teams', from_document: { t: 'a.*.b' } }))).toThrow(/more "\*" steps than json.records/);
    expect(() => resolveDataset('x.yaml', user({ records: 'teams.*', from_document: { t: 'teams.*.name' } }))).toThrow(/inside the records/);
    expect(() => resolveDataset('x.yaml', user({ records: 'teams', unterminated_array: true }))).toThrow(ConfigError);
  });
});
