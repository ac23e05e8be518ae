import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/core/errors.ts';
import { draftErrorClass, tally } from '../../src/core/toy/diagnose.ts';
import {
  checkToyAnswer,
  checkToyDetailed,
  extractToyAnswer,
  generateToyData,
  habitApplies,
  parseToyFeedback,
  splitOf,
  toyPrompts,
  toyTrainingChats,
  withAnswer,
} from '../../src/core/toy/index.ts';

const small = { metaCount: 1500, rounds: 2, perRound: 200, evalCount: 200 };

describe('generateToyData', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = generateToyData({ seed: 42, ...small });
    const b = generateToyData({ seed: 42, ...small });
    expect(b).toEqual(a);
    const c = generateToyData({ seed: 43, ...small });
    expect(c.eval.map((q) => q.text)).not.toEqual(a.eval.map((q) => q.text));
    expect(c.rounds[0].map((q) => q.text)).not.toEqual(a.rounds[0].map((q) => q.text));
    expect(c.meta.map((m) => m.draft.text)).not.toEqual(a.meta.map((m) => m.draft.text));
  });

  it('has the requested sizes', () => {
    const d = generateToyData({ seed: 1, ...small });
    expect(d.meta).toHaveLength(1500);
    expect(d.rounds.map((r) => r.length)).toEqual([200, 200]);
    expect(d.eval).toHaveLength(200);
    const defaults = generateToyData({ seed: 1, metaCount: 0 });
    expect(defaults.rounds.map((r) => r.length)).toEqual([200, 200]);
    expect(defaults.eval).toHaveLength(200);
  });

  it('never puts one question in two splits, within a seed or across seeds', () => {
    // 2–3 digits: the 2 + 2-digit corner is small enough that seeds collide there.
    const all = [1, 2, 3].map((seed) => generateToyData({ seed, ...small, metaCount: 4000, shape: { minDigits: 2, maxDigits: 3 } }));
    const owner = new Map<string, string>();
    all.forEach((d, i) => {
      const groups: [string, string[]][] = [
        ['meta', d.meta.map((m) => m.question.text)],
        ['round1', d.rounds[0].map((q) => q.text)],
        ['round2', d.rounds[1].map((q) => q.text)],
        ['eval', d.eval.map((q) => q.text)],
      ];
      const within = new Set<string>();
      for (const [name, texts] of groups) {
        for (const t of texts) {
          expect(within.has(t), `${t} twice in seed ${i + 1}`).toBe(false);
          within.add(t);
          // Across seeds a question may recur, but only in the same kind of split.
          const kind = name.startsWith('round') ? 'evolve' : name;
          const prev = owner.get(t);
          if (prev !== undefined) expect(prev, `${t} is in ${prev} and ${kind}`).toBe(kind);
          owner.set(t, kind);
          expect(splitOf(t)).toBe(kind);
        }
      }
    });
    // The short-question corner (2 + 2 digits) is where collisions would happen; it is well represented.
    const shortEval = all.flatMap((d) => d.eval).filter((q) => q.a.length === 2 && q.b.length === 2);
    expect(shortEval.length).toBeGreaterThan(30);
  });

  it('keeps one split the same when another count changes', () => {
    const a = generateToyData({ seed: 9, ...small });
    const b = generateToyData({ seed: 9, ...small, metaCount: 100, perRound: 50 });
    expect(b.eval).toEqual(a.eval);
    expect(b.rounds[0]).toEqual(a.rounds[0].slice(0, 50));
  });

  it('writes meta-skill items whose chats are the exact step prompts and true targets', () => {
    const d = generateToyData({ seed: 5, ...small });
    let refines = 0;
    for (const ex of d.meta) {
      const q = ex.question.text;
      expect(ex.chats.draft).toEqual(withAnswer(toyPrompts.draft(q), ex.draft.text));
      // The feedback and refine chats review `reviewed`: the drafter's own draft or a varied one.
      expect(ex.chats.feedback).toEqual(withAnswer(toyPrompts.feedback(q, ex.reviewed.text), ex.feedback));
      if (ex.chats.refine !== null) {
        refines++;
        expect(ex.chats.refine).toEqual(withAnswer(toyPrompts.refine(q, ex.reviewed.text, ex.feedback), ex.refinement));
      }
      expect(checkToyAnswer(ex.question, ex.refinement)).toBe(true);
      for (const d of [ex.draft, ex.reviewed]) {
        expect(checkToyAnswer(ex.question, d.text)).toBe(d.error === null);
        expect(d.answer).toBe(extractToyAnswer(d.text));
      }
      const parsed = parseToyFeedback(ex.feedback);
      expect(parsed.parseStatus).toBe('ok');
      expect(parsed.feedback?.verdict).toBe(ex.reviewed.error === null ? 'correct' : 'incorrect');
      expect(parsed.detail.answer).toBe(extractToyAnswer(ex.refinement));
    }
    expect(refines / d.meta.length).toBeGreaterThan(0.2);
    expect(refines / d.meta.length).toBeLessThan(0.3);
    expect(toyTrainingChats(d.meta)).toHaveLength(2 * d.meta.length + refines);
  });

  it('mixes right and wrong drafts as designed (habit on ~45% of questions, fired 70% of the time)', () => {
    const d = generateToyData({ seed: 3, ...small, metaCount: 4000 });
    const applies = d.meta.filter((m) => habitApplies(m.question)).length / d.meta.length;
    expect(applies).toBeGreaterThan(0.4);
    expect(applies).toBeLessThan(0.5);
    const right = d.meta.filter((m) => m.draft.error === null).length / d.meta.length;
    // 1 - 0.445·0.7 - (1 - 0.445·0.7)·0.15 ≈ 0.59
    expect(right).toBeGreaterThan(0.55);
    expect(right).toBeLessThan(0.63);
    const ops = new Set(d.meta.map((m) => m.question.op));
    expect(ops).toEqual(new Set(['add', 'sub']));
    for (const m of d.meta) {
      expect(m.question.a.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(m.question.a.length, m.question.b.length)).toBeLessThanOrEqual(4);
    }
  });

  it('reviews varied drafts in its feedback chats, so no habit predicts the verdict (review-drafter.ts)', () => {
    const d = generateToyData({ seed: 3, ...small, metaCount: 4000 });
    const share = (xs: boolean[]) => xs.filter(Boolean).length / xs.length;
    const own = share(d.meta.map((m) => m.reviewed === m.draft));
    expect(own).toBeGreaterThan(0.22);
    expect(own).toBeLessThan(0.28);
    const wrongIf = (habit: boolean) => share(d.meta.filter((m) => habitApplies(m.question) === habit).map((m) => m.reviewed.error !== null));
    // 0.25·0.74 + 0.75·0.6 ≈ 0.64 where the habit can fire, 0.25·0.15 + 0.75·0.6 ≈ 0.49 elsewhere (the drafter's
    // own drafts alone: 0.74 and 0.15).
    expect(wrongIf(true)).toBeLessThan(0.7);
    expect(wrongIf(false)).toBeGreaterThan(0.42);
    const wrong = d.meta.filter((m) => m.reviewed.error !== null);
    const classes = tally(wrong.map((m) => draftErrorClass(m.question, m.reviewed.text)!));
    // Every part of a column line is wrong somewhere, not only the tens carry; the habit is under a quarter.
    for (const c of ['habit', 'carry', 'operand', 'sum', 'copy'] as const) expect(classes[c] ?? 0).toBeGreaterThan(0.05 * wrong.length);
    expect((classes.habit ?? 0) / wrong.length).toBeLessThan(0.25);
    // Wrong digits in every place of the answer.
    const places = new Set(wrong.flatMap((m) => checkToyDetailed(m.question, m.reviewed.text).failures));
    for (const p of ['ones', 'tens', 'hundreds', 'thousands']) expect(places.has(`the ${p} digit is wrong`)).toBe(true);
    // ownShare 1 is the corpus before the varied review drafts; the draft chats never change.
    const before = generateToyData({ seed: 3, ...small, metaCount: 300, review: { ownShare: 1 } });
    for (const m of before.meta) expect(m.reviewed).toBe(m.draft);
    expect(before.meta.map((m) => m.chats.draft)).toEqual(d.meta.slice(0, 300).map((m) => m.chats.draft));
  });

  it('rejects bad options with a typed error', () => {
    const bad: [object, RegExp][] = [
      [{ seed: -1 }, /seed must be a whole number/],
      [{ seed: 1.5 }, /seed must be a whole number/],
      [{ seed: 1, metaCount: -3 }, /metaCount must be a whole number/],
      [{ seed: 1, drafter: { habitRate: 2 } }, /habitRate must be between 0 and 1/],
      [{ seed: 1, review: { ownShare: -0.5 } }, /ownShare must be between 0 and 1/],
      [{ seed: 1, shape: { minDigits: 3, maxDigits: 2 } }, /minDigits/],
      [{ seed: 1, metaCount: 0, evalCount: 5000, shape: { minDigits: 1, maxDigits: 1 } }, /Could only find/],
    ];
    for (const [opts, msg] of bad) {
      let err: unknown = null;
      try {
        generateToyData(opts as Parameters<typeof generateToyData>[0]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('bad-input');
      expect((err as AppError).message).toMatch(msg);
    }
  });
});
