/**
 * A stored run read back for showing or handing out: a Playground run's loops (each task with its steps and why it
 * stopped) and batch summary, and the report file of any run with a report (Playground or SELF).
 */
import type { StudioDb } from '../../db/db.ts';
import { listSteps } from '../../db/steps.ts';
import type { Run } from '../../db/types.ts';
import { AppError } from '../../core/errors.ts';
import { summarizeBatch, type BatchSummary } from '../playground/batch-summary.ts';
import { stopReasonOf } from '../playground/loop-view.ts';
import { loopIdFor, parseRunConfig } from '../playground/run-config.ts';
import { loadCoreTasks } from '../tasks/task-lookup.ts';
import { experimentName } from './download-report.ts';
import { refineRunReport, selfRunReport, type RefineReportLoop } from './run-report.ts';

export interface RunLoops {
  loops: RefineReportLoop[];
  summary: BatchSummary | null;
}

/** A Playground run's loops in its task order; throws AppError('bad-input') when its config is unreadable. */
export async function loadRunLoops(db: StudioDb, run: Run): Promise<RunLoops> {
  const config = parseRunConfig(run.config);
  const [steps, tasks] = await Promise.all([listSteps(db, run.id), loadCoreTasks(db, config.taskIds)]);
  const loops = tasks.map((task) => {
    const own = steps.filter((s) => s.loopId === loopIdFor(run.id, task.id));
    return { task, steps: own, stop: stopReasonOf(task, own, config) };
  });
  return { loops, summary: config.mode === 'batch' ? summarizeBatch(tasks, steps) : null };
}

/** The run's self-contained HTML report, with the experiment's name (for the file name). */
export async function runReportFile(db: StudioDb, runId: string): Promise<{ html: string; name: string; run: Run }> {
  const run = await db.runs.get(runId);
  if (!run) throw new AppError('not-found', 'That run no longer exists.');
  const name = await experimentName(db, run);
  if (run.kind === 'self') return { html: selfRunReport(run, name), name, run };
  if (run.kind !== 'refine' && run.kind !== 'batch') throw new AppError('unsupported', `A ${run.kind} run has no HTML report; export the experiment as a bundle instead.`);
  const { loops, summary } = await loadRunLoops(db, run);
  return { html: refineRunReport(run, name, loops, summary), name, run };
}
