/**
 * What the app says after a bundle import: every kind of row it brought (training runs included), and, where
 * SELF or SRT runs kept loops, that those live inside their runs rather than as samples (a SELF round trains
 * on its kept loops directly; the Samples tab collects them as samples on request).
 */
import type { ExperimentCounts, Run } from '../../db/types.ts';
import { plural } from '../lib/format.ts';

/** Loops SELF and SRT runs kept for training, from their stored metrics (SELF: per round; SRT: its one point). */
export function keptLoops(runs: readonly Pick<Run, 'kind' | 'metrics'>[]): { kept: number; runs: number } {
  let kept = 0;
  let n = 0;
  for (const r of runs) {
    if (r.kind !== 'self' && r.kind !== 'srt') continue;
    const k = r.metrics.reduce((a, m) => a + (typeof m.kept === 'number' ? m.kept : 0), 0);
    if (k > 0) {
      kept += k;
      n++;
    }
  }
  return { kept, runs: n };
}

export function importNotice(name: string, counts: ExperimentCounts, runs: readonly Pick<Run, 'kind' | 'metrics'>[]): string {
  const list = [
    plural(counts.tasks, 'task'),
    plural(counts.runs, 'run'),
    plural(counts.steps, 'step'),
    plural(counts.samples, 'sample'),
    plural(counts.trainingRuns, 'training run'),
  ];
  const head = `Imported “${name}” with ${list.join(', ')} and ${plural(counts.adapters, 'adapter')}.`;
  const k = keptLoops(runs);
  if (k.kept === 0) return head;
  return `${head} Its ${plural(k.runs, 'SELF/SRT run')} kept ${plural(k.kept, 'loop')} for training; they are stored with the runs, not as samples (collect them on the Samples tab to export or retrain them).`;
}
