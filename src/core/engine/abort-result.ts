/**
 * What an engine returns when a reply is cut short by its AbortSignal after generation began: the text
 * streamed so far with finishReason 'abort' (the same contract as the scripted engine). A signal that has
 * already fired when chat() is called rejects with AppError('aborted') instead.
 */
import { AppError } from '../errors.ts';
import type { ChatRequest, ChatResult } from './types.ts';

/** `pieces` = streamed deltas (about one token each); token counts are estimates, flagged `approximate`. */
export function abortedResult(text: string, pieces: number, elapsedMs: number): ChatResult {
  return {
    text,
    finishReason: 'abort',
    usage: {
      promptTokens: 0,
      completionTokens: pieces,
      prefillTokensPerSec: 0,
      decodeTokensPerSec: elapsedMs > 0 ? (pieces * 1000) / elapsedMs : 0,
      totalMs: elapsedMs,
      approximate: true,
    },
  };
}

/**
 * Runs a streaming chat call, forwarding each delta to `request.onToken` while keeping the text so far, so a
 * reply stopped by the request's signal resolves with that text (abortedResult) instead of rejecting.
 * `onError` sees any other error before it is rethrown.
 */
export async function streamedChat(
  request: Pick<ChatRequest, 'signal' | 'onToken'>,
  call: (onToken: (delta: string) => void) => Promise<ChatResult>,
  onError?: (e: unknown) => void,
): Promise<ChatResult> {
  let text = '';
  let pieces = 0;
  const started = performance.now();
  try {
    return await call((delta) => {
      text += delta;
      pieces++;
      request.onToken?.(delta);
    });
  } catch (e) {
    if (e instanceof AppError && e.code === 'aborted' && request.signal?.aborted) {
      return abortedResult(text, pieces, performance.now() - started);
    }
    onError?.(e);
    throw e;
  }
}
