import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { parseJsonl, parseRow } from '../../src/core/train/data-parse.ts';

function err(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('bad-input');
    return e as AppError;
  }
  throw new Error('expected an error');
}

describe('parseJsonl (TRL formats)', () => {
  it('reads the four TRL formats and plain text, skipping blank lines, with a BOM and CRLF', () => {
    const text = [
      '\uFEFF{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}',
      '',
      '{"prompt": "2+2=", "completion": "4"}',
      '{"prompt": [{"role": "user", "content": "Q"}], "completion": [{"role": "assistant", "content": "A"}]}',
      '{"prompt": "Q", "chosen": "good", "rejected": "bad"}',
      '{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}',
      '{"input_ids": [5, 6]}',
      '{"text": "plain"}',
    ].join('\r\n');
    const rows = parseJsonl(text);
    expect(rows.map((r) => [r.kind, r.line])).toEqual([
      ['conversational', 1],
      ['prompt-completion', 3],
      ['prompt-completion', 4],
      ['preference', 5],
      ['tokenized', 6],
      ['tokenized', 7],
      ['text', 8],
    ]);
    expect(rows[4]).toEqual({ kind: 'tokenized', line: 6, inputIds: [5, 6, 7], labels: [-100, 6, 7] });
    expect(rows[5]).toMatchObject({ labels: null });
  });

  it('finds the implicit prompt of conversational preference rows', () => {
    const row = parseRow(
      {
        chosen: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'good' },
        ],
        rejected: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'bad' },
        ],
      },
      3,
    );
    expect(row).toEqual({
      kind: 'preference',
      line: 3,
      prompt: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'Q' },
      ],
      chosen: [{ role: 'assistant', content: 'good' }],
      rejected: [{ role: 'assistant', content: 'bad' }],
    });
  });

  it('names the line and the field of every problem', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"messages": []}', /^Line 1: "messages" must be a non-empty list/],
      ['{"messages": [{"role": "bot", "content": "x"}]}', /^Line 1: "messages"\[0\]\.role is "bot"/],
      ['{"messages": [{"role": "user", "content": 3}]}', /"messages"\[0\]\.content must be a string/],
      ['{"messages": [{"role": "user", "content": "x"}]}', /no assistant message/],
      ['{"prompt": "x"}', /needs both "prompt" and "completion"/],
      ['{"prompt": "x", "completion": [{"role": "assistant", "content": "y"}]}', /must all be strings or all be message lists/],
      ['{"prompt": [{"role": "user", "content": "x"}], "completion": [{"role": "user", "content": "y"}]}', /"completion"\[0\] has role "user"/],
      ['{"prompt": "x", "chosen": "y"}', /needs both "chosen" and "rejected"/],
      ['{"chosen": "a", "rejected": "b"}', /without "prompt" needs "chosen" and "rejected" as message lists/],
      ['{"input_ids": [1, -100]}', /"input_ids"\[1\] is -100/],
      ['{"input_ids": [1, 2], "labels": [1]}', /"labels" has 1 entries but "input_ids" has 2/],
      ['{"input_ids": [1, 2], "labels": [1, -5]}', /"labels"\[1\] is -5; token ids are integers ≥ 0 \(or -100 for no loss\)/],
      ['{"input_ids": [1.5]}', /"input_ids"\[0\] is 1\.5/],
      ['{"foo": 1, "bar": 2}', /no known fields \(found "foo", "bar"\)/],
      ['[1, 2]', /expected a JSON object/],
      ['{"text": ""}', /"text" must be a non-empty string/],
      ['{not json', /^Line 1: is not valid JSON/],
    ];
    for (const [line, re] of cases) expect(err(() => parseJsonl(line)).message, line).toMatch(re);
    expect(err(() => parseJsonl('{"text": "a"}\n\n{"prompt": 1, "completion": "x"}')).message).toMatch(/^Line 3: "prompt" must be a string or a list/);
    expect(err(() => parseJsonl('\n  \n')).message).toMatch(/no rows/);
  });
});
