/**
 * The one lifecycle of stored work, runs and training runs alike: the row's Web Lock is taken before the row is
 * written 'running' (a new row, or a stopped one reopened) and released after its final status is written:
 * done; aborted on a stop; failed, with the message, on any other error (which is rethrown). Steps and
 * checkpoints already stored stay as they are: a resumed body continues from them.
 */
import type { Table } from 'dexie';
import { AppError, isAbort } from '../core/errors.ts';
import type { StudioDb } from './db.ts';
import { writeTransaction } from './errors.ts';
import type { LockManagerLike } from './locks.ts';
import type { RunStatus } from './types.ts';

export const RESUMABLE: readonly RunStatus[] = ['interrupted', 'aborted', 'failed'];

export function canResume(row: { status: RunStatus }): boolean {
  return RESUMABLE.includes(row.status);
}

export type FinalStatus = Exclude<RunStatus, 'running' | 'interrupted'>;

/**
 * Under the lock `lockName`: `open` writes the row as running, `body` works on it, `finish` writes the final
 * status: 'empty' with the reason when `empty` finds the body's result has nothing in it, else 'done'. A failure
 * to write the final status after a failed body is dropped: the body's error is the one thrown.
 */
export async function underLock<R, T>(
  locks: LockManagerLike,
  lockName: string,
  open: () => Promise<R>,
  body: (row: R) => Promise<T>,
  finish: (status: FinalStatus, error: string | null) => Promise<void>,
  empty?: (result: T) => string | null,
): Promise<T> {
  return locks.request(lockName, async () => {
    const row = await open();
    let result: T;
    try {
      result = await body(row);
    } catch (e) {
      const aborted = isAbort(e);
      await finish(aborted ? 'aborted' : 'failed', aborted ? null : e instanceof Error ? e.message : String(e)).catch(() => undefined);
      throw e;
    }
    const reason = empty?.(result) ?? null;
    await finish(reason ? 'empty' : 'done', reason);
    return result;
  });
}

/** Why a row cannot be resumed, in words for the user. */
export interface ResumeRefusals {
  missing: string;
  running: string;
  done: string;
}

export function resumeRefusal(row: { status: RunStatus } | undefined, say: ResumeRefusals): AppError | null {
  if (!row) return new AppError('not-found', say.missing);
  if (row.status === 'running') return new AppError('bad-input', say.running);
  if (row.status === 'done' || row.status === 'empty') return new AppError('bad-input', say.done);
  return null;
}

interface StoredWork {
  id: string;
  status: RunStatus;
  error: string | null;
  finishedAt: number | null;
  updatedAt: number;
}

/** Turns a stopped row back to 'running' in one transaction (call it under the row's lock); refuses as `say` says. */
export async function reopenRow<R extends StoredWork>(db: StudioDb, table: Table<R, string>, id: string, action: string, say: ResumeRefusals, now: number): Promise<R> {
  return writeTransaction(db, action, [table], async () => {
    const row = await table.get(id);
    const no = resumeRefusal(row, say);
    if (no) throw no;
    const patch = { status: 'running' as const, error: null, finishedAt: null, updatedAt: now };
    await table.update(id, (r) => void Object.assign(r, patch));
    return { ...row!, ...patch };
  });
}
