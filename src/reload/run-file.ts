/**
 * One run file per running instance, `logs/run/<instance>.json`: its pid (the daemon's own, not
 * npm's), host and configuration, and the outcome of its latest reload. `loadbay reload` finds the
 * instances to signal here and reads back what each made of the reload. Written atomically; removed
 * at a graceful stop; a file whose process is gone is stale and removed by the next `loadbay reload`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ReloadOutcome {
  at: string;
  /** What asked for it: `start`, `SIGHUP`, `files changed`. */
  trigger: string;
  ok: boolean;
  /** The datasets in force after it (the old ones when refused). */
  datasets: string[];
  /** Why it was refused, when it was. */
  reason?: string;
  /** Files moved from output_failed/_unmatched/ back into input/ because a dataset now matches them. */
  requeued: string[];
}

export interface RunInfo {
  pid: number;
  host: string;
  instance: string;
  config: string;
  started_at: string;
  /** Reloads finished so far (refused ones too): `loadbay reload` waits for it to grow. */
  reloads: number;
  last_reload: ReloadOutcome | null;
}

export const runDir = (logsDir: string) => path.join(logsDir, 'run');

export async function writeRunFile(logsDir: string, info: RunInfo): Promise<void> {
  const dir = runDir(logsDir);
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, `${info.instance}.json`);
  const tmp = path.join(dir, `.${info.instance}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, JSON.stringify(info, null, 2) + '\n');
  await rename(tmp, target);
}

export async function removeRunFile(logsDir: string, instance: string): Promise<void> {
  await rm(path.join(runDir(logsDir), `${instance}.json`), { force: true });
}

/** Every run file that parses; anything else in the folder is ignored. */
export async function readRunFiles(logsDir: string): Promise<Array<{ file: string; info: RunInfo }>> {
  const dir = runDir(logsDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const found: Array<{ file: string; info: RunInfo }> = [];
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const file = path.join(dir, name);
    const info = await readRunFile(file);
    if (info) found.push({ file, info });
  }
  return found;
}

export async function readRunFile(file: string): Promise<RunInfo | null> {
  try {
    const info = JSON.parse(await readFile(file, 'utf8')) as Partial<RunInfo>;
    const valid = Number.isInteger(info.pid) && typeof info.host === 'string' && typeof info.instance === 'string' && typeof info.config === 'string' && Number.isInteger(info.reloads);
    return valid ? (info as RunInfo) : null;
  } catch {
    return null;
  }
}
