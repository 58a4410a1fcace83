/** The byte readers' UTF-8 checker (read/utf8-bytes.ts): a BOM however the first chunks split it, and errors at the file's own offsets. */
import { Utf8Bytes } from '../../src/read/utf8-bytes.js';
import { DataError } from '../../src/errors.js';

const BOM = [0xef, 0xbb, 0xbf];

/** `chunks` through one checker: the bytes it gives, joined. */
function through(chunks: number[][]): Buffer {
  const utf8 = new Utf8Bytes();
  const out = chunks.map((chunk) => Buffer.from(utf8.next([Buffer.from(chunk)], () => 0)));
  utf8.end(0);
  return Buffer.concat(out);
}

describe('Utf8Bytes', () => {
  const text = [...Buffer.from('{"a":"é"}\n')];
  test('drops a BOM at the start however the chunks split it, and only there', () => {
    for (let cut = 0; cut <= 5; cut++) {
      const bytes = [...BOM, ...text];
      const splits = [[bytes.slice(0, cut), bytes.slice(cut)], [bytes.slice(0, 1), bytes.slice(1, 2), bytes.slice(2)]];
      for (const chunks of splits) expect({ cut, text: through(chunks).toString() }).toEqual({ cut, text: '{"a":"é"}\n' });
    }
    // A second BOM is a character of the text (U+FEFF), as TextDecoder keeps it.
    expect(through([BOM, [...BOM, 0x41]]).toString()).toBe('\ufeffA');
    expect(through([[0x41], BOM]).toString()).toBe('A\ufeff');
  });

  test('a file that is only part of a BOM is not UTF-8', () => {
    expect(() => through([[0xef, 0xbb]])).toThrow(DataError);
  });

  test("an undecodable byte is named at the file's offset, the BOM counted", () => {
    const bytes = [...BOM, ...Buffer.from('{"a":"'), 0xff, ...Buffer.from('"}\n')];
    for (const chunks of [[bytes], [bytes.slice(0, 2), bytes.slice(2)]]) {
      expect(() => through(chunks)).toThrow('line 1: the file is not valid utf-8: undecodable bytes at byte offset 9');
    }
  });
});
