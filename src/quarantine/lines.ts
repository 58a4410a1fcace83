/**
 * Lines of a quarantined file (gunzipped when it is a `.gz`), read and rewritten as a stream with
 * bounded memory: a line is split on LF, kept up to a number of bytes (a file of one endless line
 * costs no more than a short one), and numbered from 1 as the reports number them.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { isObjectWhere, readWhere, type Places, type Where } from '../source/places.js';

const LF = 0x0a;
const CR = 0x0d;

export interface ReadLine {
  text: string;
  /** The line was longer than the bytes kept. */
  cut: boolean;
}

export function isGzip(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

/** The bytes of a local file or an object (`places` reaches the bucket). */
export async function openBytes(file: Where, places?: Places): Promise<Readable> {
  if (!isObjectWhere(file)) return createReadStream(file);
  if (!places) throw new Error(`${file}: no connection to object storage`);
  return (await readWhere(places, file)) ?? Readable.from([]);
}

function decode(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

/**
 * The wanted lines, each cut to `maxBytes` (and `cut` saying so); reading stops after the last one.
 * `limitBytes` bounds what is read of the file in all (decompressed).
 */
export async function readLines(file: Where, wanted: Set<number>, maxBytes: number, limitBytes = Number.MAX_SAFE_INTEGER, places?: Places): Promise<Map<number, ReadLine>> {
  const found = new Map<number, ReadLine>();
  if (wanted.size === 0) return found;
  const last = Math.max(...wanted);
  const source = await openBytes(file, places).catch(() => Readable.from([]));
  const input: NodeJS.ReadableStream = isGzip(file) ? source.pipe(createGunzip()) : source;
  source.on('error', () => undefined);
  let number = 1;
  let parts: Buffer[] = [];
  let kept = 0;
  let cut = false;
  let read = 0;
  const keep = (piece: Buffer) => {
    if (!wanted.has(number) || kept >= maxBytes) {
      if (piece.length > 0 && wanted.has(number)) cut = true;
      return;
    }
    const take = piece.subarray(0, maxBytes - kept);
    parts.push(take);
    kept += take.length;
    if (take.length < piece.length) cut = true;
  };
  const endLine = () => {
    if (wanted.has(number)) found.set(number, { text: decode(Buffer.concat(parts)), cut });
    number++;
    parts = [];
    kept = 0;
    cut = false;
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      read += chunk.length;
      let from = 0;
      for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, from)) {
        keep(chunk.subarray(from, at));
        endLine();
        from = at + 1;
        if (number > last) return found;
      }
      keep(chunk.subarray(from));
      if (read > limitBytes) return found;
    }
    if (parts.length > 0 || kept > 0) endLine();
  } catch {
    // an unreadable or truncated file shows what was read
  } finally {
    source.destroy();
  }
  return found;
}

export class LineMismatch extends Error {}

/**
 * Copies `source` to `target` (gzip in, gzip out) with some lines replaced: `edits` maps a line
 * number to its new text and to the text it must have now (the page may have shown an older file).
 * Each replaced line keeps its line ending. Lines that are not edited pass through as bytes.
 */
export async function rewriteLines(source: Where, target: string, edits: Map<number, { before: string; after: string }>, limitBytes: number, places?: Places): Promise<void> {
  const pending = new Set(edits.keys());
  let number = 1;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let total = 0;
  const editing = () => edits.has(number);
  const finishLine = (push: (b: Buffer) => void, ending: Buffer) => {
    if (editing()) {
      const edit = edits.get(number)!;
      const now = Buffer.concat(held);
      const crlf = now.length > 0 && now[now.length - 1] === CR;
      const text = decode(now);
      if (text !== edit.before) throw new LineMismatch(`line ${number} is not what the page showed: the file changed; reload the page`);
      push(Buffer.from(edit.after, 'utf8'));
      if (crlf) push(Buffer.from([CR]));
      pending.delete(number);
    }
    push(ending);
    number++;
    held = [];
    heldBytes = 0;
  };
  const replace = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        total += chunk.length;
        if (total > limitBytes) throw new LineMismatch(`the file is larger than ${Math.round(limitBytes / 1024 / 1024)} MiB once decompressed: too large to fix in the console; download it, fix it and drop it into input/`);
        let from = 0;
        for (let at = chunk.indexOf(LF); at !== -1; at = chunk.indexOf(LF, from)) {
          const piece = chunk.subarray(from, at);
          if (editing()) hold(piece);
          else this.push(piece);
          finishLine((b) => this.push(b), Buffer.from([LF]));
          from = at + 1;
        }
        const rest = chunk.subarray(from);
        if (editing()) hold(rest);
        else if (rest.length > 0) this.push(rest);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (editing() && (heldBytes > 0 || pending.has(number))) finishLine((b) => this.push(b), Buffer.alloc(0));
        if (pending.size > 0) throw new LineMismatch(`the file has no line ${Math.min(...pending)}`);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
  const hold = (piece: Buffer) => {
    heldBytes += piece.length;
    if (heldBytes > 16 * 1024 * 1024) throw new LineMismatch(`line ${number} is longer than 16 MiB: too long to fix in the console`);
    held.push(Buffer.from(piece));
  };
  const gz = isGzip(source);
  await pipeline([await openBytes(source, places), ...(gz ? [createGunzip()] : []), replace, ...(gz ? [createGzip()] : []), createWriteStream(target, { flags: 'wx' })]);
}
