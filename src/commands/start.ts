/** `loadbay start` (the daemon, with its signals) and `loadbay check-config`. */
import { StartCancelled, startDaemon, type Daemon } from '../daemon.js';
import { createLogger } from '../log.js';
import { handleSignals } from '../signals.js';
import { describePlan } from '../validate/plan.js';
import { readConfig } from './config.js';
import { print } from './output.js';
import { compareTables } from './tables.js';

export async function startCommand(configPath: string): Promise<void> {
  const loaded = await readConfig(configPath);
  const log = createLogger({ logsDir: loaded.folders.logs });
  const abort = new AbortController();
  let daemon: Daemon | null = null;
  // The reloader logs the outcome, and records it for `loadbay reload`.
  const reload = () => void daemon?.reloadFiles('SIGHUP');
  const removeSignals = handleSignals(
    () => {
      abort.abort();
      void daemon?.stop();
    },
    (message) => log.warn(message),
    reload,
  );
  try {
    daemon = await startDaemon(loaded, log, { signal: abort.signal, loadConfig: () => readConfig(configPath) });
    if (abort.signal.aborted) void daemon.stop();
    await daemon.done;
  } catch (error) {
    if (!(error instanceof StartCancelled)) throw error;
  } finally {
    removeSignals();
    await log.close();
  }
}

export async function checkConfigCommand(configPath: string): Promise<void> {
  const checked = await readConfig(configPath);
  print(`${checked.configFile}: valid, ${checked.datasets.length} dataset(s)`);
  for (const d of checked.datasets) {
    print(`  ${d.name}: ${d.format}, match ${d.match.join(', ')} → ${d.table.schema}.${d.table.name}`);
    print(`    engine: ${describePlan(d.plan)}`);
  }
  print(await compareTables(checked));
}
