#!/usr/bin/env node
/**
 * Entry point: parse the command line, build the config, run. Helpers throw; the only
 * `process.exit` with a failure code is in `main().catch`. Exit codes: 0 ok, 1 runtime failure,
 * 2 invalid configuration or usage.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig } from './config/load.js';
import { StartCancelled, startDaemon } from './daemon.js';
import { ConfigError, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { handleSignals } from './signals.js';

const DEFAULT_CONFIG = process.env['LOADBAY_CONFIG'] ?? 'config/loadbay.yaml';

async function start(configPath: string): Promise<void> {
  const config = await loadConfig(configPath, { databaseUrl: process.env['DATABASE_URL'] });
  const log = createLogger({ logsDir: config.folders.logs });
  const abort = new AbortController();
  let stop: (() => Promise<void>) | null = null;
  const removeSignals = handleSignals(() => {
    abort.abort();
    void stop?.();
  }, (message) => log.warn(message));
  try {
    const daemon = await startDaemon(config, log, { signal: abort.signal });
    stop = daemon.stop;
    if (abort.signal.aborted) void daemon.stop();
    await daemon.done;
  } catch (error) {
    if (!(error instanceof StartCancelled)) throw error;
  } finally {
    removeSignals();
    await log.close();
  }
}

async function checkConfig(configPath: string): Promise<void> {
  const config = await loadConfig(configPath, { databaseUrl: process.env['DATABASE_URL'] });
  process.stdout.write(`${config.configFile}: valid, ${config.datasets.length} dataset(s)\n`);
  for (const d of config.datasets) {
    process.stdout.write(`  ${d.name}: ${d.format}, match ${d.match.join(', ')} → ${d.table.schema}.${d.table.name}\n`);
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('loadbay')
    .description('Watches a drop folder and loads each finished file into PostgreSQL and Parquet, exactly once.')
    .exitOverride()
    .showHelpAfterError();
  program
    .command('start')
    .description('run the daemon')
    .option('-c, --config <path>', 'configuration file', DEFAULT_CONFIG)
    .action((options: { config: string }) => start(options.config));
  program
    .command('check-config')
    .description('validate the configuration and dataset files without starting anything')
    .option('-c, --config <path>', 'configuration file', DEFAULT_CONFIG)
    .action((options: { config: string }) => checkConfig(options.config));
  await program.parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`loadbay: ${errorMessage(error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
});
