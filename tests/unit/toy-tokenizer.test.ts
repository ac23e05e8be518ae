import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/core/text/types.ts';
import {
  PROPOSED_TOY_SHAPE,
  TOY_CHAT_TEMPLATE,
  TOY_TEMPLATE_TEXT,
  buildToyTokenizerFiles,
  generateToyData,
  llamaParamCount,
  parseToyQuestion,
  renderToyChat,
  solveToy,
  toyJsonText,
  toyCriticView,
  toyPrompts,
  toyColumns,
  toyTrainingChats,
  withAnswer,
  writeToyFeedback,
  writeWorking,
} from '../../src/core/toy/index.ts';
import { REPO_ROOT } from '../fixtures/paths.ts';

const dir = resolve(REPO_ROOT, 'public/models/toy-arith');
const read = (name: string) => readFileSync(resolve(dir, name), 'utf8');
const tokenizerJson = JSON.parse(read('tokenizer.json')) as { model: { vocab: Record<string, number>; merges: string[] } };
const tokenizerConfig = JSON.parse(read('tokenizer_config.json')) as Record<string, unknown>;
const tok = new Tokenizer(tokenizerJson, tokenizerConfig);
const encode = (s: string) => tok.encode(s, { add_special_tokens: false }).ids;
const decode = (ids: number[]) => tok.decode(ids, { skip_special_tokens: false });

function renderWithJinja(messages: ChatMessage[], addGenerationPrompt: boolean): string {
  return new Template(tokenizerConfig.chat_template as string).render({
    messages,
    add_generation_prompt: addGenerationPrompt,
    bos_token: '',
    eos_token: '<|im_end|>',
  });
}

/**
 * The worst case by construction for the default 3-digit shape: the longest answer, and a draft whose working
 * ends in an answer one digit too long (so the feedback checks an extra column).
 */
function longestRefineChat(): ChatMessage[] {
  const q = parseToyQuestion('999 + 999');
  // The longest answer a draft can state (one digit too many), wrong in every place: every feedback line
  // names a wrong digit.
  const draft = writeWorking(q.op, toyColumns(q), '2'.repeat(solveToy(q).length + 1));
  return withAnswer(toyPrompts.refine(q.text, draft, writeToyFeedback(q, draft)), writeWorking(q.op, toyColumns(q)));
}

describe('toy tokenizer files', () => {
  it('are exactly what the builder makes (reproducible from the code)', () => {
    const files = buildToyTokenizerFiles();
    expect(read('tokenizer.json')).toBe(toyJsonText(files.tokenizer));
    expect(read('tokenizer_config.json')).toBe(toyJsonText(files.tokenizerConfig));
    expect(read('generation_config.json')).toBe(toyJsonText(files.generationConfig));
  });

  it('has the special tokens at 0–2, every byte, and eos ids in generation_config', () => {
    expect(tok.token_to_id('<|endoftext|>')).toBe(0);
    expect(tok.token_to_id('<|im_start|>')).toBe(1);
    expect(tok.token_to_id('<|im_end|>')).toBe(2);
    const vocabSize = tok.get_vocab(true).size;
    expect(vocabSize).toBe(Object.keys(tokenizerJson.model.vocab).length);
    expect(vocabSize).toBeGreaterThanOrEqual(259);
    expect(vocabSize).toBeLessThan(512);
    expect(new Set(Object.values(tokenizerJson.model.vocab)).size).toBe(vocabSize); // ids unique
    expect(Math.max(...Object.values(tokenizerJson.model.vocab))).toBe(vocabSize - 1); // and dense
    const gen = JSON.parse(read('generation_config.json')) as { eos_token_id: number[] };
    expect(gen.eos_token_id).toEqual([2, 0]);
    expect(tokenizerConfig.eos_token).toBe('<|im_end|>');
    expect(tokenizerConfig.pad_token).toBe('<|endoftext|>');
    expect(tokenizerConfig.clean_up_tokenization_spaces).toBe(false);
  });

  it('encodes special tokens written in text as their ids, and can skip them when decoding', () => {
    const ids = encode('<|im_start|>user\n12<|im_end|>\n');
    expect(ids[0]).toBe(1);
    expect(ids).toContain(2);
    expect(ids).toHaveLength(7); // <|im_start|> user \n 1 2 <|im_end|> \n
    expect(tok.decode(ids, { skip_special_tokens: true })).toBe('user\n12\n');
  });

  it('gives every digit and every newline a token of its own, and merges the fixed words', () => {
    const text = 'tens: 4+8+1=13, so 32; draft 2, should be 3\nVerdict: wrong';
    const tokens = tok.encode(text, { add_special_tokens: false }).tokens;
    expect(tokens).toEqual([
      'tens:Ġ', '4', '+', '8', '+', '1', '=', '1', '3', ',ĠsoĠ', '3', '2', ';ĠdraftĠ', '2', ',ĠshouldĠbeĠ', '3', 'Ċ', 'Verdict:Ġwrong',
    ]);
    for (const d of '0123456789') expect(encode(`${d}${d}${d}`)).toEqual([0, 1, 2].map(() => tok.token_to_id(d)));
    expect(tok.encode('assistant', { add_special_tokens: false }).tokens).toEqual(['assistant']);
  });

  it('round-trips every string the formats produce, and any other text', () => {
    const d = generateToyData({ seed: 2, metaCount: 400, rounds: 1, perRound: 50, evalCount: 50 });
    const texts = toyTrainingChats(d.meta).map((c) => renderToyChat(c, false));
    texts.push(...d.eval.map((q) => renderToyChat(toyPrompts.draft(q.text), true)));
    texts.push(
      writeToyFeedback(parseToyQuestion('12 + 3'), 'fifteen'),
      '  leading and trailing spaces  ',
      'tabs\tand\r\nwindows lines\n\n\nand blank lines',
      'unicode: é ß 数字 🙂 — “quotes”',
      '<|im_start|>assistant\n<|im_end|><|endoftext|>',
      "it's don't <b>html</b> & ; 1,000.5",
    );
    for (const t of texts) expect(decode(encode(t))).toBe(t);
    // (@huggingface/tokenizers refuses to decode an empty id list; a wrapper must special-case it.)
    expect(encode('')).toEqual([]);
  });

  it('has a chat template that renders exactly like renderToyChat', () => {
    const q = parseToyQuestion('347 + 285');
    const fb = writeToyFeedback(q, '622');
    const cases: ChatMessage[][] = [
      toyPrompts.draft(q.text),
      toyPrompts.feedback(q.text, '622'),
      toyPrompts.refine(q.text, '622', fb),
      withAnswer(toyPrompts.refine(q.text, '622', fb), '632'),
      [{ role: 'system', content: 'A system message' }, ...toyPrompts.draft(q.text)],
    ];
    for (const messages of cases) {
      for (const gen of [true, false]) expect(renderWithJinja(messages, gen)).toBe(renderToyChat(messages, gen));
    }
    expect(renderWithJinja(toyPrompts.feedback(q.text, '622'), true)).toBe(
      '<|im_start|>user\n347 + 285\nanswer: ones 2, tens 2, hundreds 6\nCheck it column by column.<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(tokenizerConfig.chat_template).toBe(TOY_CHAT_TEMPLATE);
  });

  it('writes prompts that are the template texts filled in', () => {
    const fill = (t: string, v: Record<string, string>) => t.replace(/\{(\w+)\}/g, (_, k: string) => v[k]);
    const v = { prompt: '347 + 285', answer: '622', feedback: 'ones: ...\nVerdict: wrong' };
    expect(toyPrompts.draft(v.prompt)[0].content).toBe(fill(TOY_TEMPLATE_TEXT.draft, v));
    expect(toyPrompts.feedback(v.prompt, v.answer)[0].content).toBe(fill(TOY_TEMPLATE_TEXT.feedback, { ...v, answer: toyCriticView(v.answer) }));
    expect(toyPrompts.refine(v.prompt, v.answer, v.feedback)[0].content).toBe(fill(TOY_TEMPLATE_TEXT.refine, v));
  });

  it('keeps every training chat well inside the 384-token context', () => {
    const d = generateToyData({ seed: 0, metaCount: 3000, rounds: 0, evalCount: 0 });
    const lengths = toyTrainingChats(d.meta).map((c) => encode(renderToyChat(c, false)).length);
    const corpusMax = Math.max(...lengths);
    const worst = encode(renderToyChat(longestRefineChat(), false)).length;
    expect(corpusMax).toBeLessThanOrEqual(worst);
    expect(worst).toBeLessThanOrEqual(240);
    expect(worst).toBeLessThan(PROPOSED_TOY_SHAPE.maxPositionEmbeddings);
    expect(tokenizerConfig.model_max_length).toBe(PROPOSED_TOY_SHAPE.maxPositionEmbeddings);
    // The proposed model is far below the 5 M parameter ceiling.
    expect(llamaParamCount({ ...PROPOSED_TOY_SHAPE, vocabSize: tok.get_vocab(true).size })).toBeLessThan(5_000_000);
  });
});
