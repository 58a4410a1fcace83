#!/usr/bin/env node
/**
 * Entry point: parse the command line, build the config, run. Helpers throw; the only
 * `process.exit` with a failure code is in `main().catch`. Exit codes: 0 ok, 1 runtime failure,
 * 2 invalid configuration or usage. A command's modules are imported when it runs, so `--version`,
 * `--help` and a usage error load commander and nothing else.
 */
import { VERSION } from './lib/version.js';
import { Command, CommanderError } from 'commander';
import { ConfigError, errorMessage } from './errors.js';
import { print, UsageError } from './commands/output.js';

const DEFAULT_CONFIG = process.env['LOADBAY_CONFIG'] ?? 'config/loadbay.yaml';

// Output piped into a reader that stops early (`loadbay check-config | head`): stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const config = async (path: string) => (await import('./commands/config.js')).readConfig(path);

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
    .action(async (o: { config: string }) => (await import('./commands/start.js')).startCommand(o.config));
  program
    .command('check-config')
    .description('validate the configuration and dataset files without starting anything')
    .option(...configOption)
    .action(async (o: { config: string }) => (await import('./commands/start.js')).checkConfigCommand(o.config));
  program
    .command('status')
    .description('what the daemon has done: outcomes today and overall, files waiting or held, last error')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; json?: boolean }) => (await import('./commands/status.js')).statusCommand(await config(o.config), o));
  const failed = program.command('failed').description('inspect and retry quarantined files');
  failed
    .command('list')
    .description('quarantined files: time, dataset, file, stage, reason')
    .option(...configOption)
    .option('--dataset <name>', 'only this dataset')
    .option('--since <when>', 'only since a duration ago (45m, 2h, 3d) or a date')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; dataset?: string; since?: string; json?: boolean }) => (await import('./commands/failed.js')).failedList(await config(o.config), o));
  failed
    .command('show')
    .description("a quarantined file's summary, grouped problems and offending lines")
    .argument('<file>', 'name or path inside output_failed/')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { config: string; json?: boolean }) => (await import('./commands/failed.js')).failedShow(await config(o.config), file, o));
  failed
    .command('retry')
    .description('move quarantined files back into input/ (reports kept in .history/)')
    .argument('[files...]', 'names or paths inside output_failed/')
    .option(...configOption)
    .option('--all', 'every quarantined file')
    .option('--dataset <name>', "with --all: only this dataset's files; with files: route them to this dataset by hand")
    .action(async (files: string[], o: { config: string; all?: boolean; dataset?: string }) => {
      const loaded = await config(o.config);
      const [{ createLogger }, { failedRetry }] = await Promise.all([import('./log.js'), import('./commands/failed.js')]);
      const log = createLogger({ logsDir: loaded.folders.logs, console: false });
      try {
        await failedRetry(loaded, log, files, o);
      } finally {
        await log.close();
      }
    });
  program
    .command('reload')
    .description('make the running instances read their dataset files again (they also do when the files change); exit 0 when each took them')
    .option(...configOption)
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; json?: boolean }) => {
      if (!(await (await import('./commands/reload.js')).reloadCommand(await config(o.config), o))) process.exitCode = 1;
    });
  program
    .command('validate')
    .description('dry run of route → read → prepare → validate; writes nothing; exit 0 when the file would load')
    .argument('<file>', 'the file to check')
    .option(...configOption)
    .option('--dataset <name>', 'use this dataset instead of routing by name')
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: { config: string; dataset?: string; json?: boolean }) => {
      if (!(await (await import('./commands/validate.js')).validateCommand(await config(o.config), file, o))) process.exitCode = 1;
    });
  program
    .command('infer')
    .description('print a dataset definition inferred from a sample of the file, to edit and save')
    .argument('<file>', 'a sample file (csv, tsv, jsonl, json; optionally .gz)')
    .option('--name <name>', 'dataset name (default: the parts of the file name that do not vary)')
    .option('--records <path>', 'json: where the records are, as json.records (e.g. dates.*.games.*)')
    .option('--path-columns <names>', 'json: comma-separated column names for the "*" steps of --records, as json.path_columns')
    .option('--flatten', 'nested objects become parent_child columns, as flatten: true')
    .option(...configOption)
    .action(async (file: string, o: { name?: string; config: string; records?: string; pathColumns?: string; flatten?: boolean }) => {
      const [{ inferCommand }, { inferLimits }] = await Promise.all([import('./commands/infer.js'), import('./commands/config.js')]);
      const pathColumns = o.pathColumns?.split(',').map((c) => c.trim()).filter(Boolean);
      print(await inferCommand(file, { ...o, pathColumns, limits: await inferLimits(o.config, DEFAULT_CONFIG) }));
    });
  await program.parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`loadbay: ${errorMessage(error)}\n`);
  process.exit(error instanceof ConfigError || error instanceof UsageError ? 2 : 1);
});
