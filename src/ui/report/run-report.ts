/**
 * What goes into a run's HTML report (html-report.ts): a Playground run (its loops step by step and the batch's
 * figures in words), or a SELF run (accuracy per round as a chart and a table). Reads stored rows only.
 */
import type { StopReason } from '../../core/refine/plan.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';
import type { Run } from '../../db/types.ts';
import { formatTime } from '../lib/format.ts';
import { summaryFacts, type BatchSummary } from '../playground/batch-summary.ts';
import { stopReasonText } from '../playground/loop-view.ts';
import { accuracySeries, percent, stepTitle } from '../present/present-story.ts';
import { renderReport, type ReportInput } from './html-report.ts';

/** Loops written out in full; the rest are counted. */
export const REPORT_LOOPS = 50;

export interface RefineReportLoop {
  task: CoreTask;
  steps: readonly StepRecord[];
  stop: StopReason | null;
}

export function refineRunReport(run: Run, experimentName: string, loops: readonly RefineReportLoop[], summary: BatchSummary | null): string {
  const input: ReportInput = {
    title: loops.length === 1 ? `A Self-Refine loop: ${loops[0].task.prompt.slice(0, 80)}` : `A batch of ${loops.length} Self-Refine loops`,
    experiment: experimentName,
    when: formatTime(run.startedAt),
    facts: summary ? summaryFacts(summary).map((f) => ({ label: f.label, value: f.value })) : [],
    charts: [],
    table: null,
    loops: loops.slice(0, REPORT_LOOPS).map((l) => ({
      prompt: l.task.prompt,
      steps: l.steps.map((s) => ({ title: stepTitle(s), text: s.text })),
      outcome: l.stop ? `Stopped: ${stopReasonText(l.stop)}` : null,
    })),
    moreLoops: Math.max(0, loops.length - REPORT_LOOPS),
  };
  return renderReport(input);
}

export function selfRunReport(run: Run, experimentName: string): string {
  const m = run.metrics;
  const cell = (v: number | undefined, f: (x: number) => string) => (typeof v === 'number' ? f(v) : 'not measured');
  return renderReport({
    title: 'SELF: accuracy per round',
    experiment: experimentName,
    when: formatTime(run.startedAt),
    facts: [
      { label: 'Rounds evaluated', value: m.length === 0 ? 'none yet' : `${m.length} (round 0 is before any training)` },
      { label: 'Held-out questions per evaluation', value: m.length ? String(m[0].evalTasks) : 'none' },
    ],
    charts: [{ title: 'Held-out accuracy per SELF round', xLabel: 'SELF round (0 = before any)', series: accuracySeries(m), yRange: [0, 1], formatY: percent }],
    table: {
      caption: 'Per round',
      head: ['Round', 'Direct answers right', 'With self-refinement', 'Its own feedback right', 'Answers kept for training', 'Final training loss'],
      rows: m.map((p) => [
        String(p.round),
        cell(p.directAccuracy, percent),
        cell(p.refinedAccuracy, percent),
        cell(p.selfFeedbackAccuracy, percent),
        typeof p.kept === 'number' && typeof p.loops === 'number' ? `${p.kept} of ${p.loops}` : 'no training in this round',
        cell(p.trainLoss, (x) => x.toFixed(3)),
      ]),
    },
    loops: [],
    moreLoops: 0,
  });
}
