/** The diagnosis of drafts and feedback (src/core/toy/diagnose.ts) on drafts and feedback of known kinds. */
import { describe, expect, it } from 'vitest';
import { draftErrorClass, feedbackFinding, tally } from '../../src/core/toy/diagnose.ts';
import { applyDraftError, habitDraft, parseToyQuestion, rightDraft, ToyRng, walkColumns, writeToyFeedback, writeWorking } from '../../src/core/toy/index.ts';

const q = parseToyQuestion('347 + 285'); // 632; the ones column carries
const sub = parseToyQuestion('926 - 198'); // 728

describe('draftErrorClass', () => {
  it('names where a wrong draft first leaves the right working', () => {
    expect(draftErrorClass(q, rightDraft(q).text)).toBeNull();
    expect(draftErrorClass(q, habitDraft(q)!.text)).toBe('habit');
    expect(draftErrorClass(sub, habitDraft(sub)!.text)).toBe('habit');
    const bug = (b: Parameters<typeof walkColumns>[1]) => writeWorking(q.op, walkColumns(q, b));
    const flat = parseToyQuestion('312 + 145'); // no carry anywhere
    expect(draftErrorClass(flat, writeWorking(flat.op, walkColumns(flat, { bug: { kind: 'extra-carry', place: 1 } })))).toBe('carry');
    expect(draftErrorClass(q, bug({ bug: { kind: 'wrong-value', place: 2, delta: 1 } }))).toBe('sum');
    expect(draftErrorClass(q, bug({ bug: { kind: 'misread', place: 1, operand: 'b', digit: 3 } }))).toBe('operand');
    // A slip made writing the answer down after right work: only the last "so far" is wrong.
    expect(draftErrorClass(q, writeWorking(q.op, walkColumns(q), '623'))).toBe('copy');
    expect(draftErrorClass(q, writeWorking(q.op, walkColumns(q), '732'))).toBe('digit');
    expect(draftErrorClass(q, '622')).toBe('not-working');
    // The case the diagnosis found after a round: the borrow is taken, the hundreds value ignores it.
    expect(draftErrorClass(sub, 'ones: 6-8-0=-2, so 8\ntens: 2-9-1=-8, so 28\nhundreds: 9-1-1=8, so 828')).toBe('sum');
  });

  it('gives every drafter and review error kind a class, the column bugs their own', () => {
    const rng = new ToyRng(3, 'classes');
    const seen: Record<string, string[]> = {};
    for (let i = 0; i < 40; i++) {
      const question = parseToyQuestion(`${100 + ((i * 137) % 900)} + ${100 + ((i * 59) % 900)}`);
      for (const kind of ['forgot-carry', 'extra-carry', 'wrong-value', 'misread', 'off-by-one', 'swapped-digits', 'dropped-digit', 'repeated-digit'] as const) {
        const d = applyDraftError(question, kind, rng);
        if (d) (seen[kind] ??= []).push(draftErrorClass(question, d.text) ?? 'right');
      }
    }
    // Forgetting the carry out of the top column drops the last column: every line written is right.
    expect(new Set(seen['forgot-carry'])).toEqual(new Set(['carry', 'columns']));
    expect(new Set(seen['extra-carry'])).toEqual(new Set(['carry']));
    expect(new Set(seen['wrong-value'])).toEqual(new Set(['sum']));
    expect(new Set(seen['misread'])).toEqual(new Set(['operand']));
    for (const k of ['off-by-one', 'swapped-digits', 'dropped-digit', 'repeated-digit']) {
      for (const c of seen[k]) expect(['copy', 'digit', 'columns']).toContain(c);
    }
  });
});

describe('feedbackFinding', () => {
  const wrong = 'ones: 6-8-0=-2, so 8\ntens: 2-9-1=-8, so 28\nhundreds: 9-1-1=8, so 828';
  it('tells catching from recognising: shared errors, misread digits, "should be" the same digit', () => {
    expect(feedbackFinding(sub, wrong, writeToyFeedback(sub, wrong))).toBe('caught');
    expect(feedbackFinding(q, rightDraft(q).text, writeToyFeedback(q, rightDraft(q).text))).toBe('quiet');
    // It repeats the draft's hundreds line and calls the draft correct.
    const shared = 'ones: 6-8-0=-2, so 8; draft 8 ok\ntens: 2-9-1=-8, so 28; draft 2 ok\nhundreds: 9-1-1=8, so 828; draft 8 ok\nanswer: 828\nVerdict: correct';
    expect(feedbackFinding(sub, wrong, shared)).toBe('shared');
    // It computes the hundreds right but quotes the draft's 8 as 7.
    const misread = 'ones: 6-8-0=-2, so 8; draft 8 ok\ntens: 2-9-1=-8, so 28; draft 2 ok\nhundreds: 9-1-1=7, so 728; draft 7 ok\nanswer: 728\nVerdict: correct';
    expect(feedbackFinding(sub, wrong, misread)).toBe('misread');
    // The habit shortcut on a right draft: a "should be" at the tens that repeats the draft's digit.
    const same = writeToyFeedback(q, rightDraft(q).text).replace('draft 3 ok', 'draft 3, should be 3').replace('Verdict: correct', 'Verdict: wrong');
    expect(feedbackFinding(q, rightDraft(q).text, same)).toBe('same-digit');
    expect(feedbackFinding(q, rightDraft(q).text, 'no verdict here')).toBe('no-verdict');
    const miscomputed = writeToyFeedback(q, rightDraft(q).text).replace('4+8+1=13, so 32; draft 3 ok', '4+8+1=14, so 42; draft 3, should be 4').replace('Verdict: correct', 'Verdict: wrong');
    expect(feedbackFinding(q, rightDraft(q).text, miscomputed)).toBe('miscomputed');
  });

  it('tallies', () => {
    expect(tally(['a', 'b', 'a'])).toEqual({ a: 2, b: 1 });
  });
});
