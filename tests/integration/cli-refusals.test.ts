/**
 * What the CLI refuses, with exit code 2 and a message that says what to fix: folders that are one
 * folder (or one inside another) once links are resolved, a `required` name that is no property, a
 * missing file for `infer`, a DATABASE_URL that cannot be parsed (its password never shown).
 */
import { appendFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { createTestEnv, type TestEnv } from '../helpers/env.js';

const DATASET = 'name: rows\nmatch: "*.csv"\nformat: csv\ntable: refusals.rows\nschema:\n  type: object\n  required: [id]\n  properties:\n    id: { type: integer }\n    name: { type: string }\n';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

describe('folders are compared after resolving symbolic links', () => {
  it('an archive folder that is a link to input/: check-config and start refuse, naming both folders', async () => {
    env = await createTestEnv({ datasets: { 'rows.yaml': DATASET } });
    await symlink(env.folders.input, path.join(env.root, 'archive'));
    const message = `/folders/archive: ${path.join(env.root, 'archive')} (${env.folders.input}) is the same folder as folders.input ${env.folders.input}; each folder must be distinct and none inside another, links resolved`;
    for (const command of ['check-config', 'start']) {
      const result = await runCli([command, '--config', env.configFile], { env: { DATABASE_URL: env.url } });
      expect({ command, code: result.code }).toEqual({ command, code: 2 });
      expect(result.out).toContain(`${env.configFile}: ${message}`);
    }
  });

  it('a Parquet folder that is a link to a folder not made yet inside input/', async () => {
    env = await createTestEnv({ datasets: { 'rows.yaml': DATASET } });
    await symlink(path.join(env.folders.input, 'later', 'parquet'), path.join(env.root, 'pq'));
    await appendFile(env.configFile, 'folders:\n  parquet: pq\n');
    const result = await runCli(['check-config', '--config', env.configFile], { env: { DATABASE_URL: env.url } });
    expect(result.code).toBe(2);
    expect(result.out).toContain(`/folders/parquet: ${path.join(env.root, 'pq')} (${path.join(env.folders.input, 'later', 'parquet')}) is inside folders.input ${env.folders.input}`);
  });

  it('an export written into input/ through a link', async () => {
    env = await createTestEnv({ datasets: { 'rows.yaml': `${DATASET}export: { query: "SELECT 1", to: reports/out.csv }\n` } });
    await symlink(env.folders.input, path.join(env.root, 'reports'));
    const result = await runCli(['check-config', '--config', env.configFile], { env: { DATABASE_URL: env.url } });
    expect(result.code).toBe(2);
    expect(result.out).toContain(`rows.yaml: /export/to: ${path.join(env.root, 'reports', 'out.csv')} (${path.join(env.folders.input, 'out.csv')}) is inside folders.input`);
  });
});

it('check-config refuses a required name that is not a property, naming the dataset file and the path', async () => {
  env = await createTestEnv({ datasets: { 'rows.yaml': DATASET.replace('required: [id]', 'required: [id, nmae]') } });
  const result = await runCli(['check-config', '--config', env.configFile], { env: { DATABASE_URL: env.url } });
  expect(result.code).toBe(2);
  expect(result.out).toContain(`${path.join(env.root, 'config', 'datasets', 'rows.yaml')}: /schema/required/1: "nmae" is not one of the schema's properties (id, name)`);
});

describe('infer on something that is not a file: exit 2 and a plain message, as validate', () => {
  it.each([
    ['a missing file', 'nope.csv', 'nope.csv: no such file'],
    ['a folder', 'folder.csv', 'folder.csv: not a file'],
  ])('%s', async (_what, name, message) => {
    env = await createTestEnv({ datasets: { 'rows.yaml': DATASET } });
    await mkdir(path.join(env.root, 'folder.csv'));
    const infer = await runCli(['infer', name], { cwd: env.root });
    expect(infer).toEqual({ code: 2, out: `loadbay: ${message}\n` });
    const validate = await runCli(['validate', name, '--config', env.configFile], { cwd: env.root, env: { DATABASE_URL: env.url } });
    expect(validate.code).toBe(2);
  });
});

it.each([
  ['a port that is not a number', 'postgres://alice:s3cret-pw@db.example:port/loadbay', 'DATABASE_URL: postgres://alice:***@db.example:port/loadbay cannot be parsed as a URL'],
  ['no scheme', 'alice:s3cret-pw@db.example/loadbay', 'DATABASE_URL: not a PostgreSQL URL'],
])('status (and every command) with an unparsable DATABASE_URL, %s: exit 2, the password redacted', async (_what, url, message) => {
  env = await createTestEnv({ datasets: { 'rows.yaml': DATASET } });
  await writeFile(path.join(env.folders.input, 'waiting.csv'), 'id\n1\n');
  for (const command of ['status', 'check-config']) {
    const result = await runCli([command, '--config', env.configFile], { env: { DATABASE_URL: url } });
    expect({ command, code: result.code }).toEqual({ command, code: 2 });
    expect(result.out).toContain(message);
    expect(result.out).not.toContain('s3cret-pw');
  }
});
