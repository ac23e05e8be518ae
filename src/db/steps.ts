/**
 * Steps: one row per draft / feedback / refinement / oracle check / evaluation answer. `addStep` writes each
 * step in its own transaction the moment it completes, so a reload or a crash loses at most the step in
 * flight.
 */
import type { StepRecord } from '../core/refine/types.ts';
import { AppError } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type { Step } from './types.ts';

/**
 * Stores one completed step of a running run. The run must be 'running' and the task must belong to the
 * run's experiment. Also bumps the run's updatedAt.
 */
export async function addStep(db: StudioDb, runId: string, record: StepRecord, now = Date.now()): Promise<Step> {
  return writeTransaction(db, 'save the step', [db.runs, db.tasks, db.steps], async () => {
      const run = await db.runs.get(runId);
      if (!run) throw new AppError('not-found', 'Cannot save the step: its run no longer exists (was it deleted?).');
      if (run.status !== 'running') {
        throw new AppError('bad-input', `Cannot save the step: the run is ${run.status}, not running.`);
      }
      const task = await db.tasks.get(record.taskId);
      if (!task || task.experimentId !== run.experimentId) {
        throw new AppError('not-found', 'Cannot save the step: its task is not part of this experiment.');
      }
      const step: Step = { ...record, id: newId(now), experimentId: run.experimentId, runId };
      await db.steps.add(step);
      await db.runs.update(runId, { updatedAt: now });
      return step;
  });
}

/** A run's steps in the order they were saved. */
export async function listSteps(db: StudioDb, runId: string): Promise<Step[]> {
  return db.steps.where('runId').equals(runId).toArray();
}

/** Every step taken on one task of an experiment, across runs, in the order they were saved. */
export async function listStepsForTask(db: StudioDb, experimentId: string, taskId: string): Promise<Step[]> {
  return db.steps.where('[experimentId+taskId]').equals([experimentId, taskId]).toArray();
}

export async function countSteps(db: StudioDb, runId: string): Promise<number> {
  return db.steps.where('runId').equals(runId).count();
}
