/**
 * Presentation mode as pure functions (tested in Node): which key does what, the words for each step of a
 * loop, the stage of a SELF round's story, and the chart series it draws (accuracy per round, training loss).
 */
import type { StepRecord } from '../../core/refine/types.ts';
import type { RunMetricPoint } from '../../db/types.ts';
import type { ChartPoint, ChartSeries } from '../components/line-chart.ts';

export type PresentKey = 'next' | 'leave' | null;

/** Space and → go on; Esc leaves. Keys typed into a field, or with a modifier, are left alone. */
export function presentKey(e: { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean }, inField: boolean): PresentKey {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (e.key === 'Escape') return 'leave';
  if (inField) return null;
  return e.key === ' ' || e.key === 'ArrowRight' ? 'next' : null;
}

const STEP_TITLE: Record<string, string> = { draft: 'First answer (draft)', feedback: 'Feedback on it', refinement: 'Refined answer', oracle: 'The checker' };

export function stepTitle(step: Pick<StepRecord, 'kind' | 'refineRound'>): string {
  const t = STEP_TITLE[step.kind] ?? step.kind;
  return step.kind === 'refinement' && step.refineRound > 1 ? `${t} ${step.refineRound}` : t;
}

/** The answer a refinement replaces: the latest draft or refinement before it. */
export function previousAnswer(steps: readonly StepRecord[], index: number): StepRecord | null {
  for (let i = index - 1; i >= 0; i--) if (steps[i].kind === 'draft' || steps[i].kind === 'refinement') return steps[i];
  return null;
}

export type StoryStage = 'ready' | 'baseline' | 'collect' | 'filter' | 'train' | 'evaluate' | 'done';

export const STAGE_TITLE: Record<StoryStage, string> = {
  ready: 'A SELF round',
  baseline: 'Before any round: how good is it?',
  collect: 'Collecting: it answers, critiques and refines',
  filter: 'Filtering: keep what its own feedback calls right',
  train: 'Training: learning from what it kept',
  evaluate: 'Evaluating: held-out questions, before → after',
  done: 'Accuracy per round',
};

/** The story's stage from the run's live phase ('filter' lasts from the end of collecting to the first training step). */
export function storyStage(phase: string | null, trainingSteps: number, finished: boolean): StoryStage {
  if (finished) return 'done';
  if (phase === 'baseline' || phase === 'meta-skill') return 'baseline';
  if (phase === 'collect') return 'collect';
  if (phase === 'train') return trainingSteps > 0 ? 'train' : 'filter';
  if (phase === 'evaluate') return 'evaluate';
  return 'ready';
}

/** Direct and self-refined accuracy per evaluated round (round 0 = before any round), for the growing chart. */
export function accuracySeries(metrics: readonly RunMetricPoint[]): ChartSeries[] {
  return [
    { label: 'Direct answers', key: 'directAccuracy' },
    { label: 'With self-refinement', key: 'refinedAccuracy' },
  ]
    .map((s) => ({ label: s.label, points: metrics.filter((m) => typeof m[s.key] === 'number').map((m) => ({ x: m.round, y: m[s.key] })) }))
    .filter((s) => s.points.length > 0);
}

/** "54 % → 90 %": direct accuracy of the first and the latest evaluated round, or null before two exist. */
export function beforeAfter(metrics: readonly RunMetricPoint[]): { before: number; after: number; round: number } | null {
  const pts = metrics.filter((m) => typeof m.directAccuracy === 'number');
  if (pts.length < 2) return null;
  return { before: pts[0].directAccuracy, after: pts[pts.length - 1].directAccuracy, round: pts[pts.length - 1].round };
}

export function lossSeries(points: readonly ChartPoint[]): ChartSeries[] {
  return points.length === 0 ? [] : [{ label: 'Training loss', points }];
}

export const percent = (v: number): string => `${Math.round(v * 100)} %`;
