/**
 * A file renamed into input/ from a temporary name is complete when it appears: no stability
 * window (processing.renamed_is_finished). Through the real watcher, and through a daemon whose
 * window is a minute long — were it applied, these tests would time out.
 */
import { mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SpecialFiles } from '../../src/source/folder/special.js';
import { watchInput } from '../../src/source/folder/watcher.js';
import { createTestEnv, waitFor, type TestEnv } from '../helpers/env.js';

let env: TestEnv | null = null;
afterEach(async () => {
  await env?.cleanup();
  env = null;
});

it('the watcher tells a file renamed from a temporary name in its folder from one written in place or moved in from elsewhere', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-renamed-'));
  const outside = await mkdtemp(path.join(os.tmpdir(), 'loadbay-outside-'));
  const seen = new Map<string, boolean>();
  const watcher = watchInput(dir, {
    rescanIntervalMs: 600_000,
    onPath: (file, renamed) => void (seen.has(path.basename(file)) || seen.set(path.basename(file), renamed === true)),
    onError: () => undefined,
    specials: new SpecialFiles(() => undefined),
    onInput: () => undefined,
    room: () => 1000,
  });
  try {
    await watcher.ready;
    for (let i = 0; i < 20; i++) {
      await writeFile(path.join(dir, `a${i}.csv.part`), 'id\n1\n');
      await rename(path.join(dir, `a${i}.csv.part`), path.join(dir, `a${i}.csv`));
    }
    await writeFile(path.join(dir, 'in-place.csv'), 'id\n1\n');
    await writeFile(path.join(outside, 'moved.csv'), 'id\n1\n');
    await rename(path.join(outside, 'moved.csv'), path.join(dir, 'moved.csv'));
    await waitFor(() => seen.size >= 22, { message: 'every path seen' });
    expect([...seen].filter(([name, renamed]) => name.startsWith('a') && renamed)).toHaveLength(20);
    expect(seen.get('in-place.csv')).toBe(false);
    // From another folder inotify says only "created": not known to be complete (unless its ctime says so).
    expect(seen.get('moved.csv')).toBe(false);
  } finally {
    await watcher.close();
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

const DATASET = { 'n.yaml': 'name: n\nmatch: "n-*.csv"\nformat: csv\ntable: r.n\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n' };

it('a daemon with a one-minute window loads a file renamed from .part at once, and one whose times were set after its data (cp -p)', async () => {
  env = await createTestEnv({ datasets: DATASET, processing: { stable_window_ms: 60_000 } });
  await env.start();
  const input = env.folders.input;
  await writeFile(path.join(input, 'n-1.csv.part'), 'id\n1\n');
  await rename(path.join(input, 'n-1.csv.part'), path.join(input, 'n-1.csv'));
  await env.outcome('n-1.csv', 'loaded');
  // As `cp -p` leaves a copy: the data, then its old times (ctime now, after mtime).
  const staged = path.join(env.root, 'n-2.csv');
  await writeFile(staged, 'id\n2\n');
  const past = new Date(Date.now() - 3_600_000);
  await utimes(staged, past, past);
  await rename(staged, path.join(input, 'n-2.csv'));
  await env.outcome('n-2.csv', 'loaded');
});
