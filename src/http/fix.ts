/**
 * Fixing a quarantined file in the browser. `planFix` says what the page may edit: the lines the
 * report names (or, for a header that does not fit its rows, line 1, with the extra or missing
 * column named), or a small JSON document whole — or why the file cannot be edited in a page (too
 * large, no dataset, not UTF-8, …: then the download). `applyFix` writes the corrected file into
 * input/ under a derived name — `fixed-<id>/<name>`, so the same dataset takes it and names read
 * from the file name stay the same: written under a name the watcher ignores, then renamed into
 * place in the transaction that records the fix in the ledger (original id, edits, when). The
 * original stays in output_failed/. A file quarantined from a bucket prefix goes back there: written
 * in the staging folder, then uploaded (never over an existing object) in that transaction.
 */
import { readAtMost } from '../lib/bytes.js';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';
import Papa from 'papaparse';
import type pg from 'pg';
import { EXTRA_COLUMN } from '../columns.js';
import type { Config, Dataset } from '../config/types.js';
import { recordResubmission } from '../db/quarantine.js';
import { inTransaction, locate } from '../commands/failed.js';
import { fsyncPath, statNow } from '../lib/fs-now.js';
import { isGzip, openBytes, readLines, rewriteLines, LineMismatch } from '../quarantine/lines.js';
import { idInInput, inputFolderOf } from '../source/inputs.js';
import { isObjectWhere, joinWhere, putFileWhere, statWhere } from '../source/places.js';
import { numbered } from '../outcome/move.js';
import type { QuarantinedFile } from '../quarantine/quarantined.js';
import { route } from '../route/route.js';

/** A file larger than this on disk is not rewritten from a page: the download is offered. */
export const FIX_MAX_BYTES = 64 * 1024 * 1024;
/** A JSON document is edited whole up to this size (decompressed). */
export const DOCUMENT_MAX_BYTES = 1024 * 1024;
/** What a fix reads of a file, decompressed, at most (and never more than limits.max_decompressed_bytes). */
export const FIX_MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024;
const readLimit = (config: Config) => Math.min(FIX_MAX_DECOMPRESSED_BYTES, config.limits.maxDecompressedBytes);
/** A line longer than this is not edited in a page. */
export const LINE_MAX_BYTES = 64 * 1024;
const MAX_LINES = 25;

export interface EditableLine {
  line: number;
  text: string;
  problems: Array<{ field: string | null; rule: string; message: string }>;
  /** Where the first problem's value is in the line. */
  marked: { start: number; end: number } | null;
}

export interface FixPlan {
  editable: boolean;
  /** Why not, and what to do instead. */
  why: string | null;
  mode: 'lines' | 'document' | null;
  /** The header does not fit the rows: what is extra or missing; line 1 is the line to edit. */
  header: { explanation: string; sample: { line: number; text: string } | null } | null;
  lines: EditableLine[];
  document: string | null;
  /** Problems in all, and how many of them the lines shown carry. */
  problems: { total: number; shown: number };
}

const notEditable = (why: string, total: number): FixPlan => ({ editable: false, why, mode: null, header: null, lines: [], document: null, problems: { total, shown: 0 } });

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

export async function planFix(config: Config, file: QuarantinedFile): Promise<FixPlan> {
  const { report } = file;
  const total = report.problem_count;
  if (file.resubmission) return notEditable(`it was ${file.resubmission.kind === 'fix' ? 'fixed' : 'retried'} already`, total);
  if (!file.present) return notEditable('the file is no longer in output_failed/', total);
  const dataset = config.datasets.find((d) => d.name === report.dataset);
  if (!dataset) return notEditable('no dataset takes a file of this name: download it, and drop it into input/ under a name a dataset matches', total);
  const size = isObjectWhere(file.file) ? ((await statWhere(file.places, file.file))?.size ?? 0) : (statNow(file.file)?.size ?? 0);
  const download = 'download it, fix it and drop it into input/';
  if (size > FIX_MAX_BYTES) return notEditable(`the file is ${mib(size)}, more than the ${mib(FIX_MAX_BYTES)} the console edits: ${download}`, total);
  if (dataset.format === 'csv' && !/^utf-?8$/i.test(dataset.csv.encoding)) return notEditable(`the dataset reads ${dataset.csv.encoding}, the console edits UTF-8 only: ${download}`, total);
  if (dataset.format === 'json') {
    const text = await readDocument(file, DOCUMENT_MAX_BYTES);
    if (text === null) return notEditable(`the document is larger than the ${mib(DOCUMENT_MAX_BYTES)} the console edits whole: ${download}`, total);
    return { editable: true, why: null, mode: 'document', header: null, lines: [], document: text, problems: { total, shown: total } };
  }
  if (headerMismatch(dataset, report)) return planHeader(config, file, dataset, total);
  const byLine = new Map<number, EditableLine['problems']>();
  for (const p of report.problems) {
    if (p.line === undefined || p.line === null) continue;
    if (!byLine.has(p.line) && byLine.size >= MAX_LINES) continue;
    byLine.set(p.line, [...(byLine.get(p.line) ?? []), { field: p.field ?? null, rule: p.rule, message: p.message }]);
  }
  if (byLine.size === 0) return notEditable(`no line of the file is named by the report (${report.stage}: the problem is the file as a whole): ${download}`, total);
  const read = await readLines(file.file, new Set(byLine.keys()), LINE_MAX_BYTES + 1, readLimit(config), file.places);
  const lines: EditableLine[] = [];
  for (const [line, problems] of [...byLine].sort((a, b) => a[0] - b[0])) {
    const found = read.get(line);
    if (!found || found.cut || Buffer.byteLength(found.text) > LINE_MAX_BYTES) continue;
    const first = report.problems.find((p) => p.line === line && p.value !== undefined);
    lines.push({ line, text: found.text, problems, marked: first ? locate(found.text, first.field, first.value_in_file ?? first.value) : null });
  }
  if (lines.length === 0) return notEditable(`the lines named by the report are longer than ${LINE_MAX_BYTES / 1024} KiB: ${download}`, total);
  const shown = report.problems.filter((p) => p.line !== undefined && lines.some((l) => l.line === p.line)).length;
  return { editable: true, why: null, mode: 'lines', header: null, lines, document: null, problems: { total, shown } };
}

/**
 * Every row from the first on has the same wrong number of fields: the header is what is wrong
 * (a ragged row here and there is a problem of its own line).
 */
function headerMismatch(dataset: Dataset, report: QuarantinedFile['report']): boolean {
  if (dataset.format !== 'csv' || !dataset.csv.header) return false;
  const group = report.groups.find((g) => g.rule === 'columns');
  if (!group || group.first_at[0] !== 2 || !group.first_at.every((line, i) => line === 2 + i)) return false;
  const widths = new Set(report.problems.filter((p) => p.rule === 'columns').map((p) => /has (\d+) fields/.exec(p.message)?.[1]));
  return widths.size === 1;
}

/** Line 1 to edit, the first row beside it to compare, and what is extra or missing in words. */
async function planHeader(config: Config, file: QuarantinedFile, dataset: Dataset, total: number): Promise<FixPlan> {
  const read = await readLines(file.file, new Set([1, 2]), LINE_MAX_BYTES + 1, readLimit(config), file.places);
  const header = read.get(1);
  if (!header || header.cut) return notEditable(`line 1 is longer than ${LINE_MAX_BYTES / 1024} KiB: download it, fix it and drop it into input/`, total);
  const first = read.get(2);
  const explanation = explainHeader(dataset, header.text, file.report.problems);
  return {
    editable: true,
    why: null,
    mode: 'lines',
    header: { explanation, sample: first && !first.cut ? { line: 2, text: first.text } : null },
    lines: [{ line: 1, text: header.text, problems: [{ field: null, rule: 'header', message: explanation }], marked: null }],
    document: null,
    problems: { total, shown: total },
  };
}

async function readDocument(file: QuarantinedFile, max: number): Promise<string | null> {
  const source = await openBytes(file.file, file.places);
  const input: NodeJS.ReadableStream = isGzip(file.file) ? source.pipe(createGunzip()) : source;
  try {
    return (await readAtMost(input as AsyncIterable<Buffer>, max))?.toString('utf8') ?? null;
  } catch {
    return null;
  } finally {
    source.destroy();
  }
}

/**
 * A header that does not fit its rows, said in words: which names the header has that the dataset
 * does not know (extra), which the dataset needs that it lacks (missing), and how many fields the
 * rows have.
 */
export function explainHeader(dataset: Dataset, headerLine: string, problems: QuarantinedFile['report']['problems']): string {
  const delimiter = dataset.csv.delimiter === 'auto' ? '' : dataset.csv.delimiter;
  const parsed = Papa.parse<string[]>(headerLine, { delimiter, quoteChar: dataset.csv.quote });
  const header = (parsed.data[0] ?? []).map((h) => h.trim());
  const widths = new Set<number>();
  for (const p of problems) {
    const m = /has (\d+) fields, the header has (\d+)/.exec(p.message);
    if (p.rule === 'columns' && m) widths.add(Number(m[1]));
  }
  const known = new Set(dataset.columns.map((c) => c.name.toLowerCase()));
  const normalise = (h: string) => (dataset.prepare.some((s) => 'headers' in s) ? h.toLowerCase().replace(/[^a-z0-9]+/g, '_') : h.toLowerCase());
  const extra = header.filter((h) => !known.has(normalise(h)));
  const named = new Set(header.map(normalise));
  const missing = dataset.columns.filter((c) => c.name !== EXTRA_COLUMN && !named.has(c.name.toLowerCase())).map((c) => c.name);
  const rows = [...widths].sort((a, b) => a - b);
  const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = [`Line 1 names ${plural(header.length, 'column')}; the rows have ${rows.join(' or ')} fields.`];
  if (rows.length === 1 && rows[0]! > header.length) {
    const more = rows[0]! - header.length;
    parts.push(`The rows have ${plural(more, 'field')} more than line 1 names: add ${more === 1 ? 'its name' : 'their names'} to line 1, where the rows have ${more === 1 ? 'it' : 'them'}.`);
    if (missing.length > 0) parts.push(`Columns of the dataset that line 1 does not name: ${quoted(missing)}.`);
    if (extra.length > 0) parts.push(`Line 1 names ${quoted(extra)}, which the dataset does not know.`);
  } else if (rows.length === 1 && rows[0]! < header.length) {
    const fewer = header.length - rows[0]!;
    parts.push(`Line 1 names ${plural(fewer, 'column')} more than the rows have${extra.length > 0 ? `; the dataset does not know ${quoted(extra)}: remove ${extra.length === 1 ? 'it' : 'what the rows do not have'} from line 1` : ': remove the names the rows do not have'}.`);
  } else if (extra.length > 0) {
    parts.push(`Line 1 names ${quoted(extra)}, which the dataset does not know.`);
  }
  return parts.join(' ');
}

export interface LineEdit {
  line: number;
  before: string;
  after: string;
}

export type FixRequest = { edits: LineEdit[] } | { document: string };

export class FixRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where the corrected file goes inside its input: a name the same dataset takes, with the same name parts. */
async function fixedName(config: Config, input: string, file: QuarantinedFile, dataset: Dataset): Promise<string> {
  const original = file.report.file;
  const candidates = [`fixed-${file.id}/${original}`];
  for (let n = 2; n < 20; n++) candidates.push(numbered(original, n).split(path.sep).join('/'));
  for (const candidate of candidates) {
    const where = joinWhere(input, candidate);
    if ((isObjectWhere(where) ? await statWhere(file.places, where) : statNow(where)) !== null) continue;
    let routed: Dataset | null = null;
    try {
      routed = route(config.datasets, candidate);
    } catch {
      routed = null;
    }
    if (routed?.name !== dataset.name) continue;
    if (path.basename(candidate) !== path.basename(original) && dataset.prepare.some((step) => 'add_columns' in step && step.add_columns.from_file_name)) continue;
    return candidate;
  }
  throw new FixRefused(409, `no name in ${input} would bring the fixed file to dataset ${dataset.name} with the same file name: download it, fix it and drop it into input/`);
}

/**
 * Writes the corrected file into the input it came from and records the fix; returns the name the
 * ledger will know it by (its path inside the first input, else an absolute path or an s3:// URL).
 */
export async function applyFix(config: Config, pool: pg.Pool, file: QuarantinedFile, request: FixRequest): Promise<string> {
  const plan = await planFix(config, file);
  if (!plan.editable) throw new FixRefused(409, `this file cannot be fixed here: ${plan.why}`);
  const dataset = config.datasets.find((d) => d.name === file.report.dataset)!;
  let edits: unknown;
  let write: (tmp: string) => Promise<void>;
  if ('document' in request) {
    if (plan.mode !== 'document') throw new FixRefused(400, 'this file is fixed line by line: send edits');
    if (request.document === plan.document) throw new FixRefused(400, 'nothing was changed');
    const gz = isGzip(file.file);
    edits = documentEdits(plan.document!, request.document);
    write = (tmp) => writeFile(tmp, gz ? gzipSync(request.document) : request.document, { flag: 'wx' });
  } else {
    if (plan.mode !== 'lines') throw new FixRefused(400, 'this file is fixed as a whole document: send document');
    const allowed = new Map(plan.lines.map((l) => [l.line, l.text]));
    const changed = new Map<number, { before: string; after: string }>();
    for (const edit of request.edits) {
      if (!allowed.has(edit.line)) throw new FixRefused(400, `line ${edit.line} is not one the page may edit`);
      if (/[\r\n]/.test(edit.after)) throw new FixRefused(400, `line ${edit.line}: an edit cannot add a line break`);
      if (Buffer.byteLength(edit.after) > LINE_MAX_BYTES) throw new FixRefused(400, `line ${edit.line}: longer than ${LINE_MAX_BYTES / 1024} KiB`);
      if (edit.before !== allowed.get(edit.line)) throw new FixRefused(409, `line ${edit.line} is not what the page showed: reload the page`);
      if (edit.after !== edit.before) changed.set(edit.line, { before: edit.before, after: edit.after });
    }
    if (changed.size === 0) throw new FixRefused(400, 'nothing was changed');
    edits = [...changed].map(([line, e]) => ({ line, before: e.before, after: e.after }));
    write = (tmp) => rewriteLines(file.file, tmp, changed, readLimit(config), file.places);
  }
  const input = inputFolderOf(config, file.arrival);
  const relative = await fixedName(config, input, file, dataset);
  const target = joinWhere(input, relative);
  const id = idInInput(config, input, relative);
  // Written under a dot-name the watcher ignores, then renamed (or uploaded) into place when complete;
  // in the staging folder a temporary name carries its writer, for the start-up sweep.
  const tmpDir = isObjectWhere(target) ? path.join(file.places.staging, '_fixes') : path.dirname(target);
  await mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, isObjectWhere(target) ? `.fix.${file.places.writer}.${randomBytes(4).toString('hex')}.tmp` : `.loadbay-fix-${randomBytes(4).toString('hex')}.tmp`);
  try {
    // The file is written before the transaction, which then holds a connection only for its
    // record and the rename: either both happen or, should it fail, the fixed file never arrives.
    await write(tmp);
    await fsyncPath(tmp);
    await inTransaction(pool, async (client) => {
      await recordResubmission(client, { fileId: file.id!, kind: 'fix', input: id, edits });
      if (isObjectWhere(target)) {
        await putFileWhere(file.places, tmp, target);
        return;
      }
      await rename(tmp, target);
      await fsyncPath(path.dirname(target));
    });
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    if (error instanceof LineMismatch) throw new FixRefused(409, error.message);
    throw error;
  }
  return id;
}

/** A document's changes as lines (the same number of lines), or the new document whole. */
function documentEdits(before: string, after: string): unknown {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length !== b.length) return { document: after };
  return a.flatMap((line, i) => (line === b[i] ? [] : [{ line: i + 1, before: line, after: b[i]! }]));
}
