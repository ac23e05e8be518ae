/**
 * Queries on runs (refine / batch / SELF / SRT / eval). Start a run with `executeRun`, which holds the run's
 * Web Lock while the body works and writes the final status (done, failed, aborted) when it ends.
 */
import { AppError, isAbort } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { newId } from './ids.ts';
import type { JsonObject } from './json.ts';
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
  return locks.request(runLockName(id), async () => {
    const run = await createRun(db, { ...init, id });
    let result: T;
    try {
      result = await body(run);
    } catch (e) {
      const aborted = isAbort(e);
      await finishRun(db, id, aborted ? 'aborted' : 'failed', aborted ? null : errorMessage(e)).catch(() => undefined);
      throw e;
    }
    await finishWith(db, id, result, empty);
    return result;
  });
}

/** Writes the final status of a run whose body returned: 'empty' with the reason, or 'done'. */
export async function finishWith<T>(db: StudioDb, id: string, result: T, empty?: (result: T) => string | null, now = Date.now()): Promise<void> {
  const reason = empty?.(result) ?? null;
  await finishRun(db, id, reason ? 'empty' : 'done', reason, now);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
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
