/**
 * The hostile corpus's folder conditions: what an unlucky operator, a killed instance or an attacker
 * can make of loadbay's folders — not of a file's content (that is `cases/`). Each condition gets a
 * fresh environment; tests/integration/hostile-conditions.test.ts arranges it, starts a real daemon
 * (or expects the start to be refused), runs its checks and then drops a good file that must still
 * load. To add a condition, add it to `CONDITIONS`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Daemon } from '../../src/daemon.js';
import { runCli } from '../helpers/cli.js';
import { waitFor, type TestEnv } from '../helpers/env.js';

export interface FolderCondition {
  name: string;
  /** Why the condition is here (the issue it guards against). */
  why: string;
  /** Settings of `processing:` for this condition (e.g. a rescan too rare to hide a watcher's fault). */
  processing?: Record<string, number>;
  /** Before the daemon starts. */
  arrange?: (env: TestEnv) => Promise<void>;
  /** The start must be refused with this message; nothing else runs. */
  refused?: (env: TestEnv) => string;
  /** With the daemon running: make the condition, check what loadbay did. */
  verify?: (context: { env: TestEnv; daemon: Daemon }) => Promise<void>;
}

/** The dataset every condition runs with; its good file is dropped after each condition. */
export const CONDITION_DATASETS = {
  'rows.yaml': 'name: rows\nmatch: ["*.csv", "*.jsonl"]\nformat: csv\ntable: conditions.rows\nschema:\n  type: object\n  properties:\n    id: { type: integer }\n',
};

/** A listening unix socket at `file`; closing it removes the file. */
async function unixSocket(file: string): Promise<() => Promise<void>> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(file, resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

export const CONDITIONS: FolderCondition[] = [
  {
    name: 'archive/ is a symbolic link to input/',
    why: 'folders were compared as written: archived files went back into input/ and were skipped several times a second, for ever',
    arrange: async (env) => symlink(env.folders.input, env.folders.archive),
    refused: (env) => `/folders/archive: ${env.folders.archive} (${env.folders.input}) is the same folder as folders.input ${env.folders.input}`,
  },
  {
    name: 'FIFOs and a socket in input/',
    why: 'a FIFO was queued and opened: the open waits for a writer for ever and holds a worker; nothing said why',
    verify: async ({ env, daemon }) => {
      await mkdir(path.join(env.folders.input, 'sub'));
      execFileSync('mkfifo', [path.join(env.folders.input, 'pipe.csv'), path.join(env.folders.input, 'sub', 'pipe.jsonl')]);
      const closeSocket = await unixSocket(path.join(env.folders.input, 'socket.csv'));
      try {
        const special = { 'pipe.csv': 'a FIFO', 'socket.csv': 'a socket', 'sub/pipe.jsonl': 'a FIFO' };
        const expected = Object.entries(special).map(([file, kind]) => ({ file, reason: `${kind}, not a regular file: left alone` }));
        for (const { file, reason } of expected) expect((await env.outcome(file, 'ignored')).reason).toBe(reason);
        // Said once, however often input/ is scanned.
        for (let i = 0; i < 3; i++) await daemon.rescan();
        expect((await env.logLines()).filter((l) => l.event === 'ignored').map((l) => l.file).sort()).toEqual(Object.keys(special));
        const api = (await (await fetch(`${daemon.httpUrl}/api/status`)).json()) as { ignored: unknown[]; waiting: string[] };
        expect({ ignored: api.ignored, waiting: api.waiting }).toEqual({ ignored: expected, waiting: [] });
        const cli = await runCli(['status', '--json', '--config', env.configFile], { env: { DATABASE_URL: env.url } });
        expect((JSON.parse(cli.out) as { ignored: unknown[] }).ignored).toEqual(expected);
        for (const file of Object.keys(special)) expect(existsSync(path.join(env.folders.input, file))).toBe(true);
      } finally {
        await closeSocket();
      }
    },
  },
  {
    name: 'temporary files of a killed instance in output_failed/ and output_parquet/',
    why: 'an instance SIGKILLed while writing a report left .loadbay-<pid>-<hex>.tmp in output_failed/<dataset>/, and nothing ever removed it',
    arrange: async (env) => {
      for (const file of killedInstanceFiles(env)) {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, '{"summary": "half a rep');
      }
    },
    verify: async ({ env }) => {
      // Swept before the start completed: the killed instance holds no lock.
      expect(killedInstanceFiles(env).filter((f) => existsSync(f))).toEqual([]);
    },
  },
  {
    name: 'input/ deleted and made again while the daemon runs',
    why: 'made again at once it had its old inode back and its dead watch was never renewed: every file waited for the next full rescan (30 s by default) until a restart',
    // No periodic rescan in the test's time: only the watcher can find the files.
    processing: { rescan_interval_ms: 600_000 },
    verify: async ({ env, daemon }) => {
      // Removed and made again at once by a producer (`mkdir -p`, as env.drop does).
      await rm(env.folders.input, { recursive: true });
      await env.drop('again-1.csv', 'id\n11\n');
      expect(await env.outcome('again-1.csv')).toMatchObject({ event: 'loaded', rows: 1 });
      // Removed, found missing (a rescan), made again later.
      await rm(env.folders.input, { recursive: true });
      await daemon.rescan();
      await env.drop('again-2.csv', 'id\n12\n');
      expect(await env.outcome('again-2.csv')).toMatchObject({ event: 'loaded', rows: 1 });
    },
  },
];

/** What an instance (id as in daemon.ts) killed while writing leaves: a report's, a rejects file's and a Parquet file's temporaries. */
function killedInstanceFiles(env: TestEnv): string[] {
  const killed = 'crashed-host-777-c0ffee';
  return [
    path.join(env.folders.failed, 'rows', 'deep', 'er', `.loadbay.${killed}.0f1e2d3c.tmp`),
    path.join(env.folders.failed, 'rows', `.bad.csv.rejects.jsonl.${killed}.12.tmp`),
    path.join(env.folders.parquet, 'rows', `.good.csv.${killed}.12.tmp`),
  ];
}

/** Waits until the daemon has settled a file dropped into input/ (the end of every condition). */
export async function stillLoads(env: TestEnv, name: string): Promise<void> {
  await env.drop(name, 'id\n1\n');
  expect(await env.outcome(name)).toMatchObject({ event: 'loaded', rows: 1 });
  await waitFor(async () => !(await env.files('input')).includes(name), { message: `${name} to leave input/` });
}
