/** Retrying an async step with exponential backoff, stopping at once on abort or a non-retryable error. */
import { AppError, isAbort, throwIfAborted } from '../errors.ts';

/** Thrown inside a retried step to ask for another try (a 5xx answer, a body cut short). */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

export interface RetryOptions {
  /** Extra attempts after the first. */
  retries: number;
  /** Delay before the first retry; doubles after each. */
  delayMs: number;
  signal?: AbortSignal;
  /** Called before each retry (for progress text). */
  onRetry?: (attempt: number, error: unknown) => void;
}

/**
 * Runs `step` until it succeeds. Retried: RetryableError and errors that are neither AppError nor abort (a
 * failed fetch is a TypeError). The last error is rethrown as AppError('network') with `describe`'s text.
 */
export async function withRetries<T>(step: () => Promise<T>, o: RetryOptions, describe: (e: unknown) => string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(o.signal);
    try {
      return await step();
    } catch (e) {
      if (isAbort(e) || o.signal?.aborted) throw new AppError('aborted', 'Stopped.', { cause: e });
      if (e instanceof AppError) throw e;
      if (attempt >= o.retries) throw new AppError('network', describe(e), { cause: e });
      o.onRetry?.(attempt + 1, e);
      await sleep(o.delayMs * 2 ** attempt, o.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AppError('aborted', 'Stopped.'));
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(t);
      reject(new AppError('aborted', 'Stopped.'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
