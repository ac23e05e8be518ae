/** Any thrown value → what the error banner shows: a code and a message written for a person. */
import { AppError, type ErrorCode } from '../../core/errors.ts';
import { isQuotaError, quotaExceeded } from '../../db/errors.ts';

export interface ShownError {
  code: ErrorCode;
  message: string;
}

export function describeError(e: unknown, action?: string): ShownError {
  if (e instanceof AppError) return { code: e.code, message: e.message };
  if (isQuotaError(e)) return { code: 'quota-exceeded', message: quotaExceeded(action ?? 'save').message };
  const name = typeof e === 'object' && e !== null ? String((e as { name?: unknown }).name ?? '') : '';
  if (name === 'DatabaseClosedError') {
    return {
      code: 'schema-newer',
      message: 'The storage was closed because another tab upgraded or deleted it. Reload this page to continue.',
    };
  }
  const detail = e instanceof Error ? e.message : String(e);
  return {
    code: 'internal',
    message: `Something went wrong${action ? ` while trying to ${action}` : ''}: ${detail}. Try again; if it keeps happening, reload the page.`,
  };
}
