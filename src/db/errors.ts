/**
 * Storage failures → typed AppErrors. A full quota surfaces in many wrappings (a DOMException named
 * QuotaExceededError, Dexie's QuotaExceededError, an AbortError whose `inner` is one, a BulkError whose
 * `failures` hold one, an error whose `cause` is one); all of them become `quota-exceeded`.
 */
import type { Dexie, Table } from 'dexie';
import { AppError, quotaExceeded } from '../core/errors.ts';

export { quotaExceeded };

function findQuotaError(e: unknown, depth: number): boolean {
  if (depth > 4 || typeof e !== 'object' || e === null) return false;
  const o = e as { name?: unknown; inner?: unknown; cause?: unknown; failures?: unknown };
  if (o.name === 'QuotaExceededError') return true;
  if (findQuotaError(o.inner, depth + 1) || findQuotaError(o.cause, depth + 1)) return true;
  if (Array.isArray(o.failures)) return o.failures.some((f) => findQuotaError(f, depth + 1));
  return false;
}

export function isQuotaError(e: unknown): boolean {
  if (e instanceof AppError) return e.code === 'quota-exceeded';
  return findQuotaError(e, 0);
}

/**
 * Runs `scope` as ONE read-write transaction over `tables` and turns a full quota into
 * `AppError('quota-exceeded')`. A failure anywhere aborts the whole transaction, so nothing is half-written.
 *
 * The quota error is looked for both on what the scope threw and on the transaction itself: when the
 * browser aborts a transaction for quota, the pending requests fail with a plain AbortError (which Dexie may
 * wrap in a BulkError) and only the transaction's `error` says QuotaExceededError.
 */
export async function writeTransaction<T>(
  db: Dexie,
  action: string,
  tables: Table<any, any, any>[],
  scope: () => Promise<T>,
): Promise<T> {
  let idbtrans: IDBTransaction | null = null;
  try {
    return await db.transaction('rw', tables, (tx) => {
      idbtrans = tx.idbtrans;
      return scope();
    });
  } catch (e) {
    const txError = (idbtrans as IDBTransaction | null)?.error ?? null;
    if (isQuotaError(e) || isQuotaError(txError)) throw quotaExceeded(action, e);
    throw e;
  }
}
