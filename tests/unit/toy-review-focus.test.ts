import { describe, expect, it } from 'vitest';
import { habitDraft, rightDraft } from '../../src/core/toy/drafter.ts';
import { DEFAULT_REVIEW, reviewDraft } from '../../src/core/toy/review-drafter.ts';
import { ToyRng } from '../../src/core/toy/rng.ts';
import { sampleQuestion } from '../../src/core/toy/split.ts';

/** The error kinds of the wrong reviewed drafts that are not the item's own, over n questions. */
function reviewedKinds(focusShare: number | undefined, n = 600): Map<string, number> {
  const qRng = new ToyRng(3, 'q');
  const rng = new ToyRng(3, 'review');
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const q = sampleQuestion(qRng);
    const own = habitDraft(q) ?? rightDraft(q);
    const d = reviewDraft(q, own, rng, { ...DEFAULT_REVIEW, ownShare: 0, rightShare: 0, focusShare });
    const kind = d.habit ? 'habit' : (d.error ?? 'right');
    out.set(kind, (out.get(kind) ?? 0) + 1);
  }
  return out;
}

describe('reviewDraft focusShare', () => {
  it('1: every wrong reviewed draft misreads an operand or miscomputes a column value', () => {
    const kinds = reviewedKinds(1);
    expect([...kinds.keys()].filter((k) => k !== 'misread' && k !== 'wrong-value' && k !== 'right')).toEqual([]);
    expect(kinds.get('misread')).toBeGreaterThan(100);
    expect(kinds.get('wrong-value')).toBeGreaterThan(100);
  });

  it('0 or unset: every kind is drawn (the corpus as before), and unset draws exactly what 0 draws', () => {
    const kinds = reviewedKinds(undefined);
    expect(kinds.size).toBeGreaterThan(6);
    expect((kinds.get('misread') ?? 0) + (kinds.get('wrong-value') ?? 0)).toBeLessThan(300);
    expect(reviewedKinds(0)).toEqual(kinds);
  });
});
