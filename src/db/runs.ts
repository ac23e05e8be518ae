/**
 * Queries on runs (refine / batch / SELF / SRT / eval). Start a run with `executeRun` and continue a stopped one
 * with `resumeStoredRun`: both hold the run's Web Lock while the body works and write the final status (done,
 * failed, aborted) when it ends (lifecycle.ts).
 */
import { AppError } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type { JsonObject } from './json.ts';
import { reopenRow, resumeRefusal, underLock, type ResumeRefusals } from './lifecycle.ts';
import { runLockName, type LockManagerLike } from './locks.ts';
import type { Run, RunKind, RunMetricPoint, RunStatus } from './types.ts';

export interface NewRun {
  experimentId: string;
  kind: RunKind;
  config?: JsonObject;
}

/**
 * Writes a new 'running' run (and bumps the experiment's updatedAt). Call it only while holding
 * `runLockName(id)`; `executeRun` does both for you.
 */
export async function createRun(db: StudioDb, init: NewRun & { id?: string }, now = Date.now()): Promise<Run> {
  const run: Run = {
    id: init.id ?? newId(now),
    experimentId: init.experimentId,
    kind: init.kind,
    status: 'running',
    config: init.config ?? {},
    progress: null,
    metrics: [],
    startedAt: now,
    updatedAt: now,
    finishedAt: null,
    error: null,
  };
  await writeTransaction(db, 'start the run', [db.experiments, db.runs], async () => {
    const n = await db.experiments.update(init.experimentId, { updatedAt: now });
    if (n === 0) throw new AppError('not-found', 'Cannot start a run: its experiment no longer exists.');
    await db.runs.add(run);
  });
  return run;
}

/**
 * Runs `body` as a stored run: takes the Web Lock, writes the 'running' row, awaits the body, then writes
 * 'done' — or 'empty' (with the reason) when `empty` finds the result has nothing in it, 'aborted' when the
 * body throws an abort, 'failed' (with the message) for any other error, which is rethrown.
 */
export async function executeRun<T>(
  db: StudioDb,
  locks: LockManagerLike,
  init: NewRun,
  body: (run: Run) => Promise<T>,
  empty?: (result: T) => string | null,
): Promise<T> {
  const id = newId();
  return underLock(locks, runLockName(id), () => createRun(db, { ...init, id }), body, (status, error) => finishRun(db, id, status, error), empty);
}

const RUN_REFUSALS: ResumeRefusals = {
  missing: 'That run no longer exists (it may have been deleted in another tab).',
  running: 'This run is already running (in this tab or another one). Wait for it, or stop it there.',
  done: 'This run has finished; there is nothing to resume. Start a new run instead.',
};

/**
 * Continues a stored run that stopped before finishing (interrupted by a reload, stopped, or failed): the
 * row goes back to 'running' under the run's Web Lock, then the body runs as in `executeRun`.
 */
export async function resumeStoredRun<T>(
  db: StudioDb,
  locks: LockManagerLike,
  runId: string,
  body: (run: Run) => Promise<T>,
  now: () => number = Date.now,
  empty?: (result: T) => string | null,
): Promise<T> {
  // Refuse before waiting for the lock: a run another tab is executing holds it until it ends.
  const before = resumeRefusal(await db.runs.get(runId), RUN_REFUSALS);
  if (before) throw before;
  return underLock(
    locks,
    runLockName(runId),
    () => reopenRow(db, db.runs, runId, 'resume the run', RUN_REFUSALS, now()),
    body,
    (status, error) => finishRun(db, runId, status, error, now()),
    empty,
  );
}

export async function getRun(db: StudioDb, id: string): Promise<Run | undefined> {
  return db.runs.get(id);
}

/** Newest first. */
export async function listRuns(db: StudioDb, experimentId: string): Promise<Run[]> {
  const rows = await db.runs.where('experimentId').equals(experimentId).toArray();
  return rows.reverse();
}

async function patchRun(db: StudioDb, id: string, action: string, change: (run: Run) => Partial<Run>): Promise<void> {
  await writeTransaction(db, action, [db.runs], async () => {
    const run = await db.runs.get(id);
    if (!run) throw new AppError('not-found', `Cannot ${action}: the run no longer exists.`);
    await db.runs.update(id, change(run));
  });
}

export async function updateRunProgress(db: StudioDb, id: string, progress: JsonObject, now = Date.now()): Promise<void> {
  await patchRun(db, id, 'save the run progress', () => ({ progress, updatedAt: now }));
}

/** Adds (or replaces) the metrics of one round. */
export async function appendRunMetric(db: StudioDb, id: string, point: RunMetricPoint, now = Date.now()): Promise<void> {
  await patchRun(db, id, 'save the run metrics', (run) => ({
    metrics: [...run.metrics.filter((p) => p.round !== point.round), point].sort((a, b) => a.round - b.round),
    updatedAt: now,
  }));
}

export async function finishRun(
  db: StudioDb,
  id: string,
  status: Exclude<RunStatus, 'running'>,
  error: string | null = null,
  now = Date.now(),
): Promise<void> {
  await patchRun(db, id, 'save the run status', () => ({ status, error, updatedAt: now, finishedAt: now }));
}

/** Deletes the run and its steps, in one transaction. Samples keep their rows (their provenance link is dropped on export). */
export async function deleteRun(db: StudioDb, id: string): Promise<void> {
  await db.transaction('rw', db.runs, db.steps, async () => {
    if ((await db.runs.get(id))?.status === 'running') {
      throw new AppError('bad-input', 'This run is still running. Stop it (or wait for it to finish) before deleting it.');
    }
    await db.steps.where('runId').equals(id).delete();
    await db.runs.delete(id);
  });
}
