/**
 * Self-feedback accuracy, the one measure of it: in self-refined evaluation loops, how often the model's own
 * verdict on its draft (the loop's first feedback) matches the checker's verdict on that draft. The SELF round's
 * evaluation, the Evaluation tab and the toy bench all take it from here.
 */
import type { Task } from '../tasks/types.ts';
import type { KindRegistry } from './kinds.ts';
import type { StepRecord } from './types.ts';

export interface SelfFeedbackStats {
  /** Drafts with feedback whose task has a checker. */
  n: number;
  /** Verdicts that match the checker ('unknown' never does). */
  matches: number;
  /** matches / n; null when n is 0. */
  accuracy: number | null;
  /** Of the wrong drafts, the share the feedback called wrong; null when no draft was wrong. */
  caught: number | null;
  /** Of the right drafts, the share the feedback called wrong; null when no draft was right. */
  falseAlarm: number | null;
}

/** The measure over the loops in `steps` (each loop's draft and first feedback of refine round 0). */
export function selfFeedbackStats(steps: readonly StepRecord[], tasks: ReadonlyMap<string, Task>, registry: KindRegistry): SelfFeedbackStats {
  const byLoop = new Map<string, { draft?: StepRecord; feedback?: StepRecord }>();
  for (const s of steps) {
    if (s.refineRound !== 0 || (s.kind !== 'draft' && s.kind !== 'feedback')) continue;
    const g = byLoop.get(s.loopId) ?? {};
    if (s.kind === 'draft') g.draft = s;
    else g.feedback ??= s;
    byLoop.set(s.loopId, g);
  }
  const c = { n: 0, matches: 0, wrong: 0, caught: 0, right: 0, alarms: 0 };
  for (const { draft, feedback } of byLoop.values()) {
    if (!draft || !feedback) continue;
    const task = tasks.get(draft.taskId);
    const result = task ? (registry.checker(task)?.(draft.text) ?? null) : null;
    if (!result) continue;
    const claimed = feedback.feedback?.verdict ?? 'unknown';
    c.n++;
    if (claimed !== 'unknown' && (claimed === 'correct') === result.pass) c.matches++;
    if (result.pass) {
      c.right++;
      if (claimed === 'incorrect') c.alarms++;
    } else {
      c.wrong++;
      if (claimed === 'incorrect') c.caught++;
    }
  }
  const ratio = (x: number, n: number) => (n === 0 ? null : x / n);
  return { n: c.n, matches: c.matches, accuracy: ratio(c.matches, c.n), caught: ratio(c.caught, c.wrong), falseAlarm: ratio(c.alarms, c.right) };
}
