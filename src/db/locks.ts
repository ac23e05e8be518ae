/**
 * Which runs are really running. A tab (or worker) that executes a run holds the Web Lock `run:<id>`
 * (`training-run:<id>` for training) for as long as it works on it; the lock is taken BEFORE the row is
 * written and released AFTER the final status is written. The browser releases a lock when its tab
 * closes, reloads or crashes, so at start-up a row still marked 'running' whose lock nobody holds was cut
 * off: `markInterruptedRuns` marks it 'interrupted'. A run that another open tab is executing keeps its lock
 * and stays 'running'.
 */
import type { StudioDb } from './db.ts';

/** The part of `navigator.locks` this module uses (injectable for tests and Node). */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
  query(): Promise<{ held?: { name?: string }[] }>;
}

export const runLockName = (runId: string): string => `run:${runId}`;
export const trainingRunLockName = (trainingRunId: string): string => `training-run:${trainingRunId}`;

export const INTERRUPTED_MESSAGE =
  'Interrupted: the tab that was running it was closed, reloaded or crashed. Steps saved before that are kept.';
/** A training run keeps only its checkpoint, which the page inspects and names (ui/training/checkpoint-review.ts). */
export const TRAINING_INTERRUPTED_MESSAGE = 'Interrupted: the tab that was running it was closed, reloaded or crashed.';

/** Marks orphaned 'running' runs and training runs as 'interrupted'. Returns the ids it marked. */
export async function markInterruptedRuns(db: StudioDb, locks: LockManagerLike, now = Date.now()): Promise<string[]> {
  // Read the rows first, then the locks: a run that starts in between took its lock before writing its row,
  // so any row read here whose owner is alive has its lock listed below.
  const [runs, trainingRuns] = await Promise.all([
    db.runs.where('status').equals('running').primaryKeys(),
    db.trainingRuns.where('status').equals('running').primaryKeys(),
  ]);
  if (runs.length === 0 && trainingRuns.length === 0) return [];
  const held = new Set(((await locks.query()).held ?? []).map((l) => l.name));
  const orphanRuns = runs.filter((id) => !held.has(runLockName(id)));
  const orphanTraining = trainingRuns.filter((id) => !held.has(trainingRunLockName(id)));
  const marked: string[] = [];
  await db.transaction('rw', db.runs, db.trainingRuns, async () => {
    const change = { status: 'interrupted' as const, updatedAt: now, error: INTERRUPTED_MESSAGE };
    const trainingChange = { ...change, error: TRAINING_INTERRUPTED_MESSAGE };
    for (const id of orphanRuns) {
      // Re-check inside the transaction: the run may have finished meanwhile.
      if ((await db.runs.get(id))?.status === 'running') {
        await db.runs.update(id, change);
        marked.push(id);
      }
    }
    for (const id of orphanTraining) {
      if ((await db.trainingRuns.get(id))?.status === 'running') {
        await db.trainingRuns.update(id, trainingChange);
        marked.push(id);
      }
    }
  });
  return marked;
}
