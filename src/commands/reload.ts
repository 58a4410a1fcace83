/**
 * `loadbay reload`: makes the running instances of this configuration read their dataset files
 * again, and says what each made of it. The files are checked here first with the daemon's own
 * loader (an invalid set exits 2 and nothing is signalled). Instances are found by their run files
 * (`logs/run/`, src/reload/run-file.ts): the daemon's own pid, so it works under `npm start` too,
 * where the process a user sees is npm. Each gets SIGHUP; its run file then says the outcome.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Config } from '../config/types.js';
import { readRunFile, readRunFiles, type ReloadOutcome, type RunInfo } from '../reload/run-file.js';
import { abortableSleep } from '../lib/sleep.js';
import { print, printJson } from './output.js';

export interface ReloadResult {
  instance: string;
  pid: number;
  host: string;
  /** `reloaded`, `refused`, or what kept it from being asked or from answering. */
  status: 'reloaded' | 'refused' | 'timed out' | 'not signalled';
  outcome: ReloadOutcome | null;
  message: string;
}

/** Signals every live instance of `config` on this host; resolves true when each one reloaded. */
export async function reloadCommand(config: Config, options: { json?: boolean; timeoutMs?: number } = {}): Promise<boolean> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const here = hostname();
  const runs = (await readRunFiles(config.folders.logs)).filter((r) => r.info.config === config.configFile);
  const results: ReloadResult[] = [];
  const waiting: Array<{ file: string; info: RunInfo }> = [];
  for (const run of runs) {
    const { info } = run;
    if (info.host !== here) {
      results.push(result(info, 'not signalled', null, `on host ${info.host}: not signalled from here; it reloads by itself when it sees the dataset files change`));
      continue;
    }
    const state = processState(info.pid);
    if (state === 'gone') {
      await rm(run.file, { force: true }); // left by an instance that did not stop gracefully
      continue;
    }
    if (state === 'not permitted') {
      results.push(result(info, 'not signalled', null, `pid ${info.pid} belongs to another user: not signalled`));
      continue;
    }
    process.kill(info.pid, 'SIGHUP');
    waiting.push(run);
  }
  if (results.length === 0 && waiting.length === 0) {
    throw new Error(`no running loadbay instance of ${config.configFile} was found (run files in ${config.folders.logs}/run/); is it started?`);
  }
  for (const { file, info } of waiting) {
    const deadline = Date.now() + timeoutMs;
    let now: RunInfo | null = info;
    while (now && now.reloads <= info.reloads && Date.now() < deadline) {
      await abortableSleep(100);
      now = await readRunFile(file);
    }
    const outcome = now && now.reloads > info.reloads ? now.last_reload : null;
    if (!outcome) results.push(result(info, 'timed out', null, `no answer within ${timeoutMs / 1000} s`));
    else if (outcome.ok) results.push(result(info, 'reloaded', outcome, `${outcome.datasets.length} dataset(s): ${outcome.datasets.join(', ')}`));
    else results.push(result(info, 'refused', outcome, `the running datasets stay: ${outcome.reason ?? 'no reason given'}`));
  }
  if (options.json) printJson(results);
  else {
    for (const r of results) {
      print(`${r.instance} (pid ${r.pid}): ${r.status}, ${r.message}`);
      for (const file of r.outcome?.requeued ?? []) print(`  matched now, moved back from _unmatched/ into input/${file}`);
    }
  }
  return results.every((r) => r.status === 'reloaded' || (r.status === 'not signalled' && r.host !== here));
}

function result(info: RunInfo, status: ReloadResult['status'], outcome: ReloadOutcome | null, message: string): ReloadResult {
  return { instance: info.instance, pid: info.pid, host: info.host, status, outcome, message };
}

/**
 * Whether the pid is a live loadbay daemon. A run file can outlive its process (SIGKILL) and the
 * pid be reused: SIGHUP would end an unrelated process, so on Linux its command line must be ours.
 */
function processState(pid: number): 'alive' | 'gone' | 'not permitted' {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'not permitted' : 'gone';
  }
  let command: string[];
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'alive'; // no /proc (macOS): trust the run file
  }
  return command.includes('start') && command.some((arg) => /(^|\/)(cli\.js|loadbay)$/.test(arg)) ? 'alive' : 'gone';
}
