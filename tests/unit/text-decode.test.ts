/**
 * Strict UTF-8 for imported text (src/core/io/text-decode.ts): bad bytes refused with their line, a BOM
 * accepted, and `\r\n`, `\n` and lone `\r` all ending a line — in task files, CSV, training data and bundles.
 */
import { describe, expect, it } from 'vitest';
import { decodeUtf8, firstInvalidUtf8, splitLines, TextEncodingError } from '../../src/core/io/text-decode.ts';
import { parseCsv } from '../../src/core/tasks/csv.ts';
import { decodeTaskFile, importTasks, TaskImportError } from '../../src/core/tasks/import.ts';
import { parseJsonl } from '../../src/core/train/data-parse.ts';

const enc = new TextEncoder();
const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...enc.encode(p)] : p)));

function encodingError(b: Uint8Array): TextEncodingError {
  try {
    decodeUtf8(b, 'tasks.txt');
  } catch (e) {
    expect(e).toBeInstanceOf(TextEncodingError);
    return e as TextEncodingError;
  }
  throw new Error('expected a refusal');
}

describe('decodeUtf8', () => {
  it('names the line of the first bad byte, with \\n, \\r\\n and lone \\r line ends', () => {
    const e = encodingError(bytes('one\ntwo\n', [0x74, 0xff, 0x6f], '\nfour'));
    expect(e.code).toBe('bad-encoding');
    expect(e.message).toBe('tasks.txt is not UTF-8 text: line 3 holds bytes that are not UTF-8 (the first at byte 9). Save the file as UTF-8 and try again.');
    expect(encodingError(bytes('a\r\nb\r\n', [0xc3, 0x28])).line).toBe(3); // a lead byte without its continuation
    expect(encodingError(bytes('a\rb\rc\r', [0xe9], 'te')).line).toBe(4); // Latin-1 é in an old Mac file
    expect(encodingError(bytes('a\r\n\r\n', [0xed, 0xa0, 0x80])).line).toBe(3); // a UTF-16 surrogate
  });

  it('finds exactly the bytes the strict decoder refuses (overlong forms, surrogates, > U+10FFFF, cut sequences)', () => {
    for (const [b, at] of [
      [[0x61, 0xc0, 0xaf], 1],
      [[0xe0, 0x80, 0xaf], 0],
      [[0xf4, 0x90, 0x80, 0x80], 0],
      [[0x61, 0x62, 0xe2, 0x82], 2],
      [[0xf0, 0x9f, 0x98, 0x80, 0x80], 4],
      [[0xe2, 0x82, 0xac, 0xce, 0xbb], 5],
    ] as const) {
      const u = Uint8Array.from(b);
      expect(firstInvalidUtf8(u), `${b.join(' ')}`).toBe(at);
      let strictOk = true;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(u);
      } catch {
        strictOk = false;
      }
      expect(strictOk).toBe(at === u.length);
    }
  });

  it('accepts a BOM and drops it', () => {
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], 'prompt\n'), 'x')).toBe('prompt\n');
  });

  it('splitLines splits at \\r\\n, \\n and \\r', () => {
    expect(splitLines('a\r\nb\nc\rd\r\r\ne')).toEqual(['a', 'b', 'c', 'd', '', 'e']);
  });
});

describe('task imports', () => {
  it('a task file that is not UTF-8 is refused with its line (code bad-encoding), not imported with replacement characters', () => {
    let e: unknown;
    try {
      decodeTaskFile(bytes('What is 2 + 2?\nCombien co', [0xfb], 'te 3 + 4 ?\n'), 'tasks.txt');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(TaskImportError);
    expect((e as TaskImportError).code).toBe('bad-encoding');
    expect((e as TaskImportError).issues).toEqual([{ line: 2, message: 'holds bytes that are not UTF-8; save the file as UTF-8.' }]);
    expect((e as TaskImportError).message).toMatch(/^tasks\.txt is not UTF-8 text: line 2 holds bytes/);
  });

  it('CR-only line endings give one prompt per line in .txt, .jsonl and .csv files', () => {
    expect(importTasks(decodeTaskFile(bytes([0xef, 0xbb, 0xbf], 'one\rtwo\rthree\r'), 'a.txt'), { fileName: 'a.txt' }).tasks.map((t) => t.prompt)).toEqual(['one', 'two', 'three']);
    expect(importTasks('{"prompt": "a"}\r{"prompt": "b"}\r', { fileName: 'a.jsonl' }).tasks.map((t) => t.prompt)).toEqual(['a', 'b']);
    expect(importTasks('prompt,answer\r"x",1\r"y",2\r', { fileName: 'a.csv' }).tasks.map((t) => [t.prompt, t.answer])).toEqual([
      ['x', 1],
      ['y', 2],
    ]);
    // Auto-detection reads the first line the same way.
    expect(importTasks('{"prompt": "a"}\r{"prompt": "b"}').format).toBe('jsonl');
  });

  it('line numbers count lone \\r: in JSONL problems and inside quoted CSV fields', () => {
    let e: TaskImportError | null = null;
    try {
      importTasks('{"prompt": "a"}\r\r{"prompt": ""}\r', { fileName: 'a.jsonl' });
    } catch (x) {
      e = x as TaskImportError;
    }
    expect(e?.issues).toEqual([{ line: 3, message: 'the prompt is empty.' }]);
    expect(parseCsv('prompt\r"two\rlines"\rnext')).toEqual([
      { fields: ['prompt'], line: 1 },
      { fields: ['two\rlines'], line: 2 },
      { fields: ['next'], line: 4 },
    ]);
  });
});

describe('training data (TRL JSONL)', () => {
  it('splits at lone \\r too, and names the line', () => {
    expect(parseJsonl('{"text": "a"}\r{"text": "b"}')).toHaveLength(2);
    expect(() => parseJsonl('{"text": "a"}\r{"text": 5}')).toThrow(/^Line 2: /);
  });
});
