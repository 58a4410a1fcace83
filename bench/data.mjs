/**
 * The benchmarks' data, generated deterministically (the same bytes every time) under a work folder:
 * the big CSV (`makeBigCsv`), the small student files (`makeSmallFiles`), and what their datasets
 * declare. Shared by bench/bench.mjs and bench/s3-load.mjs, so a bucket is measured against a local
 * folder on the very same files.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/** The generators, writing under `work/data`; `smallFiles`: how many small files a set holds. */
export function dataIn(WORK, SMALL_FILES) {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const KINDS = ['click', 'view', 'buy', 'refund'];
  const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma', 'kappa', 'zeta'];

  function bigRow(i) {
    const ts = new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString();
    const note = `${WORDS[i % 8]}, ${WORDS[(i * 7) % 8]} and "${WORDS[(i * 3) % 8]}"`;
    return {
      id: i,
      ts,
      kind: KINDS[i % 4],
      amount: Math.round(rnd() * 1_000_000) / 100,
      label: `L${(i * 2654435761) % 100000}`,
      flag: i % 3 === 0,
      note,
    };
  }
  const BIG_SCHEMA = {
    type: 'object',
    required: ['id', 'ts', 'kind', 'amount', 'label', 'flag'],
    properties: {
      id: { type: 'integer', minimum: 0 },
      ts: { type: 'string', format: 'date-time' },
      kind: { type: 'string', enum: KINDS },
      amount: { type: 'number', minimum: 0, maximum: 100000 },
      label: { type: 'string', maxLength: 16 },
      flag: { type: 'boolean' },
      note: { type: 'string' },
    },
  };
  const BIG_DDL = 'id bigint, ts timestamptz, kind text, amount double precision, label text, flag boolean, note text';

  async function writeLines(file, count, line, gzip = false) {
    if (existsSync(file)) return;
    await mkdir(path.dirname(file), { recursive: true });
    seed = 42;
    const source = Readable.from(
      (function* () {
        let chunk = [];
        for (let i = 0; i < count; i++) {
          chunk.push(line(i));
          if (chunk.length === 10_000) {
            yield chunk.join('');
            chunk = [];
          }
        }
        if (chunk.length) yield chunk.join('');
      })(),
    );
    const tmp = `${file}.tmp`;
    await pipeline(source, ...(gzip ? [createGzip({ level: 6 })] : []), createWriteStream(tmp));
    await rename(tmp, file);
  }

  const csvLine = (r) => `${r.id},${r.ts},${r.kind},${r.amount},${r.label},${r.flag},"${r.note.replace(/"/g, '""')}"\n`;
  const BIG_HEADER = 'id,ts,kind,amount,label,flag,note\n';

  async function makeBigCsv(rows, name) {
    const file = path.join(WORK, 'data', name);
    await writeLines(file, rows + 1, (i) => (i === 0 ? BIG_HEADER : csvLine(bigRow(i))));
    return file;
  }

  const STUDENT_HEADER =
    'school;sex;age;address;famsize;Pstatus;Medu;Fedu;Mjob;Fjob;reason;guardian;traveltime;studytime;failures;schoolsup;famsup;paid;activities;nursery;higher;internet;romantic;famrel;freetime;goout;Dalc;Walc;health;absences;G1;G2;G3';
  function studentLine(i, f) {
    const yn = (k) => ((i * k) % 3 === 0 ? '"yes"' : '"no"');
    const g = 5 + (i % 15);
    return [
      i % 2 ? '"GP"' : '"MS"', i % 3 ? '"F"' : '"M"', 15 + (i % 7), i % 5 ? '"U"' : '"R"', i % 4 ? '"GT3"' : '"LE3"',
      i % 6 ? '"T"' : '"A"', i % 5, (i + 1) % 5, `"teacher${f}"`, '"other"', '"course"', '"mother"',
      1 + (i % 4), 1 + ((i + 1) % 4), i % 4, yn(2), yn(3), yn(5), yn(7), yn(11), yn(13), yn(17), yn(19),
      1 + (i % 5), 1 + ((i + 2) % 5), 1 + ((i + 3) % 5), 1 + (i % 5), 1 + ((i + 1) % 5), 1 + ((i + 4) % 5),
      i % 30, `"${g}"`, `"${g}"`, g,
    ].join(';') + '\n';
  }

  /** `SMALL_FILES` student files; `set` b holds other rows (not duplicates of a's) under other names. */
  async function makeSmallFiles(set = 'a') {
    const dir = path.join(WORK, 'data', `small-v2${set === 'a' ? '' : set}-${SMALL_FILES}`);
    if (existsSync(path.join(dir, 'done'))) return dir;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const offset = set === 'a' ? 0 : SMALL_FILES;
    for (let f = 0; f < SMALL_FILES; f++) {
      const lines = [STUDENT_HEADER + '\n'];
      for (let i = 0; i < 400; i++) lines.push(studentLine((f + offset) * 400 + i, f + offset));
      await writeFile(path.join(dir, `student-${set === 'a' ? '' : set}${String(f).padStart(4, '0')}.csv`), lines.join(''));
    }
    await writeFile(path.join(dir, 'done'), '');
    return dir;
  }

  return { KINDS, BIG_SCHEMA, BIG_DDL, BIG_HEADER, STUDENT_HEADER, bigRow, csvLine, writeLines, makeBigCsv, makeSmallFiles };
}
