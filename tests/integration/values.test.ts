/**
 * Values through a running daemon where the file's outcome, not only the value, was wrong: a
 * rejected record holding a number only its digits hold, record keys named like Object.prototype
 * members, and formats nothing checks.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sharedEnv, createTestEnv } from '../helpers/env.js';

const lenient = (name: string, format: string, properties: string, required = '[id]') =>
  `name: ${name}\nmatch: "${name}-*"\nformat: ${format}\ntable: vt.${name.replace(/-/g, '_')}\non_invalid_row: skip_row\nschema:\n  type: object\n  required: ${required}\n  properties:\n${properties}`;

const shared = sharedEnv({
  datasets: {
    'big.yaml': lenient('big', 'jsonl', '    id: { type: integer }\n    doc: { type: object }\n    n: { type: number, minimum: 0 }\n'),
    'big-json.yaml': lenient('big-json', 'json', '    id: { type: integer }\n    doc: { type: object }\n    n: { type: number, minimum: 0 }\n'),
    'proto.yaml': lenient('proto', 'jsonl', '    id: { type: integer }\n    constructor: { type: string }\n    toString: { type: string }\n    __proto__: { type: number }\n'),
    'proto-req.yaml': lenient('proto-req', 'jsonl', '    id: { type: integer }\n    constructor: {}\n    toString: {}\n    __proto__: {}\n', '[__proto__, toString, constructor]'),
  },
});

it('writes a rejected record holding integers beyond 2^53 to the rejects file, digits intact, and loads the rest (it was retried for ever)', async () => {
  const env = shared();
  const lines = [
    '{"id": 1, "doc": {"big": 12345678901234567890}, "n": 1}',
    '{"id": 2, "doc": {"big": 12345678901234567890, "x": 1.00000000000000001}, "n": -1}',
    '{"id": 9223372036854775808}',
  ];
  await env.drop('big-a.jsonl', lines.join('\n') + '\n');
  const line = await env.outcome('big-a.jsonl');
  expect(line).toMatchObject({ event: 'loaded', rows: 1, rejected: 2 });
  const rejects = await readFile(path.join(env.root, String(line['rejects'])), 'utf8');
  // The records as read, numbers as written: no rounding, no serialisation error.
  expect(rejects).toContain('"record":{"id":2,"doc":{"big":12345678901234567890,"x":1.00000000000000001},"n":-1}');
  expect(rejects).toContain('"record":{"id":9223372036854775808}');
  const { rows } = await env.pool.query(`SELECT doc::text AS doc FROM vt.big`);
  expect(rows).toEqual([{ doc: '{"big": 12345678901234567890}' }]);
});

it('the same through the streaming JSON reader', async () => {
  const env = shared();
  await env.drop('big-json-a.json', '[{"id": 1, "doc": {"big": 12345678901234567890}, "n": -5}, {"id": 2, "n": 3}]');
  const line = await env.outcome('big-json-a.json');
  expect(line).toMatchObject({ event: 'loaded', rows: 1, rejected: 1 });
  expect(await readFile(path.join(env.root, String(line['rejects'])), 'utf8')).toContain('{"id":1,"doc":{"big":12345678901234567890},"n":-5}');
});

it('reads a record without `constructor` or `toString` as lacking them (not as Object\'s), and checks a `__proto__` property', async () => {
  const env = shared();
  const lines = [
    '{"id": 1}',
    '{"id": 2, "constructor": "c", "toString": "t", "__proto__": 2.5}',
    '{"id": 3, "__proto__": "not a number"}',
    '{"id": 4, "constructor": 37}',
  ];
  await env.drop('proto-a.jsonl', lines.join('\n') + '\n');
  const line = await env.outcome('proto-a.jsonl');
  expect(line).toMatchObject({ event: 'loaded', rows: 2, rejected: 2 });
  const { rows } = await env.pool.query({ text: `SELECT id::int, "constructor", "toString", "__proto__" FROM vt.proto ORDER BY id`, rowMode: 'array' });
  expect(rows).toEqual([
    [1, null, null, null],
    [2, 'c', 't', 2.5],
  ]);
  const reasons = (await readFile(path.join(env.root, String(line['rejects'])), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).reasons);
  expect(reasons).toEqual([['line 3, field "__proto__" = "not a number": type: must be number'], ['line 4, field "constructor" = 37: type: must be string']]);
});

it('requires `__proto__`, `toString` and `constructor` as the record\'s own keys (the file once failed at read)', async () => {
  const env = shared();
  const lines = ['{"__proto__": 12, "toString": {"length": "foo"}, "constructor": 37}', '{"toString": {"length": 37}}', '{}', '{"__proto__": "foo"}'];
  await env.drop('proto-req-a.jsonl', lines.join('\n') + '\n');
  const line = await env.outcome('proto-req-a.jsonl');
  expect(line).toMatchObject({ event: 'loaded', rows: 1, rejected: 3 });
});

it('refuses at start a format nothing checks (idn-email, iri …), naming the dataset file and the property', async () => {
  const env = await createTestEnv({ datasets: { 'mail.yaml': lenient('mail', 'jsonl', '    id: { type: integer }\n    contact: { type: string, format: idn-email }\n') } });
  try {
    await expect(env.start()).rejects.toThrow(/mail\.yaml: \/schema: unknown format "idn-email" at "#\/properties\/contact": loadbay checks only the formats ajv-formats knows \(.*email.*\)/);
    // A format ajv-formats knows is fine.
    const file = path.join(env.root, 'config', 'datasets', 'mail.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('idn-email', 'email'));
    await env.start();
  } finally {
    await env.cleanup();
  }
});
