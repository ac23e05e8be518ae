import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { createTokenizer } from '../../src/core/text/tokenizer.ts';
import type { TextTokenizer } from '../../src/core/text/types.ts';
import { encodePreferenceRows, encodeSftRows } from '../../src/core/train/data-encode.ts';
import { parseJsonl } from '../../src/core/train/data-parse.ts';
import type { TokenSequence } from '../../src/core/train/data-types.ts';
import { fixturesDir } from '../fixtures/paths.ts';
import { charTokenizer, fixtureChatTemplate, LLAMA3_LIKE_TEMPLATE } from './train-helpers.ts';

/** The decoded runs of supervised tokens. */
function spans(tok: TextTokenizer, seq: TokenSequence): string[] {
  const out: string[] = [];
  let run: number[] = [];
  for (let t = 0; t < seq.labels.length; t++) {
    if (seq.labels[t] !== -100) {
      expect(seq.labels[t]).toBe(seq.inputIds[t]);
      run.push(seq.inputIds[t]);
    } else if (run.length) {
      out.push(tok.decode(run));
      run = [];
    }
  }
  if (run.length) out.push(tok.decode(run));
  return out;
}

const CONVERSATION = JSON.stringify({
  messages: [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: 'More' },
    { role: 'assistant', content: 'Sure' },
  ],
});

describe('encodeSftRows', () => {
  it('takes loss on assistant turns only, with a ChatML template', () => {
    const tok = charTokenizer(fixtureChatTemplate());
    const { examples, report } = encodeSftRows(parseJsonl(CONVERSATION), tok, { seqLen: 1000 });
    const ex = examples[0];
    expect(tok.decode(Array.from(ex.inputIds))).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nMore<|im_end|>\n<|im_start|>assistant\nSure<|im_end|>\n',
    );
    expect(spans(tok, ex)).toEqual(['Hello!<|im_end|>\n', 'Sure<|im_end|>\n']);
    expect(report).toEqual({ rows: 1, examples: 1, truncated: 0, dropped: 0, supervisedTokens: 6 + 2 + 4 + 2, totalTokens: ex.inputIds.length });
  });

  it('takes loss on assistant turns only, with a Llama-3-like template', () => {
    const tok = charTokenizer(LLAMA3_LIKE_TEMPLATE, { eos: '<|eot_id|>' });
    const { examples } = encodeSftRows(parseJsonl(CONVERSATION), tok, { seqLen: 1000 });
    expect(tok.decode(Array.from(examples[0].inputIds)).startsWith('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>')).toBe(true);
    expect(spans(tok, examples[0])).toEqual(['Hello!<|eot_id|>', 'Sure<|eot_id|>']);
  });

  it('tokenizes piece by piece when the tokenizer merges across a turn boundary', () => {
    const tok = charTokenizer(fixtureChatTemplate(), { mergeRepeats: true });
    const row = JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '\nHello' }] });
    const { examples } = encodeSftRows(parseJsonl(row), tok, { seqLen: 1000 });
    expect(tok.decode(Array.from(examples[0].inputIds))).toContain('assistant\n\nHello<|im_end|>\n');
    expect(spans(tok, examples[0])).toEqual(['\nHello<|im_end|>\n']);
  });

  it('handles prompt-completion (strings: + EOS; messages: chat template), text and pre-tokenized rows', () => {
    const tok = charTokenizer(fixtureChatTemplate());
    const rows = parseJsonl(
      [
        '{"prompt": "2+2=", "completion": "4"}',
        '{"prompt": [{"role": "user", "content": "Q"}], "completion": [{"role": "assistant", "content": "A"}]}',
        '{"text": "abc"}',
        '{"input_ids": [9, 8, 7, 6], "labels": [-100, -100, 7, 6]}',
        '{"input_ids": [9, 8]}',
      ].join('\n'),
    );
    const { examples } = encodeSftRows(rows, tok, { seqLen: 1000 });
    expect(tok.decode(Array.from(examples[0].inputIds))).toBe('2+2=4<|im_end|>');
    expect(spans(tok, examples[0])).toEqual(['4<|im_end|>']);
    expect(spans(tok, examples[1])).toEqual(['A<|im_end|>\n']);
    expect(tok.decode(Array.from(examples[1].inputIds)).endsWith('<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n')).toBe(true);
    expect(spans(tok, examples[2])).toEqual(['abc<|im_end|>']);
    expect(Array.from(examples[3].inputIds)).toEqual([9, 8, 7, 6]);
    expect(Array.from(examples[3].labels)).toEqual([-100, -100, 7, 6]);
    expect(Array.from(examples[4].labels)).toEqual([9, 8]);
  });

  it('truncates to seqLen keeping the start, counts truncated rows, and skips rows left with nothing to learn', () => {
    const tok = charTokenizer(fixtureChatTemplate());
    const rows = parseJsonl(
      ['{"prompt": "0123456789", "completion": "abcdef"}', '{"prompt": "01", "completion": "ab"}', '{"prompt": "0123456789abc", "completion": "d"}'].join('\n'),
    );
    const { examples, report } = encodeSftRows(rows, tok, { seqLen: 12 });
    expect(examples.map((e) => e.line)).toEqual([1, 2]);
    expect(examples[0].inputIds.length).toBe(12);
    expect(examples[0].truncated).toBe(true);
    expect(spans(tok, examples[0])).toEqual(['ab']);
    expect(report).toMatchObject({ rows: 3, examples: 2, truncated: 2, dropped: 1, supervisedTokens: 2 + 3 });
  });

  it('refuses rows it cannot train on, naming the line', () => {
    const tok = charTokenizer(fixtureChatTemplate());
    const e1 = (() => {
      try {
        encodeSftRows(parseJsonl('{"text": "a"}\n{"prompt": "p", "chosen": "c", "rejected": "r"}'), tok, { seqLen: 100 });
      } catch (e) {
        return e as AppError;
      }
    })();
    expect(e1?.message).toMatch(/^Line 2: this is a preference row/);
    expect(() => encodeSftRows(parseJsonl('{"input_ids": [1, 2, 700]}'), tok, { seqLen: 100 })).toThrow(/^Line 1: token id 700 at position 2 is outside the vocabulary \(0–599\)/);
    expect(() => encodeSftRows(parseJsonl('{"input_ids": [1, 2], "labels": [-100, -100]}'), tok, { seqLen: 100 })).toThrow(/no token takes loss/);
    expect(() => encodeSftRows(parseJsonl('{"text": "a"}'), tok, { seqLen: 1 })).toThrow(/sequence length must be an integer ≥ 2/);
    // a template that renders a finished conversation differently from its prefixes
    const odd = charTokenizer("{% for m in messages %}{{ m['role'] + ':' + m['content'] + '\\n' }}{% endfor %}{% if not add_generation_prompt %}[END]{% endif %}");
    expect(() => encodeSftRows(parseJsonl(CONVERSATION), odd, { seqLen: 1000 })).toThrow(/^Line 1: the chat template renders message 1 differently/);
  });

  it("works with the fixtures' real tokenizer (byte-level BPE, ChatML)", () => {
    const dir = join(fixturesDir(), 'tiny-llama', 'model');
    const tok = createTokenizer({
      tokenizerJson: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
      tokenizerConfig: JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
    });
    const { examples } = encodeSftRows(parseJsonl(CONVERSATION), tok, { seqLen: 1000 });
    expect(tok.decode(Array.from(examples[0].inputIds))).toBe(tok.applyChatTemplate(JSON.parse(CONVERSATION).messages));
    expect(spans(tok, examples[0])).toEqual(['Hello!<|im_end|>\n', 'Sure<|im_end|>\n']);
  });
});

describe('encodePreferenceRows', () => {
  it('builds chosen/rejected sequences that share the prompt, for strings and messages', () => {
    const tok = charTokenizer(fixtureChatTemplate());
    const rows = parseJsonl(
      [
        '{"prompt": "Q:", "chosen": "yes", "rejected": "no"}',
        '{"chosen": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "good"}], "rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "bad"}]}',
      ].join('\n'),
    );
    const { examples, report } = encodePreferenceRows(rows, tok, { seqLen: 1000 });
    expect(spans(tok, examples[0].chosen)).toEqual(['yes<|im_end|>']);
    expect(spans(tok, examples[0].rejected)).toEqual(['no<|im_end|>']);
    expect(tok.decode(Array.from(examples[0].chosen.inputIds))).toBe('Q:yes<|im_end|>');
    expect(spans(tok, examples[1].chosen)).toEqual(['good<|im_end|>\n']);
    expect(spans(tok, examples[1].rejected)).toEqual(['bad<|im_end|>\n']);
    const promptLen = tok.decode(Array.from(examples[1].chosen.inputIds)).indexOf('good');
    expect(tok.decode(Array.from(examples[1].rejected.inputIds)).indexOf('bad')).toBe(promptLen);
    expect(report).toMatchObject({ rows: 2, examples: 2, truncated: 0, dropped: 0 });
    expect(() => encodePreferenceRows(parseJsonl('{"text": "a"}'), tok, { seqLen: 100 })).toThrow(/^Line 1: DPO needs preference rows/);
  });
});
