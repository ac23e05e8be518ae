/**
 * Continues a stored run that stopped before finishing (interrupted by a reload, stopped, or failed): takes
 * the run's Web Lock, turns the row back to 'running', awaits the body, then writes the final status the way
 * `executeRun` does (done; aborted on a stop; failed with the message otherwise). Steps already stored stay
 * as they are: the body resumes from them.
 */
import { AppError, isAbort } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import { runLockName, type LockManagerLike } from './locks.ts';
import { finishRun } from './runs.ts';
import type { Run, RunStatus } from './types.ts';

export const RESUMABLE: readonly RunStatus[] = ['interrupted', 'aborted', 'failed'];

export function canResume(run: Pick<Run, 'status'>): boolean {
  return RESUMABLE.includes(run.status);
}

function refusal(run: Run | undefined): AppError | null {
  if (!run) return new AppError('not-found', 'That run no longer exists (it may have been deleted in another tab).');
  if (run.status === 'running') {
    return new AppError('bad-input', 'This run is already running (in this tab or another one). Wait for it, or stop it there.');
  }
  if (run.status === 'done') return new AppError('bad-input', 'This run has finished; there is nothing to resume. Start a new run instead.');
  return null;
}

export async function resumeStoredRun<T>(
  db: StudioDb,
  locks: LockManagerLike,
  runId: string,
  body: (run: Run) => Promise<T>,
  now: () => number = Date.now,
): Promise<T> {
  // Refuse before waiting for the lock: a run another tab is executing holds it until it ends.
  const before = refusal(await db.runs.get(runId));
  if (before) throw before;
  return locks.request(runLockName(runId), async () => {
    const run = await writeTransaction(db, 'resume the run', [db.runs], async () => {
      const r = await db.runs.get(runId);
      const no = refusal(r);
      if (no) throw no;
      const patch = { status: 'running' as const, error: null, finishedAt: null, updatedAt: now() };
      await db.runs.update(runId, patch);
      return { ...r!, ...patch };
    });
    let result: T;
    try {
      result = await body(run);
    } catch (e) {
      const aborted = isAbort(e);
      const message = e instanceof Error ? e.message : String(e);
      await finishRun(db, runId, aborted ? 'aborted' : 'failed', aborted ? null : message, now()).catch(() => undefined);
      throw e;
    }
    await finishRun(db, runId, 'done', null, now());
    return result;
  });
}
