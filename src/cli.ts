#!/usr/bin/env node
/**
 * Entry point: parse the command line, build the config, run. Helpers throw; the only
 * `process.exit` with a failure code is in `main().catch`. Exit codes: 0 ok, 1 runtime failure,
 * 2 invalid configuration or usage.
 */
import { describePlan } from './validate/plan.js';
import { compileConfig } from './compile.js';
import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DEFAULT_LIMITS, loadConfig } from './config/load.js';
import { StartCancelled, startDaemon, type Daemon } from './daemon.js';
import { ConfigError, errorMessage } from './errors.js';
import { createLogger } from './log.js';
import { handleSignals } from './signals.js';
import { failedList, failedRetry, failedShow } from './commands/failed.js';
import { inferCommand } from './commands/infer.js';
import { print, UsageError } from './commands/output.js';
import { compareTables } from './commands/tables.js';
import { statusCommand } from './commands/status.js';
import { validateCommand } from './commands/validate.js';

const DEFAULT_CONFIG = process.env['LOADBAY_CONFIG'] ?? 'config/loadbay.yaml';
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// Output piped into a reader that stops early (`loadbay check-config | head`): stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/** The configuration, resolved and compiled: a bad step or schema fails here, naming its file. */
const config = async (path: string) => compileConfig(await loadConfig(path, { databaseUrl: process.env['DATABASE_URL'] }));

async function start(configPath: string): Promise<void> {
  const loaded = await config(configPath);
  const log = createLogger({ logsDir: loaded.folders.logs });
  const abort = new AbortController();
  let daemon: Daemon | null = null;
  const reload = async () => {
    if (!daemon) return;
    try {
      await daemon.reload(await config(configPath));
    } catch (error) {
      log.warn(`SIGHUP: configuration not reloaded, the running one stays: ${errorMessage(error)}`);
    }
  };
  const removeSignals = handleSignals(
    () => {
      abort.abort();
      void daemon?.stop();
    },
    (message) => log.warn(message),
    () => void reload(),
  );
  try {
    daemon = await startDaemon(loaded, log, { signal: abort.signal });
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
  const checked = await config(configPath);
  print(`${checked.configFile}: valid, ${checked.datasets.length} dataset(s)`);
  for (const d of checked.datasets) {
    print(`  ${d.name}: ${d.format}, match ${d.match.join(', ')} → ${d.table.schema}.${d.table.name}`);
    print(`    engine: ${describePlan(d.plan)}`);
  }
  print(await compareTables(checked));
}

/** infer reads with the configuration's limits; without a configuration file, with the defaults. */
async function inferLimits(path: string) {
  if (path === DEFAULT_CONFIG && !existsSync(path)) return DEFAULT_LIMITS;
  return (await config(path)).limits;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('loadbay')
    .description('Watches a drop folder and loads each finished file into PostgreSQL and Parquet, exactly once.')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', '\nExit codes: 0 ok, 1 failure (validate: the file would not load), 2 bad usage or configuration.');
  const configOption = ['-c, --config <path>', 'configuration file', DEFAULT_CONFIG] as const;
  program
    .command('start')
    .description('run the daemon')
    .option(...configOption)
    .action((o: { config: string }) => start(o.config));
  program
    .command('check-config')
    .description('validate the configuration and dataset files without starting anything')
    .option(...configOption)
    .action((o: { config: string }) => checkConfig(o.config));
  program
    .command('status')
    .description('what the daemon has done: outcomes today and overall, files waiting or held, last error')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; json?: boolean }) => statusCommand(await config(o.config), o));
  const failed = program.command('failed').description('inspect and retry quarantined files');
  failed
    .command('list')
    .description('quarantined files: time, dataset, file, stage, reason')
    .option(...configOption)
    .option('--dataset <name>', 'only this dataset')
    .option('--since <when>', 'only since a duration ago (45m, 2h, 3d) or a date')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; dataset?: string; since?: string; json?: boolean }) => failedList(await config(o.config), o));
  failed
    .command('show')
    .description("a quarantined file's summary, grouped problems and offending lines")
    .argument('<file>', 'name or path inside output_failed/')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { config: string; json?: boolean }) => failedShow(await config(o.config), file, o));
  failed
    .command('retry')
    .description('move quarantined files back into input/ (reports kept in .history/)')
    .argument('[files...]', 'names or paths inside output_failed/')
    .option(...configOption)
    .option('--all', 'every quarantined file')
    .option('--dataset <name>', 'with --all: only this dataset')
    .action(async (files: string[], o: { config: string; all?: boolean; dataset?: string }) => {
      const loaded = await config(o.config);
      const log = createLogger({ logsDir: loaded.folders.logs, console: false });
      try {
        await failedRetry(loaded, log, files, o);
      } finally {
        await log.close();
      }
    });
  program
    .command('validate')
    .description('dry run of route → read → prepare → validate; writes nothing; exit 0 when the file would load')
    .argument('<file>', 'the file to check')
    .option(...configOption)
    .option('--dataset <name>', 'use this dataset instead of routing by name')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { config: string; dataset?: string; json?: boolean }) => {
      if (!(await validateCommand(await config(o.config), file, o))) process.exitCode = 1;
    });
  program
    .command('infer')
    .description('print a dataset definition inferred from a sample of the file, to edit and save')
    .argument('<file>', 'a sample file (csv, tsv, jsonl, json; optionally .gz)')
    .option('--name <name>', 'dataset name (default: from the file name)')
    .option(...configOption)
    .action(async (file: string, o: { name?: string; config: string }) => print(await inferCommand(file, { ...o, limits: await inferLimits(o.config) })));
  await program.parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`loadbay: ${errorMessage(error)}\n`);
  process.exit(error instanceof ConfigError || error instanceof UsageError ? 2 : 1);
});
