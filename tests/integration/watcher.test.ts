/**
 * The input watcher on real folders (fs.watch + rescans): what it reports, in which folders, and
 * that rescans cover what events miss. No database: the watcher only reports paths.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SpecialFiles } from '../../src/source/folder/special.js';
import { watchInput, type InputWatcher } from '../../src/source/folder/watcher.js';
import { waitFor } from '../helpers/env.js';

let dir: string;
let watcher: InputWatcher | null = null;
let seen: Set<string>;
let errors: unknown[];
/** How many paths the consumer takes (the daemon's: files it is watching or that wait for a worker). */
let room: number;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'loadbay-watch-'));
  seen = new Set();
  errors = [];
  room = Infinity;
});

afterEach(async () => {
  await watcher?.close();
  watcher = null;
  await rm(dir, { recursive: true, force: true });
});

async function start(rescanMs = 60_000): Promise<InputWatcher> {
  watcher = watchInput(dir, {
    rescanIntervalMs: rescanMs,
    onPath: (file) => seen.add(path.relative(dir, file)),
    onError: (error) => errors.push(error),
    specials: new SpecialFiles(() => undefined),
    onInput: () => undefined,
    room: () => room - seen.size,
  });
  await watcher.ready;
  return watcher;
}

const sees = (relative: string) => waitFor(() => seen.has(relative), { message: `the watcher to report ${relative}` });

it('reports files written at the top, in a new folder and in a new nested folder', async () => {
  await start();
  await writeFile(path.join(dir, 'a.csv'), 'x\n');
  await sees('a.csv');
  await mkdir(path.join(dir, 'sub'));
  await writeFile(path.join(dir, 'sub', 'b.csv'), 'x\n');
  await sees('sub/b.csv');
  // Both folders are created before the watcher looks: the scan of the new folder finds the file.
  await mkdir(path.join(dir, 'deep', 'er'), { recursive: true });
  await writeFile(path.join(dir, 'deep', 'er', 'c.csv'), 'x\n');
  await sees('deep/er/c.csv');
  expect(errors).toEqual([]);
});

it('reports a file renamed into place, never its .part or dotfile names', async () => {
  await start();
  await writeFile(path.join(dir, 'd.csv.part'), 'x\n');
  await writeFile(path.join(dir, '.hidden.csv'), 'x\n');
  await rename(path.join(dir, 'd.csv.part'), path.join(dir, 'd.csv'));
  await sees('d.csv');
  expect([...seen].sort()).toEqual(['d.csv']);
});

it('keeps watching a folder that is removed and made again', async () => {
  await start();
  await mkdir(path.join(dir, 'day'));
  await writeFile(path.join(dir, 'day', 'one.csv'), 'x\n');
  await sees('day/one.csv');
  await rm(path.join(dir, 'day'), { recursive: true });
  await mkdir(path.join(dir, 'day'));
  await writeFile(path.join(dir, 'day', 'two.csv'), 'x\n');
  await sees('day/two.csv');
  expect(errors).toEqual([]);
});

it('finds files that were there before it started with its periodic rescan', async () => {
  await mkdir(path.join(dir, 'old'));
  await writeFile(path.join(dir, 'old', 'before.csv'), 'x\n');
  await writeFile(path.join(dir, 'top.csv'), 'x\n');
  await start(100); // no rescan() call: the timer's rescan must find both
  await sees('old/before.csv');
  await sees('top.csv');
});

it('reports nothing after close(), not even from a rescan', async () => {
  const w = await start(50);
  await w.close();
  watcher = null;
  await writeFile(path.join(dir, 'late.csv'), 'x\n');
  await w.rescan();
  expect(seen.size).toBe(0);
});

it('hands on no more paths than there is room for, however many files input/ holds; the rest once there is room', async () => {
  for (let i = 0; i < 500; i++) await writeFile(path.join(dir, `f-${i}.csv`), 'x\n');
  room = 100;
  const w = await start();
  await w.rescan();
  expect(seen.size).toBe(100);
  // Nor from events while there is none: the file is not lost, it waits in the folder.
  await writeFile(path.join(dir, 'late.csv'), 'x\n');
  await w.rescan();
  expect(seen.size).toBe(100);
  room = Infinity;
  await waitFor(() => seen.size === 501, { message: 'the rest, once there is room' });
  expect(errors).toEqual([]);
});
