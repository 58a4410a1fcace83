/**
 * What starting costs a newcomer: `--version` and `--help` load only the argument parser (every
 * command's modules are imported when it runs), and the build that `npm start` and `npm test` run
 * first compiles nothing when no source changed.
 */
import { cp, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../helpers/env.js';
import { CLI, runCommand } from '../helpers/cli.js';


const run = (command: string, args: string[], cwd = PROJECT_ROOT) => runCommand(command, args, { cwd }).then((r) => ({ code: r.code, out: r.stdout, err: r.stderr }));

let work: string | null = null;
afterEach(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  work = null;
});

it('--version, --help and a usage error load commander and none of the daemon, database or Arrow modules', async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'loadbay-startup-'));
  // Records every module Node loads (module.registerHooks), written to stderr at exit.
  const hook = path.join(work, 'record-loads.mjs');
  await writeFile(
    hook,
    "import { registerHooks } from 'node:module';\nconst seen = [];\nregisterHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });\nprocess.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(seen) + '\\n'));\n",
  );
  const version = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;
  for (const args of [['--version'], ['--help'], ['start', '--no-such-option']]) {
    const result = await run(process.execPath, ['--import', hook, CLI, ...args]);
    if (args[0] === '--version') expect(result.out.trim()).toBe(version);
    const loaded = JSON.parse(/LOADED (.*)/.exec(result.err)![1]!) as string[];
    const ours = loaded.filter((url) => url.startsWith('file:') && !url.includes('/node_modules/')).map((url) => path.relative(path.join(PROJECT_ROOT, 'dist'), new URL(url).pathname));
    expect([args, ours.sort()]).toEqual([args, ['cli.js', 'commands/output.js', 'errors.js', 'lib/version.js'].sort()]);
    const packages = new Set(loaded.filter((url) => url.includes('/node_modules/')).map((url) => /\/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)![1]));
    expect([args, [...packages]]).toEqual([args, ['commander']]);
  }
});

it('the build npm start runs first compiles nothing when no source changed, and only what changed', async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'loadbay-build-'));
  await cp(path.join(PROJECT_ROOT, 'src'), path.join(work, 'src'), { recursive: true });
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) await cp(path.join(PROJECT_ROOT, file), path.join(work, file));
  await symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(work, 'node_modules'));
  const tsc = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = async () => {
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--listEmittedFiles'], work!);
    expect([result.code, result.err]).toEqual([0, '']);
    return result.out.split('\n').filter((l) => l.startsWith('TSFILE: ')).map((l) => path.relative(work!, l.slice('TSFILE: '.length)));
  };
  expect((await build()).length).toBeGreaterThan(100); // the first build: everything
  expect(await build()).toEqual([]); // nothing changed: nothing compiled
  const later = new Date(Date.now() + 5000);
  await writeFile(path.join(work, 'src', 'lib', 'shorten.ts'), (await readFile(path.join(work, 'src', 'lib', 'shorten.ts'), 'utf8')) + '\n// edited\n');
  await utimes(path.join(work, 'src', 'lib', 'shorten.ts'), later, later);
  const again = await build();
  expect(again).toEqual(expect.arrayContaining(['dist/lib/shorten.js']));
  expect(again.length).toBeLessThan(10);
});
