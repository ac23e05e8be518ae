import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import {
  DRAFT_ERROR_KINDS,
  REVIEW_ONLY_ERROR_KINDS,
  ToyRng,
  applyDraftError,
  checkToyAnswer,
  checkToyDetailed,
  extractToyAnswer,
  habitApplies,
  habitDraft,
  judgeToyFeedback,
  makeToyQuestion,
  parseToyFeedback,
  parseToyQuestion,
  placeName,
  sloppyDraft,
  solveToy,
  toyColumns,
  readCriticView,
  rightDraft,
  toyCriticView,
  toyPrompts,
  tryParseToyQuestion,
  writeToyFeedback,
} from '../../src/core/toy/index.ts';
import type { DraftErrorKind, ToyQuestion } from '../../src/core/toy/index.ts';
import { sampleQuestion } from '../../src/core/toy/split.ts';

/** Independent arithmetic for the checks (BigInt, not the column walk under test). */
function truth(q: ToyQuestion): bigint {
  return q.op === 'add' ? BigInt(q.a) + BigInt(q.b) : BigInt(q.a) - BigInt(q.b);
}

function digitOf(s: string, place: number): number {
  const i = s.length - 1 - place;
  return i >= 0 ? Number(s[i]) : 0;
}

function randomQuestions(seed: number, n: number): ToyQuestion[] {
  const rng = new ToyRng(seed, 'test');
  return Array.from({ length: n }, () => sampleQuestion(rng, { minDigits: 1, maxDigits: 5, ops: ['add', 'sub'] }));
}

function expectBadInput(f: () => unknown, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('bad-input');
    expect((e as AppError).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a bad-input AppError');
}

describe('toy questions', () => {
  it('parses and formats both operations', () => {
    expect(parseToyQuestion('347 + 285')).toEqual({ op: 'add', a: '347', b: '285', text: '347 + 285' });
    expect(parseToyQuestion(' 632-285 = ?')).toEqual({ op: 'sub', a: '632', b: '285', text: '632 - 285' });
    expect(parseToyQuestion('007 + 5').text).toBe('7 + 5');
    expect(tryParseToyQuestion('hello')).toBeNull();
    expect(tryParseToyQuestion('3 - 5')).toBeNull();
  });

  it('rejects bad questions with a typed error saying what to do', () => {
    expectBadInput(() => parseToyQuestion('3 * 4'), /two whole numbers joined by \+ or -/);
    expectBadInput(() => parseToyQuestion('3 - 5'), /larger number first/);
    expectBadInput(() => makeToyQuestion('add', '1234567890123', '1'), /more than 12 digits/);
    expectBadInput(() => makeToyQuestion('add', '-4', '1'), /not a whole number/);
  });

  it('solves every question exactly, column by column', () => {
    for (const q of randomQuestions(1, 1000)) {
      expect(solveToy(q)).toBe(truth(q).toString());
      const cols = toyColumns(q);
      for (const c of cols) {
        expect(c.a).toBe(digitOf(q.a, c.place));
        expect(c.b).toBe(digitOf(q.b, c.place));
        expect(c.carryIn).toBe(c.place === 0 ? 0 : cols[c.place - 1].carryOut);
        expect(c.value).toBe(q.op === 'add' ? c.a + c.b + c.carryIn : c.a - c.b - c.carryIn);
      }
      expect(cols[cols.length - 1].carryOut).toBe(0);
    }
    expect(solveToy(parseToyQuestion('9999 + 9999'))).toBe('19998');
    expect(solveToy(parseToyQuestion('1000 - 999'))).toBe('1');
    expect(solveToy(parseToyQuestion('42 - 42'))).toBe('0');
  });
});

describe('the sloppy drafter', () => {
  /** What each error kind must look like, given the right answer r and the draft d (both digit strings). */
  function isOfKind(kind: DraftErrorKind, q: ToyQuestion, r: string, d: string, at: number): boolean {
    const R = BigInt(r);
    const D = BigInt(d);
    const diffPositions = [...r].map((ch, i) => (ch !== d[i] ? i : -1)).filter((i) => i >= 0);
    const removeAt = (s: string, i: number) => s.slice(0, i) + s.slice(i + 1);
    switch (kind) {
      case 'forgot-carry': // the next column misses one: the result is 10^(at+1) too small
        return q.op === 'add' && D === R - 10n ** BigInt(at + 1);
      case 'forgot-borrow': // the next column is never reduced: 10^(at+1) too large
        return q.op === 'sub' && D === R + 10n ** BigInt(at + 1);
      case 'smaller-from-larger': {
        // writes b - a instead of 10 + a - b and doesn't borrow: 2·(b - a)·10^at too large
        const a = digitOf(q.a, at);
        const b = digitOf(q.b, at);
        return q.op === 'sub' && a < b && D === R + 2n * BigInt(b - a) * 10n ** BigInt(at);
      }
      case 'off-by-one':
        return d.length === r.length && diffPositions.length === 1 && Math.abs(Number(d[at]) - Number(r[at])) === 1;
      case 'swapped-digits':
        return d.length === r.length && diffPositions.join() === `${at},${at + 1}` && d[at] === r[at + 1] && d[at + 1] === r[at];
      case 'dropped-digit':
        return d.length === r.length - 1 && removeAt(r, at) === d;
      case 'repeated-digit':
        return d.length === r.length + 1 && removeAt(d, at) === r && d[at] === d[at + 1];
      // The review drafter's kinds are exact arithmetic on one column: the answer moves by k·10^at (a
      // subtraction's digits are taken modulo 10^width, as the column walk writes them).
      case 'extra-carry':
        return at > 0 && D === wrap(R + (q.op === 'add' ? 1n : -1n) * 10n ** BigInt(at), q);
      case 'wrong-value':
        return D === wrap(R + 10n ** BigInt(at), q) || D === wrap(R - 10n ** BigInt(at), q);
      case 'misread': {
        const moved = [...Array(19).keys()].map((k) => BigInt(k - 9)).filter((k) => k !== 0n);
        return moved.some((k) => D === wrap(R + k * 10n ** BigInt(at), q));
      }
    }
  }
  function wrap(x: bigint, q: ToyQuestion): bigint {
    if (q.op === 'add') return x;
    const m = 10n ** BigInt(Math.max(q.a.length, q.b.length));
    return ((x % m) + m) % m;
  }

  it('every error kind makes a wrong answer of its own kind', () => {
    const rng = new ToyRng(7, 'kinds');
    const seen = new Map<DraftErrorKind, number>();
    for (const q of randomQuestions(2, 1500)) {
      const r = solveToy(q);
      for (const kind of [...DRAFT_ERROR_KINDS, ...REVIEW_ONLY_ERROR_KINDS]) {
        const d = applyDraftError(q, kind, rng);
        if (d === null) continue;
        seen.set(kind, (seen.get(kind) ?? 0) + 1);
        expect(d.error).toBe(kind);
        expect(d.answer).not.toBe(r);
        expect(d.answer).toMatch(/^(0|[1-9]\d*)$/);
        expect(extractToyAnswer(d.text)).toBe(d.answer); // the working states the answer
        expect(checkToyAnswer(q, d.text)).toBe(false);
        if (!isOfKind(kind, q, r, d.answer, d.at ?? -1)) {
          throw new Error(`${kind} on ${q.text} (right ${r}) gave ${d.answer} at ${d.at}`);
        }
      }
    }
    for (const kind of [...DRAFT_ERROR_KINDS, ...REVIEW_ONLY_ERROR_KINDS]) expect(seen.get(kind) ?? 0).toBeGreaterThan(50);
  });

  it('does not apply kinds that cannot apply', () => {
    const rng = new ToyRng(1);
    expect(applyDraftError(parseToyQuestion('12 + 34'), 'forgot-carry', rng)).toBeNull(); // no carry at all
    expect(applyDraftError(parseToyQuestion('58 - 13'), 'forgot-borrow', rng)).toBeNull();
    expect(applyDraftError(parseToyQuestion('50 + 27'), 'swapped-digits', rng)).toBeNull(); // 77
    expect(applyDraftError(parseToyQuestion('12 + 34'), 'forgot-borrow', rng)).toBeNull(); // wrong operation
  });

  it('has one habit: the ones-column carry (add) or borrow (sub) is lost, and the working shows it', () => {
    expect(habitDraft(parseToyQuestion('347 + 285'))?.answer).toBe('622');
    expect(habitDraft(parseToyQuestion('347 + 285'))?.text).toBe('ones: 7+5+0=12, so 2\ntens: 4+8+0=12, so 22\nhundreds: 3+2+1=6, so 622');
    expect(habitDraft(parseToyQuestion('302 - 5'))?.answer).toBe('307');
    expect(habitDraft(parseToyQuestion('302 - 5'))?.text).toBe('ones: 2-5-0=-3, so 7\ntens: 0-0-0=0, so 07\nhundreds: 3-0-0=3, so 307');
    expect(habitDraft(parseToyQuestion('95 + 17'))?.answer).toBe('102');
    expect(habitDraft(parseToyQuestion('341 + 285'))).toBeNull();
    expect(habitApplies(parseToyQuestion('30 - 5'))).toBe(true);
    expect(habitApplies(parseToyQuestion('35 - 5'))).toBe(false);
  });

  it('fires the habit and the slips at the configured rates', () => {
    const rng = new ToyRng(11, 'rates');
    let habitCases = 0;
    let habitFired = 0;
    let otherCases = 0;
    let slips = 0;
    for (const q of randomQuestions(3, 6000)) {
      const d = sloppyDraft(q, rng, { habitRate: 0.7, slipRate: 0.15 });
      if (habitApplies(q)) {
        habitCases++;
        if (d.habit) habitFired++;
      } else {
        otherCases++;
        if (d.error !== null) slips++;
        expect(d.habit).toBe(false);
      }
      expect(checkToyAnswer(q, d.text)).toBe(d.error === null);
    }
    expect(habitFired / habitCases).toBeGreaterThan(0.67);
    expect(habitFired / habitCases).toBeLessThan(0.73);
    expect(slips / otherCases).toBeGreaterThan(0.12);
    expect(slips / otherCases).toBeLessThan(0.18);
  });
});

describe('the feedback writer', () => {
  it('writes the documented format', () => {
    const q = parseToyQuestion('347 + 285');
    expect(writeToyFeedback(q, '622')).toBe(
      [
        'ones: 7+5+0=12, so 2; draft 2 ok',
        'tens: 4+8+1=13, so 32; draft 2, should be 3',
        'hundreds: 3+2+1=6, so 632; draft 6 ok',
        'answer: 632',
        'Verdict: wrong',
      ].join('\n'),
    );
    expect(writeToyFeedback(parseToyQuestion('302 - 5'), '297')).toBe(
      [
        'ones: 2-5-0=-3, so 7; draft 7 ok',
        'tens: 0-0-1=-1, so 97; draft 9 ok',
        'hundreds: 3-0-1=2, so 297; draft 2 ok',
        'answer: 297',
        'Verdict: correct',
      ].join('\n'),
    );
    // A too-long draft is checked in its extra column too; a non-number gets the work and the answer.
    expect(writeToyFeedback(parseToyQuestion('12 + 3'), '150')).toContain('hundreds: 0+0+0=0, so 015; draft 1, should be 0');
    expect(writeToyFeedback(parseToyQuestion('12 + 3'), 'fifteen')).toBe(
      ['ones: 2+3+0=5, so 5', 'tens: 1+0+0=1, so 15', 'The draft is not a number.', 'answer: 15', 'Verdict: wrong'].join('\n'),
    );
  });

  it('only makes true claims (columns, answer so far, draft digits, first wrong digit, verdict)', () => {
    const rng = new ToyRng(5, 'claims');
    for (const q of randomQuestions(4, 500)) {
      const right = solveToy(q);
      const candidates = [right, sloppyDraft(q, rng, { habitRate: 0.7, slipRate: 1 }).text, String(rng.int(0, 99999))];
      for (const draftText of candidates) {
        const text = writeToyFeedback(q, draftText);
        const draft = extractToyAnswer(draftText)!;
        const parsed = parseToyFeedback(text);
        expect(parsed.parseStatus).toBe('ok');
        const { columns, answer, firstWrong } = parsed.detail;
        const width = Math.max(q.a.length, q.b.length, draft.length, right.length);
        expect(columns.length).toBe(width);
        let carry = 0;
        let firstMismatch: number | null = null;
        columns.forEach((c, place) => {
          expect(c.placeName).toBe(placeName(place));
          const a = digitOf(q.a, place);
          const b = digitOf(q.b, place);
          expect(text).toContain(`${placeName(place)}: ${a}${q.op === 'add' ? '+' : '-'}${b}`);
          const value = q.op === 'add' ? a + b + carry : a - b - carry;
          expect(c.value).toBe(value);
          carry = q.op === 'add' ? (value >= 10 ? 1 : 0) : value < 0 ? 1 : 0;
          const rightDigit = digitOf(right, place);
          expect(c.soFar).toBe(right.padStart(width, '0').slice(width - place - 1));
          expect(c.draftDigit).toBe(digitOf(draft, place));
          if (c.draftDigit === rightDigit) expect(c.shouldBe).toBeNull();
          else {
            expect(c.shouldBe).toBe(rightDigit);
            if (firstMismatch === null) firstMismatch = place;
          }
        });
        expect(firstWrong === null ? null : firstWrong.place).toBe(firstMismatch);
        expect(answer).toBe(right);
        expect(parsed.feedback?.verdict).toBe(BigInt(draft) === truth(q) ? 'correct' : 'incorrect');
        expect(judgeToyFeedback(q, draftText, text).matches).toBe(true);
      }
    }
  });
});

describe('the feedback parser', () => {
  const good = writeToyFeedback(parseToyQuestion('347 + 285'), '622');

  it('reads a well-formed feedback', () => {
    const p = parseToyFeedback(good);
    expect(p.parseStatus).toBe('ok');
    expect(p.feedback).toEqual({
      weaknesses: ['tens digit is 2, should be 3'],
      suggestions: ['The answer is 632.'],
      score: null,
      verdict: 'incorrect',
      noIssues: false,
    });
    expect(p.detail.firstWrong?.place).toBe(1);
    expect(p.detail.answer).toBe('632');
  });

  it('forgives case and spacing', () => {
    const sloppy = good.replace('Verdict: wrong', '  VERDICT :  Wrong. ').replace('so 32;', 'so  32 ;').replace(/\n/g, '\n\n');
    const p = parseToyFeedback(sloppy);
    expect(p.parseStatus).toBe('ok');
    expect(p.feedback?.verdict).toBe('incorrect');
  });

  it('is unparsed without a verdict line, or with verdicts that disagree', () => {
    const truncated = good.split('\n').slice(0, 3).join('\n');
    expect(parseToyFeedback(truncated)).toMatchObject({ parseStatus: 'unparsed', feedback: null });
    expect(parseToyFeedback('')).toMatchObject({ parseStatus: 'unparsed', feedback: null });
    expect(parseToyFeedback('<b>nonsense</b>')).toMatchObject({ parseStatus: 'unparsed', feedback: null });
    expect(parseToyFeedback(`${good}\nVerdict: correct`)).toMatchObject({ parseStatus: 'unparsed', feedback: null });
  });

  it('is partial when the verdict is there but the rest is broken or contradicts it', () => {
    const brokenLine = good.replace('hundreds: 3+2+1=6', 'hundreds: 3+2+=6');
    expect(parseToyFeedback(brokenLine).parseStatus).toBe('partial');
    expect(parseToyFeedback(brokenLine).feedback?.verdict).toBe('incorrect');
    expect(parseToyFeedback(good.replace('answer: 632\n', '')).parseStatus).toBe('partial');
    const contradiction = good.replace('Verdict: wrong', 'Verdict: correct');
    expect(parseToyFeedback(contradiction)).toMatchObject({ parseStatus: 'partial', feedback: { verdict: 'correct' } });
    expect(parseToyFeedback(`${good}\nand more`).parseStatus).toBe('partial');
    expect(parseToyFeedback('Verdict: correct').parseStatus).toBe('partial');
  });

  it('finds nothing to fix in a "wrong" verdict whose lines name no wrong digit ("draft 2, should be 2")', () => {
    // What a model that learnt "the tens are wrong when the ones carry" writes about a right draft.
    const sameDigit = writeToyFeedback(parseToyQuestion('347 + 285'), '632').replace('draft 3 ok', 'draft 3, should be 3').replace('Verdict: correct', 'Verdict: wrong');
    const p = parseToyFeedback(sameDigit);
    expect(p.parseStatus).toBe('partial');
    expect(p.feedback).toMatchObject({ verdict: 'incorrect', weaknesses: [], noIssues: true });
    expect(p.detail.firstWrong).toBeNull();
    // A real finding still counts, and a bare verdict without column lines is not read as "nothing to fix".
    expect(parseToyFeedback(good).feedback?.noIssues).toBe(false);
    expect(parseToyFeedback('Verdict: wrong').feedback?.noIssues).toBe(false);
  });

  it('skips absurdly long lines quickly instead of matching them', () => {
    const hostile = `ones: 7+5+0=12, so 2${' '.repeat(100_000)}x\n${good}`;
    const p = parseToyFeedback(hostile);
    expect(p.parseStatus).toBe('partial');
    expect(p.detail.unrecognized).toHaveLength(1);
    // Cut, not matched: the column regex is quadratic on long whitespace runs (100k spaces ≈ 17 s).
    expect(p.detail.unrecognized[0]).toBe(`ones: 7+5+0=12, so 2${' '.repeat(20)}…`);
    expect(p.feedback?.verdict).toBe('incorrect');
  });

  it('accepts one bare number after the verdict (feedback-then-answer completions)', () => {
    const p = parseToyFeedback(`${good}\n632`);
    expect(p.parseStatus).toBe('ok');
    expect(p.detail.trailingAnswer).toBe('632');
    expect(parseToyFeedback(`${good}\n632\n632`).parseStatus).toBe('partial');
  });
});

describe('checkers', () => {
  it('grades answers strictly: a whole number, or a working whose last line states it, and nothing else', () => {
    const q = '347 + 285';
    expect(checkToyAnswer(q, '632')).toBe(true);
    const working = 'ones: 7+5+0=12, so 2\ntens: 4+8+1=13, so 32\nhundreds: 3+2+1=6, so 632';
    expect(checkToyAnswer(q, working)).toBe(true);
    expect(checkToyAnswer(q, `${working}\n`)).toBe(true);
    expect(checkToyAnswer(q, working.replace('so 632', 'so 622'))).toBe(false);
    expect(checkToyAnswer(q, `${working}\nso there`)).toBe(false);
    expect(checkToyAnswer(q, `I think\n${working}`)).toBe(false);
    expect(checkToyAnswer(q, ' 632\n')).toBe(true);
    expect(checkToyAnswer(q, '0632')).toBe(true);
    expect(checkToyAnswer(q, '622')).toBe(false);
    expect(checkToyAnswer(q, '632.')).toBe(false);
    expect(checkToyAnswer(q, '63 2')).toBe(false);
    expect(checkToyAnswer(q, 'answer: 632')).toBe(false);
    expect(checkToyAnswer(q, '')).toBe(false);
    expect(checkToyAnswer(q, '632632632632632632632632')).toBe(false);
    expectBadInput(() => checkToyAnswer('what is love', '1'), /not a toy arithmetic question/);
  });

  it('gives a place-by-place check that never reveals the right digits', () => {
    expect(checkToyDetailed('347 + 285', '632')).toEqual({ pass: true, message: 'The answer is right.', failures: [], fraction: 1 });
    const wrong = checkToyDetailed('347 + 285', '6229');
    expect(wrong.pass).toBe(false);
    expect(wrong.failures).toEqual(['the ones digit is wrong', 'the tens digit is wrong', 'the hundreds digit is wrong', 'the thousands digit is wrong']);
    expect(checkToyDetailed('347 + 285', '622')).toMatchObject({ failures: ['the tens digit is wrong'], fraction: 2 / 3 });
    expect(checkToyDetailed('347 + 285', '622').message).not.toMatch(/632|3\b/);
    expect(checkToyDetailed('347 + 285', 'six')).toMatchObject({ pass: false, fraction: 0 });
    for (const q of randomQuestions(8, 300)) {
      const d = String(Number(solveToy(q)) + 1);
      expect(checkToyDetailed(q, d).pass).toBe(checkToyAnswer(q, d));
      expect(checkToyDetailed(q, solveToy(q)).pass).toBe(true);
    }
  });

  it('judges a feedback verdict against the truth', () => {
    const q = parseToyQuestion('347 + 285');
    expect(judgeToyFeedback(q, '622', 'Verdict: wrong')).toMatchObject({ claimed: 'incorrect', truth: 'incorrect', matches: true });
    expect(judgeToyFeedback(q, '622', 'Verdict: correct')).toMatchObject({ claimed: 'correct', truth: 'incorrect', matches: false });
    expect(judgeToyFeedback(q, '632', writeToyFeedback(q, '632'))).toMatchObject({ claimed: 'correct', truth: 'correct', matches: true });
    expect(judgeToyFeedback(q, '632', 'ones: 7+5+0=12')).toMatchObject({ claimed: 'unknown', matches: false, parseStatus: 'unparsed' });
  });
});

describe('prompts', () => {
  it('builds one user message per step from the question, the latest answer and its feedback', () => {
    expect(toyPrompts.draft(' 347 + 285 ')).toEqual([{ role: 'user', content: '347 + 285' }]);
    const draft = habitDraft(parseToyQuestion('347 + 285'))!.text;
    // The critic sees only the number the draft states, digit by place, never its working.
    expect(toyPrompts.feedback('347 + 285', `${draft}\n`)).toEqual([
      { role: 'user', content: '347 + 285\nanswer: ones 2, tens 2, hundreds 6\nCheck it column by column.' },
    ]);
    const fb = writeToyFeedback(parseToyQuestion('347 + 285'), draft);
    expect(fb).toContain('tens: 4+8+1=13, so 32; draft 2, should be 3');
    expect(toyPrompts.refine('347 + 285', draft, `${fb}\n`)).toEqual([
      { role: 'user', content: `347 + 285\n${draft}\n${fb}\nWrite the corrected answer.` },
    ]);
  });

  it("shows the critic a draft's stated digits by place, and reads that view back", () => {
    expect(toyCriticView('0042')).toBe('answer: ones 2, tens 4');
    expect(toyCriticView('0')).toBe('answer: ones 0');
    expect(toyCriticView(' no idea \n')).toBe('no idea');
    const view = toyCriticView(rightDraft(parseToyQuestion('347 + 285')).text);
    expect(view).toBe('answer: ones 2, tens 3, hundreds 6');
    expect(toyCriticView(view)).toBe(view);
    expect(readCriticView(view)).toBe('632');
    expect(extractToyAnswer(view)).toBe('632');
    // A view with places out of order, a missing place or two digits in one place is not a view.
    for (const bad of ['answer: tens 2, ones 3', 'answer: ones 2, hundreds 6', 'answer: ones 12', 'answer: ', 'answer: ones 2,tens 3']) expect(readCriticView(bad)).toBeNull();
    // The reference answer to the view is the same feedback as to the full draft.
    const q = parseToyQuestion('347 + 285');
    const draft = habitDraft(q)!.text;
    expect(writeToyFeedback(q, toyCriticView(draft))).toBe(writeToyFeedback(q, draft));
  });
});
