/**
 * A SELF round's stored metrics: the orchestrator's RoundMetrics flattened into the numbers a run row keeps
 * (`Run.metrics`, one point per round), plus the self-feedback accuracy measured from the stored steps: how
 * often the model's own verdict on its draft (the first feedback of each self-refined evaluation loop)
 * matches the checker's verdict on that draft.
 */
import type { KindRegistry } from '../../core/refine/kinds.ts';
import type { RoundMetrics } from '../../core/refine/self-rounds.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task } from '../../core/tasks/types.ts';
import type { RunMetricPoint } from '../../db/types.ts';

export interface VerdictTally {
  n: number;
  matches: number;
  /** matches / n, or null when no draft had feedback. */
  accuracy: number | null;
  /** Of the wrong drafts, the share its feedback called wrong (null when none was wrong). */
  caught: number | null;
  /** Of the right drafts, the share its feedback called wrong (null when none was right). */
  falseAlarm: number | null;
}

/** Self-feedback accuracy over loops whose ids start with `prefix` (drafts of checkable tasks only). */
export function selfFeedbackAccuracy(steps: readonly StepRecord[], prefix: string, tasks: ReadonlyMap<string, Task>, registry: KindRegistry): VerdictTally {
  const byLoop = new Map<string, { draft?: StepRecord; feedback?: StepRecord }>();
  for (const s of steps) {
    if (!s.loopId.startsWith(prefix) || s.refineRound !== 0 || (s.kind !== 'draft' && s.kind !== 'feedback')) continue;
    const g = byLoop.get(s.loopId) ?? {};
    if (s.kind === 'draft') g.draft = s;
    else g.feedback ??= s;
    byLoop.set(s.loopId, g);
  }
  let n = 0;
  let matches = 0;
  const t = { wrong: 0, caught: 0, right: 0, alarms: 0 };
  for (const { draft, feedback } of byLoop.values()) {
    if (!draft || !feedback) continue;
    const task = tasks.get(draft.taskId);
    const check = task ? registry.checker(task) : null;
    const result = check?.(draft.text) ?? null;
    if (!result) continue;
    n++;
    const claimed = feedback.feedback?.verdict ?? 'unknown';
    if (claimed !== 'unknown' && (claimed === 'correct') === result.pass) matches++;
    if (result.pass) {
      t.right++;
      if (claimed === 'incorrect') t.alarms++;
    } else {
      t.wrong++;
      if (claimed === 'incorrect') t.caught++;
    }
  }
  const ratio = (x: number, of: number) => (of === 0 ? null : x / of);
  return { n, matches, accuracy: ratio(matches, n), caught: ratio(t.caught, t.wrong), falseAlarm: ratio(t.alarms, t.right) };
}

/** The numbers of one round as stored in `Run.metrics` (absent values are left out, never NaN). */
export function roundPoint(m: RoundMetrics, selfFeedback: VerdictTally | null): RunMetricPoint {
  const p: RunMetricPoint = { round: m.round, evalTasks: m.evalTasks };
  const put = (k: string, v: number | null | undefined) => {
    if (typeof v === 'number' && Number.isFinite(v)) p[k] = v;
  };
  put('directAccuracy', m.directAccuracy);
  put('refinedAccuracy', m.refinedAccuracy);
  put('selfFeedbackAccuracy', selfFeedback?.accuracy);
  put('selfFeedbackN', selfFeedback?.n);
  put('selfFeedbackCaught', selfFeedback?.caught);
  put('selfFeedbackFalseAlarm', selfFeedback?.falseAlarm);
  if (m.collect) {
    put('loops', m.collect.loops);
    put('kept', m.collect.kept);
    put('improved', m.collect.improved);
    put('rows', m.collect.rows);
  }
  if (m.train) {
    put('trainRows', m.train.rows);
    put('trainSkipped', m.train.skipped ? 1 : 0);
    put('trainLoss', m.train.metrics.finalLoss);
    put('trainSteps', m.train.metrics.steps);
    put('trainSeconds', m.train.metrics.seconds);
  }
  if (m.pairwise) {
    put('wins', m.pairwise.wins);
    put('ties', m.pairwise.ties);
    put('losses', m.pairwise.losses);
  }
  return p;
}
