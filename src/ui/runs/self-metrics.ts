/**
 * A SELF round's stored metrics: the orchestrator's RoundMetrics (src/core/refine, which also measures the
 * self-feedback accuracy) flattened into the numbers a run row keeps (`Run.metrics`, one point per round).
 */
import type { EvolvedUse } from '../../core/engine/capabilities.ts';
import type { RoundMetrics } from '../../core/refine/self-rounds.ts';
import type { RunMetricPoint } from '../../db/types.ts';

/** The numbers of one round as stored in `Run.metrics` (absent values are left out, never NaN). */
export function roundPoint(m: RoundMetrics): RunMetricPoint {
  const p: RunMetricPoint = { round: m.round, evalTasks: m.evalTasks };
  const put = (k: string, v: number | null | undefined) => {
    if (typeof v === 'number' && Number.isFinite(v)) p[k] = v;
  };
  put('directAccuracy', m.directAccuracy);
  put('refinedAccuracy', m.refinedAccuracy);
  put('selfFeedbackAccuracy', m.selfFeedback?.accuracy);
  put('selfFeedbackN', m.selfFeedback?.n);
  put('selfFeedbackCaught', m.selfFeedback?.caught);
  put('selfFeedbackFalseAlarm', m.selfFeedback?.falseAlarm);
  put('directCutOff', m.cutOff?.direct);
  put('refinedCutOff', m.cutOff?.refined);
  put('feedbackCutOff', m.cutOff?.feedback?.cutOff);
  put('feedbackCalls', m.cutOff?.feedback?.n);
  if (m.collect) {
    put('loops', m.collect.loops);
    put('kept', m.collect.kept);
    put('improved', m.collect.improved);
    put('rows', m.collect.rows);
    put('answersCutOff', m.collect.cutOff?.answersCut);
    put('answers', m.collect.cutOff?.answers);
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

/** What survived of the round's adapter in the evolved model that ran it (a web-llm actor), as stored numbers. */
export function putRetention(p: RunMetricPoint, report: EvolvedUse['report']): RunMetricPoint {
  if (report) {
    p.mergeExact = report.exact ? 1 : 0;
    if (Number.isFinite(report.weightKept)) p.weightsKept = report.weightKept;
    if (typeof report.logitsKept === 'number' && Number.isFinite(report.logitsKept)) p.logitsKept = report.logitsKept;
  }
  return p;
}
