/**
 * What a batch run achieved: how many loops finished, how many improved their answer (checker fail → pass,
 * or a higher score), and for verifiable tasks the share the checkers passed before (drafts) and after
 * (final answers). Built from loop summaries (src/core/refine/samples.ts), live or from stored steps.
 */
import { kindRegistry, type KindRegistry } from '../../core/refine/kinds.ts';
import { summarizeLoops, type LoopSummary } from '../../core/refine/samples.ts';
import type { StepRecord } from '../../core/refine/types.ts';
import type { Task as CoreTask } from '../../core/tasks/types.ts';

export interface BatchSummary {
  tasks: number;
  /** Loops with at least a draft. */
  loops: number;
  improved: number;
  changed: number;
  /** Loops whose task can be checked in code. */
  verifiable: number;
  initialPass: number;
  finalPass: number;
  /** finalPass / verifiable, or null without verifiable loops. */
  accuracyBefore: number | null;
  accuracyAfter: number | null;
  meanInitialScore: number | null;
  meanFinalScore: number | null;
}

function mean(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

export function summarizeBatchLoops(taskCount: number, loops: readonly LoopSummary[]): BatchSummary {
  const verifiable = loops.filter((l) => l.initialPass !== null && l.finalPass !== null);
  const initialPass = verifiable.filter((l) => l.initialPass).length;
  const finalPass = verifiable.filter((l) => l.finalPass).length;
  return {
    tasks: taskCount,
    loops: loops.length,
    improved: loops.filter((l) => l.improved).length,
    changed: loops.filter((l) => l.changed).length,
    verifiable: verifiable.length,
    initialPass,
    finalPass,
    accuracyBefore: verifiable.length ? initialPass / verifiable.length : null,
    accuracyAfter: verifiable.length ? finalPass / verifiable.length : null,
    meanInitialScore: mean(loops.map((l) => l.initialScore)),
    meanFinalScore: mean(loops.map((l) => l.finalScore)),
  };
}

/** The summary of a batch from its tasks and steps (steps of other tasks are ignored). */
export function summarizeBatch(tasks: readonly CoreTask[], steps: readonly StepRecord[], registry: KindRegistry = kindRegistry): BatchSummary {
  return summarizeBatchLoops(tasks.length, summarizeLoops(tasks, steps, registry));
}

/** One figure of a summary, named in words a class can read. */
export interface SummaryFact {
  id: 'loops' | 'changed' | 'accuracy' | 'score';
  label: string;
  value: string;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;
const score = (x: number | null) => (x === null ? null : x.toFixed(1));

/**
 * How many answers changed, and of those how many got better, in the words the batch's figures allow: a checker
 * only (toy and other checkable tasks without scores): now right; feedback scores only: scored higher; both: either;
 * neither: no "better" at all (nothing measures it).
 */
function changedValue(s: BatchSummary): string {
  if (s.changed === 0) return 'none';
  const checked = s.verifiable > 0;
  const scored = s.meanInitialScore !== null || s.meanFinalScore !== null;
  const better = checked && scored
    ? 'now better (the checker passes it, or its feedback scores it higher)'
    : checked
      ? 'now right (wrong at first)'
      : scored
        ? 'scored higher by their feedback'
        : null;
  return better === null ? `${s.changed}` : `${s.changed}; of those, ${better}: ${s.improved}`;
}

/** The figures that exist for this batch (no dashes for missing ones), each named in words. */
export function summaryFacts(s: BatchSummary): SummaryFact[] {
  const facts: SummaryFact[] = [{ id: 'loops', label: 'Loops run', value: `${s.loops} of ${s.tasks} tasks` }];
  facts.push({ id: 'changed', label: 'Answers that changed after feedback', value: changedValue(s) });
  if (s.verifiable > 0 && s.accuracyBefore !== null && s.accuracyAfter !== null) {
    facts.push({
      id: 'accuracy',
      label: 'Right by the checker',
      value: `${s.initialPass} of ${s.verifiable} first answers (${pct(s.accuracyBefore)}) → ${s.finalPass} of ${s.verifiable} final answers (${pct(s.accuracyAfter)})`,
    });
  }
  const before = score(s.meanInitialScore);
  const after = score(s.meanFinalScore);
  if (before !== null && after !== null) facts.push({ id: 'score', label: 'Mean feedback score', value: `${before} on first answers → ${after} on final answers` });
  else if (before !== null || after !== null) facts.push({ id: 'score', label: 'Mean feedback score', value: before !== null ? `${before} on first answers` : `${after} on final answers` });
  return facts;
}
