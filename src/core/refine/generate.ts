import type { ChatEngine, ChatRequest, ChatResult } from '../engine/types.ts';
import { AppError, isAbort, throwIfAborted } from '../errors.ts';

/**
 * Many independent requests to one engine: in chunks through engine.chatBatch when the engine offers it,
 * otherwise one by one. Any abort becomes AppError('aborted').
 */
export interface GenerateManyOptions {
  signal?: AbortSignal;
  /** Requests per chatBatch call; default 8. */
  batchSize?: number;
  /** Called after each chunk (or each request when sequential) with the number done so far. */
  onProgress?: (done: number, total: number) => void;
}

export async function generateMany(
  engine: ChatEngine,
  requests: readonly ChatRequest[],
  options: GenerateManyOptions = {},
): Promise<ChatResult[]> {
  const { signal } = options;
  const size = Math.max(1, Math.floor(options.batchSize ?? 8));
  const out: ChatResult[] = [];
  const fail = (e: unknown): never => {
    if (isAbort(e) || signal?.aborted) throw new AppError('aborted', 'Stopped.');
    throw e;
  };
  for (let i = 0; i < requests.length; ) {
    throwIfAborted(signal);
    const chunk = engine.chatBatch && requests.length - i > 1 ? requests.slice(i, i + size) : [requests[i]];
    let results: ChatResult[];
    try {
      results =
        chunk.length > 1 && engine.chatBatch
          ? await engine.chatBatch(chunk.map((r) => ({ ...r, signal })))
          : [await engine.chat({ ...chunk[0], signal })];
    } catch (e) {
      return fail(e);
    }
    if (results.length !== chunk.length) {
      throw new AppError('engine', `The engine returned ${results.length} results for ${chunk.length} requests.`);
    }
    if (signal?.aborted || results.some((r) => r.finishReason === 'abort')) throw new AppError('aborted', 'Stopped.');
    out.push(...results);
    i += chunk.length;
    options.onProgress?.(i, requests.length);
  }
  return out;
}
