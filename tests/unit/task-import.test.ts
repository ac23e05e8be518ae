import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/core/tasks/csv.ts';
import { detectFormat, importTasks, TaskImportError } from '../../src/core/tasks/import.ts';
import { AppError } from '../../src/core/errors.ts';

function importError(text: string, options = {}): TaskImportError {
  try {
    importTasks(text, options);
  } catch (e) {
    expect(e).toBeInstanceOf(TaskImportError);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('bad-input');
    return e as TaskImportError;
  }
  throw new Error('expected the import to fail');
}

describe('parseCsv (RFC 4180)', () => {
  it('reads quoted fields with commas, line breaks and doubled quotes, CRLF, a BOM and blank lines', () => {
    const text = '\uFEFFprompt,answer\r\n"Add 2, then 3",5\r\n"Say ""hi""\nover two lines",\r\n\r\nplain,7';
    expect(parseCsv(text)).toEqual([
      { fields: ['prompt', 'answer'], line: 1 },
      { fields: ['Add 2, then 3', '5'], line: 2 },
      { fields: ['Say "hi"\nover two lines', ''], line: 3 },
      { fields: ['plain', '7'], line: 6 },
    ]);
    expect(parseCsv('a,b\n1,"x"')).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', 'x'], line: 2 },
    ]);
    expect(parseCsv('say 5" tall')).toEqual([{ fields: ['say 5" tall'], line: 1 }]);
  });

  it('names the line of an unclosed quote or text after a closing quote', () => {
    expect(() => parseCsv('prompt\n"never closed\nstill open')).toThrow(/line 2: a quoted field is never closed/);
    expect(() => parseCsv('prompt\n"ab"cd')).toThrow(/line 2: text after a closing quote/);
  });
});

describe('importTasks: good files', () => {
  it('JSONL with answers, rules, splits and kinds', () => {
    const text = [
      '{"prompt": "What is 6 times 7?", "answer": 42}',
      '',
      '{"prompt": "Half of 9?", "answer": "4 1/2", "split": "eval"}',
      '{"prompt": "Describe a cat in 10 words.", "rules": [{"type": "max_words", "n": 10}], "kind": "instruction"}',
      '{"prompt": "Tell me a story.", "split": "TRAIN"}',
    ].join('\n');
    const r = importTasks(text, { fileName: 'mine.jsonl' });
    expect(r.format).toBe('jsonl');
    expect(r.warnings).toEqual([]);
    expect(r.tasks.map((t) => [t.kind, t.answer, t.split])).toEqual([
      ['math', 42, r.tasks[0].split],
      ['math', 4.5, 'eval'],
      ['instruction', undefined, r.tasks[2].split],
      ['open', undefined, 'train'],
    ]);
    expect(r.tasks[2].rules).toEqual([{ type: 'max_words', n: 10 }]);
    expect(r.tasks.every((t) => t.source === 'import' && /^imp-[0-9a-f]{16}$/.test(t.id))).toBe(true);
    // Ids are derived from the prompt: importing again gives the same ids.
    expect(importTasks(text).tasks.map((t) => t.id)).toEqual(r.tasks.map((t) => t.id));
  });

  it('CSV with a header, quoted commas and line breaks, and an unknown column (warned)', () => {
    const text = 'Prompt,Answer,Split,notes\n"A pen costs $2, a book $5. Total?",7,eval,x\n"Write a poem\nabout rain",,,y\n';
    const r = importTasks(text, { fileName: 'set.csv' });
    expect(r.format).toBe('csv');
    expect(r.tasks).toHaveLength(2);
    expect(r.tasks[0]).toMatchObject({ kind: 'math', answer: 7, split: 'eval', prompt: 'A pen costs $2, a book $5. Total?' });
    expect(r.tasks[1]).toMatchObject({ kind: 'open', prompt: 'Write a poem\nabout rain' });
    expect(r.warnings).toEqual([{ line: 1, message: 'ignored unknown columns notes.' }]);
  });

  it('plain text, one prompt per line; repeated prompts are skipped with a warning', () => {
    const r = importTasks('Why is the sea salty?\n\n  How do birds fly?  \nWhy is the sea salty?\n');
    expect(r.format).toBe('lines');
    expect(r.tasks.map((t) => t.prompt)).toEqual(['Why is the sea salty?', 'How do birds fly?']);
    expect(r.warnings).toEqual([{ line: 4, message: 'repeats the prompt on line 1; skipped.' }]);
  });

  it('detects the format from the extension, else from the content', () => {
    expect(detectFormat('x', 'a.JSONL')).toBe('jsonl');
    expect(detectFormat('x', 'a.txt')).toBe('lines');
    expect(detectFormat('x', 'a.csv')).toBe('csv');
    expect(detectFormat('\n {"prompt": "x"}')).toBe('jsonl');
    expect(detectFormat('prompt,answer\nx,1')).toBe('csv');
    expect(detectFormat('Hello, world\nsecond')).toBe('lines');
  });
});

describe('importTasks: bad files are refused whole, each problem named with its line', () => {
  it('1. invalid JSON on a line', () => {
    const e = importError('{"prompt": "ok"}\n{"prompt": "broken",\n', { format: 'jsonl' });
    expect(e.issues).toEqual([{ line: 2, message: expect.stringMatching(/not valid JSON/) }]);
    expect(e.message).toMatch(/line 2: not valid JSON/);
  });
  it('2. a JSON line that is not an object', () => {
    expect(importError('["a list"]', { format: 'jsonl' }).issues[0].message).toMatch(/must be a JSON object/);
  });
  it('3. a missing or empty prompt', () => {
    const e = importError('{"answer": 3}\n{"prompt": "   "}', { format: 'jsonl' });
    expect(e.issues.map((i) => i.line)).toEqual([1, 2]);
    expect(e.issues[0].message).toMatch(/"prompt" is missing/);
    expect(e.issues[1].message).toMatch(/prompt is empty/);
  });
  it('4. a non-numeric answer', () => {
    expect(importError('{"prompt": "x?", "answer": "forty-two"}', { format: 'jsonl' }).issues[0].message).toMatch(/"answer" must be a number like 42/);
  });
  it('5. an unknown rule type', () => {
    expect(importError('{"prompt": "x", "rules": [{"type": "rhymes"}]}', { format: 'jsonl' }).issues[0].message).toMatch(/rule 1: unknown rule type "rhymes"/);
  });
  it('6. a rule with a bad parameter, and rules that are not a list', () => {
    const e = importError('{"prompt": "x", "rules": [{"type": "max_words", "n": "fifty"}]}\n{"prompt": "y", "rules": {"type": "no_commas"}}', { format: 'jsonl' });
    expect(e.issues[0].message).toMatch(/needs "n" as a whole number/);
    expect(e.issues[1].message).toMatch(/"rules" must be a non-empty list/);
  });
  it('7. answer and rules together, and a kind that does not fit', () => {
    const e = importError('{"prompt": "x", "answer": 1, "rules": [{"type": "no_commas"}]}\n{"prompt": "y", "kind": "math"}\n{"prompt": "z", "kind": "poem"}', { format: 'jsonl' });
    expect(e.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/either "answer".*or "rules", not both/),
      expect.stringMatching(/kind "math" needs a numeric "answer"/),
      expect.stringMatching(/"kind" must be "math", "instruction" or "open"/),
    ]);
  });
  it('8. a bad split', () => {
    expect(importError('prompt,split\nHello?,test', { format: 'csv' }).issues[0]).toEqual({ line: 2, message: expect.stringMatching(/"split" must be "train" or "eval"/) });
  });
  it('9. a CSV without a prompt column', () => {
    expect(importError('question,answer\nx,1', { format: 'csv' }).issues[0].message).toMatch(/header naming a "prompt" column \(found: question, answer\)/);
  });
  it('10. a CSV row with the wrong number of fields', () => {
    expect(importError('prompt,answer\nAdd 2, then 3,5', { format: 'csv' }).issues[0]).toEqual({ line: 2, message: expect.stringMatching(/has 3 fields but the header has 2/) });
  });
  it('11. a CSV with an unclosed quote', () => {
    expect(importError('prompt\n"oops', { format: 'csv' }).message).toMatch(/CSV line 2: a quoted field is never closed/);
  });
  it('12. a prompt over the length limit', () => {
    expect(importError(`${'x'.repeat(101)}\nshort`, { maxPromptChars: 100 }).issues[0]).toEqual({ line: 1, message: expect.stringMatching(/101 characters; the limit is 100/) });
  });
  it('13. too many prompts', () => {
    const text = Array.from({ length: 11 }, (_, i) => `prompt ${i}`).join('\n');
    expect(importError(text, { maxPrompts: 10 }).message).toMatch(/has 11 prompts; at most 10 can be imported at once/);
  });
  it('14. an empty file, and a binary one', () => {
    expect(importError('\n  \n').message).toMatch(/holds no prompts/);
    expect(importError('PK\u0003\u0004\u0000\u0000').message).toMatch(/binary file/);
  });
  it('15. many problems: the message shows five and counts the rest', () => {
    const text = Array.from({ length: 8 }, () => '{"prompt": 5}').join('\n');
    const e = importError(text, { format: 'jsonl' });
    expect(e.issues).toHaveLength(8);
    expect(e.message).toMatch(/line 5: .*…and 3 more problems\.$/);
  });
  it('16. a CSV "rules" column that is not JSON', () => {
    expect(importError('prompt,rules\nx,no commas please', { format: 'csv' }).issues[0].message).toMatch(/"rules" column must hold a JSON list/);
  });
});
