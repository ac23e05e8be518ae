/**
 * The table issue 6 asks for, from an experiment's stored SELF runs: held-out accuracy of direct answers
 * before any round and after each round, accuracy with inference-time self-refinement, and self-feedback
 * accuracy — each as mean ± spread over the runs (several seeds' runs give a spread; one run, its value).
 */
import { seedStat, type SeedStat } from '../../core/stats/seed-stat.ts';
import type { Run, RunMetricPoint } from '../../db/types.ts';

export interface SelfTableRow {
  key: string;
  label: string;
  /** One cell per column (round 0, 1, 2 …); null when no run has that value. Values in percent. */
  cells: (SeedStat | null)[];
}

export interface SelfTable {
  /** The runs counted. */
  runIds: string[];
  /** Column titles: "before any round", "after round 1", … */
  columns: string[];
  rows: SelfTableRow[];
  /** Direct-accuracy gain of round 1 over round 0, in points, when both are known. */
  gain: SeedStat | null;
}

const MEASURES: { key: string; label: string }[] = [
  { key: 'directAccuracy', label: 'Direct answers' },
  { key: 'refinedAccuracy', label: 'With self-refinement' },
  { key: 'selfFeedbackAccuracy', label: 'Self-feedback accuracy (own verdict on its draft)' },
  { key: 'selfFeedbackCaught', label: 'Own feedback calls wrong drafts wrong' },
  { key: 'selfFeedbackFalseAlarm', label: 'False alarms on right drafts' },
];

/** SELF runs that have a baseline (round 0) and at least one more round. */
export function tableRuns(runs: readonly Run[]): Run[] {
  return runs.filter((r) => r.kind === 'self' && r.metrics.some((m) => m.round === 0) && r.metrics.some((m) => m.round > 0));
}

export function selfTable(runs: readonly Run[]): SelfTable {
  const counted = tableRuns(runs);
  const maxRound = Math.max(0, ...counted.flatMap((r) => r.metrics.map((m) => m.round)));
  const columns = Array.from({ length: maxRound + 1 }, (_, r) => (r === 0 ? 'before any round' : `after round ${r}`));
  const at = (run: Run, round: number): RunMetricPoint | undefined => run.metrics.find((m) => m.round === round);
  const rows = MEASURES.map(({ key, label }) => ({
    key,
    label,
    cells: columns.map((_, round) => {
      const values = counted.map((run) => at(run, round)?.[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return values.length === 0 ? null : seedStat(values.map((v) => 100 * v));
    }),
  }));
  const gains = counted
    .map((run) => {
      const r0 = at(run, 0)?.directAccuracy;
      const r1 = at(run, 1)?.directAccuracy;
      return typeof r0 === 'number' && typeof r1 === 'number' ? 100 * (r1 - r0) : null;
    })
    .filter((v): v is number => v !== null);
  return { runIds: counted.map((r) => r.id), columns, rows, gain: gains.length === 0 ? null : seedStat(gains) };
}

/** "41.5 ± 3.2" (one value: "41.5"). */
export function formatStat(s: SeedStat | null, digits = 1): string {
  if (!s) return '—';
  return s.values.length > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
}
