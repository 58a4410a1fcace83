/**
 * The rejects file of a dataset under `on_invalid_row: skip_row`: one JSON line per rejected
 * record — its number (`line`, or `record_number` in a JSON document), the original record (the CSV fields or the JSON value as
 * read), and every reason. Written under a temporary name, fsync'd, and renamed to
 * `output_failed/<dataset>/<name>.rejects.jsonl` just before the load commits (uploaded there, when
 * the quarantine is in object storage: the temporary file is then in the staging folder).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Problem } from '../errors.js';
import type { Locator } from '../read/types.js';
import { fsyncPath } from '../lib/fs-now.js';
import { jsonText } from '../read/json-values.js';
import { fitName } from '../outcome/move.js';
import { baseOfWhere, freeWhere, isObjectWhere, joinWhere, putFileWhere, type Places, type Where } from '../source/places.js';

export interface RejectsWriter {
  write(byRecord: Map<number | string, Problem[]>, originals: Map<number, unknown>): Promise<void>;
  /** fsync + rename (or upload) into place; returns where it went. */
  commit(): Promise<Where>;
  abort(): Promise<void>;
}

/** `failedDir`: output_failed/<dataset>, local or in object storage; `stagingDir`: where the temporary file goes for the latter. */
export async function openRejects(places: Places, failedDir: Where, stagingDir: string, relative: string, locator: Locator, tag: string): Promise<RejectsWriter> {
  const target = joinWhere(failedDir, `${relative}.rejects.jsonl`);
  const tmpDir = isObjectWhere(target) ? stagingDir : path.dirname(target);
  await mkdir(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `.${fitName(baseOfWhere(target), 120)}.${tag}.tmp`);
  const out: WriteStream = createWriteStream(tmp);
  let failure: Error | null = null;
  out.on('error', (error) => (failure ??= error));
  const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  // A JSON file's locator is "record", which is also the key of the record itself.
  const numberKey = locator === 'record' ? 'record_number' : locator;
  const write = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      if (out.write(text)) resolve();
      else out.once('drain', () => (failure ? reject(failure) : resolve()));
    });
  return {
    async write(byRecord, originals) {
      let text = '';
      // In file order: reading finds ragged rows before validation finds bad values.
      const entries = [...byRecord].sort(([a], [b]) => (typeof a === 'number' ? a : Infinity) - (typeof b === 'number' ? b : Infinity));
      for (const [key, problems] of entries) {
        const number = typeof key === 'number' ? key : undefined;
        const raw = problems.find((p) => 'raw' in p) as (Problem & { raw?: unknown }) | undefined;
        const record = raw?.raw ?? (number !== undefined ? originals.get(number) : undefined) ?? null;
        // jsonText: a record may hold numbers only their digits hold (BigInt, DecimalText).
        text += jsonText({ ...(number !== undefined ? { [numberKey]: number } : {}), record, reasons: problems.map((p) => p.message) }) + '\n';
      }
      if (text) await write(text);
    },
    async commit() {
      if (failure) throw failure;
      out.end();
      await closed;
      if (failure) throw failure;
      await fsyncPath(tmp);
      const final = await freeWhere(places, target);
      await putFileWhere(places, tmp, final, { contentType: 'application/x-ndjson' });
      return final;
    },
    async abort() {
      out.destroy();
      await closed;
      await unlink(tmp).catch(() => undefined);
    },
  };
}
