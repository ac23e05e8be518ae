/**
 * The drafts the meta-skill corpus's feedback chats review. The draft chats keep the sloppy drafter's answers
 * (drafter.ts: its one habit is what a SELF round removes), but a critic that only ever reviews those learns to
 * recognise the habit instead of checking: 3 in 4 of its wrong drafts are the habit, and the other errors leave
 * every column of the working right (README.md, section 9, measured). So each feedback chat reviews:
 *
 *   - with probability `ownShare`, the drafter's own draft of the item (the habit stays well covered);
 *   - else, with probability `rightShare`, the right working;
 *   - else one error of a kind drawn uniformly from every kind that applies to the question (the habit, the
 *     drafter's slips, and REVIEW_ONLY_ERROR_KINDS: a carry where none is due, a column value off by one, an
 *     operand digit misread), at a place drawn uniformly, worked through the rest of the columns.
 *
 * So wrong drafts are wrong in any column and in any part of a column line, right drafts are common on
 * questions where the habit could fire, and the working a critic sees is often wrong where its answer is
 * wrong: the only way to write the feedback is to recompute each column from the question.
 */
import { applyDraftError, habitApplies, habitDraft, REVIEW_ONLY_ERROR_KINDS, rightDraft, type Draft, type DraftErrorKind, errorKindsFor } from './drafter.ts';
import type { ToyQuestion } from './question.ts';
import type { ToyRng } from './rng.ts';

export interface ReviewOptions {
  /** Share of feedback chats on the drafter's own draft. 1 = the corpus before the varied review drafts. */
  ownShare: number;
  /** Of the other chats, the share on a right draft. */
  rightShare: number;
  /**
   * Of the wrong reviewed drafts (those not the item's own), the share that misreads an operand digit or
   * miscomputes a column value, the kinds the critic misses after a SELF round (README.md, section 9); the rest
   * are drawn uniformly as before. 0 (default) draws every kind uniformly and leaves the corpus as it was.
   */
  focusShare?: number;
}

const FOCUS_KINDS: readonly string[] = ['misread', 'wrong-value'];

export const DEFAULT_REVIEW: Readonly<ReviewOptions> = { ownShare: 0.25, rightShare: 0.4 };

/** Every error kind a reviewed draft of this question may carry ('habit' when it can fire). */
export function reviewKindsFor(q: ToyQuestion): (DraftErrorKind | 'habit')[] {
  return [...(habitApplies(q) ? (['habit'] as const) : []), ...errorKindsFor(q), ...REVIEW_ONLY_ERROR_KINDS];
}

/** The draft a feedback chat reviews, given the item's own draft. Draws from `rng` only. */
export function reviewDraft(q: ToyQuestion, own: Draft, rng: ToyRng, o: ReviewOptions = DEFAULT_REVIEW): Draft {
  const ownRoll = rng.next();
  const rightRoll = rng.next();
  if (ownRoll < o.ownShare) return own;
  if (rightRoll < o.rightShare) return rightDraft(q);
  const all = reviewKindsFor(q);
  const focused = (o.focusShare ?? 0) > 0 && rng.next() < o.focusShare!;
  const kinds = focused ? all.filter((k) => FOCUS_KINDS.includes(k)) : all;
  for (let tries = 0; tries < kinds.length * 2; tries++) {
    const kind = rng.pick(kinds);
    const d = kind === 'habit' ? habitDraft(q) : applyDraftError(q, kind, rng);
    if (d !== null) return d;
  }
  return rightDraft(q);
}
