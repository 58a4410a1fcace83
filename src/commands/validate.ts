/**
 * `loadbay validate FILE [--dataset D]`: a dry run of route → read → prepare → validate with the
 * daemon's own code (validate/check.ts). Writes nothing anywhere; exit 0 when the file would load.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { CompiledConfig } from '../compile.js';
import { DataError } from '../errors.js';
import { route } from '../route/route.js';
import { checkFile, verdict } from '../validate/check.js';
import { print, printJson, UsageError } from './output.js';
import { localFile } from '../source/folder/file-input.js';

export async function validateCommand(config: CompiledConfig, file: string, options: { dataset?: string; json?: boolean }): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new UsageError(`${file}: not a file`);
  const name = path.basename(file);
  let result: Record<string, unknown>;
  try {
    const dataset = options.dataset ? config.datasets.find((d) => d.name === options.dataset) : route(config.datasets, name);
    if (!dataset) throw new UsageError(`no dataset "${options.dataset}" (datasets: ${config.datasets.map((d) => d.name).join(', ')})`);
    const checked = checkFile(localFile(file), name, dataset, { batchRows: config.processing.batchRows, limits: config.limits });
    let rows = 0;
    for await (const batch of checked.batches) rows += batch.loadable ? batch.typed.length : 0;
    const rejection = verdict(checked, dataset, rows);
    const p = checked.problems;
    const read = checked.digest().read;
    result = {
      file,
      dataset: dataset.name,
      would_load: rejection === null,
      rows: rejection ? 0 : rows,
      rejected: p.rejected,
      dropped: { null_rows: checked.stats.droppedNullRows, duplicate_rows: checked.stats.droppedDuplicateRows },
      ...(read ? { read } : {}),
      ...(rejection ? { stage: rejection.stage, reason: rejection.message } : {}),
      summary: p.count ? p.summary() : rejection ? rejection.message : 'no problems',
      groups: p.sortedGroups(),
      problems: p.first,
      // Every one, where a problem's message names five: what to add to the schema, or to ignore.
      ...(p.unknownColumns.size > 0 ? { unknown_columns: [...p.unknownColumns] } : {}),
    };
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    result = { file, would_load: false, stage: error.stage, reason: error.message, summary: error.message, problems: error.problems };
  }
  if (options.json) printJson(result);
  else {
    const head = result['would_load']
      ? `${file}: would load ${String(result['rows'])} rows into dataset ${String(result['dataset'])}${result['rejected'] ? ` (${String(result['rejected'])} rejected rows set aside)` : ''}${droppedText(result['dropped'])}`
      : `${file}: would be rejected at ${String(result['stage'])}: ${String(result['reason'])}`;
    const read = result['read'] ? Object.entries(result['read'] as Record<string, unknown>).map(([k, v]) => `read: ${k}: ${String(v)}`) : [];
    const unknown = result['unknown_columns'] as string[] | undefined;
    const columns = unknown ? ['', `unknown columns (${unknown.length}): ${unknown.join(', ')}`] : [];
    print([head, ...read, '', String(result['summary']), ...columns].join('\n'));
  }
  return result['would_load'] === true;
}

function droppedText(dropped: unknown): string {
  const d = dropped as { null_rows: number; duplicate_rows: number } | undefined;
  if (!d || (!d.null_rows && !d.duplicate_rows)) return '';
  return `; prepare steps drop ${d.null_rows} rows with nulls and ${d.duplicate_rows} duplicate rows`;
}
