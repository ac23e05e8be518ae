/**
 * Queries on LoRA training runs and their loss curves (one `trainingMetrics` row per logged step). Start one
 * with `executeTrainingRun` and continue a stopped one with `resumeTrainingRun`: both hold the Web Lock
 * `training-run:<id>` while the body trains (lifecycle.ts).
 */
import { Dexie } from 'dexie';
import { AppError } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type { JsonObject } from './json.ts';
import { reopenRow, resumeRefusal, underLock, type FinalStatus, type ResumeRefusals } from './lifecycle.ts';
import { trainingRunLockName, type LockManagerLike } from './locks.ts';
import type { RunStatus, TrainingMetricPoint, TrainingRun } from './types.ts';

export interface NewTrainingRun {
  experimentId: string;
  config: JsonObject;
}

/** Writes a 'running' training run. Hold `trainingRunLockName(id)` while it runs (or use executeTrainingRun). */
export async function createTrainingRun(
  db: StudioDb,
  init: NewTrainingRun & { id?: string },
  now = Date.now(),
): Promise<TrainingRun> {
  const run: TrainingRun = {
    id: init.id ?? newId(now),
    experimentId: init.experimentId,
    config: init.config,
    status: 'running',
    startedAt: now,
    updatedAt: now,
    finishedAt: null,
    adapterId: null,
    error: null,
  };
  await writeTransaction(db, 'start the training run', [db.experiments, db.trainingRuns], async () => {
    const n = await db.experiments.update(init.experimentId, { updatedAt: now });
    if (n === 0) throw new AppError('not-found', 'Cannot start training: its experiment no longer exists.');
    await db.trainingRuns.add(run);
  });
  return run;
}

/** The final status of a training run; 'done' leaves a row the body already finished (with its adapter id) as it is. */
async function closeTrainingRun(db: StudioDb, id: string, status: FinalStatus, error: string | null): Promise<void> {
  if (status === 'done' && (await db.trainingRuns.get(id))?.status !== 'running') return;
  await finishTrainingRun(db, id, { status, error });
}

/** Like executeRun (runs.ts), for training: lock, 'running' row, body, then done / aborted / failed. */
export async function executeTrainingRun<T>(
  db: StudioDb,
  locks: LockManagerLike,
  init: NewTrainingRun,
  body: (run: TrainingRun) => Promise<T>,
): Promise<T> {
  const id = newId();
  return underLock(locks, trainingRunLockName(id), () => createTrainingRun(db, { ...init, id }), body, (status, error) => closeTrainingRun(db, id, status, error));
}

export const TRAINING_REFUSALS: ResumeRefusals = {
  missing: 'That training run no longer exists.',
  running: 'This training run is already running (in this tab or another one).',
  done: 'This training run has finished; its adapter is on the Adapters tab.',
};

/** Why the training run cannot be resumed, or null. */
export function trainingResumeRefusal(run: TrainingRun | undefined): AppError | null {
  return resumeRefusal(run, TRAINING_REFUSALS);
}

/** Like resumeStoredRun (runs.ts), for training: the stopped row goes back to 'running' under its lock. */
export async function resumeTrainingRun<T>(db: StudioDb, locks: LockManagerLike, id: string, body: (run: TrainingRun) => Promise<T>, now: () => number = Date.now): Promise<T> {
  return underLock(
    locks,
    trainingRunLockName(id),
    () => reopenRow(db, db.trainingRuns, id, 'resume the training run', TRAINING_REFUSALS, now()),
    body,
    (status, error) => closeTrainingRun(db, id, status, error),
  );
}

export async function getTrainingRun(db: StudioDb, id: string): Promise<TrainingRun | undefined> {
  return db.trainingRuns.get(id);
}

/** Newest first. */
export async function listTrainingRuns(db: StudioDb, experimentId: string): Promise<TrainingRun[]> {
  const rows = await db.trainingRuns.where('experimentId').equals(experimentId).toArray();
  return rows.reverse();
}

/** Logs points of the loss curve (a point for an already logged step replaces it), in one transaction. */
export async function appendTrainingMetrics(
  db: StudioDb,
  trainingRunId: string,
  points: TrainingMetricPoint[],
  now = Date.now(),
): Promise<void> {
  await writeTransaction(db, 'save the training metrics', [db.trainingRuns, db.trainingMetrics], async () => {
    const n = await db.trainingRuns.update(trainingRunId, { updatedAt: now });
    if (n === 0) throw new AppError('not-found', 'Cannot save metrics: the training run no longer exists.');
    await db.trainingMetrics.bulkPut(points.map((point) => ({ trainingRunId, step: point.step, point })));
  });
}

/** The loss curve, ordered by step. */
export async function getTrainingMetrics(db: StudioDb, trainingRunId: string): Promise<TrainingMetricPoint[]> {
  const rows = await db.trainingMetrics
    .where('[trainingRunId+step]')
    .between([trainingRunId, Dexie.minKey], [trainingRunId, Dexie.maxKey])
    .toArray();
  return rows.map((r) => r.point);
}

export async function finishTrainingRun(
  db: StudioDb,
  id: string,
  result: { status: Exclude<RunStatus, 'running'>; adapterId?: string | null; error?: string | null },
  now = Date.now(),
): Promise<void> {
  const change: Partial<TrainingRun> = { status: result.status, error: result.error ?? null, updatedAt: now, finishedAt: now };
  if (result.adapterId !== undefined) change.adapterId = result.adapterId;
  const n = await writeTransaction(db, 'save the training status', [db.trainingRuns], () => db.trainingRuns.update(id, change));
  if (n === 0) throw new AppError('not-found', 'Cannot save the training status: the training run no longer exists.');
}

/** Deletes the training run and its loss curve; adapters it made stay (their link to it is cleared). */
export async function deleteTrainingRun(db: StudioDb, id: string): Promise<void> {
  await db.transaction('rw', db.trainingRuns, db.trainingMetrics, db.adapters, async () => {
    const run = await db.trainingRuns.get(id);
    if (!run) return;
    if (run.status === 'running') {
      throw new AppError('bad-input', 'This training run is still running. Stop it before deleting it.');
    }
    await db.trainingMetrics.where('[trainingRunId+step]').between([id, Dexie.minKey], [id, Dexie.maxKey]).delete();
    await db.adapters
      .where('experimentId')
      .equals(run.experimentId)
      .filter((a) => a.trainingRunId === id)
      .modify({ trainingRunId: null });
    await db.trainingRuns.delete(id);
  });
}
