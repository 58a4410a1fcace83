/**
 * SentRows (load/refused.ts) names the file's line for a COPY line PostgreSQL refuses: from batches
 * of consecutive lines kept as runs, from batches with gaps kept as copies, never from the batch's
 * own numbers (a view of a buffer that leaves for the Parquet thread).
 */
import { SentRows } from '../../src/load/refused.js';

/** A batch's numbers as a view of a larger buffer, which is then transferred away. */
function leaving(numbers: number[]): { view: Float64Array; leave: () => void } {
  const buffer = new ArrayBuffer((numbers.length + 2) * 8);
  const view = new Float64Array(buffer, 8, numbers.length);
  view.set(numbers);
  return { view, leave: () => void structuredClone(buffer, { transfer: [buffer] }) };
}

test('names lines of consecutive batches and of batches with gaps after their buffers left', () => {
  const sent = new SentRows();
  const a = leaving([2, 3, 4, 5]); // header on line 1
  const b = leaving([6, 9, 10, 14]); // multi-line records and skipped rows
  const c = leaving([]);
  const d = leaving([15]);
  sent.add(0, a.view);
  sent.add(4, b.view);
  sent.add(8, c.view);
  sent.add(8, d.view);
  for (const x of [a, b, c, d]) x.leave();
  expect(a.view.length).toBe(0);
  expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((line) => sent.source(line))).toEqual([2, 3, 4, 5, 6, 9, 10, 14, 15, undefined]);
});

test('forgets all but the last 16 batches', () => {
  const sent = new SentRows();
  for (let i = 0; i < 20; i++) sent.add(i * 10, Float64Array.from({ length: 10 }, (_, k) => 1000 * i + k));
  expect(sent.source(1)).toBeUndefined();
  expect(sent.source(40)).toBeUndefined();
  expect(sent.source(41)).toBe(4000);
  expect(sent.source(200)).toBe(19_009);
  // A run whose ends are consecutive but whose middle is not is kept as it is.
  sent.add(200, Float64Array.from([1, 5, 3]));
  expect([201, 202, 203].map((line) => sent.source(line))).toEqual([1, 5, 3]);
});
