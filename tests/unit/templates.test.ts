import { describe, expect, it } from 'vitest';
import { createKindRegistry } from '../../src/core/refine/kinds.ts';
import { draftMessages, feedbackMessages, metaSkillMessages, refineMessages } from '../../src/core/refine/prompts.ts';
import { placeholdersIn, renderTemplate } from '../../src/core/refine/template-render.ts';
import {
  completeTemplates,
  INSTRUCTION_TEMPLATES,
  MATH_TEMPLATES,
  OPEN_TEMPLATES,
  validateTemplates,
  withOverrides,
} from '../../src/core/refine/templates.ts';
import { checkToyAnswer, parseToyFeedback, TOY_TEMPLATE_TEXT, toyCriticView, toyPrompts } from '../../src/core/toy/index.ts';
import { PLAIN_TEMPLATES } from './refine-helpers.ts';

describe('renderTemplate', () => {
  it('fills placeholders once, keeps other braces, and escapes doubled braces', () => {
    expect(renderTemplate('Q: {prompt} A: {answer}', { prompt: 'two', answer: '{prompt}' })).toBe('Q: two A: {prompt}');
    expect(renderTemplate('JSON like {"score": 7} and {{prompt}}', {})).toBe('JSON like {"score": 7} and {prompt}');
    expect(renderTemplate('{n}. {n}', { n: 3 })).toBe('3. 3');
    expect(placeholdersIn('{a} {b} {a} {{c}} {"d": 1}')).toEqual(['a', 'b']);
  });

  it('refuses a placeholder it cannot fill, including inherited object keys', () => {
    expect(() => renderTemplate('{missing}', { prompt: 'x' })).toThrow(/uses \{missing\}.*Available: \{prompt\}/);
    expect(() => renderTemplate('{constructor}', {})).toThrow(/constructor/);
    expect(() => renderTemplate('{toString}', {})).toThrow();
  });
});

describe('templates', () => {
  it('the built-in templates are valid and ask for the structured feedback', () => {
    for (const t of [MATH_TEMPLATES, INSTRUCTION_TEMPLATES, OPEN_TEMPLATES, PLAIN_TEMPLATES]) validateTemplates(t);
    for (const t of [MATH_TEMPLATES, INSTRUCTION_TEMPLATES, OPEN_TEMPLATES]) {
      expect(t.feedback).toMatch(/Weaknesses:/);
      expect(t.feedback).toMatch(/Suggestions:/);
      expect(t.feedback).toMatch(/Score: <1-10>\/10/);
      expect(t.feedback).toMatch(/Verdict:/);
      expect(t.feedback).toMatch(/NO ISSUES/);
      expect(t.refine).toContain('{history}');
    }
    expect(MATH_TEMPLATES.draft).toContain('####');
  });

  it('per-experiment edits override fields and are validated with a message naming the problem', () => {
    const t = withOverrides(MATH_TEMPLATES, { draft: 'Answer briefly: {prompt}' });
    expect(t.draft).toBe('Answer briefly: {prompt}');
    expect(t.feedback).toBe(MATH_TEMPLATES.feedback);
    expect(() => withOverrides(MATH_TEMPLATES, { draft: 'Answer: {question}' })).toThrow(/"draft" template uses \{question\}.*allowed there: \{prompt\}/);
    expect(() => withOverrides(MATH_TEMPLATES, { feedback: 'Review {prompt}' })).toThrow(/"feedback" template must contain \{answer\}/);
    expect(() => withOverrides(MATH_TEMPLATES, { refine: 'Fix it: {prompt}' })).toThrow(/"refine" template must contain \{history\} or \{answer\}/);
    expect(() => withOverrides(MATH_TEMPLATES, { draft: '   ' })).toThrow(/empty/);
    expect(() => withOverrides(MATH_TEMPLATES, { system: 'Hi {prompt}' })).toThrow(/"system" template uses \{prompt\}/);
    expect(() => withOverrides(MATH_TEMPLATES, { drift: 'x' } as never)).toThrow(/Unknown template field "drift"/);
    expect(() => withOverrides(MATH_TEMPLATES, { draft: 'x'.repeat(30_000) + '{prompt}' })).toThrow(/characters/);
    // Literal braces are fine when doubled.
    expect(withOverrides(MATH_TEMPLATES, { draft: 'Reply as {{"answer": n}}: {prompt}' }).draft).toContain('{{');
  });

  it('builds the messages for each call, with the system message when set', () => {
    expect(draftMessages(MATH_TEMPLATES, 'P?')).toEqual([
      { role: 'system', content: MATH_TEMPLATES.system },
      { role: 'user', content: MATH_TEMPLATES.draft.replace('{prompt}', 'P?') },
    ]);
    expect(feedbackMessages(PLAIN_TEMPLATES, 'P?', 'ans')).toEqual([{ role: 'user', content: 'FEEDBACK P?\nANSWER: ans' }]);
    const attempts = [
      { answer: 'a1', feedback: 'f1' },
      { answer: 'a2', feedback: 'f2' },
      { answer: 'a3', feedback: 'f3' },
    ];
    expect(refineMessages(PLAIN_TEMPLATES, 'P?', attempts)[0].content).toBe(
      'REFINE P?\n[attempt 1] a1\n[feedback 1] f1\n\n[attempt 2] a2\n[feedback 2] f2\n\n[attempt 3] a3\n[feedback 3] f3',
    );
    // A history limit keeps the latest attempts, numbered as they were.
    expect(refineMessages(PLAIN_TEMPLATES, 'P?', attempts, 1)[0].content).toBe('REFINE P?\n[attempt 3] a3\n[feedback 3] f3');
    // A template without {history} gets the latest answer and feedback (the toy world's shape).
    const toy = completeTemplates({ draft: '{prompt}', feedback: '{prompt} = {answer}\nCheck.', refine: '{prompt} = {answer}\n{feedback}\nFix.' });
    expect(refineMessages(toy, '2+2', attempts)[0].content).toBe('2+2 = a3\nf3\nFix.');
    const meta = metaSkillMessages(PLAIN_TEMPLATES, 'P?', ' d ', ' f ', ' r ');
    expect(meta).toEqual({ prompt: [{ role: 'user', content: 'META P?\nDRAFT: d' }], completion: [{ role: 'assistant', content: 'f\nBETTER: r' }] });
  });

  it('long model text quoted into prompts is clipped with a note', () => {
    const long = 'x'.repeat(5000);
    const msg = feedbackMessages(PLAIN_TEMPLATES, 'P', long)[0].content;
    expect(msg.length).toBeLessThan(4200);
    expect(msg).toContain('[… 1000 more characters cut]');
  });
});

describe('kind registry', () => {
  it('holds the built-in kinds and lets another kind register its templates, parser and checker', () => {
    const r = createKindRegistry();
    expect(r.kinds().map((k) => k.kind)).toEqual(['math', 'instruction', 'open']);
    expect(r.templates('math')).toEqual(MATH_TEMPLATES);
    expect(() => r.templates('toy-arith')).toThrow(/No templates are registered for tasks of kind "toy-arith"/);
    r.register({
      kind: 'toy-arith',
      label: 'Toy arithmetic',
      templates: { draft: '{prompt}', feedback: '{prompt} = {answer}\nCheck it.', refine: '{prompt} = {answer}\n{feedback}\nFix it.' },
      parseFeedback: (text) => ({ feedback: null, parseStatus: text === 'x' ? 'unparsed' : 'partial' }),
      check: (task, answer) => ({ pass: answer.trim() === String(task.answer), message: 'checked', failures: [], fraction: 1 }),
    });
    const toyTask = { id: 't1', kind: 'toy-arith', prompt: '2 + 2', answer: 4, split: 'train' as const, source: 'builtin' as const };
    expect(r.templates('toy-arith').historyEntry).toContain('{answer}');
    expect(r.parser('toy-arith')('x').parseStatus).toBe('unparsed');
    expect(r.checker(toyTask)!('4')!.pass).toBe(true);
    expect(r.isVerifiable(toyTask)).toBe(true);
    expect(r.isVerifiable({ ...toyTask, kind: 'open' })).toBe(false);
    expect(() => r.register({ kind: 'bad', label: 'Bad', templates: { draft: 'no placeholder', feedback: '{answer}{prompt}', refine: '{prompt}{history}' } })).toThrow(/"draft" template must contain \{prompt\}/);
  });

  it("the toy world's templates register and give exactly the toy world's own prompts", () => {
    const r = createKindRegistry();
    r.register({
      kind: 'toy-arith',
      label: 'Toy arithmetic',
      templates: TOY_TEMPLATE_TEXT,
      parseFeedback: parseToyFeedback,
      reviewView: toyCriticView,
      check: (task, answer) => {
        const pass = checkToyAnswer(task.prompt, answer);
        return { pass, message: pass ? 'right' : 'wrong', failures: pass ? [] : ['wrong'], fraction: pass ? 1 : 0 };
      },
    });
    const t = r.templates('toy-arith');
    expect(draftMessages(t, '347 + 285')).toEqual(toyPrompts.draft('347 + 285'));
    expect(feedbackMessages(t, '347 + 285', r.reviewView('toy-arith')('622'))).toEqual(toyPrompts.feedback('347 + 285', '622'));
    expect(r.reviewView('open')('a long answer')).toBe('a long answer');
    expect(refineMessages(t, '347 + 285', [{ answer: '522', feedback: 'x' }, { answer: '622', feedback: 'some feedback' }])).toEqual(
      toyPrompts.refine('347 + 285', '622', 'some feedback'),
    );
    const task = { id: 'toy-1', kind: 'toy-arith', prompt: '347 + 285', split: 'train' as const, source: 'builtin' as const };
    expect(r.checker(task)!('632')!.pass).toBe(true);
    expect(r.checker(task)!('622')!.pass).toBe(false);
  });
});
