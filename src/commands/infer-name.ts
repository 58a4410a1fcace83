/**
 * The dataset name and `match` glob `loadbay infer` proposes from a sample's file name: what stays
 * the same from one delivery to the next. Parts that vary — numbers, dates, hashes, a word such as
 * `to` between two of them — become `*` in the glob and are left out of the name:
 * `schedule_2020_08_04_to_2020_08_05.json` → `schedule`, `schedule_*.json`;
 * `e4c3e2__student-mat.csv` → `student-mat`, `*student-mat.csv`.
 */

const EXTENSION = /(\.(csv|tsv|txt|jsonl|ndjson|json))?(\.gz)?$/i;
const SEPARATOR = /^[-_. ]+$/;

/** A part that differs between deliveries: digits anywhere (dates, ids, versions), or a long hex run. */
function varies(token: string): boolean {
  return /\d/.test(token) || /^[0-9a-f]{12,}$/i.test(token);
}

export function proposeNameAndGlob(baseName: string): { name: string; glob: string } {
  const extension = EXTENSION.exec(baseName)?.[0] ?? '';
  const stem = baseName.slice(0, baseName.length - extension.length);
  const tokens = stem.split(/([-_. ]+)/).filter((t) => t !== '');
  const words = tokens.map((t, i) => ({ text: t, separator: SEPARATOR.test(t), index: i }));
  const parts = words.filter((w) => !w.separator);
  const variable = new Set(parts.filter((w) => varies(w.text)).map((w) => w.index));
  // A short word between two varying parts belongs to them: `2020_08_04_to_2020_08_05`.
  parts.forEach((w, i) => {
    if (variable.has(w.index) || w.text.length > 4) return;
    if (i > 0 && i < parts.length - 1 && variable.has(parts[i - 1]!.index) && variable.has(parts[i + 1]!.index)) variable.add(w.index);
  });
  if (variable.size === 0) return { name: datasetName(stem), glob: baseName };

  // The glob: each run of varying parts (with the separators inside it) is one `*`; a leading run
  // takes the separators after it too, so `e4c3e2__student-mat` gives `*student-mat`.
  let glob = '';
  let inRun = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.separator) {
      const next = words.slice(i + 1).find((x) => !x.separator);
      const nextVaries = next !== undefined && variable.has(next.index);
      if (inRun && (nextVaries || glob === '*')) continue;
      if (inRun && next === undefined) continue;
      glob += w.text;
      continue;
    }
    if (variable.has(w.index)) {
      if (!inRun) glob += '*';
      inRun = true;
    } else {
      inRun = false;
      glob += w.text;
    }
  }
  const constant = parts.filter((w) => !variable.has(w.index));
  let name = '';
  for (const w of constant) {
    if (name !== '') name += words[w.index - 1]?.separator ? words[w.index - 1]!.text[0] : '_';
    name += w.text;
  }
  return { name: datasetName(name), glob: glob + extension };
}

/** A valid dataset name (lower-case letters, digits, `_` and `-`, starting with a letter or digit). */
export function datasetName(text: string): string {
  const name = text.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+|[-_]+$/g, '').slice(0, 63);
  return name === '' ? 'dataset' : name;
}
