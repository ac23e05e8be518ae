/** Tokenizer + chat template over the fixture files, the text stream (stop strings, partial UTF-8) and sampling. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { seededRandom } from '../../src/core/text/random.ts';
import { GREEDY, argmax, sampleToken, samplingParams } from '../../src/core/text/sampling.ts';
import { TextStream } from '../../src/core/text/text-stream.ts';
import { createTokenizer } from '../../src/core/text/tokenizer.ts';
import type { TextTokenizer } from '../../src/core/text/types.ts';
import { modelDir } from '../fixtures/reference.ts';

function files(): { tokenizerJson: unknown; tokenizerConfig: Record<string, unknown> } {
  const dir = modelDir('tiny-llama');
  return {
    tokenizerJson: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    tokenizerConfig: JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>,
  };
}

const tok = createTokenizer({ ...files(), extraEosTokenIds: [2, 0] });

describe('tokenizer and chat template', () => {
  it('declares vocabulary, eos and pad as the files say', () => {
    expect(tok.vocabSize).toBe(300);
    expect([...tok.eosTokenIds].sort()).toEqual([0, 2]); // <|im_end|> from tokenizer_config, 0 from the extras
    expect(tok.padTokenId).toBe(2);
  });

  it('round-trips text, and special tokens written in text become their ids (no BOS added)', () => {
    const text = 'Hello world, héllo! 12+7=19';
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode([])).toBe('');
    const withSpecial = tok.encode('<|im_start|>user\nhi<|im_end|>');
    expect(withSpecial[0]).toBe(1);
    expect(withSpecial[withSpecial.length - 1]).toBe(2);
    expect(tok.decode(withSpecial, { skipSpecialTokens: true })).toBe('user\nhi');
  });

  it("renders the model's own ChatML template, with and without the generation prompt", () => {
    const messages = [{ role: 'user' as const, content: 'What is 2+2?' }];
    expect(tok.applyChatTemplate(messages, { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
    );
    const withSystem = tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, ...messages, { role: 'assistant', content: '4' }]);
    expect(withSystem).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n');
  });

  it('takes the template from chat_template.jinja, a named list, and special tokens written as objects', () => {
    const f = files();
    const { chat_template: _omit, ...noTemplate } = f.tokenizerConfig;
    const fromFile = createTokenizer({ tokenizerJson: f.tokenizerJson, tokenizerConfig: noTemplate, chatTemplateFile: '{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}' });
    expect(fromFile.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('<|im_start|>[user]x<|im_end|>');
    const listed = createTokenizer({
      tokenizerJson: f.tokenizerJson,
      tokenizerConfig: { ...noTemplate, eos_token: { content: '<|endoftext|>', special: true }, chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D{{ messages | length }}' }] },
    });
    expect(listed.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('D1');
    expect(listed.eosTokenIds).toEqual([0]);
  });

  it('gives clear typed errors: no template, a template that raises, a broken tokenizer.json', () => {
    const f = files();
    const { chat_template: _omit, ...noTemplate } = f.tokenizerConfig;
    const none = createTokenizer({ tokenizerJson: f.tokenizerJson, tokenizerConfig: noTemplate });
    expect(() => none.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(/has no chat template/);
    const raising = createTokenizer({ tokenizerJson: f.tokenizerJson, tokenizerConfig: { ...noTemplate, chat_template: "{{ raise_exception('Only user messages') }}" } });
    expect(() => raising.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(AppError);
    expect(() => raising.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(/refused these messages: .*Only user messages/);
    expect(() => createTokenizer({ tokenizerJson: { version: '1.0' }, tokenizerConfig: {} })).toThrow(/tokenizer.json has no "model" section/);
  });
});

describe('text stream', () => {
  /** A stream fed the tokens of `text`, one at a time; returns the deltas. */
  function feed(stream: TextStream, t: TextTokenizer, text: string): { deltas: string[]; stoppedAt: number } {
    const deltas: string[] = [];
    const ids = t.encode(text);
    let stoppedAt = -1;
    ids.forEach((id, i) => {
      if (stoppedAt >= 0) return;
      const { delta, stopped } = stream.push(id);
      if (delta) deltas.push(delta);
      if (stopped) stoppedAt = i;
    });
    return { deltas, stoppedAt };
  }

  it('emits the text piece by piece and never half a UTF-8 character', () => {
    const s = new TextStream(tok);
    const { deltas } = feed(s, tok, 'naïve café ☕ ok');
    const rest = s.finish();
    expect(deltas.join('') + rest).toBe('naïve café ☕ ok');
    for (const d of deltas) expect(d).not.toContain('\ufffd');
  });

  it('stops before a stop string, even one split across tokens, and never emits its beginning', () => {
    const s = new TextStream(tok, ['STOP', '\n\n']);
    const { deltas, stoppedAt } = feed(s, tok, 'answer is 4 STOP and more text');
    expect(stoppedAt).toBeGreaterThan(0);
    expect(deltas.join('') + s.finish()).toBe('answer is 4 ');
    expect(s.text).toBe('answer is 4 ');
    const partial = new TextStream(tok, ['STOP']);
    const fed = feed(partial, tok, 'x ST');
    expect(fed.deltas.join('')).toBe('x '); // "ST" might begin "STOP": held back
    expect(partial.finish()).toBe('ST'); // …and released when the stream ends
  });
});

describe('sampling', () => {
  const logits = (): Float32Array => Float32Array.from([1, 3, 2.5, -1, 0.5, 2.9]);

  it('greedy is the argmax (first of ties)', () => {
    expect(sampleToken(logits(), GREEDY, null, seededRandom(1))).toBe(1);
    expect(argmax([0, 5, 5, 1])).toBe(1);
  });

  it('top-k 1 and a tiny top-p are greedy too', () => {
    for (let seed = 0; seed < 20; seed++) {
      expect(sampleToken(logits(), samplingParams({ temperature: 1, topK: 1 }), null, seededRandom(seed))).toBe(1);
      expect(sampleToken(logits(), samplingParams({ temperature: 1, topP: 0.01 }), null, seededRandom(seed))).toBe(1);
    }
  });

  it('is reproducible from its seed and follows the distribution', () => {
    const p = samplingParams({ temperature: 1 });
    const draw = (seed: number): number[] => {
      const r = seededRandom(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits(), p, null, r));
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    const counts = new Array<number>(6).fill(0);
    const r = seededRandom(7);
    for (let i = 0; i < 4000; i++) counts[sampleToken(logits(), p, null, r)]++;
    const z = Array.from(logits(), Math.exp);
    const total = z.reduce((a, b) => a + b, 0);
    counts.forEach((c, i) => expect(Math.abs(c / 4000 - z[i] / total)).toBeLessThan(0.03));
  });

  it('top-k and top-p restrict the candidates', () => {
    const seen = new Set<number>();
    const r = seededRandom(3);
    for (let i = 0; i < 300; i++) seen.add(sampleToken(logits(), samplingParams({ temperature: 2, topK: 3 }), null, r));
    expect([...seen].sort()).toEqual([1, 2, 5]);
    const nucleus = new Set<number>();
    for (let i = 0; i < 300; i++) nucleus.add(sampleToken(logits(), samplingParams({ temperature: 1, topP: 0.6 }), null, r));
    expect([...nucleus].sort()).toEqual([1, 5]); // p(1) ≈ 0.36 and p(5) ≈ 0.33 together reach 0.6
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens (as HF)', () => {
    const l = logits();
    sampleToken(l, samplingParams({ repetitionPenalty: 2 }), new Set([1, 3]), seededRandom(1));
    expect(l[1]).toBe(1.5);
    expect(l[3]).toBe(-2);
    expect(sampleToken(logits(), samplingParams({ repetitionPenalty: 2 }), new Set([1, 5]), seededRandom(1))).toBe(2);
  });

  it('refuses nonsense settings', () => {
    expect(() => samplingParams({ temperature: -1 })).toThrow(/temperature -1/);
    expect(() => samplingParams({ topP: 0 })).toThrow(/top-p 0/);
    expect(() => samplingParams({ topK: 1.5 })).toThrow(/top-k 1.5/);
    expect(() => samplingParams({ repetitionPenalty: 0 })).toThrow(/repetition penalty 0/);
  });
});
