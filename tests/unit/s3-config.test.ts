/**
 * Folder settings as s3:// URLs: parsed into locations, checked against each other, errors naming
 * the configuration file and the path inside it; the `s3:` section resolved with its defaults.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { keyUnder, parseS3Folder, parseS3Object, relativeKey } from '../../src/source/s3/location.js';
import { objectStorageSettings } from '../../src/source/s3/settings.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-s3-config-'));
  await mkdir(path.join(dir, 'datasets'));
  await writeFile(
    path.join(dir, 'datasets', 'scores.yaml'),
    'name: scores\nmatch: "*.csv"\nformat: csv\ntable: scores\nschema:\n  properties:\n    id: { type: integer }\n',
  );
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function load(yaml: string) {
  const file = path.join(dir, 'loadbay.yaml');
  await writeFile(file, yaml);
  return loadConfig(file);
}

async function refusal(yaml: string): Promise<string> {
  const error = await load(yaml).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as Error).message;
}

describe('s3:// URLs', () => {
  it('parses a folder, adding the trailing slash, and a whole bucket', () => {
    expect(parseS3Folder('s3://box-scores/in')).toEqual({ url: 's3://box-scores/in/', bucket: 'box-scores', prefix: 'in/' });
    expect(parseS3Folder('s3://box-scores/a/b/')).toEqual({ url: 's3://box-scores/a/b/', bucket: 'box-scores', prefix: 'a/b/' });
    expect(parseS3Folder('s3://box.scores')).toEqual({ url: 's3://box.scores/', bucket: 'box.scores', prefix: '' });
    expect(parseS3Folder('S3://lake/x/').url).toBe('s3://lake/x/');
    const location = parseS3Folder('s3://lake/in/');
    expect(relativeKey(location, keyUnder(location, 'nhl/2024 game.csv'))).toBe('nhl/2024 game.csv');
    expect(() => relativeKey(location, 'inbox/x.csv')).toThrow(/not under s3:\/\/lake\/in\//);
  });

  it.each([
    ['s3://', /bucket name is missing/],
    ['s3:///in/', /bucket name is missing/],
    ['s3://ab/in/', /3 to 63 characters/],
    ['s3://Box_Scores/in/', /lowercase letters, digits, dots and hyphens/],
    ['s3://-box/in/', /begin and end with a letter or digit/],
    ['s3://box..scores/in/', /two dots in a row/],
    ['s3://192.168.1.10/in/', /IP address/],
    ['s3://box/in//x/', /empty segment/],
    ['s3://box//in/', /must not start with "\/"/],
    ['s3://box/in/../x/', /"\." or "\.\." segments/],
    ['s3://box/in/?versionId=1', /no query or fragment/],
    ['s3://box/in\u0001/', /control characters/],
    [`s3://box/${'p'.repeat(600)}/`, /longer than 512 bytes/],
  ])('refuses the folder %#: %s', (url, reason) => {
    expect(() => parseS3Folder(url)).toThrow(reason);
  });

  it('parses an object URL and refuses a folder where an object is needed', () => {
    expect(parseS3Object('s3://lake/exports/daily.csv')).toEqual({ url: 's3://lake/exports/daily.csv', bucket: 'lake', key: 'exports/daily.csv' });
    expect(() => parseS3Object('s3://lake/exports/')).toThrow(/name an object/);
    expect(() => parseS3Object('s3://lake')).toThrow(/name an object/);
  });
});

describe('folder settings in loadbay.yaml', () => {
  it('takes s3:// URLs in input, parquet, archive and failed, any mix with local folders', async () => {
    const config = await load(
      'folders:\n  input: s3://drop/in\n  parquet: s3://lake/parquet/\n  archive: s3://drop/archive/\n  failed: quarantine\n' +
        's3:\n  endpoint: http://127.0.0.1:9000\n  force_path_style: true\n  region: eu-west-1\n  full_listing_minutes: 5\n',
    );
    expect(config.folders.input).toBe('s3://drop/in/');
    expect(config.folders.parquet).toBe('s3://lake/parquet/');
    expect(config.folders.failed).toBe(path.join(dir, 'quarantine'));
    expect(config.buckets).toEqual({
      input: { url: 's3://drop/in/', bucket: 'drop', prefix: 'in/' },
      parquet: { url: 's3://lake/parquet/', bucket: 'lake', prefix: 'parquet/' },
      archive: { url: 's3://drop/archive/', bucket: 'drop', prefix: 'archive/' },
    });
    expect(config.s3).toMatchObject({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, region: 'eu-west-1', fullListingMs: 300_000, requestTimeoutMs: 30_000 });
    expect(objectStorageSettings(config)).toEqual([
      `${config.configFile}: /folders/input: s3://drop/in/`,
      `${config.configFile}: /folders/parquet: s3://lake/parquet/`,
      `${config.configFile}: /folders/archive: s3://drop/archive/`,
    ]);
  });

  it('`loadbay check-config` validates folders in object storage', async () => {
    await load('folders:\n  input: s3://drop/in/\n  parquet: s3://lake/parquet/\n');
    const cli = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'dist', 'cli.js');
    const ok = spawnSync(process.execPath, [cli, 'check-config', '-c', path.join(dir, 'loadbay.yaml')], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } });
    expect(ok.stdout).toContain('valid, 1 dataset(s)');
    await writeFile(path.join(dir, 'loadbay.yaml'), 'folders:\n  input: s3://drop/in/\n  archive: s3://drop/in/old/\n');
    const bad = spawnSync(process.execPath, [cli, 'check-config', '-c', path.join(dir, 'loadbay.yaml')], { encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('/folders/archive: s3://drop/in/old/ and /folders/input: s3://drop/in/ must not be the same or one inside the other');
  });

  it('takes several inputs, local and in object storage, the first local one keeping its ids', async () => {
    const config = await load('folders:\n  input: [s3://drop/in/, in, s3://other/feeds/, more]\n');
    expect(config.inputs).toEqual([
      { folder: 's3://drop/in/', location: { url: 's3://drop/in/', bucket: 'drop', prefix: 'in/' } },
      { folder: path.join(dir, 'in'), location: null },
      { folder: 's3://other/feeds/', location: { url: 's3://other/feeds/', bucket: 'other', prefix: 'feeds/' } },
      { folder: path.join(dir, 'more'), location: null },
    ]);
    expect(config.folders.input).toBe('s3://drop/in/');
    expect(config.buckets.input).toEqual({ url: 's3://drop/in/', bucket: 'drop', prefix: 'in/' });
    expect((await load('folders:\n  input: in\n')).inputs).toEqual([{ folder: path.join(dir, 'in'), location: null }]);
  });

  it('refuses inputs that overlap each other or another folder, naming both', async () => {
    const file = path.join(dir, 'loadbay.yaml');
    expect(await refusal('folders:\n  input: [in, in/sub]\n')).toBe(`${file}: /folders/input/1: ${path.join(dir, 'in', 'sub')} and /folders/input/0: ${path.join(dir, 'in')} must not be the same or one inside the other`);
    expect(await refusal('folders:\n  input: [in, s3://drop/in/]\n  archive: s3://drop/\n')).toMatch(/\/folders\/input\/1: s3:\/\/drop\/in\/ and \/folders\/archive: s3:\/\/drop\/ must not/);
    expect(await refusal('folders:\n  input: [in, archive/x]\n')).toMatch(/\/folders\/input\/1: .* and \/folders\/archive: /);
    expect(await refusal('folders:\n  input: [in, s3://Bad/in/]\n')).toMatch(/\/folders\/input\/1: "s3:\/\/Bad\/in\/": bucket name/);
    expect(await refusal('folders:\n  input: []\n')).toMatch(/\/folders\/input/);
  });

  it('without s3 folders, nothing changes: local folders, SDK defaults', async () => {
    const config = await load('folders:\n  input: in\n');
    expect(config.buckets).toEqual({});
    expect(config.s3).toMatchObject({ endpoint: null, region: null, forcePathStyle: false, sqsQueueUrl: null });
    expect(objectStorageSettings(config)).toEqual([]);
  });

  it('names the file and the setting of a bad URL', async () => {
    const file = path.join(dir, 'loadbay.yaml');
    expect(await refusal('folders:\n  archive: s3://Drop/archive/\n')).toBe(`${file}: /folders/archive: "s3://Drop/archive/": bucket name "Drop" may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit`);
    expect(await refusal('folders:\n  logs: s3://drop/logs/\n')).toBe(`${file}: /folders/logs: the log folder must be local (s3://drop/logs/ is in object storage)`);
  });

  it('refuses a folder in object storage inside another, naming both', async () => {
    const file = path.join(dir, 'loadbay.yaml');
    expect(await refusal('folders:\n  input: s3://drop/\n  archive: s3://drop/archive/\n')).toBe(
      `${file}: /folders/archive: s3://drop/archive/ and /folders/input: s3://drop/ must not be the same or one inside the other`,
    );
    expect(await refusal('folders:\n  input: s3://drop/in/\n  failed: s3://drop/in/\n')).toMatch(/\/folders\/failed: s3:\/\/drop\/in\/ and \/folders\/input/);
    // Different buckets, or sibling prefixes: fine.
    await expect(load('folders:\n  input: s3://drop/in/\n  failed: s3://drop/inbox/\n  archive: s3://other/in/\n')).resolves.toBeTruthy();
  });

  it('refuses credentials in the endpoint and a malformed s3 section', async () => {
    expect(await refusal('s3:\n  endpoint: http://key:secret@minio:9000\n')).toMatch(/\/s3\/endpoint: must match pattern/);
    expect(await refusal('s3:\n  access_key: x\n')).toMatch(/\/s3: unknown key "access_key"/);
    expect(await refusal('s3:\n  region: EU WEST\n')).toMatch(/\/s3\/region/);
  });

  it('takes an s3:// export target as an object and refuses a prefix there', async () => {
    await writeFile(
      path.join(dir, 'datasets', 'scores.yaml'),
      'name: scores\nmatch: "*.csv"\nformat: csv\ntable: scores\nschema:\n  properties:\n    id: { type: integer }\nexport:\n  query: select 1\n  to: s3://lake/exports/scores.csv\n',
    );
    const config = await load('{}\n');
    expect(config.exports[0]).toMatchObject({ to: 's3://lake/exports/scores.csv', toS3: { bucket: 'lake', key: 'exports/scores.csv' } });
    expect(objectStorageSettings(config)).toEqual([`${path.join(dir, 'datasets', 'scores.yaml')}: /export/to: s3://lake/exports/scores.csv`]);
    await writeFile(
      path.join(dir, 'datasets', 'scores.yaml'),
      'name: scores\nmatch: "*.csv"\nformat: csv\ntable: scores\nschema:\n  properties:\n    id: { type: integer }\nexport:\n  query: select 1\n  to: s3://lake/exports/\n',
    );
    expect(await refusal('{}\n')).toBe(`${path.join(dir, 'datasets', 'scores.yaml')}: /export/to: "s3://lake/exports/": name an object (s3://bucket/path/file.csv), not a folder`);
  });
});
