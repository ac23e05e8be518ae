/**
 * The classroom round: the smallest SELF run on the toy model that reliably shows a gain on held-out questions
 * in a few minutes, for a lesson (one click on the SELF tab; presentation mode runs the saved settings). Every
 * other setting is the toy default (toySelfSettings). Sizes measured with src/cli/toy-self.ts (toy README).
 */
import { toySelfSettings, type SelfSettings } from './self-settings.ts';

export const CLASSROOM_ROUND = {
  rounds: 1,
  /** Fewer unlabeled questions (24 or 32) gave no gain in Node: too few fixed answers to learn from. */
  perRound: 48,
  /** Held-out questions: 2.5 points each. */
  evalCount: 40,
  /** Annotator meta-skill chats (the default 200 + 50 would make the round about five times longer). */
  metaMix: { feedback: 8, refine: 2 },
} as const;

/** What the round is, how long it takes and why that size, in one line (shown beside its button). */
export const CLASSROOM_ROUND_NOTE =
  `One round on ${CLASSROOM_ROUND.perRound} new questions, measured on ${CLASSROOM_ROUND.evalCount} held-out ones: about 3 minutes on 2 cores, ` +
  'the smallest round whose held-out accuracy rises (fewer questions leave too few fixed answers to learn from).';

export function classroomRoundSettings(base: SelfSettings = toySelfSettings()): SelfSettings {
  return { ...base, rounds: CLASSROOM_ROUND.rounds, perRound: CLASSROOM_ROUND.perRound, freshPerRound: true, evalCount: CLASSROOM_ROUND.evalCount, metaMix: { ...CLASSROOM_ROUND.metaMix } };
}

/** Whether these settings run the classroom round's sizes (the rest may differ). */
export function isClassroomRound(s: SelfSettings): boolean {
  const c = CLASSROOM_ROUND;
  return s.rounds === c.rounds && s.perRound === c.perRound && s.evalCount === c.evalCount && s.metaMix.feedback === c.metaMix.feedback && s.metaMix.refine === c.metaMix.refine;
}
